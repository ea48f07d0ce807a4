import { builder, sharedConnection, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { BadgeKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { UserType } from '../identity/identity.schema.js';
import { canManageCommunity } from '../identity/roles.js';
import * as badges from './badges.js';

export const BadgeKindEnum = builder.enumType(BadgeKind, {
  name: 'BadgeKind',
  description: 'Where a badge comes from.',
  values: {
    BUILT_IN: { description: 'Built in: awarded automatically by its rule over the engagement signals, never by hand.' },
    CUSTOM: { description: 'Created by a community manager; awarded by hand by staff.' },
  },
});

const holderCountLoader = (ctx: Context) => loader(ctx, 'badgeHolderCounts', (ids: readonly number[]) => badges.holderCounts(ids));

export const BadgeAwardType = builder.prismaNode('BadgeAward', {
  id: { field: 'id' },
  nullable: true,
  description: 'A badge held by a member. Public while not revoked; revoked ones only to community managers and admins.',
  findUnique: visibleNode('BadgeAward', (ctx) => badges.awardVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    badge: t.relation('badge', { description: 'The badge.' }),
    user: t.relation('user', { description: 'The member who holds it.' }),
    reason: t.exposeString('reason', { description: "Why it was awarded: the rule's threshold, or the words of the staff member who gave it." }),
    awardedBy: t.relation('awardedBy', { nullable: true, description: 'The staff member who awarded it by hand; null when a rule did.' }),
    awardedAt: t.expose('awardedAt', { type: 'DateTime', description: 'When it was awarded.' }),
    revokedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When a manager revoked it; null while held (and for anyone but managers).',
      resolve: (award, _args, ctx) => (ctx.viewer && canManageCommunity(ctx.viewer.role) ? award.revokedAt : null),
    }),
  }),
});

const BadgeAwardConnection = sharedConnection(BadgeAwardType, 'BadgeAward');

export const BadgeType = builder.prismaNode('Badge', {
  id: { field: 'id' },
  nullable: true,
  description: 'A badge members can hold. Public.',
  findUnique: visibleNode('Badge'),
  fields: (t) => ({
    key: t.exposeString('key', { nullable: true, description: 'The stable key of a built-in badge (FIRST_REPLY, HELPFUL...); null for custom ones.' }),
    name: t.exposeString('name', { description: 'Its name, unique, 1 to 60 characters.' }),
    description: t.exposeString('description', { description: 'What it is for, 1 to 500 characters.' }),
    icon: t.exposeString('icon', { nullable: true, description: 'An emoji or image URL; null when none.' }),
    kind: t.expose('kind', { type: BadgeKindEnum, description: 'Built in (awarded by a rule) or custom (awarded by hand).' }),
    repeatable: t.exposeBoolean('repeatable', { description: 'Whether a member can hold it more than once (once per grant).' }),
    archivedAt: t.expose('archivedAt', { type: 'DateTime', nullable: true, description: 'When it stopped being awarded; holders keep it. Null while active.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    holderCount: t.int({
      description: 'How many members hold it (each once, revoked awards left out).',
      resolve: (badge, _args, ctx) => holderCountLoader(ctx).load(badge.id),
    }),
    holders: t.relatedConnection(
      'awards',
      {
        cursor: 'id',
        totalCount: true,
        description: 'Its awards, newest first (a repeatable badge lists a member once per grant); revoked ones left out.',
        query: () => ({ where: { revokedAt: null }, orderBy: { id: 'desc' } }),
      },
      BadgeAwardConnection,
    ),
  }),
});

builder.prismaObjectFields(UserType, (t) => ({
  badges: t.relatedConnection(
    'badgeAwards',
    {
      cursor: 'id',
      totalCount: true,
      description: 'The badges they hold, newest first (revoked ones left out). Public.',
      query: () => ({ where: { revokedAt: null }, orderBy: { id: 'desc' } }),
    },
    BadgeAwardConnection,
  ),
}));

builder.queryField('badges', (t) =>
  t.prismaConnection(
    {
      type: 'Badge',
      cursor: 'id',
      description: 'The badges, oldest first: built-in and custom, archived ones only when asked.',
      args: {
        kind: t.arg({ type: BadgeKindEnum, description: 'Only badges of this kind; both when omitted.' }),
        includeArchived: t.arg.boolean({ defaultValue: false, description: 'Also list archived badges.' }),
      },
      resolve: (query, _root, args) =>
        prisma().badge.findMany({
          ...query,
          where: { ...(args.kind && { kind: args.kind }), ...(!args.includeArchived && { archivedAt: null }) },
          orderBy: { id: 'asc' },
        }),
      totalCount: (_root, args) =>
        prisma().badge.count({ where: { ...(args.kind && { kind: args.kind }), ...(!args.includeArchived && { archivedAt: null }) } }),
    },
    { name: 'BadgeConnection' },
    { name: 'BadgeEdge' },
  ),
);

// ---- Mutations --------------------------------------------------------------------------------

const CreateBadgeInput = builder.inputType('CreateBadgeInput', {
  description: 'A new custom badge.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique, 1 to 60 characters.' }),
    description: t.string({ required: true, description: 'What it is for, 1 to 500 characters.' }),
    icon: t.string({ description: 'An emoji or image URL, up to 200 characters.' }),
    repeatable: t.boolean({ description: 'Whether a member can be awarded it more than once; false by default.' }),
  }),
});
const UpdateBadgeInput = builder.inputType('UpdateBadgeInput', {
  description: 'Changes to a custom badge; omitted fields keep their value.',
  fields: (t) => ({
    badgeId: t.id({ required: true, description: 'The global id of the (custom) Badge.' }),
    name: t.string({ description: 'Unique, 1 to 60 characters.' }),
    description: t.string({ description: '1 to 500 characters.' }),
    icon: t.string({ description: 'An emoji or image URL; null removes it.' }),
  }),
});
const ArchiveBadgeInput = builder.inputType('ArchiveBadgeInput', {
  description: 'The custom badge to stop awarding.',
  fields: (t) => ({ badgeId: t.id({ required: true, description: 'The global id of the Badge.' }) }),
});
const AwardBadgeInput = builder.inputType('AwardBadgeInput', {
  description: 'A custom badge for a member, by hand.',
  fields: (t) => ({
    badgeId: t.id({ required: true, description: 'The global id of a custom, active Badge.' }),
    userId: t.id({ required: true, description: 'The global id of the User who receives it (not yourself).' }),
    reason: t.string({ required: true, description: 'Why, 1 to 500 characters; shown with the badge.' }),
    grantKey: t.string({
      description: 'Repeatable badges only: what this grant is for (say, a support case), up to 100 characters; the same key is awarded once. A new grant when omitted.',
    }),
  }),
});
const RevokeBadgeInput = builder.inputType('RevokeBadgeInput', {
  description: 'The award to take back.',
  fields: (t) => ({ awardId: t.id({ required: true, description: 'The global id of the BadgeAward.' }) }),
});

const BadgePayload = builder.simpleObject('BadgePayload', {
  description: 'What a badge mutation answers when it succeeds.',
  fields: (t) => ({ badge: t.field({ type: BadgeType, description: 'The badge as it is now.' }) }),
});
const BadgeAwardPayload = builder.simpleObject('BadgeAwardPayload', {
  description: 'What awardBadge and revokeBadge answer when they succeed.',
  fields: (t) => ({ award: t.field({ type: BadgeAwardType, description: 'The award as it is now.' }) }),
});

builder.mutationFields((t) => ({
  createBadge: t.field({
    type: BadgePayload,
    description: 'COMMUNITY_MANAGER or ADMIN: a new custom badge.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateBadgeInput, required: true, description: 'The badge.' }) },
    resolve: async (_root, { input }, ctx) => ({ badge: await badges.createBadge(ctx.viewer, input) }),
  }),
  updateBadge: t.field({
    type: BadgePayload,
    description: 'COMMUNITY_MANAGER or ADMIN: change a custom badge (built-in ones cannot be changed).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateBadgeInput, required: true, description: 'The changes.' }) },
    resolve: async (_root, { input: { badgeId, ...changes } }, ctx) => ({
      badge: await badges.updateBadge(ctx.viewer, decodeId(badgeId, ['Badge'], 'input.badgeId').id, badgeId, changes),
    }),
  }),
  archiveBadge: t.field({
    type: BadgePayload,
    description: 'COMMUNITY_MANAGER or ADMIN: stop awarding a custom badge; its holders keep it.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ArchiveBadgeInput, required: true, description: 'The badge.' }) },
    resolve: async (_root, { input }, ctx) => ({
      badge: await badges.archiveBadge(ctx.viewer, decodeId(input.badgeId, ['Badge'], 'input.badgeId').id, input.badgeId),
    }),
  }),
  awardBadge: t.field({
    type: BadgeAwardPayload,
    description:
      'Staff of any department (MODERATOR, AGENT, COMMUNITY_MANAGER, ADMIN): award a custom badge to a member. Built-in badges are awarded only by their rules.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AwardBadgeInput, required: true, description: 'The badge, the member and why.' }) },
    resolve: async (_root, { input }, ctx) => ({
      award: await badges.awardBadge(
        ctx.viewer,
        {
          badgeId: decodeId(input.badgeId, ['Badge'], 'input.badgeId').id,
          badgeGlobalId: input.badgeId,
          userId: decodeId(input.userId, ['User'], 'input.userId').id,
          userGlobalId: input.userId,
        },
        { reason: input.reason, grantKey: input.grantKey },
      ),
    }),
  }),
  revokeBadge: t.field({
    type: BadgeAwardPayload,
    description: 'COMMUNITY_MANAGER or ADMIN: take an award back (a rule never awards a revoked built-in badge again).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: RevokeBadgeInput, required: true, description: 'The award.' }) },
    resolve: async (_root, { input }, ctx) => ({
      award: await badges.revokeBadge(ctx.viewer, decodeId(input.awardId, ['BadgeAward'], 'input.awardId').id, input.awardId),
    }),
  }),
}));
