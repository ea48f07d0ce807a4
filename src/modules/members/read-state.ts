import { countRepliesRead } from '../participation/reads.js';
import { loader, type Context, type Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Prisma, Thread } from '../../generated/prisma/client.js';
import { PUBLISHED_STATUSES, visibleContentWhere, visibleThreadWhere } from '../community/policy.js';
import { requireViewer } from '../identity/guards.js';

// Read state: how far each member has read each thread they opened (one ThreadRead row each).
// Replies are ordered by id (Thread.posts is oldest first, by id), so the last-read reply's id is
// the whole state: a reply is unread when its id is larger. What counts as unread, for everyone
// (moderators too): published replies (VISIBLE or HIDDEN, as Thread.replyCount counts them) by
// someone else, not deleted by their author. Removed, held and deleted replies are not news to
// read, and your own words are read.
// Counting them is one range scan of Post's (threadId, id) index per thread, in one statement per
// page of threads (readStates).

export type ReadState = {
  threadId: number;
  /** The last reply marked read; null when never marked or when the thread had no reply to read. */
  lastReadPostId: number | null;
  /** When the viewer last marked the thread read; null: never (a "new" thread for them). */
  readAt: Date | null;
  /** Published replies by others after the last read one (all of them when never read). */
  unreadCount: number;
};

/** The viewer's read state of many threads, in the order of `threadIds`: one statement. */
export async function readStates(viewerId: number, threadIds: readonly number[]): Promise<ReadState[]> {
  const rows = await prisma().$queryRaw<ReadState[]>`
    SELECT t."id" AS "threadId", r."lastReadPostId", r."readAt",
      (SELECT count(*)::int FROM "Post" p
        WHERE p."threadId" = t."id" AND p."id" > coalesce(r."lastReadPostId", 0)
          AND p."authorId" <> ${viewerId} AND p."moderationStatus" = ANY(${PUBLISHED_STATUSES}::text[]::"ModerationStatus"[]) AND p."deletedAt" IS NULL) AS "unreadCount"
    FROM unnest(${[...threadIds]}::int[]) AS t("id")
    LEFT JOIN "ThreadRead" r ON r."threadId" = t."id" AND r."userId" = ${viewerId}`;
  const byThread = new Map(rows.map((row) => [row.threadId, row]));
  return threadIds.map((threadId) => byThread.get(threadId) ?? { threadId, lastReadPostId: null, readAt: null, unreadCount: 0 });
}

/**
 * Threads the viewer opened (marked read at least once) that have unread replies since: the
 * `threads(filter: {unread: true})` list, as Discourse's "unread" (threads never opened are
 * "new", not unread). One statement over the viewer's read marks; the list query narrows by id.
 */
export async function unreadThreadIds(viewerId: number): Promise<number[]> {
  // LATERAL ... LIMIT 1: one probe of Post's (threadId, id) index per read mark, stopping at the
  // first unread reply, whatever the size of Post (a semi-join may scan it all; bench/read-state.ts).
  const rows = await prisma().$queryRaw<{ threadId: number }[]>`
    SELECT r."threadId" FROM "ThreadRead" r
    CROSS JOIN LATERAL (
      SELECT 1 FROM "Post" p
      WHERE p."threadId" = r."threadId" AND p."id" > coalesce(r."lastReadPostId", 0)
        AND p."authorId" <> ${viewerId} AND p."moderationStatus" = ANY(${PUBLISHED_STATUSES}::text[]::"ModerationStatus"[]) AND p."deletedAt" IS NULL
      ORDER BY p."id" LIMIT 1) AS unread
    WHERE r."userId" = ${viewerId}`;
  return rows.map((row) => row.threadId);
}

/**
 * Marks a thread read up to one of its replies (or, with none given, the latest reply the viewer
 * can see). Only ever forward: a mark before the stored one changes nothing but `readAt`. The
 * reply must be one the viewer can see, in that thread.
 *
 * Not written through writeWithActivity: a read mark is private (no one else sees it, nothing
 * else reacts to it), so it has no place in the activity log that spaces and moderators follow.
 */
export async function markThreadRead(signedIn: Viewer | null, threadId: number, upToPostId?: number | null): Promise<Thread> {
  // Suspended members still read: marking read is allowed to them.
  const viewer = requireViewer(signedIn);
  const thread = await prisma().thread.findFirst({ where: { id: threadId, ...visibleThreadWhere(viewer) } });
  if (!thread) throw new NotFoundError('Thread', String(threadId));
  let postId: number | null;
  if (upToPostId != null) {
    const post = await prisma().post.findFirst({ where: { id: upToPostId, ...visibleContentWhere(viewer) }, select: { threadId: true } });
    if (!post) throw new NotFoundError('Post', String(upToPostId));
    if (post.threadId !== thread.id) throw ValidationError.field('input.upToPostId', 'must be a reply in the thread input.threadId');
    postId = upToPostId;
  } else {
    const latest = await prisma().post.findFirst({
      where: { threadId: thread.id, ...visibleContentWhere(viewer) },
      orderBy: { id: 'desc' },
      select: { id: true },
    });
    postId = latest?.id ?? null;
  }
  // Safe when two marks race: the row is made to exist, then locked, so each mark sees the one
  // before it; GREATEST keeps the later reply (and ignores NULL). The replies newly read count
  // as a participation signal in the same transaction (participation/reads.ts).
  await prisma().$transaction(async (tx) => {
    await tx.$executeRaw`
      INSERT INTO "ThreadRead" ("userId", "threadId", "lastReadPostId", "readAt")
      VALUES (${viewer.id}, ${thread.id}, NULL, ${new Date()}) ON CONFLICT ("userId", "threadId") DO NOTHING`;
    const [before] = await tx.$queryRaw<{ lastReadPostId: number | null }[]>`
      SELECT "lastReadPostId" FROM "ThreadRead" WHERE "userId" = ${viewer.id} AND "threadId" = ${thread.id} FOR UPDATE`;
    await tx.$executeRaw`
      UPDATE "ThreadRead" SET "lastReadPostId" = GREATEST("lastReadPostId", ${postId}::int), "readAt" = ${new Date()}
      WHERE "userId" = ${viewer.id} AND "threadId" = ${thread.id}`;
    await countRepliesRead(tx, { userId: viewer.id, threadId: thread.id, spaceId: thread.spaceId, afterPostId: before?.lastReadPostId ?? null, upToPostId: postId });
  });
  return thread;
}

/**
 * The `threads(filter: {unread})` condition: true, the threads unreadThreadIds lists; false, every
 * other thread. Signed out, nothing is unread. Loaded once per request (the list and its
 * totalCount share it).
 */
export async function unreadThreadsWhere(ctx: Context, unread: boolean): Promise<Prisma.ThreadWhereInput> {
  if (!ctx.viewer) return unread ? { id: { in: [] } } : {};
  const ids = await loader(ctx, 'unreadThreadIds', (viewerIds: readonly number[]) => Promise.all(viewerIds.map(unreadThreadIds))).load(ctx.viewer.id);
  return unread ? { id: { in: ids } } : { id: { notIn: ids } };
}
