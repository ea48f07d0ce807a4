-- AlterEnum
ALTER TYPE "OutboundMessageStatus" ADD VALUE 'LOGGED';

-- AlterTable
ALTER TABLE "SupportCase" ADD COLUMN     "requesterEmail" TEXT;
