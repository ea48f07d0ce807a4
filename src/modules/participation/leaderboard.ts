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
  if (days == null && options.spaceId == null && options.metric === 'REPUTATION') {
    // All time overall: kept in MemberStats under the current rules (recomputed when they change).
    values = Prisma.sql`SELECT s."userId", s."reputation" AS "value" FROM "MemberStats" s`;
  } else if (days == null && options.spaceId == null) {
    // All time overall: one row per member, the single-column metrics on their own index.
    const value = metricSql(options.metric, (name) => Prisma.raw(`GREATEST(s."${name}", 0)`));
    values = Prisma.sql`SELECT s."userId", (${value})::int AS "value" FROM "MemberStats" s`;
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

/**
 * A page of the board: members with a value above 0, highest first (ties share a rank, ordered
 * by user id), staff left out unless `includeStaff`, suspended members always. ONE statement.
 */
export async function leaderboardPage(
  options: BoardOptions & { first: number; after?: string | null },
): Promise<{ entries: LeaderboardEntry[]; hasNextPage: boolean }> {
  const offset = options.after ? decodeCursor(options.after) : 0;
  const rows = await prisma().$queryRaw<{ userId: number; value: number; rank: bigint; position: bigint }[]>`
    SELECT * FROM (
      SELECT b."userId", b."value",
             rank() OVER (ORDER BY b."value" DESC) AS "rank",
             row_number() OVER (ORDER BY b."value" DESC, b."userId") AS "position"
      FROM (${boardSql(options)}) b
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
