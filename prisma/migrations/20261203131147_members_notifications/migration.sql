-- CreateEnum
CREATE TYPE "FollowLevel" AS ENUM ('WATCHING', 'TRACKING', 'NORMAL', 'MUTED');

-- CreateEnum
CREATE TYPE "FollowReason" AS ENUM ('CREATED', 'REPLIED', 'CHOSE');

-- CreateEnum
CREATE TYPE "NotificationKind" AS ENUM ('REPLIED', 'MENTIONED', 'ANSWER_ACCEPTED', 'REACTED', 'CASE_UPDATED', 'REPORT_RESOLVED', 'APPEAL_DECIDED', 'CONTENT_MODERATED');

-- CreateTable
CREATE TABLE "ThreadSubscription" (
    "userId" INTEGER NOT NULL,
    "threadId" INTEGER NOT NULL,
    "level" "FollowLevel" NOT NULL,
    "reason" "FollowReason" NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ThreadSubscription_pkey" PRIMARY KEY ("userId","threadId")
);

-- CreateTable
CREATE TABLE "SpaceSubscription" (
    "userId" INTEGER NOT NULL,
    "spaceId" INTEGER NOT NULL,
    "level" "FollowLevel" NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SpaceSubscription_pkey" PRIMARY KEY ("userId","spaceId")
);

-- CreateTable
CREATE TABLE "Notification" (
    "id" SERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "kind" "NotificationKind" NOT NULL,
    "subjectType" TEXT NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "threadId" INTEGER,
    "postId" INTEGER,
    "caseId" INTEGER,
    "groupKey" TEXT,
    "lastActivityId" BIGINT NOT NULL,
    "actorIds" INTEGER[],
    "actorCount" INTEGER NOT NULL DEFAULT 0,
    "detail" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "readAt" TIMESTAMP(3),

    CONSTRAINT "Notification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationCursor" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "activityId" BIGINT NOT NULL,
    "afterUserId" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "NotificationCursor_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ThreadSubscription_threadId_level_userId_idx" ON "ThreadSubscription"("threadId", "level", "userId");

-- CreateIndex
CREATE INDEX "SpaceSubscription_spaceId_level_userId_idx" ON "SpaceSubscription"("spaceId", "level", "userId");

-- CreateIndex
CREATE INDEX "Notification_userId_lastActivityId_id_idx" ON "Notification"("userId", "lastActivityId", "id");

-- CreateIndex
CREATE INDEX "Notification_userId_readAt_idx" ON "Notification"("userId", "readAt");

-- CreateIndex
CREATE INDEX "Notification_threadId_idx" ON "Notification"("threadId");

-- CreateIndex
CREATE INDEX "Notification_postId_idx" ON "Notification"("postId");

-- CreateIndex
CREATE INDEX "Notification_caseId_idx" ON "Notification"("caseId");

-- CreateIndex
CREATE UNIQUE INDEX "Notification_userId_groupKey_key" ON "Notification"("userId", "groupKey");

-- AddForeignKey
ALTER TABLE "ThreadSubscription" ADD CONSTRAINT "ThreadSubscription_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ThreadSubscription" ADD CONSTRAINT "ThreadSubscription_threadId_fkey" FOREIGN KEY ("threadId") REFERENCES "Thread"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SpaceSubscription" ADD CONSTRAINT "SpaceSubscription_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SpaceSubscription" ADD CONSTRAINT "SpaceSubscription_spaceId_fkey" FOREIGN KEY ("spaceId") REFERENCES "Space"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_threadId_fkey" FOREIGN KEY ("threadId") REFERENCES "Thread"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_postId_fkey" FOREIGN KEY ("postId") REFERENCES "Post"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "SupportCase"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The fan-out starts from the log's end: events from before this release notify no one.
INSERT INTO "NotificationCursor" ("id", "activityId", "afterUserId")
SELECT 1, COALESCE(max("id"), 0), 0 FROM "Activity";
