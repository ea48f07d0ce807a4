import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { isStaff } from '../identity/roles.js';
import { onSignalsUpdated } from './signals.js';

// Peer routing: a thread that has waited its space's `peerAttentionAfterMinutes` with no reply
// from anyone but its author, and has not yet reached the staff attention queue
// (`attentionAfterMinutes`), is routed ONCE to up to `maxExperts` experts of its space. Each ask
// is a PeerAsk row (unique per thread and expert) and the pass records THREAD_ROUTED_TO_EXPERTS
// (staff only); the notification fan-out turns it into PEER_ASK notifications to the asked.
//
// Whom to ask ("learns whom to ask"): experts are the members with accepted answers in the
// space, ranked by   accepted answers there x (answered asks + 1) / (asks + 2)   over all their
// past asks: a smoothed ask->answer ratio, so someone never asked starts at one half, and
// someone who is asked and never answers sinks below an equally good expert who does.
// Candidates must not be the author, must be able to read the space, must not be suspended,
// must not have muted the author, and must have been asked fewer than `maxAsksPerDay` times in
// the last 24 hours.
//
// Races: each thread is routed in its own transaction holding advisory lock 7360 (routing
// decisions, taken first per the lock order), which re-checks that the thread has no asks yet;
// the unique key is the backstop. Two passes on two instances ask exactly once.

export type PeerRoutingSettings = { maxExperts: number; maxAsksPerDay: number };

/** Threads routed per pass (oldest wait first); the next pass takes the rest. */
const THREADS_PER_PASS = 50;
const ROUTING_LOCK = 7360;

type Due = { threadId: number; spaceId: number; authorId: number };

/** One pass: routes the threads due at `now`. Returns how many experts were asked. */
export async function routeUnansweredThreads(now: Date, options: PeerRoutingSettings): Promise<{ threads: number; asks: number }> {
  const due = await prisma().$queryRaw<Due[]>`
    SELECT t."id" AS "threadId", t."spaceId", t."authorId"
    FROM "Thread" t JOIN "Space" s ON s."id" = t."spaceId"
    WHERE s."peerAttentionAfterMinutes" IS NOT NULL AND t."status" = 'OPEN'
      AND t."moderationStatus" IN ('VISIBLE', 'HIDDEN')
      AND t."createdAt" + make_interval(mins => s."peerAttentionAfterMinutes") <= ${now}
      -- Before the staff attention queue takes it.
      AND (s."attentionAfterMinutes" IS NULL OR t."createdAt" + make_interval(mins => s."attentionAfterMinutes") > ${now})
      AND NOT EXISTS (SELECT 1 FROM "Post" p WHERE p."threadId" = t."id" AND p."authorId" <> t."authorId")
      AND NOT EXISTS (SELECT 1 FROM "PeerAsk" a WHERE a."threadId" = t."id")
    ORDER BY t."createdAt", t."id"
    LIMIT ${THREADS_PER_PASS}`;
  let asks = 0;
  let threads = 0;
  for (const thread of due) {
    const asked = await routeThread(thread, now, options);
    asks += asked;
    if (asked > 0) threads += 1;
  }
  return { threads, asks };
}

async function routeThread(thread: Due, now: Date, options: PeerRoutingSettings): Promise<number> {
  return writeWithActivity(async (tx, activity) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ROUTING_LOCK}::int)`;
    // Another pass routed it meanwhile, or someone answered: nothing to do.
    const [still] = await tx.$queryRaw<{ ok: boolean }[]>`
      SELECT (NOT EXISTS (SELECT 1 FROM "PeerAsk" a WHERE a."threadId" = ${thread.threadId}::int)
        AND NOT EXISTS (SELECT 1 FROM "Post" p WHERE p."threadId" = ${thread.threadId}::int AND p."authorId" <> ${thread.authorId}::int)) AS "ok"`;
    if (!still?.ok) return 0;
    const dayAgo = new Date(now.getTime() - 86_400_000);
    const inserted = await tx.$queryRaw<{ userId: number }[]>`
      INSERT INTO "PeerAsk" ("threadId", "userId", "spaceId", "askedAt")
      SELECT ${thread.threadId}::int, c."userId", ${thread.spaceId}::int, ${now}::timestamp
      FROM (
        SELECT e."userId"
        FROM (
          SELECT d."userId", sum(d."acceptedAnswers")::int AS "accepted"
          FROM "MemberActivityDay" d WHERE d."spaceId" = ${thread.spaceId}::int
          GROUP BY d."userId" HAVING sum(d."acceptedAnswers") > 0
        ) e
        JOIN "User" u ON u."id" = e."userId"
        JOIN "Space" s ON s."id" = ${thread.spaceId}::int
        LEFT JOIN LATERAL (
          SELECT count(*)::int AS "asked", count(a."answeredAt")::int AS "answered",
                 (count(*) FILTER (WHERE a."askedAt" > ${dayAgo}::timestamp))::int AS "recent"
          FROM "PeerAsk" a WHERE a."userId" = e."userId"
        ) h ON true
        WHERE u."id" <> ${thread.authorId}::int
          AND (u."suspendedUntil" IS NULL OR u."suspendedUntil" <= ${now}::timestamp)
          AND (s."visibility" <> 'STAFF' OR u."role" <> 'MEMBER')
          AND NOT EXISTS (SELECT 1 FROM "UserMute" m WHERE m."muterId" = u."id" AND m."mutedId" = ${thread.authorId}::int)
          AND h."recent" < ${options.maxAsksPerDay}::int
        ORDER BY e."accepted" * (h."answered" + 1.0) / (h."asked" + 2.0) DESC, e."accepted" DESC, e."userId"
        LIMIT ${options.maxExperts}::int
      ) c
      ON CONFLICT ("threadId", "userId") DO NOTHING
      RETURNING "userId"`;
    if (inserted.length === 0) return 0;
    const space = await tx.space.findUniqueOrThrow({ where: { id: thread.spaceId } });
    await activity.record({
      kind: 'THREAD_ROUTED_TO_EXPERTS',
      actorId: null,
      subject: { type: 'Thread', id: thread.threadId },
      space,
      threadId: thread.threadId,
      visibility: 'STAFF',
    });
    return inserted.length;
  });
}

/**
 * Marks the asks of these members answered when they have replied in the asked thread since
 * (the first such reply's time). Idempotent; called after each signals pass with the members
 * whose signals changed, which includes everyone who just replied.
 */
export async function markAnswered(userIds: number[]): Promise<number> {
  if (userIds.length === 0) return 0;
  return prisma().$executeRaw`
    UPDATE "PeerAsk" a SET "answeredAt" = r."at"
    FROM (
      SELECT a2."id", min(p."createdAt") AS "at"
      FROM "PeerAsk" a2 JOIN "Post" p ON p."threadId" = a2."threadId" AND p."authorId" = a2."userId"
      WHERE a2."userId" = ANY(${userIds}::int[]) AND a2."answeredAt" IS NULL
      GROUP BY a2."id"
    ) r
    WHERE a."id" = r."id"`;
}

onSignalsUpdated(async (userIds) => {
  await markAnswered(userIds);
});

export type PeerAskRow = { id: number; threadId: number; userId: number; askedAt: Date; answeredAt: Date | null };

/** The asks of these threads, for staff only (null for anyone else): one statement per page. */
export async function peerAsksOf(viewer: Viewer | null, threadIds: readonly number[]): Promise<(PeerAskRow[] | null)[]> {
  if (!viewer || !isStaff(viewer.role)) return threadIds.map(() => null);
  const rows = await prisma().peerAsk.findMany({
    where: { threadId: { in: [...threadIds] } },
    orderBy: [{ askedAt: 'asc' }, { id: 'asc' }],
    select: { id: true, threadId: true, userId: true, askedAt: true, answeredAt: true },
  });
  return threadIds.map((id) => rows.filter((row) => row.threadId === id));
}
