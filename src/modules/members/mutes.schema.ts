import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import { builder, sharedConnection, WRITE_ERRORS } from '../../builder.js';
import { loader } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { decodeId } from '../../ids.js';
import { UserType } from '../identity/identity.schema.js';
import * as mutes from './mutes.js';

// Muting: muteUser, unmuteUser, and on your own User (viewer) the users you muted. The rules are in mutes.ts.

const MutedUserType = builder.prismaObject('UserMute', {
  name: 'MutedUser',
  description: 'A user you muted, and since when.',
  fields: (t) => ({
    user: t.relation('muted', { description: 'The user you muted.' }),
    mutedAt: t.expose('createdAt', { type: 'DateTime', description: 'When you muted them.' }),
  }),
});

/** Your mutes, newest first: folded into the query that loads you. */
const mutedUsers = prismaConnectionHelpers(builder, MutedUserType, {
  cursor: 'muterId_mutedId',
  // Prisma takes a list; the helper's type names one entry. The tie-break keeps pages stable.
  query: { orderBy: [{ createdAt: 'desc' }, { mutedId: 'desc' }] as Prisma.UserMuteOrderByWithRelationInput },
});

const MutedUserConnection = sharedConnection(MutedUserType, 'MutedUser');

builder.prismaObjectFields(UserType, (t) => ({
  mutedUsers: t.connection(
    {
      type: MutedUserType,
      nullable: true,
      description: `The users you muted (muteUser), most recently muted first; at most ${mutes.MAX_MUTED_USERS}. Only on your own User (viewer): null on anyone else's.`,
      // The wheres name the viewer: another user's mutes are never even loaded.
      select: (args, ctx, nestedSelection) => ({
        mutes: { ...mutedUsers.getQuery(args, ctx, nestedSelection), where: { muterId: ctx.viewer?.id ?? 0 } },
        _count: { select: { mutes: { where: { muterId: ctx.viewer?.id ?? 0 } } } },
      }),
      resolve: (user, args, ctx) =>
        ctx.viewer?.id === user.id ? { ...mutedUsers.resolve(user.mutes, args, ctx), totalCount: user._count.mutes } : null,
    },
    MutedUserConnection,
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
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: MuteUserInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ user: await mutes.muteUser(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id) }),
  }),
  unmuteUser: t.field({
    type: MutePayload,
    description: 'Lets this user\'s @mentions notify you again. Idempotent: unmuting someone you did not mute changes nothing.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UnmuteUserInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ user: await mutes.unmuteUser(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id) }),
  }),
}));
