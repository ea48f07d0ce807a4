import { builder, WRITE_ERRORS } from '../../builder.js';
import { loader } from '../../context.js';
import { FollowLevel } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { SpaceType, ThreadType } from '../community/community.schema.js';
import * as follow from './follow.service.js';

export const FollowLevelEnum = builder.enumType(FollowLevel, {
  name: 'FollowLevel',
  description: "How closely you follow a thread or space, as in Discourse. A thread's level is its own, else its space's, else NORMAL.",
  values: {
    WATCHING: { description: 'You are told of every reply (REPLIED notifications).' },
    TRACKING: { description: 'You follow it, and are told only of what concerns you (answers, reactions to your posts, mentions).' },
    NORMAL: { description: 'You are told only of what concerns you.' },
    MUTED: { description: 'You are told nothing of it, whatever the space\'s level.' },
  },
});

const FollowReasonEnum = builder.enumType('FollowReason', {
  description: 'Why a thread or space has the level it has for you.',
  values: {
    CREATED: { description: 'You created this thread: authors watch their threads.' },
    REPLIED: { description: 'You replied to this thread: repliers track it.' },
    CHOSE: { description: 'You chose this level.' },
    SPACE: { description: "The thread has no level of its own: its space's level applies." },
    DEFAULT: { description: 'You have not followed it: NORMAL.' },
  } as const,
});

const EXPLANATION: Record<follow.FollowSource, string> = {
  CREATED: 'You created this thread',
  REPLIED: 'You replied to this thread',
  CHOSE: 'You chose this level',
  SPACE: "You chose this level for the thread's space",
  DEFAULT: 'You have not followed it',
};

const FollowStateType = builder.objectRef<follow.FollowState>('FollowState').implement({
  description: 'Your level for a thread or space, and why it is that.',
  fields: (t) => ({
    level: t.field({ type: FollowLevelEnum, description: 'Your effective level.', resolve: (s) => s.level }),
    reason: t.field({ type: FollowReasonEnum, description: 'Why it is that level.', resolve: (s) => s.source }),
    explanation: t.string({ description: 'The reason in words, e.g. "You created this thread".', resolve: (s) => EXPLANATION[s.source] }),
  }),
});

builder.prismaObjectField(ThreadType, 'viewerSubscription', (t) =>
  t.field({
    type: FollowStateType,
    nullable: true,
    description: 'Your level for this thread and why; null when signed out. Batched: one read per page of threads.',
    select: { spaceId: true },
    resolve: (thread, _args, ctx) =>
      ctx.viewer
        ? loader(ctx, 'threadFollowStates', (keys: readonly { id: number; spaceId: number }[]) => follow.threadStates(ctx.viewer!.id, keys)).load({
            id: thread.id,
            spaceId: thread.spaceId,
          })
        : null,
  }),
);

builder.objectField(SpaceType, 'viewerSubscription', (t) =>
  t.field({
    type: FollowStateType,
    nullable: true,
    description: "Your level for this space (its threads without a level of their own take it); null when signed out.",
    resolve: (space, _args, ctx) =>
      ctx.viewer ? loader(ctx, 'spaceFollowStates', (ids: readonly number[]) => follow.spaceStates(ctx.viewer!.id, ids)).load(space.id) : null,
  }),
);

const SetThreadSubscriptionInput = builder.inputType('SetThreadSubscriptionInput', {
  description: 'Your new level for a thread you can see.',
  fields: (t) => ({
    threadId: t.id({ required: true, description: 'The global id of the Thread.' }),
    level: t.field({ type: FollowLevelEnum, required: true, description: 'The level; it replaces the one creating or replying set.' }),
  }),
});
const SetSpaceSubscriptionInput = builder.inputType('SetSpaceSubscriptionInput', {
  description: 'Your new level for a space you can see.',
  fields: (t) => ({
    spaceId: t.id({ required: true, description: 'The global id of the Space.' }),
    level: t.field({ type: FollowLevelEnum, required: true, description: 'The level for its threads that have none of their own.' }),
  }),
});

builder.mutationFields((t) => ({
  setThreadSubscription: t.field({
    type: builder.simpleObject('SetThreadSubscriptionPayload', {
      description: 'The thread, with your new level in viewerSubscription.',
      fields: (f) => ({ thread: f.field({ type: ThreadType, description: 'The thread.' }) }),
    }),
    description: 'Signed in. Sets your level for a thread you can see (NotFoundError for one you cannot).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetThreadSubscriptionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      thread: await follow.setThreadLevel(ctx.viewer, decodeId(input.threadId, ['Thread'], 'input.threadId').id, input.level),
    }),
  }),
  setSpaceSubscription: t.field({
    type: builder.simpleObject('SetSpaceSubscriptionPayload', {
      description: 'The space, with your new level in viewerSubscription.',
      fields: (f) => ({ space: f.field({ type: SpaceType, description: 'The space.' }) }),
    }),
    description: 'Signed in. Sets your level for a space you can see (NotFoundError for one you cannot).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetSpaceSubscriptionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      space: await follow.setSpaceLevel(ctx.viewer, decodeId(input.spaceId, ['Space'], 'input.spaceId').id, input.level),
    }),
  }),
}));
