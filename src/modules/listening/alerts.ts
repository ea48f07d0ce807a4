import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { ListeningAlert, ListeningAlertRule, Prisma } from '../../generated/prisma/client.js';
import type { ListeningAlertKind } from '../../generated/prisma/enums.js';
import { foldText } from '../../text.js';
import { parseInput, withoutNulls } from '../../validation.js';
import { requireManager } from '../identity/guards.js';
import { findBrand, keyword } from './brands.js';

// Alert rules (volume spikes, negative sentiment, keywords) and the alerts the job raises from them.

const ruleFields = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  keyword: keyword,
  windowMinutes: z.number().int().min(5, 'must be at least 5').max(10_080, 'must be at most 10080 (a week)'),
  spikeFactor: z.number().min(1, 'must be at least 1').max(1000, 'must be at most 1000'),
  minVolume: z.number().int().min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000'),
  baselineWindows: z.number().int().min(1, 'must be at least 1').max(720, 'must be at most 720'),
  enabled: z.boolean(),
};

type AlertRuleInput = {
  name: string;
  kind: ListeningAlertKind;
  brandId?: number | null;
  keyword?: string | null;
  windowMinutes?: number | null;
  spikeFactor?: number | null;
  minVolume?: number | null;
  baselineWindows?: number | null;
  enabled?: boolean | null;
};

export async function createAlertRule(viewer: Viewer | null, input: AlertRuleInput): Promise<ListeningAlertRule> {
  requireManager(viewer, 'manage listening alert rules');
  const data = parseInput(
    z
      .object({
        name: ruleFields.name,
        kind: z.enum(['VOLUME_SPIKE', 'NEGATIVE_SPIKE', 'KEYWORD']),
        brandId: z.number().int().optional(),
        keyword: ruleFields.keyword.optional(),
        windowMinutes: ruleFields.windowMinutes.default(60),
        spikeFactor: ruleFields.spikeFactor.default(3),
        minVolume: ruleFields.minVolume.default(5),
        baselineWindows: ruleFields.baselineWindows.default(24),
        enabled: ruleFields.enabled.default(true),
      })
      .superRefine((value, ctx) => {
        if (value.kind === 'KEYWORD' && !value.keyword) ctx.addIssue({ code: 'custom', path: ['keyword'], message: 'is required for a KEYWORD rule' });
        if (value.kind !== 'KEYWORD' && value.keyword) ctx.addIssue({ code: 'custom', path: ['keyword'], message: 'is only for KEYWORD rules' });
      }),
    withoutNulls(input),
  );
  if (data.brandId !== undefined) await findBrand(data.brandId);
  return prisma().listeningAlertRule.create({ data });
}

export async function updateAlertRule(
  viewer: Viewer | null,
  ruleId: number,
  input: { [K in Exclude<keyof AlertRuleInput, 'kind' | 'brandId'>]?: AlertRuleInput[K] | null },
): Promise<ListeningAlertRule> {
  requireManager(viewer, 'manage listening alert rules');
  const data = parseInput(
    z.object({
      name: ruleFields.name.optional(),
      keyword: ruleFields.keyword.optional(),
      windowMinutes: ruleFields.windowMinutes.optional(),
      spikeFactor: ruleFields.spikeFactor.optional(),
      minVolume: ruleFields.minVolume.optional(),
      baselineWindows: ruleFields.baselineWindows.optional(),
      enabled: ruleFields.enabled.optional(),
    }),
    withoutNulls(input),
  );
  const rule = await findRule(ruleId);
  if (data.keyword && rule.kind !== 'KEYWORD') throw ValidationError.field('input.keyword', 'is only for KEYWORD rules');
  return prisma().listeningAlertRule.update({ where: { id: ruleId }, data });
}

/** Deletes a rule and the alerts it raised. */
export async function deleteAlertRule(viewer: Viewer | null, ruleId: number): Promise<ListeningAlertRule> {
  requireManager(viewer, 'manage listening alert rules');
  await findRule(ruleId);
  return prisma().listeningAlertRule.delete({ where: { id: ruleId } });
}

async function findRule(ruleId: number): Promise<ListeningAlertRule> {
  const rule = await prisma().listeningAlertRule.findUnique({ where: { id: ruleId } });
  if (!rule) throw new NotFoundError('ListeningAlertRule', String(ruleId));
  return rule;
}

/** listeningAlertRules: managers only. */
export function alertRuleListWhere(viewer: Viewer | null): Prisma.ListeningAlertRuleWhereInput {
  requireManager(viewer, 'see listening alerts');
  return {};
}

/** listeningAlerts: managers only; all, only acknowledged ones, or only open ones. */
export function alertListWhere(viewer: Viewer | null, acknowledged: boolean | null | undefined): Prisma.ListeningAlertWhereInput {
  requireManager(viewer, 'see listening alerts');
  return acknowledged == null ? {} : { acknowledgedAt: acknowledged ? { not: null } : null };
}

export async function acknowledgeAlert(viewer: Viewer | null, alertId: number): Promise<ListeningAlert> {
  const actor = requireManager(viewer, 'acknowledge listening alerts');
  return writeWithActivity(async (tx, activity) => {
    // Locks the alert: of several acknowledgements at once the first stands, the others see it.
    await tx.$queryRaw`SELECT 1 FROM "ListeningAlert" WHERE "id" = ${alertId} FOR UPDATE`;
    const alert = await tx.listeningAlert.findUnique({ where: { id: alertId } });
    if (!alert) throw new NotFoundError('ListeningAlert', String(alertId));
    if (alert.acknowledgedAt) return alert;
    const updated = await tx.listeningAlert.update({
      where: { id: alertId },
      data: { acknowledgedAt: new Date(), acknowledgedById: actor.id },
    });
    await activity.record({
      kind: 'LISTENING_ALERT_ACKNOWLEDGED',
      actorId: actor.id,
      subject: { type: 'ListeningAlert', id: alertId },
      visibility: 'MANAGERS',
    });
    return updated;
  });
}

/**
 * One pass of alert evaluation at `now`, for every enabled rule, over the rule's current window
 * (windows are aligned on the epoch, so every instance computes the same ones). A spike is the
 * window's count reaching spikeFactor times the average of the trailing baselineWindows windows,
 * and at least minVolume; KEYWORD fires when the term appears in a mention of the window. An alert
 * is stored once per rule and window (a unique key, so instances racing raise it once) and
 * streams to community managers as LISTENING_ALERT.
 */
export async function evaluateAlerts(now = new Date()): Promise<number> {
  const rules = await prisma().listeningAlertRule.findMany({ where: { enabled: true }, include: { brand: true } });
  let raised = 0;
  for (const rule of rules) {
    const size = rule.windowMinutes * 60_000;
    const windowStart = new Date(Math.floor(now.getTime() / size) * size);
    const windowEnd = new Date(windowStart.getTime() + size);
    const baselineFrom = new Date(windowStart.getTime() - rule.baselineWindows * size);
    const [counts] = await prisma().$queryRaw<{ observed: number; before: number }[]>`
      SELECT count(*) FILTER (WHERE m."publishedAt" >= ${windowStart})::int AS "observed",
             count(*) FILTER (WHERE m."publishedAt" < ${windowStart})::int AS "before"
      FROM "Mention" m
      WHERE m."matched" AND m."publishedAt" >= ${rule.kind === 'KEYWORD' ? windowStart : baselineFrom} AND m."publishedAt" < ${windowEnd}
        AND (${rule.brandId}::int IS NULL OR EXISTS (SELECT 1 FROM "MentionBrand" mb WHERE mb."mentionId" = m."id" AND mb."brandId" = ${rule.brandId}::int))
        AND (${rule.kind !== 'NEGATIVE_SPIKE'} OR m."sentiment" = 'NEGATIVE')
        AND (${rule.kind !== 'KEYWORD'} OR m."normalizedText" ~ ${keywordPattern(rule.keyword ?? '')})`;
    const baseline = rule.kind === 'KEYWORD' ? 0 : counts.before / rule.baselineWindows;
    const fires =
      rule.kind === 'KEYWORD'
        ? counts.observed > 0
        : counts.observed >= rule.minVolume && counts.observed >= rule.spikeFactor * baseline;
    if (!fires) continue;
    const about = rule.brand ? ` for ${rule.brand.name}` : '';
    const message =
      rule.kind === 'KEYWORD'
        ? `"${rule.keyword}" appeared in ${counts.observed} mention${counts.observed === 1 ? '' : 's'}${about}`
        : `${counts.observed} ${rule.kind === 'NEGATIVE_SPIKE' ? 'negative ' : ''}mentions${about} in ${rule.windowMinutes} minutes, against an average of ${baseline.toFixed(1)}`;
    const created = await writeWithActivity(async (tx, activity) => {
      const [alert] = await tx.listeningAlert.createManyAndReturn({
        data: [{ ruleId: rule.id, brandId: rule.brandId, kind: rule.kind, windowStart, windowEnd, observed: counts.observed, baseline, message }],
        skipDuplicates: true,
      });
      if (!alert) return false;
      await activity.record({ kind: 'LISTENING_ALERT', actorId: null, subject: { type: 'ListeningAlert', id: alert.id }, visibility: 'MANAGERS' });
      return true;
    });
    if (created) raised++;
  }
  return raised;
}

/** A PostgreSQL regular expression for the term as a whole word of folded text. */
function keywordPattern(term: string): string {
  const escaped = foldText(term).trim().split(/\s+/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+');
  return `(^|[^[:alnum:]])${escaped}([^[:alnum:]]|$)`;
}
