-- AlterEnum
ALTER TYPE "ActivityKind" ADD VALUE 'THREAD_ROUTED_TO_EXPERTS';

-- AlterEnum
ALTER TYPE "NotificationKind" ADD VALUE 'PEER_ASK';

-- AlterTable
ALTER TABLE "Space" ADD COLUMN     "peerAttentionAfterMinutes" INTEGER;

-- CreateTable
CREATE TABLE "PeerAsk" (
    "id" SERIAL NOT NULL,
    "threadId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "spaceId" INTEGER NOT NULL,
    "askedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "answeredAt" TIMESTAMP(3),

    CONSTRAINT "PeerAsk_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MemberSegmentEntry" (
    "segment" TEXT NOT NULL,
    "spaceId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "rank" INTEGER NOT NULL,
    "a" INTEGER NOT NULL,
    "b" INTEGER NOT NULL,

    CONSTRAINT "MemberSegmentEntry_pkey" PRIMARY KEY ("segment","spaceId","userId")
);

-- CreateTable
CREATE TABLE "MemberSegmentSnapshot" (
    "spaceId" INTEGER NOT NULL,
    "computedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MemberSegmentSnapshot_pkey" PRIMARY KEY ("spaceId")
);

-- CreateIndex
CREATE INDEX "PeerAsk_userId_askedAt_idx" ON "PeerAsk"("userId", "askedAt");

-- CreateIndex
CREATE INDEX "PeerAsk_spaceId_userId_idx" ON "PeerAsk"("spaceId", "userId");

-- CreateIndex
CREATE UNIQUE INDEX "PeerAsk_threadId_userId_key" ON "PeerAsk"("threadId", "userId");

-- CreateIndex
CREATE INDEX "MemberSegmentEntry_segment_spaceId_rank_userId_idx" ON "MemberSegmentEntry"("segment", "spaceId", "rank" DESC, "userId");
