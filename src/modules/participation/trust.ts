import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { NotFoundError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { parseInput } from '../../validation.js';
import { requireManager } from '../identity/guards.js';
import { onSignalsUpdated, signalsFor, type Signals, type SignalWindow } from './signals.js';
import { loadTrustRules, meets, missingOf, type Missing, type TrustRules } from './trust-rules.js';
import { MAX_TRUST_LEVEL, TL0, TL2, TL3 } from './trust-read.js';

// Trust levels: promoted automatically from the signals (an onSignalsUpdated listener), TL3
// demoted by a daily pass when its window's requirements lapse, TL4 only by hand, locked levels
// never moved but by hand. Every change is one conditional write (WHERE level = the level read),
// so of two evaluators racing (two instances, or the job and a pass) exactly one changes it and
// records TRUST_LEVEL_CHANGED; the other changes nothing.

export type TrustState = { level: number; locked: boolean; changedAt: Date | null };

/** Current levels of the users (TL0, unlocked, for those without a row). */
export async function trustStates(userIds: readonly number[], tx?: Tx): Promise<Map<number, TrustState>> {
  const rows = await (tx ?? prisma()).memberTrust.findMany({ where: { userId: { in: [...userIds] } } });
  const byId = new Map(rows.map((row) => [row.userId, row]));
  return new Map(userIds.map((id) => {
    const row = byId.get(id);
    return [id, row ? { level: row.level, locked: row.locked, changedAt: row.changedAt } : { level: TL0, locked: false, changedAt: null }];
  }));
}

/** The signals of every window the rules read, one statement per window. */
async function signalsByWindow(userIds: number[], rules: TrustRules, now: Date): Promise<Map<SignalWindow, Map<number, Signals>>> {
  const windows = [...new Set(rules.levels.map((rule) => rule.window))];
  const result = new Map<SignalWindow, Map<number, Signals>>();
  for (const window of windows) result.set(window, await signalsFor(userIds, { window, now }));
  return result;
}

/** The highest level (0-3) whose rule, and every lower level's rule, the member meets. */
function earnedLevel(userId: number, rules: TrustRules, signals: Map<SignalWindow, Map<number, Signals>>): number {
  let level = TL0;
  for (const rule of [...rules.levels].sort((a, b) => a.level - b.level)) {
    const own = signals.get(rule.window)!.get(userId)!;
    if (!meets(own, rule.requirements)) break;
    level = rule.level;
  }
  return level;
}

/**
 * Changes one member's level from `from` to `to` if it is still `from` (and, unless by hand,
 * not locked): logs it and records TRUST_LEVEL_CHANGED. Returns false when someone else moved
 * it first. Only by hand may `locked` change.
 */
async function changeLevel(
  tx: Tx,
  activity: ActivityRecorder,
  change: { userId: number; from: number; to: number; reason: string; actorId: number | null; locked?: boolean },
): Promise<boolean> {
  const byHand = change.actorId != null;
  const locked = change.locked ?? false;
  const rows = await tx.$queryRaw<{ userId: number }[]>`
    INSERT INTO "MemberTrust" ("userId", "level", "locked", "changedAt") VALUES (${change.userId}::int, ${change.to}::int, ${locked}::boolean, now())
    ON CONFLICT ("userId") DO UPDATE SET
      "level" = EXCLUDED."level",
      "changedAt" = CASE WHEN "MemberTrust"."level" = EXCLUDED."level" THEN "MemberTrust"."changedAt" ELSE EXCLUDED."changedAt" END,
      "locked" = CASE WHEN ${byHand}::boolean THEN EXCLUDED."locked" ELSE "MemberTrust"."locked" END
    WHERE "MemberTrust"."level" = ${change.from}::int AND (${byHand}::boolean OR NOT "MemberTrust"."locked")
    RETURNING "userId"`;
  if (rows.length === 0) return false;
  await tx.trustLevelChange.create({
    data: { userId: change.userId, fromLevel: change.from, toLevel: change.to, reason: change.reason, actorId: change.actorId, locked },
  });
  if (change.from !== change.to) {
    // The member is told (a notification, notification.fanout.ts); managers see it live.
    await activity.record({ kind: 'TRUST_LEVEL_CHANGED', actorId: change.actorId, subject: { type: 'User', id: change.userId }, visibility: 'MANAGERS' });
  }
  return true;
}

/**
 * Promotes the members who now meet a higher level's rules (never above TL3, never a locked
 * member, never down: demotion is the daily pass's). Idempotent: it re-reads the signals.
 */
export async function evaluatePromotions(userIds: number[], now = new Date()): Promise<number> {
  if (userIds.length === 0) return 0;
  const states = await trustStates(userIds);
  const candidates = userIds.filter((id) => {
    const state = states.get(id)!;
    return !state.locked && state.level < TL3;
  });
  if (candidates.length === 0) return 0;
  const rules = await loadTrustRules();
  const signals = await signalsByWindow(candidates, rules, now);
  let promoted = 0;
  for (const userId of candidates) {
    const from = states.get(userId)!.level;
    const to = earnedLevel(userId, rules, signals);
    if (to <= from) continue;
    const done = await writeWithActivity((tx, activity) =>
      changeLevel(tx, activity, { userId, from, to, reason: `Automatic: met the requirements of TL${to}`, actorId: null }),
    );
    if (done) promoted += 1;
  }
  return promoted;
}

/** TL3 members considered per statement by the demotion pass. */
const DEMOTION_BATCH = 200;

/**
 * The daily pass: TL3 members (not locked, promoted more than demotionGraceDays ago) who no
 * longer meet TL3's rule over its window go back to TL2. Bounded batches in user-id order.
 */
export async function demoteLapsedRegulars(now = new Date(), batchSize = DEMOTION_BATCH): Promise<number> {
  const rules = await loadTrustRules();
  const rule = rules.levels.find((l) => l.level === TL3);
  if (!rule) return 0;
  const promotedBefore = new Date(now.getTime() - rules.demotionGraceDays * 86_400_000);
  let after = 0;
  let demoted = 0;
  for (;;) {
    const page = await prisma().memberTrust.findMany({
      where: { level: TL3, locked: false, changedAt: { lte: promotedBefore }, userId: { gt: after } },
      orderBy: { userId: 'asc' },
      take: batchSize,
      select: { userId: true },
    });
    if (page.length === 0) return demoted;
    const ids = page.map((row) => row.userId);
    after = ids[ids.length - 1];
    const signals = await signalsFor(ids, { window: rule.window, now });
    for (const userId of ids) {
      if (meets(signals.get(userId)!, rule.requirements)) continue;
      const done = await writeWithActivity((tx, activity) =>
        changeLevel(tx, activity, { userId, from: TL3, to: TL2, reason: 'Automatic: the TL3 requirements are no longer met', actorId: null }),
      );
      if (done) demoted += 1;
    }
    if (page.length < batchSize) return demoted;
  }
}

const setInput = z.object({
  level: z.number().int().min(TL0, 'must be 0 to 4').max(MAX_TRUST_LEVEL, 'must be 0 to 4'),
  reason: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
  locked: z.boolean(),
});

/**
 * Sets a member's level by hand (the only way to TL4), optionally locking it. COMMUNITY_MANAGER
 * and ADMIN only: levels grant moderation-like privileges (flag weight, hiding spam), so
 * moderators do not hand them out to themselves or others.
 */
export async function setTrustLevel(
  viewer: Viewer | null,
  userId: number,
  input: { level: number; reason: string; locked?: boolean | null },
): Promise<{ userId: number; level: number; locked: boolean }> {
  const actor = requireManager(viewer, 'set trust levels');
  const data = parseInput(setInput, { level: input.level, reason: input.reason, locked: input.locked ?? false });
  return writeWithActivity(async (tx, activity) => {
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw new NotFoundError('User', String(userId));
    // The row exists (TL0) before it is locked, so a concurrent change waits here.
    await tx.$executeRaw`INSERT INTO "MemberTrust" ("userId") VALUES (${userId}::int) ON CONFLICT ("userId") DO NOTHING`;
    const [current] = await tx.$queryRaw<{ level: number }[]>`SELECT "level" FROM "MemberTrust" WHERE "userId" = ${userId}::int FOR UPDATE`;
    const from = current.level;
    await changeLevel(tx, activity, { userId, from, to: data.level, reason: data.reason, actorId: actor.id, locked: data.locked });
    return { userId, level: data.level, locked: data.locked };
  });
}

export type NextLevel = { level: number; missing: Missing[] };

/** What the member's next level needs; null at TL3 and above (TL4 is by hand) and when locked. */
export async function nextLevelOf(userId: number, now = new Date()): Promise<NextLevel | null> {
  const state = (await trustStates([userId])).get(userId)!;
  if (state.locked || state.level >= TL3) return null;
  const rules = await loadTrustRules();
  const rule = rules.levels.find((l) => l.level === state.level + 1);
  if (!rule) return null;
  const signals = (await signalsFor([userId], { window: rule.window, now })).get(userId)!;
  return { level: rule.level, missing: missingOf(signals, rule.requirements) };
}

let registered: (() => void) | undefined;

/** Registers the promotion listener once per process (app.ts). */
export function startTrustEvaluation(logger: Logger): void {
  if (registered) return;
  registered = onSignalsUpdated(async (userIds, now) => {
    const promoted = await evaluatePromotions(userIds, now);
    if (promoted > 0) logger.debug({ promoted }, 'trust levels promoted');
  });
}
