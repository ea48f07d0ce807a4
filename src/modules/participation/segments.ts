import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';
import { requireStaff } from '../identity/guards.js';
import { utcDay } from './reads.js';
import { OVERALL_SPACE } from './signals.js';

// Segments of members for the community team, from the daily signal buckets (MemberActivityDay,
// index (spaceId, day)). A page is ONE index range scan of MemberSegmentEntry, keyset-paged on
// (rank DESC, userId ASC); those rows are recomputed per space, for every segment at once, in
// one statement over the space's last 90 days of buckets, when older than SEGMENT_REFRESH_SECONDS
// or of an earlier UTC day (ensureSnapshot). Aggregating every member per page took 0.4-0.9 s at
// 100,000 members (bench/RESULTS.md). Windows end on `now`'s UTC day, today included.
// NEWCOMERS_UNANSWERED reads the threads of recent members directly (one statement per page).
//
// "Actions" are a member's own contributions: threads + replies + reactions given.
// The 90-day score weighs helping others most: 5 x accepted answers + 2 x replies
// + 2 x first replies to newcomers + threads + reactions received.

export type Segment = 'CHAMPIONS' | 'RISING' | 'DRIFTING' | 'NEW_AND_ACTIVE' | 'NEWCOMERS_UNANSWERED';

export type SegmentSignal =
  | 'SCORE_90_DAYS'
  | 'ACCEPTED_ANSWERS_90_DAYS'
  | 'ACTIONS_30_DAYS'
  | 'ACTIONS_PREVIOUS_30_DAYS'
  | 'ACTIONS_DAYS_31_TO_90'
  | 'DAYS_ACTIVE_30_DAYS'
  | 'DAYS_SINCE_JOINED'
  | 'UNANSWERED_THREADS';

export type SegmentReason = { signal: SegmentSignal; value: number };
export type SegmentMember = { userId: number; rank: number; reasons: SegmentReason[] };

export type SegmentSettings = {
  /** CHAMPIONS: at least this many accepted answers in the last 90 days. */
  championMinAccepted: number;
  /** RISING: at least this many actions in the last 30 days... */
  risingMinActions: number;
  /** ...and at least this many times their actions in the 30 days before. */
  risingFactor: number;
  /** NEW_AND_ACTIVE: at least this many active days since joining. */
  newMinActiveDays: number;
  /** NEW_AND_ACTIVE and NEWCOMERS_UNANSWERED: joined less than this many days ago. */
  newcomerDays: number;
  /** The segment rows of a space are recomputed when older than this. */
  refreshSeconds: number;
};

let settings: SegmentSettings = { championMinAccepted: 1, risingMinActions: 5, risingFactor: 2, newMinActiveDays: 3, newcomerDays: 30, refreshSeconds: 300 };

export function configureSegments(options: SegmentSettings): void {
  settings = { ...options };
}

export function segmentSettings(): SegmentSettings {
  return settings;
}

const DAY_MS = 86_400_000;
const ACTIONS = Prisma.sql`(d."threads" + d."replies" + d."reactionsGiven")`;
/** Own activity for days active, as in signals.ts. */
const OWN_ACTIVITY = Prisma.sql`(d."threads" + d."replies" + d."repliesRead" + d."reactionsGiven") > 0`;
const SCORE = Prisma.sql`(5 * d."acceptedAnswers" + 2 * d."replies" + 2 * d."firstRepliesToNewcomers" + d."threads" + d."reactionsReceived")`;

export function encodeSegmentCursor(member: SegmentMember): string {
  return Buffer.from(`${member.rank}:${member.userId}`).toString('base64url');
}

function decodeCursor(after: string): { rank: number; userId: number } {
  const match = /^(-?\d{1,12}):(\d{1,10})$/.exec(Buffer.from(after, 'base64url').toString());
  if (!match) throw ValidationError.field('after', 'is not a cursor of this list');
  return { rank: Number(match[1]), userId: Number(match[2]) };
}

/**
 * One page of a segment, for staff. `spaceId`: signals in that space only (overall otherwise);
 * `now` fixes the windows (tests).
 */
export async function membersInSegment(
  viewer: Viewer | null,
  options: { segment: Segment; spaceId?: number; first: number; after?: string | null; now?: Date },
): Promise<{ members: SegmentMember[]; hasNextPage: boolean }> {
  requireStaff(viewer, 'see member segments');
  const { segment, first } = options;
  const after = options.after ? decodeCursor(options.after) : null;
  if (options.spaceId != null && !(await prisma().space.findUnique({ where: { id: options.spaceId }, select: { id: true } }))) {
    throw new NotFoundError('Space', String(options.spaceId));
  }
  if (first === 0) return { members: [], hasNextPage: false };
  const now = options.now ?? new Date();
  const joinedAfter = new Date(now.getTime() - settings.newcomerDays * DAY_MS);
  const space = options.spaceId ?? OVERALL_SPACE;
  const keyset = after
    ? Prisma.sql`AND ("rank" < ${after.rank} OR ("rank" = ${after.rank} AND "userId" > ${after.userId}::int))`
    : Prisma.empty;
  type Row = { userId: number; rank: number; a: number; b: number };
  let rows: Row[];
  let reasons: (row: Row) => SegmentReason[];

  if (segment === 'NEWCOMERS_UNANSWERED') {
    // From the threads, not the buckets: open, published threads of recent members that nobody
    // but their author has replied to (Thread index on authorId; recent members only).
    const inSpace = options.spaceId != null ? Prisma.sql`AND t."spaceId" = ${options.spaceId}::int` : Prisma.empty;
    rows = await prisma().$queryRaw<Row[]>`
      SELECT * FROM (
        SELECT u."id" AS "userId", count(t."id")::int AS "rank", count(t."id")::int AS "a",
               floor(extract(epoch FROM (${now}::timestamp - u."createdAt")) / 86400)::int AS "b"
        FROM "User" u JOIN "Thread" t ON t."authorId" = u."id"
        WHERE u."createdAt" > ${joinedAfter} AND u."createdAt" <= ${now} AND t."status" = 'OPEN'
          AND t."moderationStatus" IN ('VISIBLE', 'HIDDEN') AND t."createdAt" <= ${now} ${inSpace}
          AND NOT EXISTS (SELECT 1 FROM "Post" p WHERE p."threadId" = t."id" AND p."authorId" <> t."authorId")
        GROUP BY u."id", u."createdAt"
      ) m
      WHERE true ${keyset}
      ORDER BY "rank" DESC, "userId" LIMIT ${first + 1}`;
    reasons = (row) => [
      { signal: 'UNANSWERED_THREADS', value: row.a },
      { signal: 'DAYS_SINCE_JOINED', value: row.b },
    ];
  } else {
    await ensureSnapshot(space, now);
    const entryKeyset = after
      ? Prisma.sql`AND (e."rank" < ${after.rank}::int OR (e."rank" = ${after.rank}::int AND e."userId" > ${after.userId}::int))`
      : Prisma.empty;
    rows = await prisma().$queryRaw<Row[]>`
      SELECT e."userId", e."rank", e."a", e."b" FROM "MemberSegmentEntry" e
      WHERE e."segment" = ${segment} AND e."spaceId" = ${space}::int ${entryKeyset}
      ORDER BY e."rank" DESC, e."userId" LIMIT ${first + 1}`;
    reasons = (row) => REASONS[segment].map((signal, i) => ({ signal, value: i === 0 ? row.a : row.b }));
  }
  const members = rows.slice(0, first).map((row) => ({ userId: row.userId, rank: row.rank, reasons: reasons(row) }));
  return { members, hasNextPage: rows.length > first };
}

const REASONS: Record<Exclude<Segment, 'NEWCOMERS_UNANSWERED'>, [SegmentSignal, SegmentSignal]> = {
  CHAMPIONS: ['SCORE_90_DAYS', 'ACCEPTED_ANSWERS_90_DAYS'],
  RISING: ['ACTIONS_30_DAYS', 'ACTIONS_PREVIOUS_30_DAYS'],
  DRIFTING: ['ACTIONS_DAYS_31_TO_90', 'DAYS_ACTIVE_30_DAYS'],
  NEW_AND_ACTIVE: ['DAYS_ACTIVE_30_DAYS', 'DAYS_SINCE_JOINED'],
};

/**
 * Makes the space's segment rows at most `refreshSeconds` old (and of `now`'s UTC day): the first
 * reader that finds them stale recomputes every segment of the space in one transaction under an
 * advisory lock (7361, spaceId), from ONE pass over the space's buckets of the last 90 days;
 * readers meanwhile keep paging the previous rows. Returns whether it recomputed.
 */
export async function ensureSnapshot(spaceId: number, now: Date): Promise<boolean> {
  const fresh = (at: Date | undefined) =>
    !!at && now.getTime() - at.getTime() < settings.refreshSeconds * 1000 && at.getTime() <= now.getTime() && utcDay(at) === utcDay(now);
  const current = await prisma().memberSegmentSnapshot.findUnique({ where: { spaceId } });
  if (fresh(current?.computedAt)) return false;
  return prisma().$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(7361, ${spaceId}::int)`;
      const again = await tx.memberSegmentSnapshot.findUnique({ where: { spaceId } });
      if (fresh(again?.computedAt)) return false;
      const day = (back: number) => utcDay(new Date(now.getTime() - back * DAY_MS));
      const joinedAfter = new Date(now.getTime() - settings.newcomerDays * DAY_MS);
      const last30 = Prisma.sql`d."day" >= ${day(29)}::date`;
      const prev30 = Prisma.sql`d."day" >= ${day(59)}::date AND d."day" < ${day(29)}::date`;
      await tx.$executeRaw`DELETE FROM "MemberSegmentEntry" WHERE "spaceId" = ${spaceId}::int`;
      await tx.$executeRaw`
        WITH w AS MATERIALIZED (
          SELECT d."userId",
            COALESCE(sum(${SCORE}), 0)::int AS "score90",
            COALESCE(sum(d."acceptedAnswers"), 0)::int AS "accepted90",
            COALESCE(sum(${ACTIONS}) FILTER (WHERE ${last30}), 0)::int AS "actions30",
            COALESCE(sum(${ACTIONS}) FILTER (WHERE ${prev30}), 0)::int AS "actionsPrev30",
            COALESCE(sum(${ACTIONS}) FILTER (WHERE NOT (${last30})), 0)::int AS "actions31to90",
            (count(*) FILTER (WHERE ${last30} AND ${OWN_ACTIVITY}))::int AS "active30"
          FROM "MemberActivityDay" d
          WHERE d."spaceId" = ${spaceId}::int AND d."day" >= ${day(89)}::date AND d."day" <= ${day(0)}::date
          GROUP BY d."userId"
        )
        INSERT INTO "MemberSegmentEntry" ("segment", "spaceId", "userId", "rank", "a", "b")
        SELECT 'CHAMPIONS', ${spaceId}::int, w."userId", w."score90", w."score90", w."accepted90" FROM w
          WHERE w."accepted90" >= ${settings.championMinAccepted}::int
        UNION ALL
        SELECT 'RISING', ${spaceId}::int, w."userId", w."actions30", w."actions30", w."actionsPrev30" FROM w
          WHERE w."actions30" >= ${settings.risingMinActions}::int AND w."actions30" >= ${settings.risingFactor}::float8 * w."actionsPrev30"
        UNION ALL
        SELECT 'DRIFTING', ${spaceId}::int, w."userId", w."actions31to90", w."actions31to90", w."active30" FROM w
          WHERE w."actions31to90" > 0 AND w."active30" = 0
        UNION ALL
        SELECT 'NEW_AND_ACTIVE', ${spaceId}::int, w."userId", w."active30", w."active30",
               floor(extract(epoch FROM (${now}::timestamp - u."createdAt")) / 86400)::int
          FROM w JOIN "User" u ON u."id" = w."userId"
          WHERE u."createdAt" > ${joinedAfter} AND u."createdAt" <= ${now} AND w."active30" >= ${settings.newMinActiveDays}::int`;
      await tx.memberSegmentSnapshot.upsert({ where: { spaceId }, create: { spaceId, computedAt: now }, update: { computedAt: now } });
      return true;
    },
    { maxWait: 10_000, timeout: 60_000 },
  );
}

// ---- Experts of a space ---------------------------------------------------------------------

export const MAX_EXPERTS = 50;

export type SpaceExpert = { userId: number; acceptedAnswers: number; reputation: number; score: number };

/**
 * The members with accepted answers in a space, best first: score = 10 x accepted answers there
 * + replies there + reactions received there (all time), ties by overall reputation, then user id.
 * One statement (the space's buckets, index (spaceId, day)). Visibility is the caller's: the
 * Space field is only reachable by those who can see the space.
 */
export async function spaceExperts(spaceId: number, first: number): Promise<SpaceExpert[]> {
  if (first < 0 || first > MAX_EXPERTS) throw ValidationError.field('first', `must be between 0 and ${MAX_EXPERTS}`);
  if (first === 0) return [];
  return prisma().$queryRaw<SpaceExpert[]>`
    SELECT e."userId", e."acceptedAnswers", COALESCE(s."reputation", 0)::int AS "reputation", e."score"
    FROM (
      SELECT d."userId", sum(d."acceptedAnswers")::int AS "acceptedAnswers",
             (10 * sum(d."acceptedAnswers") + sum(d."replies") + sum(d."reactionsReceived"))::int AS "score"
      FROM "MemberActivityDay" d WHERE d."spaceId" = ${spaceId}::int
      GROUP BY d."userId" HAVING sum(d."acceptedAnswers") > 0
    ) e LEFT JOIN "MemberStats" s ON s."userId" = e."userId"
    ORDER BY e."score" DESC, COALESCE(s."reputation", 0) DESC, e."userId"
    LIMIT ${first}`;
}
