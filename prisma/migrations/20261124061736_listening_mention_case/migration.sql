-- AlterTable
ALTER TABLE "Mention" ADD COLUMN     "caseId" INTEGER;

-- CreateIndex
CREATE UNIQUE INDEX "Mention_caseId_key" ON "Mention"("caseId");

-- AddForeignKey
ALTER TABLE "Mention" ADD CONSTRAINT "Mention_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "SupportCase"("id") ON DELETE SET NULL ON UPDATE CASCADE;
