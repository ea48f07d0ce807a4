import { builder } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError } from '../../errors.js';
import { decodeId } from '../../ids.js';
import { canSeeSpace } from '../community/policy.js';
import { UserType } from '../identity/identity.schema.js';
import { isStaff } from '../identity/roles.js';
import { signalsFor, type Signals, type SignalWindow } from './signals.js';

/** What Engagement resolves from: the member it is about. */
type EngagementOf = { userId: number };

export const SignalWindowEnum = builder.enumType('SignalWindow', {
  description: 'The period signals are summed over, ending today (UTC).',
  values: {
    DAYS_30: { description: 'The last 30 days, today included.' },
    DAYS_90: { description: 'The last 90 days, today included.' },
    ALL: { description: 'All time.' },
  } as const,
});

export const SignalsType = builder.objectRef<Signals>('Signals').implement({
  description: 'Counts of what a member did (or had done to them) over a period, in one space or overall.',
  fields: (t) => ({
    daysActive: t.exposeInt('daysActive', { description: 'Distinct UTC days with own activity: a thread, a reply, a reply read or a reaction given.' }),
    threads: t.exposeInt('threads', { description: 'Threads started (deleted ones taken back).' }),
    replies: t.exposeInt('replies', { description: 'Replies written (deleted ones taken back).' }),
    repliesRead: t.exposeInt('repliesRead', { description: "Others' replies newly read (counted when a thread is marked read)." }),
    reactionsGiven: t.exposeInt('reactionsGiven', { description: "Reactions given to others' threads and replies (removed ones taken back)." }),
    reactionsReceived: t.exposeInt('reactionsReceived', { description: 'Reactions received from others (removed ones, and those of deleted content, taken back).' }),
    acceptedAnswers: t.exposeInt('acceptedAnswers', { description: "Their replies accepted as the answer of someone else's thread (unmarked ones taken back)." }),
    firstRepliesToNewcomers: t.exposeInt('firstRepliesToNewcomers', {
      description: 'Replies that were the first reply (by anyone but the author) to a thread whose author had joined less than SIGNALS_NEWCOMER_DAYS before.',
    }),
    reportsConfirmed: t.exposeInt('reportsConfirmed', { description: 'Their reports that moderators upheld (resolved with action taken).' }),
    moderationActions: t.exposeInt('moderationActions', { description: 'Moderation actions against them: content hidden or removed, warnings, suspensions.' }),
  }),
});

export const EngagementType = builder.objectRef<EngagementOf>('Engagement').implement({
  description: 'How a member takes part. Visible to the member and to staff only.',
  fields: (t) => ({
    signals: t.field({
      type: SignalsType,
      description: "The member's signals over a window, in one space or overall.",
      args: {
        spaceId: t.arg.id({ description: 'Only in this Space (one you can see); overall when omitted.' }),
        window: t.arg({ type: SignalWindowEnum, required: true, defaultValue: 'ALL', description: 'The period summed over; all time by default.' }),
      },
      resolve: async (engagement, args, ctx) => {
        const spaceId = args.spaceId == null ? undefined : await visibleSpaceId(ctx, String(args.spaceId));
        return signalsLoader(ctx, spaceId, args.window).load(engagement.userId);
      },
    }),
  }),
});

/** A space id the viewer can see, or NotFound (the same answer as for one that does not exist). */
async function visibleSpaceId(ctx: Context, globalId: string): Promise<number> {
  const { id } = decodeId(globalId, ['Space'], 'spaceId');
  const space = await loader(ctx, 'signalSpaces', async (ids: readonly number[]) => {
    const rows = await prisma().space.findMany({ where: { id: { in: [...ids] } }, select: { id: true, visibility: true } });
    return ids.map((key) => rows.find((row) => row.id === key) ?? null);
  }).load(id);
  if (!space || !canSeeSpace(ctx.viewer, space.visibility)) throw new NotFoundError('Space', globalId);
  return id;
}

/** One statement per (space, window) for every member on the page. */
const signalsLoader = (ctx: Context, spaceId: number | undefined, window: SignalWindow) =>
  loader(ctx, `signals:${spaceId ?? 0}:${window}`, async (ids: readonly number[]) => {
    const byUser = await signalsFor([...ids], { spaceId, window });
    return ids.map((id) => byUser.get(id)!);
  });

builder.prismaObjectFields(UserType, (t) => ({
  engagement: t.field({
    type: EngagementType,
    nullable: true,
    description: 'How they take part (signals). Only the member themselves and staff may read it; null for everyone else.',
    resolve: (user, _args, ctx) => (ctx.viewer && (ctx.viewer.id === user.id || isStaff(ctx.viewer.role)) ? { userId: user.id } : null),
  }),
}));
