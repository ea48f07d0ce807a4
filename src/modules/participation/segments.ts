import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';
import { requireStaff } from '../identity/guards.js';
import { utcDay } from './reads.js';
import { OVERALL_SPACE } from './signals.js';

// Segments of members for the community team, answered from the daily signal buckets
// (MemberActivityDay, index (spaceId, day)): ONE statement per page whatever the number of
// members, keyset-paged on (rank DESC, userId ASC). Windows end on `now`'s UTC day, today included.
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
};

let settings: SegmentSettings = { championMinAccepted: 1, risingMinActions: 5, risingFactor: 2, newMinActiveDays: 3, newcomerDays: 30 };

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
  const day = (back: number) => utcDay(new Date(now.getTime() - back * DAY_MS));
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
    // One pass over the space's buckets of the last 90 days, summed per member and window.
    const last30 = Prisma.sql`d."day" >= ${day(29)}::date`;
    const prev30 = Prisma.sql`d."day" >= ${day(59)}::date AND d."day" < ${day(29)}::date`;
    const windows = Prisma.sql`
      SELECT d."userId",
        COALESCE(sum(${SCORE}), 0)::int AS "score90",
        COALESCE(sum(d."acceptedAnswers"), 0)::int AS "accepted90",
        COALESCE(sum(${ACTIONS}) FILTER (WHERE ${last30}), 0)::int AS "actions30",
        COALESCE(sum(${ACTIONS}) FILTER (WHERE ${prev30}), 0)::int AS "actionsPrev30",
        COALESCE(sum(${ACTIONS}) FILTER (WHERE NOT (${last30})), 0)::int AS "actions31to90",
        (count(*) FILTER (WHERE ${last30} AND ${OWN_ACTIVITY}))::int AS "active30"
      FROM "MemberActivityDay" d
      WHERE d."spaceId" = ${space}::int AND d."day" >= ${day(89)}::date AND d."day" <= ${day(0)}::date
      GROUP BY d."userId"`;
    const pick = {
      CHAMPIONS: {
        select: Prisma.sql`w."score90" AS "rank", w."score90" AS "a", w."accepted90" AS "b"`,
        where: Prisma.sql`w."accepted90" >= ${settings.championMinAccepted}::int`,
        reasons: (row: Row): SegmentReason[] => [
          { signal: 'SCORE_90_DAYS', value: row.a },
          { signal: 'ACCEPTED_ANSWERS_90_DAYS', value: row.b },
        ],
      },
      RISING: {
        select: Prisma.sql`w."actions30" AS "rank", w."actions30" AS "a", w."actionsPrev30" AS "b"`,
        where: Prisma.sql`w."actions30" >= ${settings.risingMinActions}::int AND w."actions30" >= ${settings.risingFactor}::float8 * w."actionsPrev30"`,
        reasons: (row: Row): SegmentReason[] => [
          { signal: 'ACTIONS_30_DAYS', value: row.a },
          { signal: 'ACTIONS_PREVIOUS_30_DAYS', value: row.b },
        ],
      },
      DRIFTING: {
        select: Prisma.sql`w."actions31to90" AS "rank", w."actions31to90" AS "a", w."active30" AS "b"`,
        where: Prisma.sql`w."actions31to90" > 0 AND w."active30" = 0`,
        reasons: (row: Row): SegmentReason[] => [
          { signal: 'ACTIONS_DAYS_31_TO_90', value: row.a },
          { signal: 'DAYS_ACTIVE_30_DAYS', value: row.b },
        ],
      },
      NEW_AND_ACTIVE: {
        select: Prisma.sql`w."active30" AS "rank", w."active30" AS "a",
          floor(extract(epoch FROM (${now}::timestamp - u."createdAt")) / 86400)::int AS "b"`,
        where: Prisma.sql`u."createdAt" > ${joinedAfter} AND u."createdAt" <= ${now} AND w."active30" >= ${settings.newMinActiveDays}::int`,
        reasons: (row: Row): SegmentReason[] => [
          { signal: 'DAYS_ACTIVE_30_DAYS', value: row.a },
          { signal: 'DAYS_SINCE_JOINED', value: row.b },
        ],
      },
    }[segment];
    rows = await prisma().$queryRaw<Row[]>`
      SELECT * FROM (
        SELECT w."userId", ${pick.select}
        FROM (${windows}) w ${segment === 'NEW_AND_ACTIVE' ? Prisma.sql`JOIN "User" u ON u."id" = w."userId"` : Prisma.empty}
        WHERE ${pick.where}
      ) m
      WHERE true ${keyset}
      ORDER BY "rank" DESC, "userId" LIMIT ${first + 1}`;
    reasons = pick.reasons;
  }
  const members = rows.slice(0, first).map((row) => ({ userId: row.userId, rank: row.rank, reasons: reasons(row) }));
  return { members, hasNextPage: rows.length > first };
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
