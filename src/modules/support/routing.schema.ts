import { builder, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import type { Space, SupportChannel } from '../../generated/prisma/client.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { SpaceType } from '../community/community.schema.js';
import { canSeeSpace } from '../community/policy.js';
import { RoleEnum } from '../identity/identity.schema.js';
import * as policy from './policy.js';
import * as routing from './routing.js';
import { CasePriorityEnum, SupportChannelType } from './support.schema.js';

function byIds<T extends { id: number }>(rows: T[], ids: readonly number[]): (T | null)[] {
  const map = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => map.get(id) ?? null);
}
const channelsById = (ctx: Context) =>
  loader(ctx, 'supportChannelsById', async (ids: readonly number[]) =>
    byIds<SupportChannel>(await prisma().supportChannel.findMany({ where: { id: { in: [...ids] } } }), ids),
  );
const spacesById = (ctx: Context) =>
  loader(ctx, 'spacesById', async (ids: readonly number[]) => byIds<Space>(await prisma().space.findMany({ where: { id: { in: [...ids] } } }), ids));

export const RoutingRuleType = builder.prismaNode('RoutingRule', {
  id: { field: 'id' },
  nullable: true,
  description: 'Staff only. Conditions all hold (an empty list matches anything) → actions apply. First match wins.',
  findUnique: visibleNode('RoutingRule', (ctx) => policy.routingRuleVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its display name, 1 to 100 characters.' }),
    position: t.exposeInt('position', { description: '1 is tried first; positions run 1, 2, 3… without gaps.' }),
    active: t.exposeBoolean('active', { description: 'Inactive rules are skipped.' }),
    channels: t.field({
      type: [SupportChannelType],
      description: 'Condition: the case arrives on one of these channels (empty: any).',
      resolve: async (rule, _args, ctx) => (await channelsById(ctx).loadMany(rule.channelIds)).filter((c): c is SupportChannel => !!c && !(c instanceof Error)),
    }),
    spaces: t.field({
      type: [SpaceType],
      description: "Condition: the case's thread (or its channel's forum) is in one of these spaces (empty: any). Spaces you cannot see are left out.",
      resolve: async (rule, _args, ctx) =>
        (await spacesById(ctx).loadMany(rule.spaceIds)).filter((s): s is Space => !!s && !(s instanceof Error) && canSeeSpace(ctx.viewer, s.visibility)),
    }),
    keywords: t.exposeStringList('keywords', { description: 'Any of these whole words or phrases, in subject or body; case and accents ignored.' }),
    requesterRoles: t.field({ type: [RoleEnum], description: "Condition: the requester's role is one of these (empty: any).", resolve: (rule) => rule.requesterRoles }),
    department: t.relation('department', { nullable: true, description: "Action: the department that handles the case; null keeps the channel's default." }),
    priority: t.expose('priority', { type: CasePriorityEnum, nullable: true, description: 'Action: the priority of the case; null keeps the one asked for.' }),
    tags: t.exposeStringList('tags', { description: 'Action: the tags of the case (lower case).' }),
  }),
});

builder.queryField('routingRules', (t) =>
  t.prismaConnection(
    {
      type: 'RoutingRule',
      cursor: 'id',
      description: 'Staff: the routing rules in the order they are tried.',
      resolve: (query, _root, _args, ctx) => {
        return prisma().routingRule.findMany({ ...query, where: routing.routingRuleListWhere(ctx.viewer), orderBy: [{ position: 'asc' }, { id: 'asc' }] });
      },
      totalCount: (_root, _args, ctx) => prisma().routingRule.count({ where: routing.routingRuleListWhere(ctx.viewer) }),
    },
    { name: 'RoutingRuleConnection' },
    { name: 'RoutingRuleEdge' },
  ),
);

const ruleFields = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
  position: t.int({ description: '1 is tried first; the others move down. Defaults to last (on create).' }),
  active: t.boolean({ description: 'Defaults to true (on create).' }),
  channelIds: t.idList({ description: 'Condition: the case arrives on one of these channels.' }),
  spaceIds: t.idList({ description: "Condition: the case's thread (or its channel's forum) is in one of these spaces." }),
  keywords: t.stringList({ description: 'Condition: any of these whole words or phrases in subject or body; up to 200, each up to 100 characters.' }),
  requesterRoles: t.field({ type: [RoleEnum], description: "Condition: the requester's role is one of these." }),
  departmentId: t.id({ description: 'Action: route to this department (on update, null clears it).' }),
  priority: t.field({ type: CasePriorityEnum, description: 'Action: set this priority (on update, null clears it).' }),
  tags: t.stringList({ description: 'Action: tag the case; up to 20, each up to 50 characters, stored lower-case.' }),
});
const CreateRoutingRuleInput = builder.inputType('CreateRoutingRuleInput', {
  description: 'A new routing rule. Omitted conditions match anything; it must set a department, a priority or tags.',
  fields: (t) => ({ name: t.string({ required: true, description: '1 to 100 characters.' }), ...ruleFields(t) }),
});
const UpdateRoutingRuleInput = builder.inputType('UpdateRoutingRuleInput', {
  description: 'Changes to a routing rule; omitted fields keep their value, given lists replace the old ones.',
  fields: (t) => ({
    ruleId: t.id({ required: true, description: 'The global id of the RoutingRule.' }),
    name: t.string({ description: '1 to 100 characters.' }),
    ...ruleFields(t),
  }),
});
const DeleteRoutingRuleInput = builder.inputType('DeleteRoutingRuleInput', {
  description: 'The routing rule to delete; the rules after it move up.',
  fields: (t) => ({ ruleId: t.id({ required: true, description: 'The global id of the RoutingRule.' }) }),
});

const RoutingRulePayload = builder.simpleObject('RoutingRulePayload', { fields: (t) => ({ rule: t.field({ type: RoutingRuleType }) }) });
const DeleteRoutingRulePayload = builder.simpleObject('DeleteRoutingRulePayload', {
  description: 'What deleteRoutingRule answers when it succeeds.',
  fields: (t) => ({ deletedRuleId: t.id({ description: 'The global id the deleted rule had.' }) }),
});


type RuleArgs = {
  channelIds?: string[] | null;
  spaceIds?: string[] | null;
  departmentId?: string | null;
};
function decodeRule<T extends RuleArgs>(input: T) {
  const { channelIds, spaceIds, departmentId, ...rest } = input;
  return {
    ...rest,
    ...(channelIds != null && { channelIds: channelIds.map((id, i) => decodeId(id, ['SupportChannel'], `input.channelIds.${i}`).id) }),
    ...(spaceIds != null && { spaceIds: spaceIds.map((id, i) => decodeId(id, ['Space'], `input.spaceIds.${i}`).id) }),
    // An explicit null clears the action; an omitted field keeps it.
    ...(departmentId !== undefined && { departmentId: departmentId === null ? null : decodeId(departmentId, ['Department'], 'input.departmentId').id }),
  };
}

builder.mutationFields((t) => ({
  createRoutingRule: t.field({
    type: RoutingRulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateRoutingRuleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ rule: await routing.createRoutingRule(ctx.viewer, decodeRule(input)) }),
  }),
  updateRoutingRule: t.field({
    type: RoutingRulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Omitted fields keep their value; lists are replaced.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateRoutingRuleInput, required: true }) },
    resolve: async (_root, { input: { ruleId, ...changes } }, ctx) => ({
      rule: await routing.updateRoutingRule(ctx.viewer, decodeId(ruleId, ['RoutingRule'], 'input.ruleId').id, decodeRule(changes)),
    }),
  }),
  deleteRoutingRule: t.field({
    type: DeleteRoutingRulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Cases it routed keep their department; they just no longer name the rule.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: DeleteRoutingRuleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await routing.deleteRoutingRule(ctx.viewer, decodeId(input.ruleId, ['RoutingRule'], 'input.ruleId').id);
      return { deletedRuleId: input.ruleId };
    },
  }),
}));
