-- CreateEnum
CREATE TYPE "BadgeKind" AS ENUM ('BUILT_IN', 'CUSTOM');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityKind" ADD VALUE 'BADGE_AWARDED';
ALTER TYPE "ActivityKind" ADD VALUE 'BADGE_REVOKED';
ALTER TYPE "ActivityKind" ADD VALUE 'BADGES_CHANGED';

-- AlterEnum
ALTER TYPE "NotificationKind" ADD VALUE 'BADGE_AWARDED';

-- CreateTable
CREATE TABLE "Badge" (
    "id" SERIAL NOT NULL,
    "key" TEXT,
    "kind" "BadgeKind" NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "icon" TEXT,
    "repeatable" BOOLEAN NOT NULL DEFAULT false,
    "archivedAt" TIMESTAMP(3),
    "createdById" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Badge_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BadgeAward" (
    "id" SERIAL NOT NULL,
    "badgeId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "grantKey" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "awardedById" INTEGER,
    "awardedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    "revokedById" INTEGER,

    CONSTRAINT "BadgeAward_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Badge_key_key" ON "Badge"("key");

-- CreateIndex
CREATE UNIQUE INDEX "Badge_name_key" ON "Badge"("name");

-- CreateIndex
CREATE INDEX "Badge_kind_id_idx" ON "Badge"("kind", "id");

-- CreateIndex
CREATE INDEX "BadgeAward_userId_awardedAt_id_idx" ON "BadgeAward"("userId", "awardedAt", "id");

-- CreateIndex
CREATE INDEX "BadgeAward_badgeId_awardedAt_id_idx" ON "BadgeAward"("badgeId", "awardedAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "BadgeAward_badgeId_userId_grantKey_key" ON "BadgeAward"("badgeId", "userId", "grantKey");

-- CreateIndex
CREATE INDEX "MemberStats_acceptedAnswers_userId_idx" ON "MemberStats"("acceptedAnswers" DESC, "userId");

-- CreateIndex
CREATE INDEX "MemberStats_reactionsReceived_userId_idx" ON "MemberStats"("reactionsReceived" DESC, "userId");

-- AddForeignKey
ALTER TABLE "BadgeAward" ADD CONSTRAINT "BadgeAward_badgeId_fkey" FOREIGN KEY ("badgeId") REFERENCES "Badge"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BadgeAward" ADD CONSTRAINT "BadgeAward_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BadgeAward" ADD CONSTRAINT "BadgeAward_awardedById_fkey" FOREIGN KEY ("awardedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- The built-in badges (participation/badges.ts awards them by their key).
INSERT INTO "Badge" ("key", "kind", "name", "description", "icon", "repeatable") VALUES
  ('FIRST_REPLY', 'BUILT_IN', 'First reply', 'Wrote a first reply.', '💬', false),
  ('FIRST_ACCEPTED_ANSWER', 'BUILT_IN', 'First accepted answer', 'A reply of theirs was accepted as the answer for the first time.', '✅', false),
  ('WELCOMER', 'BUILT_IN', 'Welcomer', 'Was the first to reply to 10 threads of newcomers.', '👋', false),
  ('HELPFUL', 'BUILT_IN', 'Helpful', '10 replies accepted as the answer.', '🤝', false),
  ('VERY_HELPFUL', 'BUILT_IN', 'Very helpful', '50 replies accepted as the answer.', '🏅', false),
  ('BILINGUAL', 'BUILT_IN', 'Bilingual', 'Has accepted answers written in Spanish and in English.', '🌎', false),
  ('RELIABLE_REPORTER', 'BUILT_IN', 'Reliable reporter', '5 reports upheld by the moderators.', '🛡️', false),
  ('CONVERSATION_STARTER', 'BUILT_IN', 'Conversation starter', 'Started 10 threads.', '🔥', false),
  ('APPRECIATED', 'BUILT_IN', 'Appreciated', 'Received 25 reactions from others.', '❤️', false);
