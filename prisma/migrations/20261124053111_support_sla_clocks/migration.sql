-- CreateEnum
CREATE TYPE "SlaMetric" AS ENUM ('FIRST_RESPONSE', 'NEXT_RESPONSE', 'PERIODIC_UPDATE', 'RESOLUTION');

-- AlterTable
ALTER TABLE "SupportCase" ADD COLUMN     "pausedAt" TIMESTAMP(3),
ADD COLUMN     "pausedBusinessMs" DOUBLE PRECISION NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "SlaClock" (
    "id" SERIAL NOT NULL,
    "caseId" INTEGER NOT NULL,
    "metric" "SlaMetric" NOT NULL,
    "cycle" INTEGER NOT NULL,
    "targetMinutes" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "remainingMs" DOUBLE PRECISION NOT NULL,
    "resumedAt" TIMESTAMP(3),
    "dueAt" TIMESTAMP(3),
    "atRiskAt" TIMESTAMP(3),
    "stoppedAt" TIMESTAMP(3),
    "breached" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "SlaClock_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SlaClock_dueAt_idx" ON "SlaClock"("dueAt");

-- CreateIndex
CREATE INDEX "SlaClock_atRiskAt_idx" ON "SlaClock"("atRiskAt");

-- CreateIndex
CREATE UNIQUE INDEX "SlaClock_caseId_metric_cycle_key" ON "SlaClock"("caseId", "metric", "cycle");

-- AddForeignKey
ALTER TABLE "SlaClock" ADD CONSTRAINT "SlaClock_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "SupportCase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
