import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { requireManager } from '../identity/guards.js';
import { SIGNAL_COUNTERS, type Signals, type SignalWindow } from './signals.js';
import { DEFAULT_WIKI_EDIT_LEVEL, MAX_TRUST_LEVEL, TL0 } from './trust-read.js';

// The rules of automatic promotion: what each of TL1-TL3 needs, over which window. Discourse's
// defaults, adapted to our signals (README, "Trust levels"). Stored in one row; the defaults
// apply until a manager changes them.

export type SignalName = keyof Signals;
export const SIGNAL_NAMES = ['daysActive', ...SIGNAL_COUNTERS] as const satisfies readonly SignalName[];

export type Requirement = { signal: SignalName; atLeast?: number | null; atMost?: number | null };
export type LevelRule = { level: 1 | 2 | 3; window: SignalWindow; requirements: Requirement[] };
export type TrustRules = { levels: LevelRule[]; wikiEditLevel: number; demotionGraceDays: number };

export const DEFAULT_TRUST_RULES: TrustRules = {
  levels: [
    { level: 1, window: 'ALL', requirements: [{ signal: 'repliesRead', atLeast: 30 }, { signal: 'daysActive', atLeast: 1 }] },
    {
      level: 2,
      window: 'ALL',
      requirements: [
        { signal: 'daysActive', atLeast: 15 },
        { signal: 'replies', atLeast: 3 },
        { signal: 'reactionsReceived', atLeast: 1 },
        { signal: 'reactionsGiven', atLeast: 1 },
        { signal: 'repliesRead', atLeast: 100 },
      ],
    },
    {
      level: 3,
      window: 'DAYS_90',
      requirements: [
        { signal: 'daysActive', atLeast: 45 },
        { signal: 'replies', atLeast: 10 },
        { signal: 'repliesRead', atLeast: 500 },
        { signal: 'reactionsGiven', atLeast: 30 },
        { signal: 'reactionsReceived', atLeast: 20 },
        { signal: 'moderationActions', atMost: 0 },
      ],
    },
  ],
  wikiEditLevel: DEFAULT_WIKI_EDIT_LEVEL,
  demotionGraceDays: 14,
};

/** The rules in force (the stored row, or the defaults). */
export async function loadTrustRules(tx?: Tx): Promise<TrustRules> {
  const row = await (tx ?? prisma()).trustLevelRules.findUnique({ where: { id: 1 } });
  if (!row) return DEFAULT_TRUST_RULES;
  return { levels: row.levels as unknown as LevelRule[], wikiEditLevel: row.wikiEditLevel, demotionGraceDays: row.demotionGraceDays };
}

/** Whether signals meet every requirement. */
export function meets(signals: Signals, requirements: Requirement[]): boolean {
  return missingOf(signals, requirements).length === 0;
}

export type Missing = { signal: SignalName; have: number; need: number; atMost: boolean };

/** The requirements signals do not meet, in the rule's order. */
export function missingOf(signals: Signals, requirements: Requirement[]): Missing[] {
  const missing: Missing[] = [];
  for (const r of requirements) {
    const have = signals[r.signal];
    if (r.atLeast != null && have < r.atLeast) missing.push({ signal: r.signal, have, need: r.atLeast, atMost: false });
    else if (r.atMost != null && have > r.atMost) missing.push({ signal: r.signal, have, need: r.atMost, atMost: true });
  }
  return missing;
}

export type TrustRulesInput = {
  levels?: { level: number; window: SignalWindow; requirements: Requirement[] }[] | null;
  wikiEditLevel?: number | null;
  demotionGraceDays?: number | null;
};

const amount = z.number().int().min(0, 'must be 0 or more').max(1_000_000, 'must be at most 1000000');
const rulesInput = z.object({
  levels: z
    .array(
      z.object({
        level: z.number().int().min(1, 'must be 1, 2 or 3 (TL4 is only given by hand)').max(3, 'must be 1, 2 or 3 (TL4 is only given by hand)'),
        window: z.enum(['DAYS_30', 'DAYS_90', 'ALL']),
        requirements: z
          .array(
            z
              .object({ signal: z.enum(SIGNAL_NAMES), atLeast: amount.nullish(), atMost: amount.nullish() })
              .refine((r) => (r.atLeast == null) !== (r.atMost == null), { message: 'give atLeast or atMost (one of them)', path: ['atLeast'] }),
          )
          .min(1, 'give at least one requirement')
          .max(SIGNAL_NAMES.length, `at most ${SIGNAL_NAMES.length} requirements`)
          .refine((rs) => new Set(rs.map((r) => r.signal)).size === rs.length, { message: 'names a signal twice' }),
      }),
    )
    .max(3, 'at most one entry per level (1, 2, 3)')
    .refine((ls) => new Set(ls.map((l) => l.level)).size === ls.length, { message: 'names a level twice' })
    .optional(),
  wikiEditLevel: z.number().int().min(TL0, 'must be 0 to 4').max(MAX_TRUST_LEVEL, 'must be 0 to 4').optional(),
  demotionGraceDays: z.number().int().min(0, 'must be 0 or more').max(365, 'must be at most 365').optional(),
});

/**
 * Replaces the rules of the levels given (the others keep theirs) and the settings given.
 * COMMUNITY_MANAGER and ADMIN: the people who run the community decide what earns trust.
 * Members are evaluated under the new rules when their signals next change.
 */
export async function updateTrustRules(viewer: Viewer | null, input: TrustRulesInput): Promise<TrustRules> {
  const actor = requireManager(viewer, 'change the trust level rules');
  const data = parseInput(rulesInput, {
    levels: input.levels ?? undefined,
    wikiEditLevel: input.wikiEditLevel ?? undefined,
    demotionGraceDays: input.demotionGraceDays ?? undefined,
  });
  if (data.levels === undefined && data.wikiEditLevel === undefined && data.demotionGraceDays === undefined) {
    throw ValidationError.field('input', 'give levels, wikiEditLevel or demotionGraceDays');
  }
  return prisma().$transaction(async (tx) => {
    // One writer at a time: a read-modify-write of the one row.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7362)`;
    const current = await loadTrustRules(tx);
    const levels = current.levels.map((rule) => {
      const given = data.levels?.find((l) => l.level === rule.level);
      return given
        ? { level: rule.level, window: given.window, requirements: given.requirements.map((r) => ({ signal: r.signal, atLeast: r.atLeast ?? null, atMost: r.atMost ?? null })) }
        : rule;
    });
    const next: TrustRules = {
      levels,
      wikiEditLevel: data.wikiEditLevel ?? current.wikiEditLevel,
      demotionGraceDays: data.demotionGraceDays ?? current.demotionGraceDays,
    };
    const row = { levels: next.levels as never, wikiEditLevel: next.wikiEditLevel, demotionGraceDays: next.demotionGraceDays, updatedById: actor.id, updatedAt: new Date() };
    await tx.trustLevelRules.upsert({ where: { id: 1 }, create: { id: 1, ...row }, update: row });
    return next;
  });
}
