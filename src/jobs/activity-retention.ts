import { prisma } from '../db/client.js';

const BATCH = 5000;

/**
 * Deletes activity older than `retentionDays`, oldest first, in short batches so writers that
 * append to the log are never held for long. The newest event is always kept, so the log's end
 * (and so "is this cursor from the future?") stays known. Each batch records how far pruning has
 * gone in the same transaction: a cursor below that point has expired (CursorExpiredError).
 *
 * Safe when several instances run it at once: a transaction-scoped advisory lock lets one prune
 * at a time, and deleting what is already gone deletes nothing. Returns how many rows went.
 */
export async function pruneActivity(retentionDays: number, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 3600_000);
  let total = 0;
  for (;;) {
    const deleted = await prisma().$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(7303)`;
      const [batch] = await tx.$queryRaw<{ count: number; through: bigint | null }[]>`
        WITH doomed AS (
          SELECT "id" FROM "Activity"
          WHERE "occurredAt" < ${cutoff} AND "id" < (SELECT max("id") FROM "Activity")
          ORDER BY "id" LIMIT ${BATCH}
        ), gone AS (
          DELETE FROM "Activity" WHERE "id" IN (SELECT "id" FROM doomed) RETURNING "id"
        )
        SELECT count(*)::int AS "count", max("id") AS "through" FROM gone`;
      if (batch.through != null) {
        await tx.$executeRaw`
          INSERT INTO "ActivityPruning" ("id", "prunedThroughId", "prunedAt") VALUES (1, ${batch.through}, ${now})
          ON CONFLICT ("id") DO UPDATE
          SET "prunedThroughId" = GREATEST("ActivityPruning"."prunedThroughId", EXCLUDED."prunedThroughId"),
              "prunedAt" = EXCLUDED."prunedAt"`;
      }
      return batch.count;
    });
    total += deleted;
    if (deleted < BATCH) return total;
  }
}
