-- AlterEnum
ALTER TYPE "ActivityKind" ADD VALUE 'REPUTATION_RULES_CHANGED';

-- CreateTable
CREATE TABLE "ReputationRules" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "version" INTEGER NOT NULL DEFAULT 1,
    "acceptedAnswer" INTEGER NOT NULL DEFAULT 15,
    "reactionReceived" INTEGER NOT NULL DEFAULT 1,
    "reportConfirmed" INTEGER NOT NULL DEFAULT 2,
    "firstReplyToNewcomer" INTEGER NOT NULL DEFAULT 2,
    "moderationAction" INTEGER NOT NULL DEFAULT -5,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedById" INTEGER,

    CONSTRAINT "ReputationRules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "MemberStats_rulesVersion_userId_idx" ON "MemberStats"("rulesVersion", "userId");

-- The one row of weights, at their defaults (see reputation.ts).
INSERT INTO "ReputationRules" ("id") VALUES (1) ON CONFLICT ("id") DO NOTHING;
