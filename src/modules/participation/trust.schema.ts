import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import { builder, sharedConnection, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { decodeId } from '../../ids.js';
import { UserType } from '../identity/identity.schema.js';
import { isStaff } from '../identity/roles.js';
import { EngagementType, SignalWindowEnum } from './signals.schema.js';
import * as trust from './trust.js';
import { loadTrustRules, SIGNAL_NAMES, updateTrustRules, type LevelRule, type Missing, type Requirement, type SignalName, type TrustRules } from './trust-rules.js';

// Trust levels in GraphQL: an enum whose names say what each level means (TL0_NEW ... TL4_LEADER)
// rather than a bare Int; the number is in the name, so order is still plain to read.

type Level = 0 | 1 | 2 | 3 | 4;
const lvl = (n: number) => n as Level;

export const TrustLevelEnum = builder.enumType('TrustLevel', {
  description:
    'How far a member has earned the community\'s trust, from 0 to 4 (Discourse\'s trust levels). An enum rather than an Int so each level says what it means; higher levels have more privileges (README, "Trust levels").',
  values: {
    TL0_NEW: { value: 0, description: 'New: links and many @mentions are screened by automod, @mentions notify only up to the TL0 cap, flags weigh 0.5.' },
    TL1_BASIC: { value: 1, description: 'Basic: earned automatically; @mentions notify, flags weigh 1.' },
    TL2_MEMBER: { value: 2, description: 'Member: earned automatically; may edit wiki threads (by default), flags weigh 1.25.' },
    TL3_REGULAR: { value: 3, description: 'Regular: earned over the last 90 days and lost when that activity lapses; a SPAM report hides the content at once pending review, flags weigh 1.5.' },
    TL4_LEADER: { value: 4, description: 'Leader: given only by hand (setTrustLevel); flags weigh 2.' },
  } as const,
});

const SignalNameEnum = builder.enumType('TrustSignal', {
  description: 'A signal the trust level rules read (see Signals for what each counts).',
  values: Object.fromEntries(SIGNAL_NAMES.map((name) => [name, { value: name, description: `The signal \`${name}\` of Signals.` }])) as Record<
    SignalName,
    { value: SignalName; description: string }
  >,
});

const RequirementType = builder.objectRef<Requirement>('TrustRequirement').implement({
  description: 'One condition of a level: a signal over the level\'s window is at least, or at most, a number.',
  fields: (t) => ({
    signal: t.field({ type: SignalNameEnum, description: 'The signal compared.', resolve: (r) => r.signal }),
    atLeast: t.int({ nullable: true, description: 'It must be at least this; null when the condition is atMost.', resolve: (r) => r.atLeast ?? null }),
    atMost: t.int({ nullable: true, description: 'It must be at most this (e.g. moderationActions at most 0); null when the condition is atLeast.', resolve: (r) => r.atMost ?? null }),
  }),
});

const LevelRuleType = builder.objectRef<LevelRule>('TrustLevelRule').implement({
  description: 'What one automatically earned level needs. A member is promoted to the highest level whose rule (and every lower level\'s rule) they meet.',
  fields: (t) => ({
    level: t.field({ type: TrustLevelEnum, description: 'The level (TL1 to TL3; TL4 is only by hand).', resolve: (r) => lvl(r.level) }),
    window: t.field({ type: SignalWindowEnum, description: 'The period the signals are summed over.', resolve: (r) => r.window }),
    requirements: t.field({ type: [RequirementType], description: 'Every one must hold.', resolve: (r) => r.requirements }),
  }),
});

const TrustRulesType = builder.objectRef<TrustRules>('TrustLevelRules').implement({
  description: 'The rules of trust levels: what TL1-TL3 need, who may edit wiki threads, and how TL3 is lost.',
  fields: (t) => ({
    levels: t.field({ type: [LevelRuleType], description: 'The rules of TL1, TL2 and TL3, in that order.', resolve: (r) => [...r.levels].sort((a, b) => a.level - b.level) }),
    wikiEditLevel: t.field({ type: TrustLevelEnum, description: "The lowest level whose members may edit a wiki thread's body.", resolve: (r) => lvl(r.wikiEditLevel) }),
    demotionGraceDays: t.int({ description: 'A member is not demoted from TL3 within this many days of reaching it; after that, the daily pass demotes to TL2 when TL3\'s rule no longer holds.', resolve: (r) => r.demotionGraceDays }),
  }),
});

const MissingType = builder.objectRef<Missing>('TrustMissing').implement({
  description: 'A requirement of the next level that is not met yet.',
  fields: (t) => ({
    signal: t.field({ type: SignalNameEnum, description: 'The signal.', resolve: (m) => m.signal }),
    have: t.exposeInt('have', { description: "The member's value over the level's window." }),
    need: t.exposeInt('need', { description: 'The value required: at least this, or at most this when atMost is true.' }),
    atMost: t.exposeBoolean('atMost', { description: 'True when the signal must come down to `need` (e.g. moderationActions), false when it must reach it.' }),
  }),
});

const NextLevelType = builder.objectRef<trust.NextLevel>('NextTrustLevel').implement({
  description: 'The next trust level and what it still needs.',
  fields: (t) => ({
    level: t.field({ type: TrustLevelEnum, description: 'The level above the current one.', resolve: (n) => lvl(n.level) }),
    missing: t.field({ type: [MissingType], description: 'The requirements not met yet, in the rule\'s order; empty when the promotion is due (it happens at the next signals pass).', resolve: (n) => n.missing }),
  }),
});

builder.objectFields(EngagementType, (t) => ({
  nextLevel: t.field({
    type: NextLevelType,
    nullable: true,
    description: 'What the next trust level needs. Null at TL3 and TL4 (TL4 is given by hand) and when the level is locked.',
    resolve: (engagement) => trust.nextLevelOf(engagement.userId),
  }),
}));

const trustLoader = (ctx: Context) =>
  loader(ctx, 'trustStates', async (ids: readonly number[]) => {
    const states = await trust.trustStates(ids);
    return ids.map((id) => states.get(id)!);
  });

export const TrustLevelChangeType = builder.prismaObject('TrustLevelChange', {
  // Its few columns are always loaded (nested in the User query).
  select: { id: true, userId: true, fromLevel: true, toLevel: true, reason: true, actorId: true, locked: true, createdAt: true },
  description: 'One change of a member\'s trust level (staff and the member themselves).',
  fields: (t) => ({
    from: t.field({ type: TrustLevelEnum, description: 'The level before.', select: { fromLevel: true }, resolve: (c) => lvl(c.fromLevel) }),
    to: t.field({ type: TrustLevelEnum, description: 'The level after (the same as `from` when only the lock changed).', select: { toLevel: true }, resolve: (c) => lvl(c.toLevel) }),
    reason: t.exposeString('reason', { description: 'Why: the reason given by hand, or the automatic rule that applied.' }),
    automatic: t.boolean({ description: 'True when the rules changed it (promotion or demotion); false when set by hand.', select: { actorId: true }, resolve: (c) => c.actorId == null }),
    by: t.relation('actor', { nullable: true, description: 'Who set it by hand; null when automatic.' }),
    locked: t.exposeBoolean('locked', { description: 'Whether this change locked the level (it then moves only by hand).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it changed.' }),
  }),
});

/** A member's changes, newest first: folded into the query that loads the member. */
const trustChanges = prismaConnectionHelpers(builder, TrustLevelChangeType, { cursor: 'id', query: { orderBy: { id: 'desc' } } });
const TrustLevelChangeConnection = sharedConnection(TrustLevelChangeType, 'TrustLevelChange');

builder.prismaObjectFields(UserType, (t) => ({
  trustLevel: t.field({
    type: TrustLevelEnum,
    description: 'Their trust level (public). TL0_NEW until they earn more.',
    resolve: async (user, _args, ctx) => lvl((await trustLoader(ctx).load(user.id)).level),
  }),
  trustLevelLocked: t.boolean({
    nullable: true,
    description: 'Whether their level is locked (never moved automatically). Only the member themselves and staff may read it; null for everyone else.',
    resolve: async (user, _args, ctx) =>
      ctx.viewer && (ctx.viewer.id === user.id || isStaff(ctx.viewer.role)) ? (await trustLoader(ctx).load(user.id)).locked : null,
  }),
  trustLevelChanges: t.connection(
    {
      type: TrustLevelChangeType,
      nullable: true,
      description: 'The changes of their trust level, newest first. Only the member themselves and staff may read them; null for everyone else.',
      // The where names the viewer: someone else's log is never even loaded.
      select: (args, ctx, nestedSelection) => {
        const where = ctx.viewer && isStaff(ctx.viewer.role) ? {} : { userId: ctx.viewer?.id ?? 0 };
        return { trustChanges: { ...trustChanges.getQuery(args, ctx, nestedSelection), where }, _count: { select: { trustChanges: { where } } } };
      },
      resolve: (user, args, ctx) =>
        ctx.viewer && (ctx.viewer.id === user.id || isStaff(ctx.viewer.role))
          ? { ...trustChanges.resolve(user.trustChanges, args, ctx), totalCount: user._count.trustChanges }
          : null,
    },
    TrustLevelChangeConnection,
  ),
}));

builder.queryField('trustLevelRules', (t) =>
  t.field({
    type: TrustRulesType,
    description: 'The rules of trust levels in force (public: members may read what each level needs).',
    resolve: () => loadTrustRules(),
  }),
);

const RequirementInput = builder.inputType('TrustRequirementInput', {
  description: 'One condition: give atLeast or atMost (one of them).',
  fields: (t) => ({
    signal: t.field({ type: SignalNameEnum, required: true, description: 'The signal compared.' }),
    atLeast: t.int({ description: 'It must be at least this (0 to 1000000).' }),
    atMost: t.int({ description: 'It must be at most this (0 to 1000000).' }),
  }),
});

const LevelRuleInput = builder.inputType('TrustLevelRuleInput', {
  description: "A level's new rule; it replaces the old one whole.",
  fields: (t) => ({
    level: t.field({ type: TrustLevelEnum, required: true, description: 'TL1_BASIC, TL2_MEMBER or TL3_REGULAR (TL4 is only by hand).' }),
    window: t.field({ type: SignalWindowEnum, required: true, description: 'The period the signals are summed over.' }),
    requirements: t.field({ type: [RequirementInput], required: true, description: `Every one must hold; 1 to ${SIGNAL_NAMES.length}, each signal at most once.` }),
  }),
});

const UpdateTrustLevelRulesInput = builder.inputType('UpdateTrustLevelRulesInput', {
  description: 'What to change; omitted fields (and levels not listed) keep their value.',
  fields: (t) => ({
    levels: t.field({ type: [LevelRuleInput], description: 'New rules for some of TL1-TL3, each level at most once.' }),
    wikiEditLevel: t.field({ type: TrustLevelEnum, description: "The lowest level whose members may edit a wiki thread's body." }),
    demotionGraceDays: t.int({ description: 'Days after reaching TL3 during which a member is not demoted (0 to 365).' }),
  }),
});

const SetTrustLevelInput = builder.inputType('SetTrustLevelInput', {
  description: "A member's level, set by hand.",
  fields: (t) => ({
    userId: t.id({ required: true, description: 'The global id of the User.' }),
    level: t.field({ type: TrustLevelEnum, required: true, description: 'The new level (TL4_LEADER only this way).' }),
    reason: t.string({ required: true, description: 'Why, for the log: 1 to 500 characters.' }),
    locked: t.boolean({ description: 'Lock the level so the rules never move it (default false: unlocked).' }),
  }),
});

const UpdateTrustLevelRulesPayload = builder.simpleObject('UpdateTrustLevelRulesPayload', {
  description: 'What updateTrustLevelRules answers when it succeeds.',
  fields: (t) => ({ rules: t.field({ type: TrustRulesType, description: 'The rules now in force.' }) }),
});

const SetTrustLevelPayload = builder.simpleObject('SetTrustLevelPayload', {
  description: 'What setTrustLevel answers when it succeeds.',
  fields: (t) => ({ user: t.field({ type: UserType, description: 'The member, with their new level.' }) }),
});

builder.mutationFields((t) => ({
  updateTrustLevelRules: t.field({
    type: UpdateTrustLevelRulesPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Members are evaluated under the new rules when their signals next change.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateTrustLevelRulesInput, required: true, description: 'The changes.' }) },
    resolve: async (_root, { input }, ctx) => ({
      rules: await updateTrustRules(ctx.viewer, {
        levels: input.levels?.map((l) => ({ level: l.level, window: l.window, requirements: l.requirements.map((r) => ({ signal: r.signal, atLeast: r.atLeast, atMost: r.atMost })) })),
        wikiEditLevel: input.wikiEditLevel,
        demotionGraceDays: input.demotionGraceDays,
      }),
    }),
  }),
  setTrustLevel: t.field({
    type: SetTrustLevelPayload,
    description:
      'COMMUNITY_MANAGER or ADMIN (not moderators: levels grant moderation-like privileges). Logged; the member is notified and managers see TRUST_LEVEL_CHANGED live when the level changes.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetTrustLevelInput, required: true, description: 'The member, level, reason and lock.' }) },
    resolve: async (_root, { input }, ctx) => {
      const { userId } = await trust.setTrustLevel(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id, input);
      return { user: await prisma().user.findUniqueOrThrow({ where: { id: userId } }) };
    },
  }),
}));

