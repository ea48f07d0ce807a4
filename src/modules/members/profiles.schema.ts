import { builder, ErrorInterface, WRITE_ERRORS } from '../../builder.js';
import { loader } from '../../context.js';
import { prisma } from '../../db/client.js';
import { Locale } from '../../generated/prisma/enums.js';
import type { Role } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { PostConnection, ThreadConnection } from '../community/community.schema.js';
import { threadListWhere } from '../community/community.service.js';
import { visibleContentWhere, visibleThreadWhere } from '../community/policy.js';
import { RoleEnum, UserType } from '../identity/identity.schema.js';
import { canModerate, isStaff } from '../identity/roles.js';
import { directoryOrder, directoryWhere, type DirectoryFilter } from './directory.js';
import { HandleCooldownError, handleSettings, userIdByHandle } from './handles.js';
import * as profiles from './profiles.js';

const LocaleEnum = builder.enumType(Locale, {
  name: 'Locale',
  description: 'The language a member reads the product in.',
  values: { ES: { description: 'Spanish.' }, EN: { description: 'English.' } },
});

builder.objectType(HandleCooldownError, {
  name: 'HandleCooldownError',
  description: 'Your handle changed too recently (HANDLE_CHANGE_COOLDOWN_DAYS); nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    availableAt: t.field({ type: 'DateTime', description: 'When the handle can change again.', resolve: (e) => e.availableAt }),
  }),
});

/** The owner and staff see a member's locale and time zone (support answers in them); others get null. */
const ownerOrStaff = (userId: number, viewer: { id: number; role: Parameters<typeof isStaff>[0] } | null) =>
  !!viewer && (viewer.id === userId || isStaff(viewer.role));

builder.prismaObjectFields(UserType, (t) => ({
  handle: t.exposeString('handle', {
    description: 'The unique @-name, lower case: 3 to 30 letters a-z, digits and underscores. Mention it as "@handle".',
  }),
  bio: t.exposeString('bio', { description: `A few words about the member, up to ${profiles.BIO_MAX} characters; empty if none.` }),
  avatarUrl: t.exposeString('avatarUrl', { nullable: true, description: 'An https:// image URL the member gave; null if none. Not fetched or checked by the server.' }),
  locale: t.field({
    type: LocaleEnum,
    nullable: true,
    description: 'The language the member reads in. Visible to the member and to staff; null for everyone else.',
    resolve: (user, _args, ctx) => (ownerOrStaff(user.id, ctx.viewer) ? user.locale : null),
  }),
  timeZone: t.string({
    nullable: true,
    description: 'An IANA time zone name, e.g. "Europe/Madrid". Visible to the member and to staff; null for everyone else.',
    resolve: (user, _args, ctx) => (ownerOrStaff(user.id, ctx.viewer) ? user.timeZone : null),
  }),
  lastSeenAt: t.expose('lastSeenAt', {
    type: 'DateTime',
    nullable: true,
    description: 'The start of the hour of their last signed-in request (coarse on purpose); null if never since this field existed.',
  }),
  handleChangeAvailableAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'Your own profile only: when updateProfile may change your handle again (null: now). Null on other profiles.',
    resolve: (user, _args, ctx) => {
      if (ctx.viewer?.id !== user.id || !user.handleChangedAt) return null;
      const at = new Date(user.handleChangedAt.getTime() + handleSettings().changeCooldownDays * 86_400_000);
      return at > new Date() ? at : null;
    },
  }),
  threadCount: t.int({
    description: 'Threads they published that you can see (spaces you can see; not removed, held or deleted).',
    resolve: async (user, _args, ctx) => (await countsLoader(ctx).load(user.id)).threadCount,
  }),
  postCount: t.int({
    description: 'Replies they published that you can see (spaces you can see; not removed, held or deleted).',
    resolve: async (user, _args, ctx) => (await countsLoader(ctx).load(user.id)).postCount,
  }),
  acceptedAnswerCount: t.int({
    description: 'Of those replies, how many are the accepted answer of their thread.',
    resolve: async (user, _args, ctx) => (await countsLoader(ctx).load(user.id)).acceptedAnswerCount,
  }),
  threads: t.relatedConnection('threads', {
    cursor: 'id',
    totalCount: true,
    description: 'Threads they started that you can see, newest first; deleted ones are left out (moderators still see them).',
    query: (_args, ctx) => ({ where: threadListWhere(ctx.viewer, {}), orderBy: { id: 'desc' } }),
  }, ThreadConnection),
  posts: t.relatedConnection('posts', {
    cursor: 'id',
    totalCount: true,
    description: 'Replies they wrote that you can see, newest first; deleted ones are left out (moderators still see them).',
    query: (_args, ctx) => ({
      where: {
        ...visibleContentWhere(ctx.viewer),
        thread: visibleThreadWhere(ctx.viewer),
        ...(!(ctx.viewer && canModerate(ctx.viewer.role)) && { deletedAt: null }),
      },
      orderBy: { id: 'desc' },
    }),
  }, PostConnection),
}));

/** One statement for the counts of every user on a page (per request). */
const countsLoader = (ctx: Parameters<typeof loader>[0]) =>
  loader(ctx, 'profileCounts', (ids: readonly number[]) => profiles.profileCounts(ctx.viewer, ids));

// ---- Queries --------------------------------------------------------------------------------

const UserOrderEnum = builder.enumType('UserOrder', {
  description: 'How users(...) is ordered; ties are broken by id.',
  values: {
    HANDLE: { description: 'By handle, a to z (the default).' },
    NEWEST: { description: 'Newest accounts first.' },
    LAST_SEEN: { description: 'Most recently seen first; never seen last.' },
  } as const,
});

const UserFilter = builder.inputType('UserFilter', {
  description: 'Narrows users(...); the given conditions must all hold.',
  fields: (t) => ({
    query: t.string({
      description:
        'A prefix of the handle or of the display name (a leading "@" is ignored), case- and accent-insensitive: "an" finds @ana_lopez and "Ángela". At most 64 characters.',
    }),
    roles: t.field({ type: [RoleEnum], description: 'Only users with one of these roles.', extensions: { maxItems: 5 } }),
    spaceId: t.id({ description: 'Only members who published a thread or reply in this Space (one you can see).' }),
  }),
});

builder.queryFields((t) => ({
  user: t.prismaField({
    type: 'User',
    nullable: true,
    description: 'The user with this handle (any case, a leading "@" allowed), or null. A handle given up recently still answers its former owner for HANDLE_REDIRECT_DAYS.',
    args: { handle: t.arg.string({ required: true, description: 'A handle, e.g. "ana_lopez" or "@Ana_Lopez".' }) },
    resolve: async (query, _root, { handle }) => {
      const id = await userIdByHandle(handle);
      return id == null ? null : prisma().user.findUnique({ ...query, where: { id } });
    },
  }),
  users: t.prismaConnection({
    type: 'User',
    cursor: 'id',
    description: 'The member directory and @-autocomplete: every account, suspended ones included, filtered and ordered.',
    args: {
      filter: t.arg({ type: UserFilter, description: 'Narrows the list; omitted: everyone.' }),
      orderBy: t.arg({ type: UserOrderEnum, description: 'Omitted: HANDLE.' }),
    },
    resolve: async (query, _root, args, ctx) =>
      prisma().user.findMany({ ...query, where: await directoryWhere(ctx.viewer, directoryFilter(args.filter)), orderBy: directoryOrder(args.orderBy) }),
    totalCount: async (_root, args, ctx) => prisma().user.count({ where: await directoryWhere(ctx.viewer, directoryFilter(args.filter)) }),
  }, { name: 'UserConnection' }, { name: 'UserEdge' }),
}));

function directoryFilter(filter: { query?: string | null; roles?: Role[] | null; spaceId?: string | null } | null | undefined): DirectoryFilter | null {
  if (!filter) return null;
  return {
    query: filter.query,
    roles: filter.roles,
    spaceId: filter.spaceId ? decodeId(filter.spaceId, ['Space'], 'filter.spaceId').id : null,
  };
}

// ---- Mutations ------------------------------------------------------------------------------

const UpdateProfileInput = builder.inputType('UpdateProfileInput', {
  description: 'Changes to your own profile; omitted fields keep their value.',
  fields: (t) => ({
    displayName: t.string({ description: `1 to ${profiles.DISPLAY_NAME_MAX} characters.` }),
    handle: t.string({
      description:
        'A new handle: 3 to 30 letters a-z, digits and underscores (any case, stored lower case), free and not reserved. Once per HANDLE_CHANGE_COOLDOWN_DAYS for every role; the old one keeps pointing to you, and stays yours, for HANDLE_REDIRECT_DAYS.',
    }),
    bio: t.string({ description: `Up to ${profiles.BIO_MAX} characters; empty clears it.` }),
    avatarUrl: t.string({ description: `An https:// URL, at most ${profiles.AVATAR_URL_MAX} characters, without user name or password; null removes the avatar.` }),
    locale: t.field({ type: LocaleEnum, description: 'The language you read in.' }),
    timeZone: t.string({ description: 'An IANA time zone name, e.g. "Europe/Madrid" or "America/Mexico_City".' }),
  }),
});

const UpdateProfilePayload = builder.simpleObject('UpdateProfilePayload', {
  description: 'What updateProfile answers when it succeeds.',
  fields: (t) => ({ user: t.field({ type: UserType, description: 'Your profile as it is now.' }) }),
});

builder.mutationField('updateProfile', (t) =>
  t.field({
    type: UpdateProfilePayload,
    description:
      'Changes your own profile (signed in, not suspended). A handle someone has, or had recently, is a ConflictError; a second handle change within the cooldown, a HandleCooldownError.',
    errors: { types: [...WRITE_ERRORS, HandleCooldownError] },
    args: { input: t.arg({ type: UpdateProfileInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ user: await profiles.updateProfile(ctx.viewer, input) }),
  }),
);
