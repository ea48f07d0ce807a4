import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import { builder } from '../../builder.js';
import { loader } from '../../context.js';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { decodeId } from '../../ids.js';
import { UserType } from '../identity/identity.schema.js';
import * as mutes from './mutes.js';

// Muting: muteUser, unmuteUser, and on your own User (viewer) the users you muted. The rules are in mutes.ts.

/** Your mutes, newest first, each with the user muted: folded into the query that loads you. */
const mutedUsers = prismaConnectionHelpers(builder, 'UserMute', {
  cursor: 'muterId_mutedId',
  // Prisma takes a list; the helper's type names one entry. The tie-break keeps pages stable.
  query: { orderBy: [{ createdAt: 'desc' }, { mutedId: 'desc' }] as Prisma.UserMuteOrderByWithRelationInput },
  select: (nodeSelection) => ({ createdAt: true, muted: nodeSelection(true) }),
  resolveNode: (mute) => mute.muted,
});

builder.prismaObjectFields(UserType, (t) => ({
  mutedUsers: t.connection(
    {
      type: UserType,
      nullable: true,
      description: `The users you muted (muteUser), most recently muted first; at most ${mutes.MAX_MUTED_USERS}. Only on your own User (viewer): null on anyone else's.`,
      // The where names the viewer: another user's mutes are never even loaded.
      select: (args, ctx, nestedSelection) => ({
        mutes: { ...mutedUsers.getQuery(args, ctx, nestedSelection), where: { muterId: ctx.viewer?.id ?? 0 } },
      }),
      resolve: (user, args, ctx) => (ctx.viewer?.id === user.id ? mutedUsers.resolve(user.mutes, args, ctx) : null),
    },
    { name: 'MutedUserConnection', description: 'A page of the users you muted.' },
    {
      name: 'MutedUserEdge',
      description: 'A user you muted, and since when.',
      fields: (edge) => ({
        mutedAt: edge.field({ type: 'DateTime', description: 'When you muted them.', resolve: (mute) => mute.createdAt }),
      }),
    },
  ),
  viewerHasMuted: t.boolean({
    description: 'Whether you muted this user (their @mentions do not notify you); false when signed out.',
    resolve: async (user, _args, ctx) => {
      const viewer = ctx.viewer;
      if (!viewer) return false;
      return loader(ctx, 'viewerHasMuted', (ids: readonly number[]) => mutes.mutedAmong(viewer.id, ids)).load(user.id);
    },
  }),
}));

const MuteUserInput = builder.inputType('MuteUserInput', {
  description: 'A user whose @mentions should not notify you.',
  fields: (t) => ({ userId: t.id({ required: true, description: 'The global id of a User: a MEMBER other than you.' }) }),
});
const UnmuteUserInput = builder.inputType('UnmuteUserInput', {
  description: 'A user you muted.',
  fields: (t) => ({ userId: t.id({ required: true, description: 'The global id of the User.' }) }),
});
const MutePayload = builder.simpleObject('MutePayload', {
  description: 'What muteUser and unmuteUser answer when they succeed.',
  fields: (t) => ({ user: t.field({ type: UserType, description: 'The user, with viewerHasMuted after the change.' }) }),
});

builder.mutationFields((t) => ({
  muteUser: t.field({
    type: MutePayload,
    description: `Stops @mentions by this user from notifying you. Idempotent. Not yourself (ValidationError), not staff (ForbiddenError: moderators and support must reach every member), at most ${mutes.MAX_MUTED_USERS} users (ConflictError).`,
    errors: { types: [ValidationError, NotFoundError, ForbiddenError, ConflictError, UnauthenticatedError] },
    args: { input: t.arg({ type: MuteUserInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ user: await mutes.muteUser(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id) }),
  }),
  unmuteUser: t.field({
    type: MutePayload,
    description: 'Lets this user\'s @mentions notify you again. Idempotent: unmuting someone you did not mute changes nothing.',
    errors: { types: [ValidationError, NotFoundError, UnauthenticatedError] },
    args: { input: t.arg({ type: UnmuteUserInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ user: await mutes.unmuteUser(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id) }),
  }),
}));
