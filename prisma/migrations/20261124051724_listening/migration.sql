-- CreateEnum
CREATE TYPE "BrandKind" AS ENUM ('OWN', 'COMPETITOR');

-- CreateEnum
CREATE TYPE "ListeningSourceKind" AS ENUM ('RSS', 'ATOM', 'JSON_FEED', 'WEBHOOK');

-- CreateEnum
CREATE TYPE "MentionSentiment" AS ENUM ('POSITIVE', 'NEUTRAL', 'NEGATIVE');

-- CreateEnum
CREATE TYPE "MentionStatus" AS ENUM ('NEW', 'REVIEWED', 'ENGAGED', 'IGNORED');

-- CreateEnum
CREATE TYPE "ListeningAlertKind" AS ENUM ('VOLUME_SPIKE', 'NEGATIVE_SPIKE', 'KEYWORD');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityKind" ADD VALUE 'LISTENING_ALERT';
ALTER TYPE "ActivityKind" ADD VALUE 'LISTENING_ALERT_ACKNOWLEDGED';

-- AlterEnum
ALTER TYPE "ActivityVisibility" ADD VALUE 'MANAGERS';

-- CreateTable
CREATE TABLE "TrackedBrand" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "BrandKind" NOT NULL,
    "keywords" TEXT[],
    "exclusionKeywords" TEXT[],
    "archivedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TrackedBrand_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ListeningSource" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "ListeningSourceKind" NOT NULL,
    "url" TEXT,
    "pollIntervalMinutes" INTEGER NOT NULL DEFAULT 15,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "etag" TEXT,
    "lastModified" TEXT,
    "lastFetchedAt" TIMESTAMP(3),
    "lastError" TEXT,
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "nextFetchAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "webhookSecret" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ListeningSource_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Mention" (
    "id" SERIAL NOT NULL,
    "sourceId" INTEGER NOT NULL,
    "externalId" TEXT NOT NULL,
    "url" TEXT,
    "title" TEXT NOT NULL DEFAULT '',
    "body" TEXT NOT NULL,
    "author" TEXT,
    "publishedAt" TIMESTAMP(3) NOT NULL,
    "ingestedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "language" TEXT,
    "sentimentScore" DOUBLE PRECISION NOT NULL,
    "sentiment" "MentionSentiment" NOT NULL,
    "normalizedText" TEXT NOT NULL,
    "matched" BOOLEAN NOT NULL,
    "status" "MentionStatus" NOT NULL DEFAULT 'NEW',
    "assigneeId" INTEGER,
    "threadId" INTEGER,
    "searchVector" tsvector,

    CONSTRAINT "Mention_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MentionBrand" (
    "mentionId" INTEGER NOT NULL,
    "brandId" INTEGER NOT NULL,
    "publishedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MentionBrand_pkey" PRIMARY KEY ("mentionId","brandId")
);

-- CreateTable
CREATE TABLE "ListeningAlertRule" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "ListeningAlertKind" NOT NULL,
    "brandId" INTEGER,
    "keyword" TEXT,
    "windowMinutes" INTEGER NOT NULL DEFAULT 60,
    "spikeFactor" DOUBLE PRECISION NOT NULL DEFAULT 3,
    "minVolume" INTEGER NOT NULL DEFAULT 5,
    "baselineWindows" INTEGER NOT NULL DEFAULT 24,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ListeningAlertRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ListeningAlert" (
    "id" SERIAL NOT NULL,
    "ruleId" INTEGER NOT NULL,
    "brandId" INTEGER,
    "kind" "ListeningAlertKind" NOT NULL,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "windowEnd" TIMESTAMP(3) NOT NULL,
    "observed" INTEGER NOT NULL,
    "baseline" DOUBLE PRECISION NOT NULL,
    "message" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acknowledgedAt" TIMESTAMP(3),
    "acknowledgedById" INTEGER,

    CONSTRAINT "ListeningAlert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "TrackedBrand_name_key" ON "TrackedBrand"("name");

-- CreateIndex
CREATE INDEX "ListeningSource_enabled_nextFetchAt_idx" ON "ListeningSource"("enabled", "nextFetchAt");

-- CreateIndex
CREATE UNIQUE INDEX "Mention_threadId_key" ON "Mention"("threadId");

-- CreateIndex
CREATE INDEX "Mention_publishedAt_idx" ON "Mention"("publishedAt");

-- CreateIndex
CREATE INDEX "Mention_searchVector_idx" ON "Mention" USING GIN ("searchVector");

-- CreateIndex
CREATE UNIQUE INDEX "Mention_sourceId_externalId_key" ON "Mention"("sourceId", "externalId");

-- CreateIndex
CREATE INDEX "MentionBrand_brandId_publishedAt_idx" ON "MentionBrand"("brandId", "publishedAt");

-- CreateIndex
CREATE INDEX "ListeningAlert_createdAt_idx" ON "ListeningAlert"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "ListeningAlert_ruleId_windowStart_key" ON "ListeningAlert"("ruleId", "windowStart");

-- AddForeignKey
ALTER TABLE "Mention" ADD CONSTRAINT "Mention_sourceId_fkey" FOREIGN KEY ("sourceId") REFERENCES "ListeningSource"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Mention" ADD CONSTRAINT "Mention_assigneeId_fkey" FOREIGN KEY ("assigneeId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Mention" ADD CONSTRAINT "Mention_threadId_fkey" FOREIGN KEY ("threadId") REFERENCES "Thread"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MentionBrand" ADD CONSTRAINT "MentionBrand_mentionId_fkey" FOREIGN KEY ("mentionId") REFERENCES "Mention"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MentionBrand" ADD CONSTRAINT "MentionBrand_brandId_fkey" FOREIGN KEY ("brandId") REFERENCES "TrackedBrand"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ListeningAlertRule" ADD CONSTRAINT "ListeningAlertRule_brandId_fkey" FOREIGN KEY ("brandId") REFERENCES "TrackedBrand"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ListeningAlert" ADD CONSTRAINT "ListeningAlert_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "ListeningAlertRule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ListeningAlert" ADD CONSTRAINT "ListeningAlert_brandId_fkey" FOREIGN KEY ("brandId") REFERENCES "TrackedBrand"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ListeningAlert" ADD CONSTRAINT "ListeningAlert_acknowledgedById_fkey" FOREIGN KEY ("acknowledgedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Search vector of a mention, in its detected language (English when undetermined): the
-- `mentions(filter: {query})` search and the rising terms of listeningReport read its lexemes.
CREATE FUNCTION mention_search_vector_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."searchVector" := to_tsvector(
    CASE NEW."language" WHEN 'es' THEN 'spanish'::regconfig ELSE 'english'::regconfig END,
    coalesce(NEW."title", '') || ' ' || coalesce(NEW."body", ''));
  RETURN NEW;
END $$;

CREATE TRIGGER mention_search_vector BEFORE INSERT OR UPDATE OF "title", "body", "language" ON "Mention"
  FOR EACH ROW EXECUTE FUNCTION mention_search_vector_update();
