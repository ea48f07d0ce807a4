import type { Tx } from '../../db/client.js';

// Replies read, counted in the read mark's own transaction (members/read-state.ts): a read mark
// writes no activity event, so the signals job could not see it. Imports nothing but the
// database, so the members module may call it (as it calls mail/outbox.ts).

/** The UTC calendar day of an instant, as YYYY-MM-DD. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * Counts the replies of a thread with an id in (afterPostId, upToPostId] written by others (and
 * not deleted) as read today by `userId`, in the thread's space and overall, and flags the member
 * for the next signals pass (stats refresh, listeners).
 */
export async function countRepliesRead(
  tx: Tx,
  read: { userId: number; threadId: number; spaceId: number; afterPostId: number | null; upToPostId: number | null },
): Promise<void> {
  if (read.upToPostId == null || (read.afterPostId ?? 0) >= read.upToPostId) return;
  const added = await tx.$executeRaw`
    WITH n AS (
      SELECT count(*)::int AS "n" FROM "Post"
      WHERE "threadId" = ${read.threadId}::int AND "id" > ${read.afterPostId ?? 0}::int AND "id" <= ${read.upToPostId}::int
        AND "authorId" <> ${read.userId}::int AND "deletedAt" IS NULL)
    INSERT INTO "MemberActivityDay" ("userId", "spaceId", "day", "repliesRead")
    SELECT ${read.userId}::int, s."id", ${utcDay(new Date())}::date, n."n" FROM n, unnest(ARRAY[${read.spaceId}::int, 0]) AS s("id")
    WHERE n."n" > 0
    ON CONFLICT ("userId", "spaceId", "day") DO UPDATE SET "repliesRead" = "MemberActivityDay"."repliesRead" + EXCLUDED."repliesRead"`;
  if (added > 0) await tx.$executeRaw`INSERT INTO "SignalDirtyUser" ("userId") VALUES (${read.userId}::int) ON CONFLICT DO NOTHING`;
}
