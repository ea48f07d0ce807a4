-- CreateEnum
CREATE TYPE "CaseStatus" AS ENUM ('NEW', 'OPEN', 'PENDING', 'ON_HOLD', 'RESOLVED', 'CLOSED');

-- CreateEnum
CREATE TYPE "CaseRating" AS ENUM ('GOOD', 'BAD');

-- CreateEnum
CREATE TYPE "CaseEventKind" AS ENUM ('OPENED', 'REPLY', 'NOTE', 'STATUS_CHANGED', 'ASSIGNED', 'UNASSIGNED', 'TRANSFERRED', 'ESCALATED', 'RATED');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityKind" ADD VALUE 'CASE_OPENED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_REPLIED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_NOTE_ADDED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_STATUS_CHANGED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_ASSIGNED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_TRANSFERRED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_ESCALATED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_LEAD_NOTIFIED';
ALTER TYPE "ActivityKind" ADD VALUE 'CASE_RATED';

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityVisibility" ADD VALUE 'CASE';
ALTER TYPE "ActivityVisibility" ADD VALUE 'CASE_STAFF';

-- AlterTable
ALTER TABLE "Activity" ADD COLUMN     "caseId" INTEGER,
ADD COLUMN     "departmentId" INTEGER,
ADD COLUMN     "requesterId" INTEGER;

-- CreateTable
CREATE TABLE "SupportCase" (
    "id" SERIAL NOT NULL,
    "number" SERIAL NOT NULL,
    "subject" TEXT NOT NULL,
    "requesterId" INTEGER NOT NULL,
    "channelId" INTEGER NOT NULL,
    "departmentId" INTEGER NOT NULL,
    "assigneeId" INTEGER,
    "assignedAt" TIMESTAMP(3),
    "priority" "CasePriority" NOT NULL DEFAULT 'NORMAL',
    "status" "CaseStatus" NOT NULL DEFAULT 'NEW',
    "tags" TEXT[],
    "threadId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "firstResponseAt" TIMESTAMP(3),
    "resolvedAt" TIMESTAMP(3),
    "rating" "CaseRating",
    "ratingComment" TEXT,
    "ratedAt" TIMESTAMP(3),

    CONSTRAINT "SupportCase_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CaseMessage" (
    "id" SERIAL NOT NULL,
    "caseId" INTEGER NOT NULL,
    "authorId" INTEGER NOT NULL,
    "body" TEXT NOT NULL,
    "internal" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CaseMessage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CaseEvent" (
    "id" SERIAL NOT NULL,
    "caseId" INTEGER NOT NULL,
    "kind" "CaseEventKind" NOT NULL,
    "actorId" INTEGER,
    "internal" BOOLEAN NOT NULL DEFAULT false,
    "summary" TEXT NOT NULL,
    "reason" TEXT,
    "reasonInternal" BOOLEAN NOT NULL DEFAULT false,
    "messageId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CaseEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "SupportCase_number_key" ON "SupportCase"("number");

-- CreateIndex
CREATE INDEX "SupportCase_requesterId_id_idx" ON "SupportCase"("requesterId", "id");

-- CreateIndex
CREATE INDEX "SupportCase_departmentId_status_idx" ON "SupportCase"("departmentId", "status");

-- CreateIndex
CREATE INDEX "SupportCase_assigneeId_idx" ON "SupportCase"("assigneeId");

-- CreateIndex
CREATE INDEX "CaseMessage_caseId_id_idx" ON "CaseMessage"("caseId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "CaseEvent_messageId_key" ON "CaseEvent"("messageId");

-- CreateIndex
CREATE INDEX "CaseEvent_caseId_id_idx" ON "CaseEvent"("caseId", "id");

-- CreateIndex
CREATE INDEX "Activity_departmentId_id_idx" ON "Activity"("departmentId", "id");

-- CreateIndex
CREATE INDEX "Activity_caseId_id_idx" ON "Activity"("caseId", "id");

-- AddForeignKey
ALTER TABLE "Activity" ADD CONSTRAINT "Activity_departmentId_fkey" FOREIGN KEY ("departmentId") REFERENCES "Department"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SupportCase" ADD CONSTRAINT "SupportCase_requesterId_fkey" FOREIGN KEY ("requesterId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SupportCase" ADD CONSTRAINT "SupportCase_channelId_fkey" FOREIGN KEY ("channelId") REFERENCES "SupportChannel"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SupportCase" ADD CONSTRAINT "SupportCase_departmentId_fkey" FOREIGN KEY ("departmentId") REFERENCES "Department"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SupportCase" ADD CONSTRAINT "SupportCase_assigneeId_fkey" FOREIGN KEY ("assigneeId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SupportCase" ADD CONSTRAINT "SupportCase_threadId_fkey" FOREIGN KEY ("threadId") REFERENCES "Thread"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CaseMessage" ADD CONSTRAINT "CaseMessage_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "SupportCase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CaseMessage" ADD CONSTRAINT "CaseMessage_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CaseEvent" ADD CONSTRAINT "CaseEvent_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "SupportCase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CaseEvent" ADD CONSTRAINT "CaseEvent_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CaseEvent" ADD CONSTRAINT "CaseEvent_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "CaseMessage"("id") ON DELETE SET NULL ON UPDATE CASCADE;
