import { z } from 'zod';
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { AutomodRule, Prisma } from '../../generated/prisma/client.js';
import type { AutomodAction, AutomodTrigger, Role } from '../../generated/prisma/enums.js';
import { foldedWords } from '../../text.js';
import { parseInput } from '../../validation.js';
import { compilePattern } from './automod.js';
import { requireManager, requireModerator } from '../identity/guards.js';

// Automod rules: create, update and delete, checked per trigger. The engine that applies
// them is automod.ts.

/** automodRules: moderators read the rules (managers change them). */
export function automodRuleListWhere(viewer: Viewer | null): Prisma.AutomodRuleWhereInput {
  requireModerator(viewer);
  return {};
}

export type AutomodRuleInput = {
  name?: string | null;
  enabled?: boolean | null;
  trigger?: AutomodTrigger | null;
  action?: AutomodAction | null;
  keywords?: string[] | null;
  pattern?: string | null;
  minAccountAgeDays?: number | null;
  minPosts?: number | null;
  maxMentions?: number | null;
  belowTrustLevel?: number | null;
  maxPosts?: number | null;
  windowMinutes?: number | null;
  exemptRoles?: Role[] | null;
  exemptSpaceIds?: number[] | null;
};

/** Keywords of one automod rule (more than the 100 items a list argument takes by default). */
export const MAX_AUTOMOD_KEYWORDS = 500;
const count = (max: number) => z.number().int().min(0, 'must be 0 or more').max(max, `must be at most ${max}`);
const ruleFields = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  enabled: z.boolean(),
  trigger: z.enum(['KEYWORD', 'PATTERN', 'LINK', 'MENTION_SPAM', 'RATE']),
  action: z.enum(['BLOCK', 'HOLD', 'FLAG']),
  keywords: z.array(z.string().max(100, 'must be at most 100 characters')).max(MAX_AUTOMOD_KEYWORDS, `must be at most ${MAX_AUTOMOD_KEYWORDS} words`),
  pattern: z.string().nullable(),
  minAccountAgeDays: count(3650).nullable(),
  minPosts: count(100_000).nullable(),
  maxMentions: count(1000).nullable(),
  belowTrustLevel: z.number().int().min(1, 'must be 1 to 4').max(4, 'must be 1 to 4').nullable(),
  maxPosts: count(10_000).nullable(),
  windowMinutes: z.number().int().min(1, 'must be at least 1').max(10_080, 'must be at most 10080 (a week)').nullable(),
  exemptRoles: z.array(z.enum(['MEMBER', 'MODERATOR', 'AGENT', 'COMMUNITY_MANAGER', 'ADMIN'])),
  exemptSpaceIds: z.array(z.number().int()).max(100, 'at most 100 spaces'),
});
type RuleData = z.infer<typeof ruleFields>;

// The settings each trigger reads; the others' are refused when given, not silently dropped.
const TRIGGER_SETTINGS: Record<RuleData['trigger'], (keyof RuleData)[]> = {
  KEYWORD: ['keywords'],
  PATTERN: ['pattern'],
  LINK: ['minAccountAgeDays', 'minPosts', 'belowTrustLevel'],
  MENTION_SPAM: ['maxMentions', 'belowTrustLevel'],
  RATE: ['maxPosts', 'windowMinutes'],
};

/**
 * Each trigger needs its own settings; `given` (what this request set) must not hold another
 * trigger's. A stored rule's old settings are dropped when an update changes its trigger.
 */
function checkRule(rule: RuleData, given: Partial<Record<keyof RuleData, unknown>>): RuleData {
  const errors: { path: string[]; message: string }[] = [];
  const need = (field: keyof RuleData, ok: boolean) => ok || errors.push({ path: ['input', field], message: `is required for a ${rule.trigger} rule` });
  for (const [trigger, fields] of Object.entries(TRIGGER_SETTINGS)) {
    if (trigger === rule.trigger) continue;
    for (const field of fields) {
      if (TRIGGER_SETTINGS[rule.trigger].includes(field)) continue;
      const value = given[field];
      if (value != null && !(Array.isArray(value) && value.length === 0)) {
        errors.push({ path: ['input', field], message: `is a ${trigger} setting, not used by a ${rule.trigger} rule` });
      }
    }
  }
  switch (rule.trigger) {
    case 'KEYWORD':
      need('keywords', rule.keywords.some((k) => foldedWords(k).length > 0));
      break;
    case 'PATTERN':
      need('pattern', !!rule.pattern);
      if (rule.pattern) compilePattern(rule.pattern);
      break;
    case 'LINK':
      if (rule.minAccountAgeDays == null && rule.minPosts == null && rule.belowTrustLevel == null) {
        errors.push({ path: ['input', 'minAccountAgeDays'], message: 'give minAccountAgeDays, minPosts or belowTrustLevel (or several) for a LINK rule' });
      }
      break;
    case 'MENTION_SPAM':
      need('maxMentions', rule.maxMentions != null);
      break;
    case 'RATE':
      need('maxPosts', rule.maxPosts != null);
      need('windowMinutes', rule.windowMinutes != null);
      break;
  }
  if (errors.length) throw new ValidationError(errors);
  return {
    ...rule,
    // Stored as the engine compares them: lower case, no accents, single spaces.
    keywords: rule.trigger === 'KEYWORD' ? [...new Set(rule.keywords.map((k) => foldedWords(k).join(' ')).filter(Boolean))] : [],
    pattern: rule.trigger === 'PATTERN' ? rule.pattern : null,
    minAccountAgeDays: rule.trigger === 'LINK' ? rule.minAccountAgeDays : null,
    minPosts: rule.trigger === 'LINK' ? rule.minPosts : null,
    maxMentions: rule.trigger === 'MENTION_SPAM' ? rule.maxMentions : null,
    belowTrustLevel: rule.trigger === 'LINK' || rule.trigger === 'MENTION_SPAM' ? rule.belowTrustLevel : null,
    maxPosts: rule.trigger === 'RATE' ? rule.maxPosts : null,
    windowMinutes: rule.trigger === 'RATE' ? rule.windowMinutes : null,
  };
}

function ruleDefaults(input: AutomodRuleInput): Record<string, unknown> {
  return {
    name: input.name,
    enabled: input.enabled ?? true,
    trigger: input.trigger,
    action: input.action,
    keywords: input.keywords ?? [],
    pattern: input.pattern ?? null,
    minAccountAgeDays: input.minAccountAgeDays ?? null,
    minPosts: input.minPosts ?? null,
    maxMentions: input.maxMentions ?? null,
    belowTrustLevel: input.belowTrustLevel ?? null,
    maxPosts: input.maxPosts ?? null,
    windowMinutes: input.windowMinutes ?? null,
    exemptRoles: input.exemptRoles ?? [],
    exemptSpaceIds: input.exemptSpaceIds ?? [],
  };
}

async function assertRuleNameFree(tx: Tx, name: string, exceptId?: number): Promise<void> {
  const existing = await tx.automodRule.findUnique({ where: { name }, select: { id: true } });
  if (existing && existing.id !== exceptId) throw new ConflictError(`An automod rule named "${name}" already exists`);
}

export async function createAutomodRule(viewer: Viewer | null, input: AutomodRuleInput): Promise<AutomodRule> {
  const actor = requireManager(viewer, 'manage automod rules');
  const data = checkRule(parseInput(ruleFields, ruleDefaults(input)), input);
  return writeWithActivity(async (tx, activity) => {
    await assertRuleNameFree(tx, data.name);
    await assertSpacesExist(tx, data.exemptSpaceIds);
    const rule = await tx.automodRule.create({ data: { ...data, createdById: actor.id } });
    await recordRulesChanged(activity, actor, rule.id);
    return rule;
  });
}

/** Omitted fields keep their value; changing the trigger may need its settings. */
export async function updateAutomodRule(viewer: Viewer | null, ruleId: number, input: AutomodRuleInput): Promise<AutomodRule> {
  const actor = requireManager(viewer, 'manage automod rules');
  return writeWithActivity(async (tx, activity) => {
    const existing = await tx.automodRule.findUnique({ where: { id: ruleId } });
    if (!existing) throw new NotFoundError('AutomodRule', String(ruleId));
    const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined));
    const merged = { ...ruleDefaults(existing as unknown as AutomodRuleInput), ...given };
    const data = checkRule(parseInput(ruleFields, merged), given);
    await assertRuleNameFree(tx, data.name, ruleId);
    await assertSpacesExist(tx, data.exemptSpaceIds);
    const rule = await tx.automodRule.update({ where: { id: ruleId }, data });
    await recordRulesChanged(activity, actor, rule.id);
    return rule;
  });
}

export async function deleteAutomodRule(viewer: Viewer | null, ruleId: number): Promise<number> {
  const actor = requireManager(viewer, 'manage automod rules');
  return writeWithActivity(async (tx, activity) => {
    const { count } = await tx.automodRule.deleteMany({ where: { id: ruleId } });
    if (count === 0) throw new NotFoundError('AutomodRule', String(ruleId));
    // The event outlives the rule: its subject reads as null from now on.
    await recordRulesChanged(activity, actor, ruleId);
    return ruleId;
  });
}

/**
 * Rules decide what members may publish, so every change is on the record, for the people who
 * read rules (moderators) and change them (managers, admins): MODERATORS covers both.
 */
function recordRulesChanged(activity: ActivityRecorder, actor: Viewer, ruleId: number): Promise<void> {
  return activity.record({ kind: 'AUTOMOD_RULES_CHANGED', actorId: actor.id, subject: { type: 'AutomodRule', id: ruleId }, visibility: 'MODERATORS' });
}

async function assertSpacesExist(tx: Tx, spaceIds: number[]): Promise<void> {
  if (spaceIds.length === 0) return;
  const found = new Set((await tx.space.findMany({ where: { id: { in: spaceIds } }, select: { id: true } })).map((s) => s.id));
  const missing = spaceIds.findIndex((id) => !found.has(id));
  if (missing >= 0) throw ValidationError.field(`input.exemptSpaceIds.${missing}`, 'is not a space');
}
