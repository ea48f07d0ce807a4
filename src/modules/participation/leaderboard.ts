import { prisma } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';
import { utcDay } from './reads.js';
import { reputationOf, RULES_FROM } from './reputation.js';
import { OVERALL_SPACE } from './signals.js';

// Leaderboards: members ranked by a metric over a period, from the signals' daily buckets (a
// period: the sum over its days) or, for all time overall, from MemberStats (one row per member,
// indexed by the metric). One statement per page whatever its size; the cursor is the position.

export type LeaderboardPeriod = 'WEEK' | 'MONTH' | 'QUARTER' | 'ALL';
export type LeaderboardMetric = 'REPUTATION' | 'ACCEPTED_ANSWERS' | 'HELPFUL_REPLIES';

/** Rolling periods ending today (UTC), today included. */
export const PERIOD_DAYS: Record<LeaderboardPeriod, number | null> = { WEEK: 7, MONTH: 30, QUARTER: 90, ALL: null };

/** The metric over the summed counters (`col` names a summed column). */
function metricSql(metric: LeaderboardMetric, col: (name: string) => Prisma.Sql): Prisma.Sql {
  switch (metric) {
    case 'ACCEPTED_ANSWERS':
      return col('acceptedAnswers');
    case 'HELPFUL_REPLIES':
      return col('reactionsReceived');
    case 'REPUTATION':
      // Under the current reputation rules, row `r` of RULES_FROM (participation/reputation.ts).
      return reputationOf(col);
  }
}

export type LeaderboardEntry = { rank: number; position: number; userId: number; value: number };

const CURSOR = /^lb:([0-9]{1,9})$/;
export const encodeLeaderboardCursor = (position: number) => Buffer.from(`lb:${position}`).toString('base64');
function decodeCursor(cursor: string): number {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64').toString());
  if (!match) throw ValidationError.field('after', 'is not a leaderboard cursor');
  return Number(match[1]);
}

type BoardOptions = { period: LeaderboardPeriod; metric: LeaderboardMetric; spaceId?: number; includeStaff: boolean; now?: Date };

/** The members on the board with their value (above 0), staff and suspended members filtered. */
function boardSql(options: BoardOptions): Prisma.Sql {
  const now = options.now ?? new Date();
  const days = PERIOD_DAYS[options.period];
  let values: Prisma.Sql;
  const summed = ['acceptedAnswers', 'reactionsReceived', 'reportsConfirmed', 'firstRepliesToNewcomers', 'moderationActions'];
  if (allTimeOverall(options)) {
    // All time overall: one row per member in MemberStats (reputation kept under the current
    // rules), each metric a plain column with its own (value DESC, userId) index, so a page is
    // an index scan rather than a sort of every member.
    values = Prisma.sql`SELECT s."userId", s.${Prisma.raw(`"${ALL_TIME_COLUMN[options.metric]}"`)} AS "value" FROM "MemberStats" s`;
  } else {
    const range =
      days == null
        ? Prisma.empty
        : Prisma.sql`AND d."day" >= ${utcDay(new Date(now.getTime() - (days - 1) * 86_400_000))}::date AND d."day" <= ${utcDay(now)}::date`;
    const value = metricSql(options.metric, (name) => Prisma.raw(`GREATEST(t."${name}", 0)`));
    const sums = Prisma.raw(summed.map((name) => `sum(d."${name}") AS "${name}"`).join(', '));
    values = Prisma.sql`
      SELECT t."userId", (${value})::int AS "value" FROM (
        SELECT d."userId", ${sums} FROM "MemberActivityDay" d
        WHERE d."spaceId" = ${options.spaceId ?? OVERALL_SPACE}::int ${range}
        GROUP BY d."userId") t CROSS JOIN ${RULES_FROM}`;
  }
  const staff = options.includeStaff ? Prisma.empty : Prisma.sql`AND u."role" = 'MEMBER'`;
  return Prisma.sql`
    SELECT v."userId", v."value" FROM (${values}) v JOIN "User" u ON u."id" = v."userId"
    WHERE v."value" > 0 AND (u."suspendedUntil" IS NULL OR u."suspendedUntil" <= ${now}::timestamp) ${staff}`;
}

const ALL_TIME_COLUMN: Record<LeaderboardMetric, string> = { REPUTATION: 'reputation', ACCEPTED_ANSWERS: 'acceptedAnswers', HELPFUL_REPLIES: 'reactionsReceived' };
const allTimeOverall = (options: BoardOptions) => PERIOD_DAYS[options.period] == null && options.spaceId == null;

/**
 * A page of the board: members with a value above 0, highest first (ties share a rank, ordered
 * by user id), staff left out unless `includeStaff`, suspended members always. ONE statement.
 */
export async function leaderboardPage(
  options: BoardOptions & { first: number; after?: string | null },
): Promise<{ entries: LeaderboardEntry[]; hasNextPage: boolean }> {
  const offset = options.after ? decodeCursor(options.after) : 0;
  const board = boardSql(options);
  // All time overall: the page read in index order, each rank counted in the same index (1 + the
  // members above); a period's board is summed from the buckets anyway, so it is ranked whole.
  const rows = allTimeOverall(options)
    ? await prisma().$queryRaw<{ userId: number; value: number; rank: bigint; position: bigint }[]>`
    SELECT p."userId", p."value",
           1 + (SELECT count(*) FROM (${board}) h WHERE h."value" > p."value") AS "rank",
           ${offset}::bigint + row_number() OVER (ORDER BY p."value" DESC, p."userId") AS "position"
    FROM (SELECT b."userId", b."value" FROM (${board}) b ORDER BY b."value" DESC, b."userId" LIMIT ${options.first + 1}::int OFFSET ${offset}::bigint) p
    ORDER BY p."value" DESC, p."userId"`
    : await prisma().$queryRaw<{ userId: number; value: number; rank: bigint; position: bigint }[]>`
    SELECT * FROM (
      SELECT b."userId", b."value",
             rank() OVER (ORDER BY b."value" DESC) AS "rank",
             row_number() OVER (ORDER BY b."value" DESC, b."userId") AS "position"
      FROM (${board}) b
    ) ranked
    WHERE "position" > ${offset}::bigint
    ORDER BY "position"
    LIMIT ${options.first + 1}::int`;
  return {
    entries: rows.slice(0, options.first).map((row) => ({ userId: row.userId, value: row.value, rank: Number(row.rank), position: Number(row.position) })),
    hasNextPage: rows.length > options.first,
  };
}

/** How many members are on the board (the connection's totalCount, counted only when asked). */
export async function leaderboardCount(options: BoardOptions): Promise<number> {
  const [row] = await prisma().$queryRaw<{ n: number }[]>`SELECT count(*)::int AS "n" FROM (${boardSql(options)}) b`;
  return row?.n ?? 0;
}
