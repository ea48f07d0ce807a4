import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { InvalidCredentialsError, RateLimitedError } from '../../errors.js';
import { Role } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { canModerate, isAdmin } from './roles.js';
import { setUserRole } from '../support/staff.js';
import * as identity from './identity.service.js';

export const RoleEnum = builder.enumType(Role, {
  name: 'Role',
  description: 'MEMBER < MODERATOR / AGENT < COMMUNITY_MANAGER < ADMIN. The first account is ADMIN.',
  values: {
    MEMBER: { description: 'Everyone who signs up after the first account; not staff.' },
    MODERATOR: { description: 'Staff who moderate the community: the queue, reports, actions and appeals.' },
    AGENT: { description: 'Staff who work support cases in their departments; no moderation powers.' },
    COMMUNITY_MANAGER: { description: 'Moderates, and manages spaces, automod rules, support setup, listening and every department.' },
    ADMIN: { description: 'Everything a COMMUNITY_MANAGER does; also changes roles and sees every email.' },
  },
});

export const UserType = builder.prismaNode('User', {
  id: { field: 'id' },
  description: 'An account: a person in the community, on staff, or an outside sender of a support message.',
  nullable: true,
  findUnique: visibleNode('User'),
  fields: (t) => ({
    displayName: t.exposeString('displayName', { description: 'The public name, 1 to 64 characters.' }),
    role: t.expose('role', { type: RoleEnum, description: 'What the account may do; visible to everyone.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the account was created.' }),
    suspendedUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'While suspended: until when. Visible to the user and to moderators; null for everyone else.',
      resolve: (user, _args, ctx) =>
        ctx.viewer && (ctx.viewer.id === user.id || canModerate(ctx.viewer.role)) && user.suspendedUntil && user.suspendedUntil > new Date()
          ? user.suspendedUntil
          : null,
    }),
    email: t.string({
      nullable: true,
      description: 'Visible to the user and to admins only; null for everyone else.',
      resolve: (user, _args, ctx) =>
        ctx.viewer && (ctx.viewer.id === user.id || isAdmin(ctx.viewer.role)) ? user.email : null,
    }),
  }),
});

const AuthPayload = builder.simpleObject('AuthPayload', {
  description: 'A new bearer token and its user. Send it as "Authorization: Bearer <token>".',
  fields: (t) => ({
    token: t.string({ description: 'The bearer token, valid for TOKEN_TTL_HOURS or until signOut. Keep it secret: it acts as the user.' }),
    user: t.field({ type: UserType, description: 'The user the token signs in.' }),
  }),
});

const SignOutPayload = builder.simpleObject('SignOutPayload', {
  description: 'What signOut answers when it succeeds.',
  fields: (t) => ({ revoked: t.boolean({ description: 'Always true: the token of the request no longer signs anyone in.' }) }),
});

const SetUserRolePayload = builder.simpleObject('SetUserRolePayload', {
  fields: (t) => ({ user: t.field({ type: UserType }) }),
});

const SignUpInput = builder.inputType('SignUpInput', {
  description: 'A new account.',
  fields: (t) => ({
    email: t.string({ required: true, description: 'A valid address, at most 254 characters; compared case-insensitively, one account per address.' }),
    password: t.string({
      required: true,
      description: '10 to 512 characters, and not easy to guess: common passwords, words, names, repeats, sequences and keyboard patterns are refused.',
    }),
    displayName: t.string({ required: true, description: '1 to 64 characters.' }),
  }),
});

const SignInInput = builder.inputType('SignInInput', {
  description: 'The email (any case) and password of an account.',
  fields: (t) => ({
    email: t.string({ required: true, description: 'The email of the account, in any case.' }),
    password: t.string({ required: true, description: 'The password of the account.' }),
  }),
});

const SetUserRoleInput = builder.inputType('SetUserRoleInput', {
  description: 'The new role of a user. The last ADMIN cannot leave the role.',
  fields: (t) => ({
    userId: t.id({ required: true, description: 'The global id of the User.' }),
    role: t.field({ type: RoleEnum, required: true, description: 'The role the user gets.' }),
  }),

});

builder.queryField('viewer', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description: 'The signed-in user, or null.',
    resolve: (query, _root, _args, ctx) =>
      ctx.viewer ? prisma().user.findUnique({ ...query, where: { id: ctx.viewer.id } }) : null,
  }),
);

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayload,
    description:
      'Creates an account and signs it in. The first account ever created is an ADMIN; the others are MEMBERs. ' +
      'A password that is too easy to guess is a ValidationError; too many sign-ups from one address, a RateLimitedError. ' +
      'At most one signUp or signIn per operation.',
    errors: { types: [...WRITE_ERRORS, RateLimitedError] },
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: (_root, { input }, ctx) => identity.signUp(input, { address: ctx.clientAddress }),
  }),
  signIn: t.field({
    type: AuthPayload,
    description:
      'A new token (send it as `Authorization: Bearer <token>`), valid for TOKEN_TTL_HOURS or until signOut. A wrong email or password is the same InvalidCredentialsError. ' +
      'Too many failures for the account or from the address is a RateLimitedError, right password or not, until the lockout ends. ' +
      'At most one signIn or signUp per operation.',
    errors: { types: [...WRITE_ERRORS, InvalidCredentialsError, RateLimitedError] },
    args: { input: t.arg({ type: SignInInput, required: true }) },
    resolve: (_root, { input }, ctx) => identity.signIn(input, { address: ctx.clientAddress }),
  }),
  signOut: t.field({
    type: SignOutPayload,
    description: 'Revokes the token this request was made with.',
    errors: { types: WRITE_ERRORS },
    resolve: async (_root, _args, ctx) => {
      await identity.signOut(ctx.viewer);
      return { revoked: true };
    },
  }),
  setUserRole: t.field({
    type: SetUserRolePayload,
    description:
      'ADMIN only. To MEMBER or MODERATOR from a support role: every department membership ends in the same change (the cases held go back to the team), and a later promotion does not bring them back.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetUserRoleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      user: await setUserRole(ctx.viewer, {
        userId: decodeId(input.userId, ['User'], 'input.userId').id,
        role: input.role,
      }),
    }),
  }),
}));
