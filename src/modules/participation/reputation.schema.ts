import { builder, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { UserType } from '../identity/identity.schema.js';
import * as reputation from './reputation.js';
import { scoreAt } from './signals.js';
import { EngagementType } from './signals.schema.js';

/** Each user's MemberStats row (null: no signal yet), one statement per request. */
const statsLoader = (ctx: Context) =>
  loader(ctx, 'memberStats', async (ids: readonly number[]) => {
    const rows = await prisma().memberStats.findMany({ where: { userId: { in: [...ids] } }, select: { userId: true, reputation: true, score: true } });
    const byUser = new Map(rows.map((row) => [row.userId, row]));
    return ids.map((id) => byUser.get(id) ?? null);
  });

/** The rank of each stored score: 1 + how many score higher (one indexed count per distinct score). */
const rankLoader = (ctx: Context) =>
  loader(ctx, 'memberRank', async (scores: readonly number[]) => {
    const rows = await prisma().$queryRaw<{ score: number; above: number }[]>`
      SELECT x."score", (SELECT count(*)::int FROM "MemberStats" m WHERE m."score" > x."score") AS "above"
      FROM unnest(${[...new Set(scores)]}::float8[]) AS x("score")`;
    const above = new Map(rows.map((row) => [row.score, row.above]));
    return scores.map((score) => 1 + (above.get(score) ?? 0));
  });

builder.prismaObjectFields(UserType, (t) => ({
  reputation: t.int({
    description: 'Points for what others recognised in their work: accepted answers, reactions received, confirmed reports, first replies to newcomers (weights: reputationRules).',
    resolve: async (user, _args, ctx) => (await statsLoader(ctx).load(user.id))?.reputation ?? 0,
  }),
}));

builder.objectFields(EngagementType, (t) => ({
  score: t.float({
    description:
      'Weighted recent activity, each day counting half as much every 30 days: 2 per thread, 3 per reply, 0.1 per reply read, 0.5 per reaction given, 1 per reaction received, 10 per accepted answer, 3 per first reply to a newcomer, 1 per confirmed report, -5 per moderation action; never below 0.',
    resolve: async (engagement, _args, ctx) => scoreAt((await statsLoader(ctx).load(engagement.userId))?.score ?? 0),
  }),
  rank: t.int({
    nullable: true,
    description: 'Their place by score among everyone with signals (1 = highest; ties share a place); null with no score yet.',
    resolve: async (engagement, _args, ctx) => {
      const stats = await statsLoader(ctx).load(engagement.userId);
      return stats && stats.score > 0 ? rankLoader(ctx).load(stats.score) : null;
    },
  }),
}));

const ReputationRulesType = builder.objectRef<reputation.ReputationRules>('ReputationRules').implement({
  description: 'How many reputation points each recognised signal is worth (reputation is never below 0).',
  fields: (t) => ({
    version: t.exposeInt('version', { description: 'Goes up by one on every change.' }),
    acceptedAnswer: t.exposeInt('acceptedAnswer', { description: 'Per reply accepted as the answer of someone else\'s thread (default 15).' }),
    reactionReceived: t.exposeInt('reactionReceived', { description: 'Per reaction received from someone else (default 1).' }),
    reportConfirmed: t.exposeInt('reportConfirmed', { description: 'Per report moderators upheld (default 2).' }),
    firstReplyToNewcomer: t.exposeInt('firstReplyToNewcomer', { description: "Per first reply to a newcomer's thread (default 2)." }),
    moderationAction: t.exposeInt('moderationAction', { description: 'Per moderation action against them: hide, remove, warn, suspend (default -5).' }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, description: 'When they last changed; null: never (the defaults).', resolve: (r) => r.updatedAt }),
  }),
});

const UpdateReputationRulesInput = builder.inputType('UpdateReputationRulesInput', {
  description: 'New weights, each an integer from -1000 to 1000; omitted ones keep their value. At least one is needed.',
  fields: (t) => ({
    acceptedAnswer: t.int({ description: 'Points per accepted answer.' }),
    reactionReceived: t.int({ description: 'Points per reaction received.' }),
    reportConfirmed: t.int({ description: 'Points per confirmed report.' }),
    firstReplyToNewcomer: t.int({ description: 'Points per first reply to a newcomer.' }),
    moderationAction: t.int({ description: 'Points per moderation action against the member (usually negative).' }),
  }),
});

const ReputationRulesPayload = builder.simpleObject('ReputationRulesPayload', {
  description: 'What updateReputationRules answers when it succeeds.',
  fields: (t) => ({ rules: t.field({ type: ReputationRulesType, description: 'The rules as they are now; every reputation has been recomputed under them.' }) }),
});

builder.queryFields((t) => ({
  reputationRules: t.field({
    type: ReputationRulesType,
    description: 'Staff only: the reputation weights.',
    resolve: (_root, _args, ctx) => reputation.reputationRules(ctx.viewer),
  }),
}));

builder.mutationFields((t) => ({
  updateReputationRules: t.field({
    type: ReputationRulesPayload,
    description: "COMMUNITY_MANAGER or ADMIN: changes reputation weights and recomputes every member's reputation (in batches). Records REPUTATION_RULES_CHANGED.",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateReputationRulesInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      rules: await reputation.updateReputationRules(ctx.viewer, {
        acceptedAnswer: input.acceptedAnswer ?? undefined,
        reactionReceived: input.reactionReceived ?? undefined,
        reportConfirmed: input.reportConfirmed ?? undefined,
        firstReplyToNewcomer: input.firstReplyToNewcomer ?? undefined,
        moderationAction: input.moderationAction ?? undefined,
      }),
    }),
  }),
}));
