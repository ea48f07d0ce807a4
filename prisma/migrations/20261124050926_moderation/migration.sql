-- CreateEnum
CREATE TYPE "ModerationStatus" AS ENUM ('VISIBLE', 'HIDDEN', 'REMOVED', 'HELD');

-- CreateEnum
CREATE TYPE "HideClassifier" AS ENUM ('SPAM', 'ABUSE', 'OFF_TOPIC', 'OUTDATED', 'DUPLICATE', 'RESOLVED', 'LOW_QUALITY');

-- CreateEnum
CREATE TYPE "ReportReason" AS ENUM ('SPAM', 'ABUSE', 'HARASSMENT', 'OFF_TOPIC', 'MISINFORMATION', 'ILLEGAL', 'OTHER');

-- CreateEnum
CREATE TYPE "ReportStatus" AS ENUM ('OPEN', 'ACTION_TAKEN', 'DISMISSED');

-- CreateEnum
CREATE TYPE "QueueItemStatus" AS ENUM ('OPEN', 'CLAIMED', 'RESOLVED', 'DISMISSED');

-- CreateEnum
CREATE TYPE "ModerationActionKind" AS ENUM ('HIDE', 'REMOVE', 'RESTORE', 'APPROVE', 'LOCK', 'UNLOCK', 'WARN', 'SUSPEND', 'UNSUSPEND', 'APPEAL_UPHELD', 'APPEAL_REVERSED');

-- CreateEnum
CREATE TYPE "LockReason" AS ENUM ('OFF_TOPIC', 'TOO_HEATED', 'RESOLVED', 'SPAM');

-- CreateEnum
CREATE TYPE "AppealStatus" AS ENUM ('PENDING', 'UPHELD', 'REVERSED');

-- CreateEnum
CREATE TYPE "AutomodTrigger" AS ENUM ('KEYWORD', 'PATTERN', 'LINK', 'MENTION_SPAM', 'RATE');

-- CreateEnum
CREATE TYPE "AutomodAction" AS ENUM ('BLOCK', 'HOLD', 'FLAG');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityKind" ADD VALUE 'REPORT_CREATED';
ALTER TYPE "ActivityKind" ADD VALUE 'AUTOMOD_FLAGGED';
ALTER TYPE "ActivityKind" ADD VALUE 'QUEUE_ITEM_CLAIMED';
ALTER TYPE "ActivityKind" ADD VALUE 'QUEUE_ITEM_RESOLVED';
ALTER TYPE "ActivityKind" ADD VALUE 'MODERATION_ACTION';
ALTER TYPE "ActivityKind" ADD VALUE 'USER_MODERATED';
ALTER TYPE "ActivityKind" ADD VALUE 'APPEAL_FILED';
ALTER TYPE "ActivityKind" ADD VALUE 'APPEAL_RESOLVED';

-- AlterEnum
ALTER TYPE "ActivityVisibility" ADD VALUE 'MODERATORS';

-- AlterTable
ALTER TABLE "Post" ADD COLUMN     "moderationClassifier" "HideClassifier",
ADD COLUMN     "moderationReason" TEXT,
ADD COLUMN     "moderationStatus" "ModerationStatus" NOT NULL DEFAULT 'VISIBLE';

-- AlterTable
ALTER TABLE "Thread" ADD COLUMN     "moderationClassifier" "HideClassifier",
ADD COLUMN     "moderationReason" TEXT,
ADD COLUMN     "moderationStatus" "ModerationStatus" NOT NULL DEFAULT 'VISIBLE';

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "suspendedUntil" TIMESTAMP(3),
ADD COLUMN     "suspensionReason" TEXT;

-- CreateTable
CREATE TABLE "Report" (
    "id" SERIAL NOT NULL,
    "reporterId" INTEGER NOT NULL,
    "subjectType" TEXT NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "reason" "ReportReason" NOT NULL,
    "note" TEXT,
    "status" "ReportStatus" NOT NULL DEFAULT 'OPEN',
    "queueItemId" INTEGER NOT NULL,
    "weight" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMP(3),

    CONSTRAINT "Report_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModerationQueueItem" (
    "id" SERIAL NOT NULL,
    "subjectType" TEXT NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "spaceId" INTEGER,
    "status" "QueueItemStatus" NOT NULL DEFAULT 'OPEN',
    "reportCount" INTEGER NOT NULL DEFAULT 0,
    "weight" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "rank" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "automodRuleId" INTEGER,
    "claimedById" INTEGER,
    "claimExpiresAt" TIMESTAMP(3),
    "resolvedById" INTEGER,
    "resolvedAt" TIMESTAMP(3),
    "resolutionNote" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ModerationQueueItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModerationAction" (
    "id" SERIAL NOT NULL,
    "kind" "ModerationActionKind" NOT NULL,
    "actorId" INTEGER,
    "subjectType" TEXT NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "threadId" INTEGER,
    "postId" INTEGER,
    "spaceId" INTEGER,
    "targetUserId" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "classifier" "HideClassifier",
    "lockReason" "LockReason",
    "until" TIMESTAMP(3),
    "automodRuleId" INTEGER,
    "decidedAppealId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModerationAction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Appeal" (
    "id" SERIAL NOT NULL,
    "actionId" INTEGER NOT NULL,
    "appellantId" INTEGER NOT NULL,
    "message" TEXT NOT NULL,
    "status" "AppealStatus" NOT NULL DEFAULT 'PENDING',
    "resolvedById" INTEGER,
    "resolvedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Appeal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AutomodRule" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "trigger" "AutomodTrigger" NOT NULL,
    "action" "AutomodAction" NOT NULL,
    "keywords" TEXT[],
    "pattern" TEXT,
    "minAccountAgeDays" INTEGER,
    "minPosts" INTEGER,
    "maxMentions" INTEGER,
    "maxPosts" INTEGER,
    "windowMinutes" INTEGER,
    "exemptRoles" "Role"[],
    "exemptSpaceIds" INTEGER[],
    "createdById" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AutomodRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AutomodHit" (
    "id" SERIAL NOT NULL,
    "ruleId" INTEGER,
    "ruleName" TEXT NOT NULL,
    "action" "AutomodAction" NOT NULL,
    "userId" INTEGER NOT NULL,
    "subjectType" TEXT,
    "subjectId" INTEGER,
    "spaceId" INTEGER,
    "matched" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AutomodHit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Report_queueItemId_id_idx" ON "Report"("queueItemId", "id");

-- CreateIndex
CREATE INDEX "Report_reporterId_id_idx" ON "Report"("reporterId", "id");

-- CreateIndex
CREATE INDEX "ModerationQueueItem_status_rank_id_idx" ON "ModerationQueueItem"("status", "rank", "id");

-- CreateIndex
CREATE INDEX "ModerationQueueItem_subjectType_subjectId_idx" ON "ModerationQueueItem"("subjectType", "subjectId");

-- CreateIndex
CREATE UNIQUE INDEX "ModerationAction_decidedAppealId_key" ON "ModerationAction"("decidedAppealId");

-- CreateIndex
CREATE INDEX "ModerationAction_subjectType_subjectId_id_idx" ON "ModerationAction"("subjectType", "subjectId", "id");

-- CreateIndex
CREATE INDEX "ModerationAction_targetUserId_id_idx" ON "ModerationAction"("targetUserId", "id");

-- CreateIndex
CREATE INDEX "ModerationAction_spaceId_id_idx" ON "ModerationAction"("spaceId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Appeal_actionId_key" ON "Appeal"("actionId");

-- CreateIndex
CREATE INDEX "Appeal_status_id_idx" ON "Appeal"("status", "id");

-- CreateIndex
CREATE UNIQUE INDEX "AutomodRule_name_key" ON "AutomodRule"("name");

-- CreateIndex
CREATE INDEX "AutomodHit_ruleId_id_idx" ON "AutomodHit"("ruleId", "id");

-- AddForeignKey
ALTER TABLE "Report" ADD CONSTRAINT "Report_reporterId_fkey" FOREIGN KEY ("reporterId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Report" ADD CONSTRAINT "Report_queueItemId_fkey" FOREIGN KEY ("queueItemId") REFERENCES "ModerationQueueItem"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationQueueItem" ADD CONSTRAINT "ModerationQueueItem_spaceId_fkey" FOREIGN KEY ("spaceId") REFERENCES "Space"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationQueueItem" ADD CONSTRAINT "ModerationQueueItem_automodRuleId_fkey" FOREIGN KEY ("automodRuleId") REFERENCES "AutomodRule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationQueueItem" ADD CONSTRAINT "ModerationQueueItem_claimedById_fkey" FOREIGN KEY ("claimedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationQueueItem" ADD CONSTRAINT "ModerationQueueItem_resolvedById_fkey" FOREIGN KEY ("resolvedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationAction" ADD CONSTRAINT "ModerationAction_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationAction" ADD CONSTRAINT "ModerationAction_threadId_fkey" FOREIGN KEY ("threadId") REFERENCES "Thread"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationAction" ADD CONSTRAINT "ModerationAction_postId_fkey" FOREIGN KEY ("postId") REFERENCES "Post"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationAction" ADD CONSTRAINT "ModerationAction_spaceId_fkey" FOREIGN KEY ("spaceId") REFERENCES "Space"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationAction" ADD CONSTRAINT "ModerationAction_targetUserId_fkey" FOREIGN KEY ("targetUserId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationAction" ADD CONSTRAINT "ModerationAction_automodRuleId_fkey" FOREIGN KEY ("automodRuleId") REFERENCES "AutomodRule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModerationAction" ADD CONSTRAINT "ModerationAction_decidedAppealId_fkey" FOREIGN KEY ("decidedAppealId") REFERENCES "Appeal"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Appeal" ADD CONSTRAINT "Appeal_actionId_fkey" FOREIGN KEY ("actionId") REFERENCES "ModerationAction"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Appeal" ADD CONSTRAINT "Appeal_appellantId_fkey" FOREIGN KEY ("appellantId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Appeal" ADD CONSTRAINT "Appeal_resolvedById_fkey" FOREIGN KEY ("resolvedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AutomodRule" ADD CONSTRAINT "AutomodRule_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AutomodHit" ADD CONSTRAINT "AutomodHit_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "AutomodRule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AutomodHit" ADD CONSTRAINT "AutomodHit_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written: partial unique indexes Prisma can't express.
-- One OPEN report per reporter and subject.
CREATE UNIQUE INDEX "Report_one_open_per_reporter_subject" ON "Report" ("reporterId", "subjectType", "subjectId") WHERE "status" = 'OPEN';
-- One open (OPEN or CLAIMED) queue item per subject: later reports and flags join it.
CREATE UNIQUE INDEX "ModerationQueueItem_one_open_per_subject" ON "ModerationQueueItem" ("subjectType", "subjectId") WHERE "status" IN ('OPEN', 'CLAIMED');
