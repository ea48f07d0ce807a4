import { builder } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import type { User } from '../../generated/prisma/client.js';
import { decodeId } from '../../ids.js';
import { SpaceType } from '../community/community.schema.js';
import { UserType } from '../identity/identity.schema.js';
import * as segments from './segments.js';

/** The users of a page, in one statement per request. */
export function userById(ctx: Context, id: number): Promise<User> {
  return loader(ctx, 'participationUsers', async (ids: readonly number[]) => {
    const rows = await prisma().user.findMany({ where: { id: { in: [...ids] } } });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((key) => byId.get(key) ?? new Error(`User ${key} was not found`));
  }).load(id);
}

const SegmentEnum = builder.enumType('MemberSegment', {
  description:
    'Groups of members for the community team, from their signals (in one space or overall; windows end today, UTC). "Actions" are threads + replies + reactions given. Thresholds are set by configuration (SEGMENT_* and SIGNALS_NEWCOMER_DAYS). All but NEWCOMERS_UNANSWERED are recomputed per space at most every SEGMENT_REFRESH_SECONDS (300).',
  values: {
    CHAMPIONS: {
      description:
        'At least SEGMENT_CHAMPION_MIN_ACCEPTED (1) accepted answers in the last 90 days; best 90-day score first (5 x accepted answers + 2 x replies + 2 x first replies to newcomers + threads + reactions received).',
    },
    RISING: {
      description:
        'At least SEGMENT_RISING_MIN_ACTIONS (5) actions in the last 30 days, and at least SEGMENT_RISING_FACTOR (2) times their actions in the 30 days before; most actions first.',
    },
    DRIFTING: { description: 'Actions in days 31 to 90 ago, and no active day in the last 30; most earlier actions first.' },
    NEW_AND_ACTIVE: {
      description: 'Joined less than SIGNALS_NEWCOMER_DAYS (30) days ago, with at least SEGMENT_NEW_MIN_ACTIVE_DAYS (3) active days in the last 30; most active days first.',
    },
    NEWCOMERS_UNANSWERED: {
      description: 'Joined less than SIGNALS_NEWCOMER_DAYS (30) days ago, with open threads nobody but they have replied to; most such threads first.',
    },
  } as const,
});

const SegmentSignalEnum = builder.enumType('SegmentSignal', {
  description: 'A signal that puts a member in a segment.',
  values: {
    SCORE_90_DAYS: { description: 'Their score over the last 90 days (see MemberSegment.CHAMPIONS).' },
    ACCEPTED_ANSWERS_90_DAYS: { description: 'Their replies accepted as answers in the last 90 days.' },
    ACTIONS_30_DAYS: { description: 'Threads, replies and reactions given in the last 30 days.' },
    ACTIONS_PREVIOUS_30_DAYS: { description: 'Threads, replies and reactions given in the 30 days before the last 30.' },
    ACTIONS_DAYS_31_TO_90: { description: 'Threads, replies and reactions given between 31 and 90 days ago.' },
    DAYS_ACTIVE_30_DAYS: { description: 'Days with own activity (a thread, a reply, a reply read or a reaction given) in the last 30 days.' },
    DAYS_SINCE_JOINED: { description: 'Whole days since they signed up.' },
    UNANSWERED_THREADS: { description: 'Their open threads nobody but they have replied to.' },
  } as const,
});

const SegmentReasonType = builder.objectRef<segments.SegmentReason>('SegmentReason').implement({
  description: 'One signal, and its value, that puts the member in the segment.',
  fields: (t) => ({
    signal: t.field({ type: SegmentSignalEnum, description: 'Which signal.', resolve: (r) => r.signal }),
    value: t.exposeInt('value', { description: 'Its value for this member.' }),
  }),
});

const SegmentMemberType = builder.objectRef<segments.SegmentMember>('SegmentMember').implement({
  description: 'A member in a segment, with the signals that put them there.',
  fields: (t) => ({
    user: t.field({ type: UserType, description: 'The member.', resolve: (m, _args, ctx) => userById(ctx, m.userId) }),
    reasons: t.field({ type: [SegmentReasonType], description: 'The signals that put them in the segment, with their values.', resolve: (m) => m.reasons }),
  }),
});

builder.queryField('members', (t) =>
  t.connection(
    {
      type: SegmentMemberType,
      description:
        'Staff only (FORBIDDEN for members): the members in a segment (see MemberSegment for the definitions), each with the signals that put them there. Pages forward only, with `first` and `after`.',
      args: {
        segment: t.arg({ type: SegmentEnum, required: true, description: 'Which segment.' }),
        spaceId: t.arg.id({ description: 'Signals (and threads) in this Space only; overall when omitted.' }),
      },
      resolve: async (_root, args, ctx) => {
        const { members, hasNextPage } = await segments.membersInSegment(ctx.viewer, {
          segment: args.segment,
          spaceId: args.spaceId ? decodeId(String(args.spaceId), ['Space'], 'spaceId').id : undefined,
          first: args.first ?? 0,
          after: args.after,
        });
        const edges = members.map((member) => ({ cursor: segments.encodeSegmentCursor(member), node: member }));
        return {
          edges,
          pageInfo: { startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null, hasNextPage, hasPreviousPage: !!args.after },
        };
      },
    },
    { name: 'SegmentMemberConnection', description: 'A page of members in a segment.' },
    { name: 'SegmentMemberEdge', description: 'A member in a segment, and its cursor.' },
  ),
);

const SpaceExpertType = builder.objectRef<segments.SpaceExpert>('SpaceExpert').implement({
  description: 'A member whose replies were accepted as answers in a space.',
  fields: (t) => ({
    user: t.field({ type: UserType, description: 'The expert.', resolve: (e, _args, ctx) => userById(ctx, e.userId) }),
    acceptedAnswers: t.exposeInt('acceptedAnswers', { description: 'Their replies accepted as answers in this space, all time.' }),
    reputation: t.exposeInt('reputation', { description: 'Their overall reputation (0 until reputation rules have counted it).' }),
    score: t.exposeInt('score', { description: '10 x accepted answers + replies + reactions received, in this space, all time: the order of the list.' }),
  }),
});

builder.objectField(SpaceType, 'experts', (t) =>
  t.field({
    type: [SpaceExpertType],
    description: 'Members with accepted answers in this space, best score first (ties: reputation, then oldest account). Whoever can see the space sees them.',
    args: { first: t.arg.int({ required: true, description: `How many, 0 to ${segments.MAX_EXPERTS}.` }) },
    extensions: { maxItems: segments.MAX_EXPERTS },
    resolve: (space, args) => segments.spaceExperts(space.id, args.first),
  }),
);
