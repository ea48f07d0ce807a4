import { inBackground, prisma, type Tx } from '../../db/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { ActivityKind } from '../../generated/prisma/enums.js';
import type { Logger } from '../../logger.js';
import { utcDay } from './reads.js';
import { recomputeReputation, reputationOf, RULES_FROM } from './reputation.js';

// Engagement signals per member, per space and overall, kept up to date INCREMENTALLY by the
// `signals` job, which reads the activity log from a cursor exactly as the notification fan-out
// does (notification.fanout.ts): a pass claims the one `SignalCursor` row FOR UPDATE SKIP LOCKED
// (one instance works, the others skip), reads the events after it in commit order, loads what
// they point to in one query per table, adds the deltas to the daily buckets
// (`MemberActivityDay`), refreshes the touched members' `MemberStats` from their buckets and moves
// the cursor, all in one transaction: an event is counted exactly once, however many passes race.
//
// Buckets: one row per (user, space, UTC day); spaceId 0 is the member's overall row, so every
// signal is added twice (its space and 0); signals without a space (a warning, a suspension) only
// to 0. Content counts on the day the content was created, so deleting it takes back exactly that
// day's count. Replies read are not in the log (a read mark is private): read-state.ts counts them
// in the mark's own transaction (reads.ts) and flags the member in `SignalDirtyUser`, which the
// next pass picks up to refresh their stats and tell the listeners.

export type SignalWindow = 'DAYS_30' | 'DAYS_90' | 'ALL';

export type Signals = {
  /** Distinct days with own activity (a thread, a reply, a reply read or a reaction given). */
  daysActive: number;
  threads: number;
  replies: number;
  repliesRead: number;
  reactionsGiven: number;
  reactionsReceived: number;
  acceptedAnswers: number;
  firstRepliesToNewcomers: number;
  reportsConfirmed: number;
  moderationActions: number;
};

export const SIGNAL_COUNTERS = [
  'threads',
  'replies',
  'repliesRead',
  'reactionsGiven',
  'reactionsReceived',
  'acceptedAnswers',
  'firstRepliesToNewcomers',
  'reportsConfirmed',
  'moderationActions',
] as const satisfies readonly (keyof Signals)[];
type Counter = (typeof SIGNAL_COUNTERS)[number];

/** The overall row of a member's buckets. */
export const OVERALL_SPACE = 0;

/** What counts as the member's own activity for daysActive (SQL over a bucket row `d`). */
const OWN_ACTIVITY = Prisma.sql`(d."threads" + d."replies" + d."repliesRead" + d."reactionsGiven") > 0`;

let settings = { newcomerDays: 30 };
let log: Pick<Logger, 'error'> = { error: (...args: unknown[]) => console.error(...args) };

export function configureSignals(options: { newcomerDays: number }, logger?: Logger): void {
  settings = { ...options };
  if (logger) log = logger;
}

const WINDOW_DAYS: Record<SignalWindow, number | null> = { DAYS_30: 30, DAYS_90: 90, ALL: null };

/**
 * The signals of each user (zeros for a user with none) over a window ending on `now`'s UTC day
 * (the last 30 or 90 days, today included) or all time, in one space or overall: ONE statement
 * whatever the number of users. A window sum is never below 0 (a reaction added before the
 * window and removed inside it takes back inside it).
 */
export async function signalsFor(
  userIds: number[],
  options: { spaceId?: number; window: SignalWindow; now?: Date },
): Promise<Map<number, Signals>> {
  const result = new Map<number, Signals>();
  if (userIds.length === 0) return result;
  const now = options.now ?? new Date();
  const days = WINDOW_DAYS[options.window];
  const to = utcDay(now);
  const from = days == null ? null : utcDay(new Date(now.getTime() - (days - 1) * 86_400_000));
  const range = from == null ? Prisma.empty : Prisma.sql`AND d."day" >= ${from}::date AND d."day" <= ${to}::date`;
  const sums = Prisma.join(SIGNAL_COUNTERS.map((c) => Prisma.sql`GREATEST(COALESCE(sum(d.${Prisma.raw(`"${c}"`)}), 0), 0)::int AS ${Prisma.raw(`"${c}"`)}`));
  const rows = await prisma().$queryRaw<({ userId: number } & Signals)[]>`
    SELECT u."id" AS "userId", (count(d."day") FILTER (WHERE ${OWN_ACTIVITY}))::int AS "daysActive", ${sums}
    FROM unnest(${[...new Set(userIds)]}::int[]) AS u("id")
    LEFT JOIN "MemberActivityDay" d ON d."userId" = u."id" AND d."spaceId" = ${options.spaceId ?? OVERALL_SPACE}::int ${range}
    GROUP BY u."id"`;
  for (const { userId, ...signals } of rows) result.set(userId, signals);
  return result;
}

// ---- Listeners --------------------------------------------------------------------------------

type Listener = (userIds: number[], now: Date) => Promise<void>;
const listeners = new Set<Listener>();

/**
 * Called after each pass commits with the users whose signals changed in it. The cursor has
 * already moved: a listener that fails is logged and not called again for those users, so it
 * must re-evaluate from the signals (idempotent), not count on seeing every change.
 */
export function onSignalsUpdated(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function tellListeners(userIds: number[]): Promise<void> {
  if (userIds.length === 0) return;
  const now = new Date();
  for (const listener of [...listeners]) {
    try {
      await listener(userIds, now);
    } catch (error) {
      log.error({ err: error, users: userIds.length }, 'a signals listener failed');
    }
  }
}

// ---- The pass ---------------------------------------------------------------------------------

/** Events read per pass, and dirty members taken per pass. */
const EVENTS_PER_PASS = 500;
const DIRTY_PER_PASS = 500;

/** Moderation actions that count against the member acted on (not restores, approvals, appeals). */
const AGAINST_MEMBER = new Set(['HIDE', 'REMOVE', 'WARN', 'SUSPEND']);

type Event = { id: bigint; kind: ActivityKind; actorId: number | null; subjectType: string; subjectId: number; spaceId: number | null; threadId: number | null; occurredAt: Date };

/** Deltas keyed by user, space and day; add() also adds to the overall row. */
class Deltas {
  readonly rows = new Map<string, { userId: number; spaceId: number; day: string; counts: Partial<Record<Counter, number>> }>();
  readonly users = new Set<number>();
  add(userId: number, spaceId: number | null, day: string, counter: Counter, by: number): void {
    this.users.add(userId);
    for (const space of spaceId == null || spaceId === OVERALL_SPACE ? [OVERALL_SPACE] : [spaceId, OVERALL_SPACE]) {
      const key = `${userId}:${space}:${day}`;
      let row = this.rows.get(key);
      if (!row) this.rows.set(key, (row = { userId, spaceId: space, day, counts: {} }));
      row.counts[counter] = (row.counts[counter] ?? 0) + by;
    }
  }
}

type Step = { step: 'locked' | 'idle' | 'progressed'; events: number; users: number[] };

async function step(): Promise<Step> {
  return prisma().$transaction(
    async (tx): Promise<Step> => {
      const [cursor] = await tx.$queryRaw<{ activityId: bigint }[]>`
        SELECT "activityId" FROM "SignalCursor" WHERE "id" = 1 FOR UPDATE SKIP LOCKED`;
      if (!cursor) {
        // Another instance holds it, or it does not exist yet: the log is read from its start.
        const created = await tx.$executeRaw`INSERT INTO "SignalCursor" ("id", "activityId") VALUES (1, 0) ON CONFLICT ("id") DO NOTHING`;
        return { step: created > 0 ? 'progressed' : 'locked', events: 0, users: [] };
      }
      const events: Event[] = await tx.activity.findMany({
        where: { id: { gt: cursor.activityId } },
        orderBy: { id: 'asc' },
        take: EVENTS_PER_PASS,
        select: { id: true, kind: true, actorId: true, subjectType: true, subjectId: true, spaceId: true, threadId: true, occurredAt: true },
      });
      const dirty = await tx.$queryRaw<{ userId: number }[]>`
        DELETE FROM "SignalDirtyUser" WHERE "userId" IN (
          SELECT "userId" FROM "SignalDirtyUser" ORDER BY "userId" LIMIT ${DIRTY_PER_PASS} FOR UPDATE SKIP LOCKED)
        RETURNING "userId"`;
      if (events.length === 0 && dirty.length === 0) return { step: 'idle', events: 0, users: [] };
      const deltas = new Deltas();
      if (events.length > 0) await derive(tx, events, deltas);
      await applyDeltas(tx, deltas);
      const users = [...new Set([...deltas.users, ...dirty.map((row) => row.userId)])].sort((a, b) => a - b);
      await refreshStats(tx, users);
      if (events.length > 0) {
        await tx.$executeRaw`UPDATE "SignalCursor" SET "activityId" = ${events[events.length - 1].id} WHERE "id" = 1`;
      }
      return { step: 'progressed', events: events.length, users };
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
}

/** Turns a batch of events into deltas, loading what they point to in one query per table. */
async function derive(tx: Tx, events: Event[], deltas: Deltas): Promise<void> {
  const ofKinds = (...kinds: ActivityKind[]) => events.filter((e) => kinds.includes(e.kind));
  const postSubjects = events.filter((e) => e.subjectType === 'Post').map((e) => e.subjectId);
  const threadIds = [...new Set(events.map((e) => e.threadId).filter((id): id is number => id != null))];
  const threads = new Map(
    (threadIds.length === 0
      ? []
      : await tx.thread.findMany({
          where: { id: { in: threadIds } },
          select: { id: true, authorId: true, spaceId: true, createdAt: true, answerPostId: true, deletedAt: true, author: { select: { createdAt: true } } },
        })
    ).map((t) => [t.id, t]),
  );
  const answerThreads = [...new Set(ofKinds('THREAD_ANSWERED', 'THREAD_ANSWER_UNMARKED', 'THREAD_DELETED').map((e) => e.subjectId))];
  const answerPostIds = answerThreads.map((id) => threads.get(id)?.answerPostId).filter((id): id is number => id != null);
  const postIds = [...new Set([...postSubjects, ...answerPostIds])];
  const posts = new Map(
    (postIds.length === 0
      ? []
      : await tx.post.findMany({ where: { id: { in: postIds } }, select: { id: true, authorId: true, threadId: true, createdAt: true, deletedAt: true } })
    ).map((p) => [p.id, p]),
  );
  // The first reply by someone other than the thread's author, per thread (posts are deleted softly,
  // so this never changes once written: a deletion takes back exactly what the creation counted).
  const replyThreads = [...new Set(ofKinds('POST_CREATED', 'POST_DELETED').map((e) => e.threadId).filter((id): id is number => id != null))];
  const firstReplies = new Map(
    (replyThreads.length === 0
      ? []
      : await tx.$queryRaw<{ threadId: number; postId: number }[]>`
          SELECT p."threadId", min(p."id") AS "postId" FROM "Post" p JOIN "Thread" t ON t."id" = p."threadId"
          WHERE p."threadId" = ANY(${replyThreads}::int[]) AND p."authorId" <> t."authorId" GROUP BY p."threadId"`
    ).map((row) => [row.threadId, row.postId]),
  );
  // Reactions a deleted thread or post had received (from others), taken back with it.
  const deletedThreads = ofKinds('THREAD_DELETED').map((e) => e.subjectId);
  const deletedPosts = ofKinds('POST_DELETED').map((e) => e.subjectId);
  const received = new Map<string, number>();
  if (deletedThreads.length + deletedPosts.length > 0) {
    const rows = await tx.$queryRaw<{ threadId: number | null; postId: number | null; n: number }[]>`
      SELECT r."threadId", r."postId", count(*)::int AS "n" FROM "Reaction" r
      LEFT JOIN "Thread" t ON t."id" = r."threadId" LEFT JOIN "Post" p ON p."id" = r."postId"
      WHERE (r."threadId" = ANY(${deletedThreads}::int[]) OR r."postId" = ANY(${deletedPosts}::int[]))
        AND r."userId" <> COALESCE(t."authorId", p."authorId")
      GROUP BY r."threadId", r."postId"`;
    for (const row of rows) received.set(row.threadId != null ? `Thread:${row.threadId}` : `Post:${row.postId}`, row.n);
  }
  const credited = new Map(
    (answerThreads.length === 0 ? [] : await tx.signalAnswer.findMany({ where: { threadId: { in: answerThreads } } })).map((a) => [a.threadId, a]),
  );
  const resolvedItems = ofKinds('QUEUE_ITEM_RESOLVED').map((e) => e.subjectId);
  const upheld = resolvedItems.length === 0
    ? []
    : await tx.report.findMany({ where: { queueItemId: { in: resolvedItems }, status: 'ACTION_TAKEN' }, select: { reporterId: true, queueItemId: true } });
  const actionIds = ofKinds('MODERATION_ACTION').map((e) => e.subjectId);
  const actions = new Map(
    (actionIds.length === 0
      ? []
      : await tx.moderationAction.findMany({ where: { id: { in: actionIds } }, select: { id: true, kind: true, actorId: true, targetUserId: true, spaceId: true, createdAt: true } })
    ).map((a) => [a.id, a]),
  );

  const newcomerMs = settings.newcomerDays * 86_400_000;
  const isFirstReplyToNewcomer = (post: { id: number; authorId: number; threadId: number; createdAt: Date }) => {
    const thread = threads.get(post.threadId);
    return (
      !!thread &&
      firstReplies.get(post.threadId) === post.id &&
      post.authorId !== thread.authorId &&
      post.createdAt.getTime() - thread.author.createdAt.getTime() < newcomerMs
    );
  };
  const contentOf = (e: Event) => (e.subjectType === 'Post' ? posts.get(e.subjectId) : e.subjectType === 'Thread' ? threads.get(e.subjectId) : undefined);

  for (const e of events) {
    const day = utcDay(e.occurredAt);
    switch (e.kind) {
      case 'THREAD_CREATED':
      case 'THREAD_DELETED': {
        const thread = threads.get(e.subjectId);
        if (!thread) break;
        const sign = e.kind === 'THREAD_CREATED' ? 1 : -1;
        deltas.add(thread.authorId, thread.spaceId, utcDay(thread.createdAt), 'threads', sign);
        const taken = received.get(`Thread:${thread.id}`);
        if (sign < 0 && taken) deltas.add(thread.authorId, thread.spaceId, day, 'reactionsReceived', -taken);
        break;
      }
      case 'POST_CREATED':
      case 'POST_DELETED': {
        const post = posts.get(e.subjectId);
        const thread = post && threads.get(post.threadId);
        if (!post || !thread) break;
        const sign = e.kind === 'POST_CREATED' ? 1 : -1;
        const created = utcDay(post.createdAt);
        deltas.add(post.authorId, thread.spaceId, created, 'replies', sign);
        if (isFirstReplyToNewcomer(post)) deltas.add(post.authorId, thread.spaceId, created, 'firstRepliesToNewcomers', sign);
        const taken = received.get(`Post:${post.id}`);
        if (sign < 0 && taken) deltas.add(post.authorId, thread.spaceId, day, 'reactionsReceived', -taken);
        break;
      }
      case 'REACTION_ADDED':
      case 'REACTION_REMOVED': {
        const content = contentOf(e);
        // Reacting to your own content counts for nobody.
        if (!content || e.actorId == null || e.actorId === content.authorId) break;
        const sign = e.kind === 'REACTION_ADDED' ? 1 : -1;
        deltas.add(e.actorId, e.spaceId, day, 'reactionsGiven', sign);
        deltas.add(content.authorId, e.spaceId, day, 'reactionsReceived', sign);
        break;
      }
      case 'QUEUE_ITEM_RESOLVED':
        for (const report of upheld) if (report.queueItemId === e.subjectId) deltas.add(report.reporterId, e.spaceId, day, 'reportsConfirmed', 1);
        break;
      case 'MODERATION_ACTION': {
        const action = actions.get(e.subjectId);
        if (action && AGAINST_MEMBER.has(action.kind) && action.actorId !== action.targetUserId) {
          deltas.add(action.targetUserId, action.spaceId, utcDay(action.createdAt), 'moderationActions', 1);
        }
        break;
      }
      default:
        break;
    }
  }

  // Accepted answers: each thread's credit is brought in line with what the thread says NOW (its
  // answer, unless the thread or the answer was deleted, or the author answered their own
  // thread). Several events of one thread in a batch, or across passes, converge on one credit.
  const lastEventOf = new Map(ofKinds('THREAD_ANSWERED', 'THREAD_ANSWER_UNMARKED', 'THREAD_DELETED').map((e) => [e.subjectId, e]));
  for (const [threadId, e] of lastEventOf) {
    const thread = threads.get(threadId);
    const answer = thread?.answerPostId != null && !thread.deletedAt ? posts.get(thread.answerPostId) : undefined;
    const want = answer && !answer.deletedAt && answer.authorId !== thread!.authorId ? answer : undefined;
    const had = credited.get(threadId);
    if (had?.postId === want?.id) continue;
    if (had) {
      deltas.add(had.userId, had.spaceId, utcDay(had.day), 'acceptedAnswers', -1);
      await tx.signalAnswer.delete({ where: { threadId } });
    }
    if (want && thread) {
      const day = utcDay(e.occurredAt);
      deltas.add(want.authorId, thread.spaceId, day, 'acceptedAnswers', 1);
      await tx.signalAnswer.create({ data: { threadId, postId: want.id, userId: want.authorId, spaceId: thread.spaceId, day: new Date(`${day}T00:00:00Z`) } });
    }
  }
}

/** Adds the deltas to the buckets in one statement. */
async function applyDeltas(tx: Tx, deltas: Deltas): Promise<void> {
  const rows = [...deltas.rows.values()];
  if (rows.length === 0) return;
  const columns = SIGNAL_COUNTERS.map((c) => Prisma.raw(`"${c}"`));
  const arrays = SIGNAL_COUNTERS.map((c) => Prisma.sql`${rows.map((r) => r.counts[c] ?? 0)}::int[]`);
  const updates = SIGNAL_COUNTERS.map((c) => Prisma.raw(`"${c}" = "MemberActivityDay"."${c}" + EXCLUDED."${c}"`));
  await tx.$executeRaw`
    INSERT INTO "MemberActivityDay" ("userId", "spaceId", "day", ${Prisma.join(columns)})
    SELECT * FROM unnest(${rows.map((r) => r.userId)}::int[], ${rows.map((r) => r.spaceId)}::int[], ${rows.map((r) => r.day)}::date[], ${Prisma.join(arrays)})
    ON CONFLICT ("userId", "spaceId", "day") DO UPDATE SET ${Prisma.join(updates)}`;
}

// Score: weighted activity that fades, each day's worth halving every SCORE_HALF_LIFE_DAYS:
//   score(now) = sum over the member's days of  value(day) x 2^(-(now - day) / 30)
//   value = 2 threads + 3 replies + 0.1 repliesRead + 0.5 reactionsGiven + 1 reactionsReceived
//         + 10 acceptedAnswers + 3 firstRepliesToNewcomers + 1 reportsConfirmed - 5 moderationActions
// Stored as of a fixed epoch (MemberStats.score = the sum with 2^((day - epoch) / 30)): every
// member's score fades at the same rate, so the stored values order members exactly as their
// scores do today, without rewriting anyone's row as days pass; scoreAt() scales it to a date.
export const SCORE_WEIGHTS: Record<Counter, number> = {
  threads: 2, replies: 3, repliesRead: 0.1, reactionsGiven: 0.5, reactionsReceived: 1,
  acceptedAnswers: 10, firstRepliesToNewcomers: 3, reportsConfirmed: 1, moderationActions: -5,
};
export const SCORE_HALF_LIFE_DAYS = 30;
const SCORE_EPOCH = '2025-01-01';
const EPOCH_MS = Date.parse(`${SCORE_EPOCH}T00:00:00Z`);

/** A stored score as of `now`'s UTC day (never below 0), rounded to 2 decimals. */
export function scoreAt(stored: number, now = new Date()): number {
  const days = Math.floor((Date.parse(`${utcDay(now)}T00:00:00Z`) - EPOCH_MS) / 86_400_000);
  return Math.max(0, Math.round(stored * 2 ** (-days / SCORE_HALF_LIFE_DAYS) * 100) / 100);
}

/**
 * Recomputes the members' all-time totals, reputation (rules of the moment) and score from their
 * overall buckets (bounded: one row per day they had any signal), in one statement.
 */
export async function refreshStats(tx: Tx, userIds: number[]): Promise<void> {
  if (userIds.length === 0) return;
  const columns = SIGNAL_COUNTERS.map((c) => Prisma.raw(`"${c}"`));
  const sums = SIGNAL_COUNTERS.map((c) => Prisma.raw(`GREATEST(COALESCE(sum(d."${c}"), 0), 0)::int AS "${c}"`));
  const value = Prisma.raw(SIGNAL_COUNTERS.map((c) => `${SCORE_WEIGHTS[c]} * d."${c}"`).join(' + '));
  const updates = ['daysActive', 'lastActiveOn', ...SIGNAL_COUNTERS, 'reputation', 'rulesVersion', 'score', 'updatedAt'].map((c) => Prisma.raw(`"${c}" = EXCLUDED."${c}"`));
  await tx.$executeRaw`
    INSERT INTO "MemberStats" ("userId", "daysActive", "lastActiveOn", ${Prisma.join(columns)}, "reputation", "rulesVersion", "score", "updatedAt")
    SELECT t."userId", t."daysActive", t."lastActiveOn", ${Prisma.join(columns.map((c) => Prisma.sql`t.${c}`))}, ${reputationOf('t')}, r."version", t."score", now()
    FROM (
      SELECT d."userId", (count(*) FILTER (WHERE ${OWN_ACTIVITY}))::int AS "daysActive", max(d."day") FILTER (WHERE ${OWN_ACTIVITY}) AS "lastActiveOn",
             ${Prisma.join(sums)},
             COALESCE(sum((${value}) * power(2::float8, (d."day" - ${SCORE_EPOCH}::date) / ${SCORE_HALF_LIFE_DAYS}::float8)), 0)::float8 AS "score"
      FROM "MemberActivityDay" d
      WHERE d."spaceId" = ${OVERALL_SPACE}::int AND d."userId" = ANY(${userIds}::int[])
      GROUP BY d."userId") t, ${RULES_FROM}
    ON CONFLICT ("userId") DO UPDATE SET ${Prisma.join(updates)}`;
}

/**
 * Reads the log (and the members flagged by reads) to its end, pass after pass; returns at once
 * when another instance holds the cursor. Listeners hear of each pass after it commits.
 */
export async function catchUpSignals(): Promise<{ events: number; users: number }> {
  let events = 0;
  const users = new Set<number>();
  for (;;) {
    const done = await step();
    events += done.events;
    for (const id of done.users) users.add(id);
    await tellListeners(done.users);
    if (done.step !== 'progressed') {
      // A batch of reputations a rules change left behind (see reputation.ts), if any.
      await recomputeReputation(1);
      return { events, users: users.size };
    }
  }
}

/** The kinds of event the job consumes (app.ts wakes it on them). */
export const SIGNAL_KINDS: ReadonlySet<ActivityKind> = new Set<ActivityKind>([
  'THREAD_CREATED',
  'THREAD_DELETED',
  'POST_CREATED',
  'POST_DELETED',
  'REACTION_ADDED',
  'REACTION_REMOVED',
  'THREAD_ANSWERED',
  'THREAD_ANSWER_UNMARKED',
  'QUEUE_ITEM_RESOLVED',
  'MODERATION_ACTION',
]);

export type SignalsJob = { run(): Promise<{ events: number; users: number }>; wake(): void; stop(): Promise<void> };

/** One pass at a time on this instance, and one more after it when woken meanwhile. */
export function signalsJob(logger: Logger): SignalsJob {
  let running: Promise<{ events: number; users: number }> | undefined;
  let again = false;
  let stopped = false;
  const run = (): Promise<{ events: number; users: number }> => {
    if (stopped) return Promise.resolve({ events: 0, users: 0 });
    if (running) {
      again = true;
      return running;
    }
    running = inBackground(catchUpSignals).finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        void run().catch((error: unknown) => logger.error({ err: error }, 'signals job failed'));
      }
    });
    return running;
  };
  return {
    run,
    wake: () => void run().catch((error: unknown) => logger.error({ err: error }, 'signals job failed')),
    async stop() {
      stopped = true;
      await running?.catch(() => undefined);
    },
  };
}
