import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { ListeningAlertKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import * as policy from './policy.js';
import { acknowledgeAlert, alertListWhere, alertRuleListWhere, createAlertRule, deleteAlertRule, updateAlertRule } from './alerts.js';

// Listening alert rules and alerts: types, lists and changes (managers).

const AlertKindEnum = builder.enumType(ListeningAlertKind, {
  name: 'ListeningAlertKind',
  description: 'VOLUME_SPIKE and NEGATIVE_SPIKE against a trailing baseline; KEYWORD when a watched term appears.',
  values: {
    VOLUME_SPIKE: { description: 'Brand-matched mentions in a window reach spikeFactor times the baseline, and minVolume.' },
    NEGATIVE_SPIKE: { description: 'The same, counting NEGATIVE mentions only.' },
    KEYWORD: { description: 'The keyword appears, as a whole word, in a brand-matched mention of the window.' },
  },
});

const AlertRuleType = builder.prismaNode('ListeningAlertRule', {
  id: { field: 'id' },
  nullable: true,
  description:
    'When to raise a listening alert; evaluated every LISTENING_JOB_INTERVAL_MS over windows aligned on the epoch. Visible to COMMUNITY_MANAGER and ADMIN.',
  findUnique: visibleNode('ListeningAlertRule', (ctx) => policy.managerRowsWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its display name, 1 to 100 characters.' }),
    kind: t.expose('kind', { type: AlertKindEnum, description: 'What it watches for; fixed at creation.' }),
    brand: t.relation('brand', { nullable: true, description: 'Null: every brand-matched mention.' }),
    keyword: t.exposeString('keyword', { nullable: true, description: 'KEYWORD rules: the watched term, whole word, case- and accent-insensitive; null for others.' }),
    windowMinutes: t.exposeInt('windowMinutes', { description: 'The length of a window, in minutes; at most one alert per window.' }),
    spikeFactor: t.exposeFloat('spikeFactor', { description: 'Spikes: how many times the baseline a window must reach.' }),
    minVolume: t.exposeInt('minVolume', { description: 'Spikes: the fewest mentions in a window that can be one.' }),
    baselineWindows: t.exposeInt('baselineWindows', { description: 'Spikes: the baseline is the average of this many windows before the current one.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Disabled rules raise nothing.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ListeningAlertType = builder.prismaNode('ListeningAlert', {
  id: { field: 'id' },
  nullable: true,
  description: 'What a listening alert rule found in one window. Visible to COMMUNITY_MANAGER and ADMIN; deleted with its rule.',
  findUnique: visibleNode('ListeningAlert', (ctx) => policy.managerRowsWhere(ctx.viewer)),
  fields: (t) => ({
    rule: t.relation('rule', { description: 'The rule that raised it.' }),
    brand: t.relation('brand', { nullable: true, description: "The rule's brand; null when it watches every brand-matched mention." }),
    kind: t.expose('kind', { type: AlertKindEnum, description: "The rule's kind." }),
    windowStart: t.expose('windowStart', { type: 'DateTime', description: 'The window counted: from windowStart, inclusive.' }),
    windowEnd: t.expose('windowEnd', { type: 'DateTime', description: 'To windowEnd, exclusive. The alert may be raised before the window is over.' }),
    observed: t.exposeInt('observed', { description: 'Mentions counted in the window.' }),
    baseline: t.exposeFloat('baseline', { description: 'Average per window over the trailing baseline (0 for KEYWORD).' }),
    message: t.exposeString('message', { description: 'What happened, in plain English.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the alert was raised.' }),
    acknowledgedAt: t.expose('acknowledgedAt', { type: 'DateTime', nullable: true, description: 'null until someone acknowledges it.' }),
    acknowledgedBy: t.relation('acknowledgedBy', { nullable: true, description: 'null until someone acknowledges it.' }),
  }),
});

builder.queryFields((t) => ({
  listeningAlertRules: t.prismaConnection(
    {
      type: 'ListeningAlertRule',
      cursor: 'id',
      description: 'COMMUNITY_MANAGER and ADMIN.',
      resolve: (query, _root, _args, ctx) => {
        return prisma().listeningAlertRule.findMany({ ...query, where: alertRuleListWhere(ctx.viewer), orderBy: { id: 'asc' } });
      },
      totalCount: (_root, _args, ctx) => prisma().listeningAlertRule.count({ where: alertRuleListWhere(ctx.viewer) }),
    },
    { name: 'ListeningAlertRuleConnection' },
    { name: 'ListeningAlertRuleEdge' },
  ),
  listeningAlerts: t.prismaConnection(
    {
      type: 'ListeningAlert',
      cursor: 'id',
      description: 'COMMUNITY_MANAGER and ADMIN. Newest first.',
      args: { acknowledged: t.arg.boolean({ description: 'true: only acknowledged; false: only open ones.' }) },
      resolve: (query, _root, args, ctx) => {
        return prisma().listeningAlert.findMany({ ...query, where: alertListWhere(ctx.viewer, args.acknowledged), orderBy: { id: 'desc' } });
      },
      totalCount: (_root, args, ctx) => prisma().listeningAlert.count({ where: alertListWhere(ctx.viewer, args.acknowledged) }),
    },
    { name: 'ListeningAlertConnection' },
    { name: 'ListeningAlertEdge' },
  ),
}));

const CreateRuleInput = builder.inputType('CreateListeningAlertRuleInput', {
  description: 'A new listening alert rule.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters.' }),
    kind: t.field({ type: AlertKindEnum, required: true, description: 'Cannot be changed later.' }),
    brandId: t.id({ description: 'Watch one brand; all brand-matched mentions when omitted. Cannot be changed later.' }),
    keyword: t.string({ description: 'KEYWORD rules (required there, refused elsewhere): the watched term, 1 to 100 characters.' }),
    windowMinutes: t.int({ description: 'Defaults to 60 (5 to 10080).' }),
    spikeFactor: t.float({ description: 'Defaults to 3 (three times the baseline); 1 to 1000.' }),
    minVolume: t.int({ description: 'Defaults to 5 (1 to 1000000).' }),
    baselineWindows: t.int({ description: 'Defaults to 24 (1 to 720).' }),
    enabled: t.boolean({ description: 'Defaults to true.' }),
  }),
});
const UpdateRuleInput = builder.inputType('UpdateListeningAlertRuleInput', {
  description: 'Changes to a listening alert rule, with the rules of CreateListeningAlertRuleInput; omitted fields keep their value.',
  fields: (t) => ({
    ruleId: t.id({ required: true, description: 'The global id of the ListeningAlertRule.' }),
    name: t.string({ description: '1 to 100 characters.' }),
    keyword: t.string({ description: 'KEYWORD rules only: 1 to 100 characters.' }),
    windowMinutes: t.int({ description: '5 to 10080.' }),
    spikeFactor: t.float({ description: '1 to 1000.' }),
    minVolume: t.int({ description: '1 to 1000000.' }),
    baselineWindows: t.int({ description: '1 to 720.' }),
    enabled: t.boolean({ description: 'Disabled rules raise nothing.' }),
  }),
});
const RuleIdInput = builder.inputType('DeleteListeningAlertRuleInput', {
  description: 'The listening alert rule to delete, with its alerts.',
  fields: (t) => ({ ruleId: t.id({ required: true, description: 'The global id of the ListeningAlertRule.' }) }),
});
const AlertIdInput = builder.inputType('AcknowledgeListeningAlertInput', {
  description: 'The alert to acknowledge; acknowledging it again changes nothing.',
  fields: (t) => ({ alertId: t.id({ required: true, description: 'The global id of the ListeningAlert.' }) }),
});

const RulePayload = builder.simpleObject('ListeningAlertRulePayload', {
  description: 'What a write to a listening alert rule answers when it succeeds.',
  fields: (t) => ({ rule: t.field({ type: AlertRuleType, description: 'The rule as it is now; after deleteListeningAlertRule, as it was.' }) }),
});

const AlertPayload = builder.simpleObject('ListeningAlertPayload', { fields: (t) => ({ alert: t.field({ type: ListeningAlertType }) }) });

const id = (value: string, typename: string, path: string) => decodeId(value, [typename], path).id;

builder.mutationFields((t) => ({
  createListeningAlertRule: t.field({
    type: RulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateRuleInput, required: true }) },
    resolve: async (_root, { input: { brandId, ...fields } }, ctx) => ({
      rule: await createAlertRule(ctx.viewer, {
        ...fields,
        brandId: brandId ? id(brandId, 'TrackedBrand', 'input.brandId') : null,
      }),
    }),
  }),
  updateListeningAlertRule: t.field({
    type: RulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateRuleInput, required: true }) },
    resolve: async (_root, { input: { ruleId, ...changes } }, ctx) => ({
      rule: await updateAlertRule(ctx.viewer, id(ruleId, 'ListeningAlertRule', 'input.ruleId'), changes),
    }),
  }),
  deleteListeningAlertRule: t.field({
    type: RulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Its alerts go with it.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: RuleIdInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      rule: await deleteAlertRule(ctx.viewer, id(input.ruleId, 'ListeningAlertRule', 'input.ruleId')),
    }),
  }),
  acknowledgeListeningAlert: t.field({
    type: AlertPayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AlertIdInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      alert: await acknowledgeAlert(ctx.viewer, id(input.alertId, 'ListeningAlert', 'input.alertId')),
    }),
  }),
}));
