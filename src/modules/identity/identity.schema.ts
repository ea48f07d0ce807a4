import { builder, ErrorInterface, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { InvalidCredentialsError, RateLimitedError } from '../../errors.js';
import { Role } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { canModerate, isAdmin } from './roles.js';
import { setUserRole } from '../support/staff.js';
import * as identity from './identity.service.js';
import * as account from './account.service.js';
import { InvalidTokenError } from './tokens.js';

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
    emailVerified: t.boolean({
      nullable: true,
      description: 'Whether the email was confirmed (by its link, or a password reset). Visible to the user and to admins only; null for everyone else.',
      resolve: (user, _args, ctx) =>
        ctx.viewer && (ctx.viewer.id === user.id || isAdmin(ctx.viewer.role)) ? user.emailVerifiedAt != null : null,
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

const AccountEmailPayload = builder.simpleObject('AccountEmailPayload', {
  description:
    'What signUp, requestPasswordReset and resendVerificationEmail answer, whether or not the address has an account: ' +
    'the email sent to the address (if any) says what comes next.',
  fields: (t) => ({
    email: t.string({ description: 'The address, as it will be used (trimmed, lower-case).' }),
    message: t.string({ description: 'What to tell the person: look in the inbox of that address.' }),
  }),
});

const ChangePasswordPayload = builder.simpleObject('ChangePasswordPayload', {
  description: 'What changePassword answers when it succeeds.',
  fields: (t) => ({
    user: t.field({ type: UserType, description: 'The signed-in user.' }),
    endedSessionCount: t.int({ description: 'How many other sessions of the user were signed out (their live subscriptions ended too).' }),
  }),
});

const TokenProblemEnum = builder.enumType('TokenProblem', {
  description: 'Why an emailed token does not work.',
  values: {
    UNKNOWN: { description: 'Not a token of ours for this purpose: mistyped, cut short, or sent for something else.' },
    EXPIRED: { description: 'Too old: ask for a new email.' },
    USED: { description: 'Already used (or a newer one was): each link works once.' },
  },
});

builder.objectType(InvalidTokenError, {
  name: 'InvalidTokenError',
  description: 'The token of a verification or password reset link does not work; nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ reason: t.field({ type: TokenProblemEnum, description: 'Why it does not work.', resolve: (e) => e.reason }) }),
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
    handle: t.string({
      description:
        'The @handle to take: 3 to 30 letters a-z, digits and underscores (any case, stored lower case), free and not reserved; a taken one is a ConflictError. Omitted: derived from displayName ("Ana López" -> ana_lopez, ana_lopez2...). Changeable later with updateProfile.',
    }),
  }),
});

const SignInInput = builder.inputType('SignInInput', {
  description: 'The email (any case) and password of an account.',
  fields: (t) => ({
    email: t.string({ required: true, description: 'The email of the account, in any case.' }),
    password: t.string({ required: true, description: 'The password of the account.' }),
  }),
});

const EmailInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({ email: t.string({ required: true, description: 'The email address, in any case.' }) }),
  });

const RequestPasswordResetInput = EmailInput('RequestPasswordResetInput', 'The address of the account whose password was forgotten.');
const ResendVerificationEmailInput = EmailInput('ResendVerificationEmailInput', 'The address of an account that is not confirmed yet.');

const VerifyEmailInput = builder.inputType('VerifyEmailInput', {
  description: 'The token of a verification link (its `token` query parameter).',
  fields: (t) => ({ token: t.string({ required: true, description: 'The token from the link, as it is.' }) }),
});

const ResetPasswordInput = builder.inputType('ResetPasswordInput', {
  description: 'The token of a password reset link and the new password.',
  fields: (t) => ({
    token: t.string({ required: true, description: 'The token from the link (its `token` query parameter), as it is.' }),
    newPassword: t.string({ required: true, description: 'The new password: the same rules as at sign-up.' }),
  }),
});

const ChangePasswordInput = builder.inputType('ChangePasswordInput', {
  description: 'The current password and a new one.',
  fields: (t) => ({
    currentPassword: t.string({ required: true, description: 'The password the account has now.' }),
    newPassword: t.string({ required: true, description: 'The new password: the same rules as at sign-up.' }),
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
    type: AccountEmailPayload,
    description:
      'Creates an account and emails a link to confirm the address; following it (verifyEmail) signs the account in. ' +
      'The answer is the same when the address already has an account: its owner is told by email instead. ' +
      'The first account ever created is an ADMIN; the others are MEMBERs. ' +
      'A password that is too easy to guess is a ValidationError; too many sign-ups from one client address or for one email, a RateLimitedError. ' +
      'At most one signUp, signIn, changePassword or resetPassword per operation.',
    errors: { types: [...WRITE_ERRORS, RateLimitedError] },
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: (_root, { input }, ctx) => identity.signUp(input, { address: ctx.clientAddress }),
  }),
  signIn: t.field({
    type: AuthPayload,
    description:
      'A new token (send it as `Authorization: Bearer <token>`), valid for TOKEN_TTL_HOURS or until signOut. A wrong email or password is the same InvalidCredentialsError. ' +
      'Too many failures for the account or from the address is a RateLimitedError, right password or not, until the lockout ends. ' +
      'An account whose email is not confirmed yet cannot sign in (the same InvalidCredentialsError): its verification link signs it in. ' +
      'At most one signIn, signUp, changePassword or resetPassword per operation.',
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
  verifyEmail: t.field({
    type: AuthPayload,
    description:
      'Confirms an email address with the token of its link, and signs the account in (a new token). Each link works once, ' +
      'for EMAIL_VERIFICATION_TTL_HOURS; a token that does not work is an InvalidTokenError.',
    errors: { types: [...WRITE_ERRORS, InvalidTokenError] },
    args: { input: t.arg({ type: VerifyEmailInput, required: true }) },
    resolve: (_root, { input }) => account.verifyEmail(input),
  }),
  resendVerificationEmail: t.field({
    type: AccountEmailPayload,
    description:
      'Emails a new verification link if the address has an account not confirmed yet; the same answer for any address. ' +
      'Throttled per email and per client address (RateLimitedError).',
    errors: { types: [...WRITE_ERRORS, RateLimitedError] },
    args: { input: t.arg({ type: ResendVerificationEmailInput, required: true }) },
    resolve: (_root, { input }, ctx) => account.resendVerificationEmail(input, { address: ctx.clientAddress }),
  }),
  requestPasswordReset: t.field({
    type: AccountEmailPayload,
    description:
      'Emails a password reset link (valid PASSWORD_RESET_TTL_MINUTES, once) if the address has an account; the same answer for any address. ' +
      'Throttled per email and per client address (RateLimitedError).',
    errors: { types: [...WRITE_ERRORS, RateLimitedError] },
    args: { input: t.arg({ type: RequestPasswordResetInput, required: true }) },
    resolve: (_root, { input }, ctx) => account.requestPasswordReset(input, { address: ctx.clientAddress }),
  }),
  resetPassword: t.field({
    type: AuthPayload,
    description:
      'Sets a new password with the token of a reset link, confirms the address, signs out every session of the account ' +
      '(their live subscriptions end) and signs in anew. A token that does not work is an InvalidTokenError; a weak password, a ValidationError (the link still works).',
    errors: { types: [...WRITE_ERRORS, InvalidTokenError] },
    args: { input: t.arg({ type: ResetPasswordInput, required: true }) },
    resolve: (_root, { input }) => account.resetPassword(input),
  }),
  changePassword: t.field({
    type: ChangePasswordPayload,
    description:
      'A new password for the signed-in user. A wrong current password is an InvalidCredentialsError, counted like a failed sign-in ' +
      '(RateLimitedError past the limits). Every other session of the user is signed out, with its live subscriptions; this one stays.',
    errors: { types: [...WRITE_ERRORS, InvalidCredentialsError, RateLimitedError] },
    args: { input: t.arg({ type: ChangePasswordInput, required: true }) },
    resolve: (_root, { input }, ctx) => account.changePassword(ctx.viewer, input, { address: ctx.clientAddress }),
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
