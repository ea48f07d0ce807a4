-- AlterTable
ALTER TABLE "SupportChannel" ADD COLUMN     "ingestSecret" TEXT;

-- CreateTable
CREATE TABLE "IngestedMessage" (
    "id" SERIAL NOT NULL,
    "channelId" INTEGER NOT NULL,
    "messageId" TEXT NOT NULL,
    "caseId" INTEGER NOT NULL,
    "caseMessageId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IngestedMessage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "IngestedMessage_channelId_messageId_key" ON "IngestedMessage"("channelId", "messageId");
