-- CreateEnum
CREATE TYPE "SlaAlertKind" AS ENUM ('AT_RISK', 'BREACHED');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityKind" ADD VALUE 'SLA_AT_RISK';
ALTER TYPE "ActivityKind" ADD VALUE 'SLA_BREACHED';

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "CaseEventKind" ADD VALUE 'SLA_AT_RISK';
ALTER TYPE "CaseEventKind" ADD VALUE 'SLA_BREACHED';

-- CreateTable
CREATE TABLE "SlaAlert" (
    "id" SERIAL NOT NULL,
    "caseId" INTEGER NOT NULL,
    "metric" "SlaMetric" NOT NULL,
    "cycle" INTEGER NOT NULL,
    "kind" "SlaAlertKind" NOT NULL,
    "dueAt" TIMESTAMP(3) NOT NULL,
    "occurredAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SlaAlert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "SlaAlert_caseId_metric_cycle_kind_key" ON "SlaAlert"("caseId", "metric", "cycle", "kind");
