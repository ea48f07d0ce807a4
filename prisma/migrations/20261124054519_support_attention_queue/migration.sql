-- AlterTable
ALTER TABLE "Space" ADD COLUMN     "attentionAfterMinutes" INTEGER;

-- AlterTable
ALTER TABLE "SupportCase" ADD COLUMN     "spaceId" INTEGER;
