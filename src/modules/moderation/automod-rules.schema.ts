import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { AutomodAction, AutomodTrigger } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { RoleEnum } from '../identity/identity.schema.js';
import * as automodRules from './automod-rules.js';
import { loadSubject } from './moderation.schema.js';
import * as policy from './policy.js';

// The automod rules' GraphQL: the rules, their hits, and their CRUD (rules in automod-rules.ts).

const AutomodTriggerEnum = builder.enumType(AutomodTrigger, {
  name: 'AutomodTrigger',
  description: 'What an automod rule looks for in a new or edited thread or post.',
  values: {
    KEYWORD: { description: 'Any of `keywords`, as whole words, ignoring case and accents.' },
    PATTERN: { description: '`pattern`, a case-insensitive RE2 regular expression.' },
    LINK: { description: 'A link, from an account younger than `minAccountAgeDays` or with fewer than `minPosts` threads and posts (any link when neither is set), from a writer below `belowTrustLevel` when set.' },
    MENTION_SPAM: { description: 'More than `maxMentions` @mentions, from a writer below `belowTrustLevel` when set.' },
    RATE: { description: 'New content making more than `maxPosts` threads and posts within `windowMinutes` (edits are not counted).' },
  },
});
const AutomodActionEnum = builder.enumType(AutomodAction, {
  name: 'AutomodAction',
  description: 'BLOCK: the write fails (AutomodBlockedError). HOLD: published only once a moderator approves it from the queue. FLAG: stays visible, enters the queue.',
  values: {
    BLOCK: { description: 'The write fails with AutomodBlockedError; nothing is written.' },
    HOLD: { description: 'Written as HELD: published only once a moderator approves it from the queue.' },
    FLAG: { description: 'Published, and put in the moderation queue.' },
  },
});
// Registered for AutomodRule.hits, which reaches it by its model name.
builder.prismaObject('AutomodHit', {
  description: 'One match of an automod rule, kept even when the write was blocked.',
  fields: (t) => ({
    ruleName: t.exposeString('ruleName', { description: 'The name the rule had when it matched.' }),
    action: t.expose('action', { type: AutomodActionEnum, description: "The rule's action when it matched." }),
    user: t.relation('user', { description: 'Who wrote the content.' }),
    subject: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description: 'The thread or post written; null when it was blocked.',
      resolve: (hit, _args, ctx) => (hit.subjectType ? loadSubject(ctx, hit.subjectType, hit.subjectId!) : null),
    }),
    matched: t.exposeString('matched', { description: 'What matched: the word, link, text or count.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the rule matched.' }),
  }),
});

export const AutomodRuleType = builder.prismaNode('AutomodRule', {
  id: { field: 'id' },
  nullable: true,
  description: 'An auto-moderation rule. Moderators read them; COMMUNITY_MANAGER and ADMIN change them.',
  findUnique: visibleNode('AutomodRule', (ctx) => policy.automodRulesVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique; shown to writers it blocks (AutomodBlockedError.ruleName).' }),
    enabled: t.exposeBoolean('enabled', { description: 'Disabled rules match nothing.' }),
    trigger: t.expose('trigger', { type: AutomodTriggerEnum, description: 'What the rule looks for; its settings are the fields named after it.' }),
    action: t.expose('action', { type: AutomodActionEnum, description: 'What happens to a write that matches.' }),

    keywords: t.exposeStringList('keywords', { description: 'KEYWORD: whole words, stored lower-case without accents.' }),
    pattern: t.exposeString('pattern', { nullable: true, description: 'PATTERN: an RE2 regular expression, case-insensitive.' }),
    minAccountAgeDays: t.exposeInt('minAccountAgeDays', { nullable: true, description: 'LINK: links from accounts younger than this many days match; null: no age condition.' }),
    minPosts: t.exposeInt('minPosts', { nullable: true, description: 'LINK: links from accounts with fewer threads and posts than this match; null: no count condition.' }),
    maxMentions: t.exposeInt('maxMentions', { nullable: true, description: 'MENTION_SPAM: more @mentions than this match; null for other triggers.' }),
    belowTrustLevel: t.exposeInt('belowTrustLevel', {
      nullable: true,
      description: 'LINK and MENTION_SPAM: the rule applies only to writers whose trust level (0-4, User.trustLevel) is below this, e.g. 1: new (TL0) accounts only; null: to every writer.',
    }),
    maxPosts: t.exposeInt('maxPosts', { nullable: true, description: 'RATE: more new threads and posts than this within windowMinutes match; null for other triggers.' }),
    windowMinutes: t.exposeInt('windowMinutes', { nullable: true, description: 'RATE: the window, in minutes; null for other triggers.' }),
    exemptRoles: t.field({ type: [RoleEnum], description: 'Writers with these roles are not screened by this rule.', resolve: (rule) => rule.exemptRoles }),
    exemptSpaceIds: t.idList({ description: 'Space ids where this rule does not apply.', resolve: (rule) => rule.exemptSpaceIds.map((id) => encodeGlobalID('Space', id)) }),
    createdBy: t.relation('createdBy', { description: 'Who created the rule.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    hits: t.relatedConnection('hits', {
      cursor: 'id',
      totalCount: true,
      description: 'Newest first.',
      query: () => ({ orderBy: { id: 'desc' } }),
    }, { name: 'AutomodHitConnection' }, { name: 'AutomodHitEdge' }),
  }),
});

builder.queryFields((t) => ({
  automodRules: t.prismaConnection({
    type: 'AutomodRule',
    cursor: 'id',
    description: 'MODERATOR and above, oldest first.',
    resolve: (query, _root, args, ctx) => {
      return prisma().automodRule.findMany({ ...query, where: automodRules.automodRuleListWhere(ctx.viewer), orderBy: { id: 'asc' } });
    },
    totalCount: (_root, _args, ctx) => prisma().automodRule.count({ where: automodRules.automodRuleListWhere(ctx.viewer) }),
  }, { name: 'AutomodRuleConnection' }, { name: 'AutomodRuleEdge' }),
}));

const automodRuleFields = (t: PothosInputFields) => ({
  name: t.string({ description: '1 to 100 characters; unique.' }),
  enabled: t.boolean({ description: 'Defaults to true.' }),
  trigger: t.field({ type: AutomodTriggerEnum, description: 'What the rule looks for.' }),
  action: t.field({ type: AutomodActionEnum, description: 'What happens to a write that matches.' }),
  keywords: t.stringList({
    description: 'KEYWORD: words or phrases, matched whole, ignoring case and accents.',
    extensions: { maxItems: automodRules.MAX_AUTOMOD_KEYWORDS },
  }),
  pattern: t.string({ description: 'PATTERN: RE2 syntax (no backreferences or lookaround), up to 500 characters.' }),
  minAccountAgeDays: t.int({ description: 'LINK: links from accounts younger than this.' }),
  minPosts: t.int({ description: 'LINK: links from accounts with fewer threads and posts than this.' }),
  maxMentions: t.int({ description: 'MENTION_SPAM: more @mentions than this.' }),
  belowTrustLevel: t.int({ description: 'LINK and MENTION_SPAM: apply only to writers below this trust level (1 to 4; 1: TL0 accounts only).' }),
  maxPosts: t.int({ description: 'RATE: more threads and posts than this within windowMinutes.' }),
  windowMinutes: t.int({ description: 'RATE: the window, 1 to 10080 minutes (a week).' }),
  exemptRoles: t.field({ type: [RoleEnum], description: 'Writers with these roles are not screened; defaults to none.' }),
  exemptSpaceIds: t.idList({ description: 'Spaces where the rule does not apply; defaults to none.' }),
});
type PothosInputFields = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];
const CreateAutomodRuleInput = builder.inputType('CreateAutomodRuleInput', {
  description: 'name, trigger and action are required; each trigger needs its own settings.',
  fields: (t) => automodRuleFields(t),
});
const UpdateAutomodRuleInput = builder.inputType('UpdateAutomodRuleInput', {
  description: 'Omitted fields keep their value.',
  fields: (t) => ({ ruleId: t.id({ required: true, description: 'The global id of the AutomodRule.' }), ...automodRuleFields(t) }),
});
const DeleteAutomodRuleInput = builder.inputType('DeleteAutomodRuleInput', {
  description: 'The automod rule to delete.',
  fields: (t) => ({ ruleId: t.id({ required: true, description: 'The global id of the AutomodRule.' }) }),
});

const AutomodRulePayload = builder.simpleObject('AutomodRulePayload', { fields: (t) => ({ rule: t.field({ type: AutomodRuleType }) }) });
const DeleteAutomodRulePayload = builder.simpleObject('DeleteAutomodRulePayload', {
  description: 'What deleteAutomodRule answers when it succeeds.',
  fields: (t) => ({ deletedRuleId: t.id({ description: 'The global id the deleted rule had.' }) }),
});

type RuleArgs = {
  exemptSpaceIds?: string[] | null;
} & Omit<automodRules.AutomodRuleInput, 'exemptSpaceIds'>;
const ruleInput = (input: RuleArgs): automodRules.AutomodRuleInput => ({
  ...input,
  exemptSpaceIds: input.exemptSpaceIds?.map((id, i) => decodeId(id, ['Space'], `input.exemptSpaceIds.${i}`).id),
});

builder.mutationFields((t) => ({
  createAutomodRule: t.field({
    type: AutomodRulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateAutomodRuleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ rule: await automodRules.createAutomodRule(ctx.viewer, ruleInput(input)) }),
  }),
  updateAutomodRule: t.field({
    type: AutomodRulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateAutomodRuleInput, required: true }) },
    resolve: async (_root, { input: { ruleId, ...changes } }, ctx) => ({
      rule: await automodRules.updateAutomodRule(ctx.viewer, decodeId(ruleId, ['AutomodRule'], 'input.ruleId').id, ruleInput(changes)),
    }),
  }),
  deleteAutomodRule: t.field({
    type: DeleteAutomodRulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Its recorded hits are kept.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: DeleteAutomodRuleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = await automodRules.deleteAutomodRule(ctx.viewer, decodeId(input.ruleId, ['AutomodRule'], 'input.ruleId').id);
      return { deletedRuleId: encodeGlobalID('AutomodRule', id) };
    },
  }),
}));
