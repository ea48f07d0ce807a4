import { z } from 'zod';
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Prisma, RoutingRule } from '../../generated/prisma/client.js';
import type { CasePriority, Role } from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import { requireManager, requireRole } from '../identity/guards.js';
import { STAFF_ROLES } from '../identity/roles.js';
import { SUPPORT_SETUP } from './policy.js';
import { PRIORITIES } from './priorities.js';

// Routing rules: ordered, first match wins. A rule's conditions must all hold (an empty list
// matches anything); its actions set the department, the priority and add tags.

// ---- Matching ---------------------------------------------------------------------------------

/** Lower-case words without accents: "Facturación" and "FACTURACION" are the same word. */
/** routingRules: staff only (managers change them). */
export function routingRuleListWhere(viewer: Viewer | null): Prisma.RoutingRuleWhereInput {
  requireRole(viewer, STAFF_ROLES);
  return {};
}

export function words(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Whether `phrase` occurs in `text` as whole words ("refund" is not in "refunded"). */
export function containsPhrase(textWords: string[], phrase: string): boolean {
  const wanted = words(phrase);
  if (wanted.length === 0) return false;
  outer: for (let i = 0; i + wanted.length <= textWords.length; i++) {
    for (let j = 0; j < wanted.length; j++) if (textWords[i + j] !== wanted[j]) continue outer;
    return true;
  }
  return false;
}

type RoutingFacts = {
  channelId: number;
  /** The thread's space, or else the channel's linked space. */
  spaceId: number | null;
  subject: string;
  body: string;
  requesterRole: Role;
};

function ruleMatches(rule: RoutingRule, facts: RoutingFacts, textWords: string[]): boolean {
  if (rule.channelIds.length && !rule.channelIds.includes(facts.channelId)) return false;
  if (rule.spaceIds.length && (facts.spaceId === null || !rule.spaceIds.includes(facts.spaceId))) return false;
  if (rule.requesterRoles.length && !rule.requesterRoles.includes(facts.requesterRole)) return false;
  if (rule.keywords.length && !rule.keywords.some((keyword) => containsPhrase(textWords, keyword))) return false;
  return true;
}

/** The first active rule that matches, in position order (one query). */
export async function findRoute(tx: Tx, facts: RoutingFacts): Promise<RoutingRule | null> {
  const rules = await tx.routingRule.findMany({ where: { active: true }, orderBy: [{ position: 'asc' }, { id: 'asc' }] });
  const textWords = words(`${facts.subject}\n${facts.body}`);
  return rules.find((rule) => ruleMatches(rule, facts, textWords)) ?? null;
}

// ---- Managing rules ---------------------------------------------------------------------------

const tag = z.string().trim().min(1, 'must not be empty').max(50, 'must be at most 50 characters').transform((value) => value.toLowerCase());
const ruleFields = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  position: z.number().int().min(1, 'must be at least 1'),
  active: z.boolean(),
  channelIds: z.array(z.number().int()).max(100, 'at most 100 channels'),
  spaceIds: z.array(z.number().int()).max(100, 'at most 100 spaces'),
  keywords: z
    .array(z.string().trim().max(100, 'must be at most 100 characters').refine((value) => words(value).length > 0, 'must contain a word'))
    .max(200, 'at most 200 keywords'),
  requesterRoles: z.array(z.enum(['MEMBER', 'MODERATOR', 'AGENT', 'COMMUNITY_MANAGER', 'ADMIN'])),
  departmentId: z.number().int().nullable(),
  priority: z.enum(PRIORITIES).nullable(),
  tags: z.array(tag).max(20, 'at most 20 tags').transform((tags) => [...new Set(tags)]),
};
const createInput = z
  .object({
    name: ruleFields.name,
    position: ruleFields.position.optional(),
    active: ruleFields.active.default(true),
    channelIds: ruleFields.channelIds.default([]),
    spaceIds: ruleFields.spaceIds.default([]),
    keywords: ruleFields.keywords.default([]),
    requesterRoles: ruleFields.requesterRoles.default([]),
    departmentId: ruleFields.departmentId.default(null),
    priority: ruleFields.priority.default(null),
    tags: ruleFields.tags.default([]),
  })
  .refine((rule) => rule.departmentId !== null || rule.priority !== null || rule.tags.length > 0, {
    message: 'a rule must set a department, a priority or tags',
  });
const updateInput = z.object(Object.fromEntries(Object.entries(ruleFields).map(([key, schema]) => [key, schema.optional()])) as {
  [K in keyof typeof ruleFields]: z.ZodOptional<(typeof ruleFields)[K]>;
});

type RoutingRuleInput = {
  name: string;
  position?: number | null;
  active?: boolean | null;
  channelIds?: number[] | null;
  spaceIds?: number[] | null;
  keywords?: string[] | null;
  requesterRoles?: Role[] | null;
  departmentId?: number | null;
  priority?: CasePriority | null;
  tags?: string[] | null;
};

// Rule positions are rewritten as a whole: edits queue on this lock so positions stay 1..n.
const lockRules = (tx: Tx) => tx.$executeRaw`SELECT pg_advisory_xact_lock(7351)`;

export async function createRoutingRule(viewer: Viewer | null, input: RoutingRuleInput): Promise<RoutingRule> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  const data = parseInput(createInput, withoutUndefinedNulls(input, ['departmentId', 'priority']));
  return writeWithActivity(async (tx, activity) => {
    await lockRules(tx);
    await assertReferences(tx, data);
    const { position, ...fields } = data;
    const count = await tx.routingRule.count();
    const rule = await tx.routingRule.create({ data: { ...fields, position: count + 1 } });
    const placed = await place(tx, rule.id, position ?? count + 1);
    await activity.record({ kind: 'ROUTING_RULES_CHANGED', actorId: actor.id, subject: { type: 'RoutingRule', id: rule.id }, visibility: 'STAFF' });
    return placed;
  });
}

export async function updateRoutingRule(
  viewer: Viewer | null,
  ruleId: number,
  input: Partial<Omit<RoutingRuleInput, 'name'>> & { name?: string | null },
): Promise<RoutingRule> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  const data = parseInput(updateInput, withoutUndefinedNulls(input, ['departmentId', 'priority']));
  return writeWithActivity(async (tx, activity) => {
    await lockRules(tx);
    const existing = await tx.routingRule.findUnique({ where: { id: ruleId } });
    if (!existing) throw new NotFoundError('RoutingRule', String(ruleId));
    await assertReferences(tx, data);
    const { position, ...fields } = data;
    const merged = { ...existing, ...fields };
    if (merged.departmentId === null && merged.priority === null && merged.tags.length === 0) {
      throw ValidationError.field('input', 'a rule must set a department, a priority or tags');
    }
    await tx.routingRule.update({ where: { id: ruleId }, data: fields });
    const rule = await place(tx, ruleId, position ?? existing.position);
    await activity.record({ kind: 'ROUTING_RULES_CHANGED', actorId: actor.id, subject: { type: 'RoutingRule', id: rule.id }, visibility: 'STAFF' });
    return rule;
  });
}

export async function deleteRoutingRule(viewer: Viewer | null, ruleId: number): Promise<void> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  await writeWithActivity(async (tx, activity) => {
    await lockRules(tx);
    const existing = await tx.routingRule.findUnique({ where: { id: ruleId } });
    if (!existing) throw new NotFoundError('RoutingRule', String(ruleId));
    await tx.routingRule.delete({ where: { id: ruleId } });
    await renumber(tx, (await tx.routingRule.findMany({ orderBy: [{ position: 'asc' }, { id: 'asc' }], select: { id: true } })).map((r) => r.id));
    await activity.record({ kind: 'ROUTING_RULES_CHANGED', actorId: actor.id, subject: { type: 'RoutingRule', id: ruleId }, visibility: 'STAFF' });
  });
}

/** Moves a rule to `position` (clamped to 1..n) and renumbers the others without gaps. */
async function place(tx: Tx, ruleId: number, position: number): Promise<RoutingRule> {
  const others = (await tx.routingRule.findMany({ where: { id: { not: ruleId } }, orderBy: [{ position: 'asc' }, { id: 'asc' }], select: { id: true } })).map(
    (r) => r.id,
  );
  const index = Math.min(Math.max(position, 1), others.length + 1) - 1;
  others.splice(index, 0, ruleId);
  await renumber(tx, others);
  return tx.routingRule.findUniqueOrThrow({ where: { id: ruleId } });
}

async function renumber(tx: Tx, orderedIds: number[]): Promise<void> {
  if (orderedIds.length === 0) return;
  await tx.$executeRaw`
    UPDATE "RoutingRule" AS r SET "position" = o.position
    FROM unnest(${orderedIds}::int[]) WITH ORDINALITY AS o(id, position)
    WHERE r.id = o.id AND r."position" <> o.position`;
}

async function assertReferences(tx: Tx, data: { channelIds?: number[]; spaceIds?: number[]; departmentId?: number | null }): Promise<void> {
  for (const id of data.channelIds ?? []) {
    if (!(await tx.supportChannel.findUnique({ where: { id }, select: { id: true } }))) throw new NotFoundError('SupportChannel', String(id));
  }
  for (const id of data.spaceIds ?? []) {
    if (!(await tx.space.findUnique({ where: { id }, select: { id: true } }))) throw new NotFoundError('Space', String(id));
  }
  if (data.departmentId != null && !(await tx.department.findUnique({ where: { id: data.departmentId }, select: { id: true } }))) {
    throw new NotFoundError('Department', String(data.departmentId));
  }
}

/**
 * GraphQL gives null for omitted fields; for most fields that means "not given", but for the
 * nullable actions an explicit null means "clear it", so those keep their null.
 */
function withoutUndefinedNulls<T extends Record<string, unknown>>(input: T, nullable: (keyof T)[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([key, value]) => value !== undefined && (value !== null || nullable.includes(key))));
}
