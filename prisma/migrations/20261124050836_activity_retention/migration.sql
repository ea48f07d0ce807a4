-- CreateTable
CREATE TABLE "ActivityPruning" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "prunedThroughId" BIGINT NOT NULL,
    "prunedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ActivityPruning_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Activity_occurredAt_idx" ON "Activity"("occurredAt");
