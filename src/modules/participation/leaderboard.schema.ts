import { builder } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { User } from '../../generated/prisma/client.js';
import { decodeId } from '../../ids.js';
import { canSeeSpace } from '../community/policy.js';
import { UserType } from '../identity/identity.schema.js';
import { encodeLeaderboardCursor, leaderboardCount, leaderboardPage, type LeaderboardEntry } from './leaderboard.js';

const LeaderboardPeriodEnum = builder.enumType('LeaderboardPeriod', {
  description: 'The period a leaderboard sums over: rolling, ending today (UTC), today included.',
  values: {
    WEEK: { description: 'The last 7 days.' },
    MONTH: { description: 'The last 30 days.' },
    QUARTER: { description: 'The last 90 days.' },
    ALL: { description: 'All time.' },
  } as const,
});

const LeaderboardMetricEnum = builder.enumType('LeaderboardMetric', {
  description: 'What a leaderboard ranks by.',
  values: {
    REPUTATION: {
      description:
        'Reputation earned in the period: 15 per accepted answer, 1 per reaction received, 2 per report upheld, 2 per first reply to a newcomer, -5 per moderation action against them.',
    },
    ACCEPTED_ANSWERS: { description: "Replies accepted as the answer of someone else's thread." },
    HELPFUL_REPLIES: { description: 'Reactions received from others on their threads and replies (the reactionsReceived signal).' },
  } as const,
});

type Entry = LeaderboardEntry & { user: User };

const LeaderboardEntryType = builder.objectRef<Entry>('LeaderboardEntry').implement({
  description: 'A member on a leaderboard.',
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: '1 for the highest value; members with the same value share a rank (1, 2, 2, 4).' }),
    value: t.exposeInt('value', { description: 'Their value of the metric over the period.' }),
    user: t.field({ type: UserType, description: 'The member.', resolve: (entry) => entry.user }),
  }),
});

async function visibleSpaceId(ctx: Context, globalId: string): Promise<number> {
  const { id } = decodeId(globalId, ['Space'], 'spaceId');
  const space = await prisma().space.findUnique({ where: { id }, select: { visibility: true } });
  if (!space || !canSeeSpace(ctx.viewer, space.visibility)) throw new NotFoundError('Space', globalId);
  return id;
}

const usersById = (ctx: Context) =>
  loader(ctx, 'leaderboardUsers', async (ids: readonly number[]) => {
    const rows = await prisma().user.findMany({ where: { id: { in: [...ids] } } });
    return ids.map((id) => rows.find((row) => row.id === id) ?? null);
  });

builder.queryField('leaderboard', (t) =>
  t.connection(
    {
      type: LeaderboardEntryType,
      description:
        'Members ranked by a metric over a period, in one space or overall: members with a value above 0, highest first, ties by join order. Staff are left out unless includeStaff; suspended members always.',
      args: {
        period: t.arg({ type: LeaderboardPeriodEnum, required: true, defaultValue: 'ALL', description: 'The period; all time by default.' }),
        metric: t.arg({ type: LeaderboardMetricEnum, required: true, defaultValue: 'REPUTATION', description: 'What to rank by; reputation by default.' }),
        spaceId: t.arg.id({ description: 'Only what happened in this Space (one you can see); overall when omitted.' }),
        includeStaff: t.arg.boolean({ required: true, defaultValue: false, description: 'Also rank staff (every role above MEMBER).' }),
      },
      resolve: async (_root, args, ctx) => {
        if (args.first == null) throw ValidationError.field('first', 'is required: leaderboards page forwards');
        const spaceId = args.spaceId == null ? undefined : await visibleSpaceId(ctx, String(args.spaceId));
        const options = { period: args.period, metric: args.metric, spaceId, includeStaff: args.includeStaff, now: new Date() };
        const { entries, hasNextPage } = await leaderboardPage({ ...options, first: args.first, after: args.after });
        const users = await usersById(ctx).loadMany(entries.map((e) => e.userId));
        const edges = entries.flatMap((entry, i) => {
          const user = users[i];
          return user && !(user instanceof Error) ? [{ cursor: encodeLeaderboardCursor(entry.position), node: { ...entry, user } }] : [];
        });
        return {
          totalCount: () => leaderboardCount(options),
          edges,
          pageInfo: {
            hasNextPage,
            hasPreviousPage: args.after != null,
            startCursor: entries.length ? encodeLeaderboardCursor(entries[0].position) : null,
            endCursor: entries.length ? encodeLeaderboardCursor(entries[entries.length - 1].position) : null,
          },
        };
      },
    },
    {
      name: 'LeaderboardConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many members are on the board, all pages together.',
          resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
        }),
      }),
    },
    { name: 'LeaderboardEdge' },
  ),
);
