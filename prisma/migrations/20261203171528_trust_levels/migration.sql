-- AlterEnum
ALTER TYPE "ActivityKind" ADD VALUE 'TRUST_LEVEL_CHANGED';

-- AlterEnum
ALTER TYPE "NotificationKind" ADD VALUE 'TRUST_LEVEL_CHANGED';

-- AlterTable
ALTER TABLE "AutomodRule" ADD COLUMN     "belowTrustLevel" INTEGER;

-- AlterTable
ALTER TABLE "Thread" ADD COLUMN     "wiki" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "MemberTrust" (
    "userId" INTEGER NOT NULL,
    "level" INTEGER NOT NULL DEFAULT 0,
    "locked" BOOLEAN NOT NULL DEFAULT false,
    "changedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MemberTrust_pkey" PRIMARY KEY ("userId")
);

-- CreateTable
CREATE TABLE "TrustLevelChange" (
    "id" SERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "fromLevel" INTEGER NOT NULL,
    "toLevel" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "actorId" INTEGER,
    "locked" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrustLevelChange_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrustLevelRules" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "levels" JSONB NOT NULL,
    "wikiEditLevel" INTEGER NOT NULL DEFAULT 2,
    "demotionGraceDays" INTEGER NOT NULL DEFAULT 14,
    "updatedById" INTEGER,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrustLevelRules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "MemberTrust_level_userId_idx" ON "MemberTrust"("level", "userId");

-- CreateIndex
CREATE INDEX "TrustLevelChange_userId_id_idx" ON "TrustLevelChange"("userId", "id");

-- AddForeignKey
ALTER TABLE "MemberTrust" ADD CONSTRAINT "MemberTrust_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrustLevelChange" ADD CONSTRAINT "TrustLevelChange_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrustLevelChange" ADD CONSTRAINT "TrustLevelChange_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
