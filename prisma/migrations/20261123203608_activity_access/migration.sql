-- AlterTable
ALTER TABLE "Activity" ADD COLUMN     "access" JSONB;
