import type { Tx } from '../../db/client.js';
import type { SlaClock, SupportCase, SupportChannel } from '../../generated/prisma/client.js';
import type { CasePriority, CaseStatus, SlaMetric } from '../../generated/prisma/enums.js';
import { BusinessClock, departmentCalendar, MINUTE } from './business-hours.js';

// SLA clocks of a case, counted in its department's business hours.
//
// Each clock keeps the business time it has left (`remainingMs`) as of the moment it last
// started running (`resumedAt`). Anything that changes how time counts (a pause, a transfer to
// a department with other hours, a new priority with another target) first "checkpoints" the
// running clocks (spends the business time elapsed since `resumedAt`), then reschedules them.
// `dueAt` and `atRiskAt` are stored, so the SLA job and metrics read them with plain SQL.

/** Business minutes a case of one priority may take, per clock. */
export type SlaTarget = {
  priority: CasePriority;
  firstResponseMinutes: number;
  nextResponseMinutes: number;
  periodicUpdateMinutes: number;
  resolutionMinutes: number;
};

/** A channel's stored SLA policy (validated on write, in channels.ts). */
export function slaTargets(channel: Pick<SupportChannel, 'slaPolicy'>): SlaTarget[] {
  return channel.slaPolicy as SlaTarget[];
}

export const SLA_METRICS = ['FIRST_RESPONSE', 'NEXT_RESPONSE', 'PERIODIC_UPDATE', 'RESOLUTION'] as const satisfies readonly SlaMetric[];
/** A clock is at risk once this share of its time is used. */
const AT_RISK_SHARE = 0.8;

export const isPausedStatus = (status: CaseStatus): boolean => status === 'PENDING' || status === 'ON_HOLD';
const isDone = (status: CaseStatus): boolean => status === 'RESOLVED' || status === 'CLOSED';

const TARGET_FIELD: Record<SlaMetric, keyof Omit<SlaTarget, 'priority'>> = {
  FIRST_RESPONSE: 'firstResponseMinutes',
  NEXT_RESPONSE: 'nextResponseMinutes',
  PERIODIC_UPDATE: 'periodicUpdateMinutes',
  RESOLUTION: 'resolutionMinutes',
};

/** The case's business calendar and SLA target (null: its channel promises nothing at this priority). */
type SlaContext = { business: BusinessClock; target: SlaTarget | null };

export async function slaContext(tx: Tx, kase: Pick<SupportCase, 'departmentId' | 'channelId' | 'priority'>): Promise<SlaContext> {
  const [department, channel] = await Promise.all([
    tx.department.findUniqueOrThrow({ where: { id: kase.departmentId } }),
    tx.supportChannel.findUniqueOrThrow({ where: { id: kase.channelId }, select: { slaPolicy: true } }),
  ]);
  return {
    business: new BusinessClock(departmentCalendar(department)),
    target: slaTargets(channel).find((target) => target.priority === kase.priority) ?? null,
  };
}

/** When a running clock runs out and reaches 80%, given what it has left at `resumedAt`. */
export function schedule(
  business: BusinessClock,
  clock: Pick<SlaClock, 'resumedAt' | 'remainingMs' | 'targetMinutes' | 'dueAt' | 'atRiskAt'>,
): { dueAt: Date | null; atRiskAt: Date | null } {
  if (!clock.resumedAt) return { dueAt: clock.dueAt, atRiskAt: clock.atRiskAt };
  // Already past due: the instants it was due and at risk are history and do not move.
  if (clock.remainingMs <= 0) return { dueAt: clock.dueAt, atRiskAt: clock.atRiskAt };
  const untilRisk = clock.remainingMs - (1 - AT_RISK_SHARE) * clock.targetMinutes * MINUTE;
  return {
    dueAt: business.add(clock.resumedAt, clock.remainingMs),
    atRiskAt: untilRisk <= 0 ? clock.resumedAt : business.add(clock.resumedAt, untilRisk),
  };
}

/** Active clocks (running or paused, not stopped) of a case, one query. */
const activeClocks = (tx: Tx, caseId: number) => tx.slaClock.findMany({ where: { caseId, stoppedAt: null }, orderBy: { id: 'asc' } });

/** Spends the business time a running clock used since it (re)started. */
function spent(business: BusinessClock, clock: SlaClock, now: Date): number {
  return clock.resumedAt ? clock.remainingMs - business.between(clock.resumedAt, now) : clock.remainingMs;
}

/** Starts a new cycle of `metric` (paused from the start if the case is paused). */
export async function startClock(tx: Tx, kase: SupportCase, metric: SlaMetric, context: SlaContext, now: Date): Promise<void> {
  if (!context.target) return;
  const targetMinutes = context.target[TARGET_FIELD[metric]];
  const last = await tx.slaClock.findFirst({ where: { caseId: kase.id, metric }, orderBy: { cycle: 'desc' }, select: { cycle: true } });
  const clock = {
    resumedAt: isPausedStatus(kase.status) ? null : now,
    remainingMs: targetMinutes * MINUTE,
    targetMinutes,
    dueAt: null,
    atRiskAt: null,
  };
  await tx.slaClock.create({
    data: { caseId: kase.id, metric, cycle: (last?.cycle ?? 0) + 1, startedAt: now, ...clock, ...schedule(context.business, clock) },
  });
}

/** Stops the active clocks of these metrics: met, or breached if their time ran out. */
export async function stopClocks(tx: Tx, kase: SupportCase, metrics: readonly SlaMetric[], context: SlaContext, now: Date): Promise<void> {
  for (const clock of await activeClocks(tx, kase.id)) {
    if (!metrics.includes(clock.metric)) continue;
    const remainingMs = spent(context.business, clock, now);
    await tx.slaClock.update({
      where: { id: clock.id },
      data: { remainingMs, resumedAt: null, stoppedAt: now, breached: clock.breached || remainingMs < 0 },
    });
  }
}

export async function hasActiveClock(tx: Tx, caseId: number, metric: SlaMetric): Promise<boolean> {
  return (await tx.slaClock.count({ where: { caseId, metric, stoppedAt: null } })) > 0;
}

/** Stops time for every running clock (the case went PENDING or ON_HOLD). */
export async function pauseClocks(tx: Tx, kase: SupportCase, context: SlaContext, now: Date): Promise<void> {
  for (const clock of await activeClocks(tx, kase.id)) {
    if (!clock.resumedAt) continue;
    const remainingMs = spent(context.business, clock, now);
    // Not yet due: there is no due time while the clock stands still. Already due: it stays.
    const keep = remainingMs <= 0;
    await tx.slaClock.update({
      where: { id: clock.id },
      data: { remainingMs, resumedAt: null, ...(!keep && { dueAt: null, atRiskAt: null }) },
    });
  }
}

/** Lets every paused clock run again from `now`. */
export async function resumeClocks(tx: Tx, kase: SupportCase, context: SlaContext, now: Date): Promise<void> {
  for (const clock of await activeClocks(tx, kase.id)) {
    if (clock.resumedAt) continue;
    const resumed = { ...clock, resumedAt: now };
    await tx.slaClock.update({ where: { id: clock.id }, data: { resumedAt: now, ...schedule(context.business, resumed) } });
  }
}

/**
 * The case moved to another department (other hours) or priority (other targets): running
 * clocks spend their time under the old rules up to now, then count on under the new ones. A
 * priority without a target on the channel keeps the old targets.
 */
export async function reschedule(tx: Tx, kase: SupportCase, before: SlaContext, after: SlaContext, now: Date): Promise<void> {
  for (const clock of await activeClocks(tx, kase.id)) {
    const targetMinutes = after.target ? after.target[TARGET_FIELD[clock.metric]] : clock.targetMinutes;
    const remainingMs = spent(before.business, clock, now) + (targetMinutes - clock.targetMinutes) * MINUTE;
    const resumedAt = clock.resumedAt ? now : null;
    const next = { ...clock, targetMinutes, remainingMs, resumedAt };
    // A longer target can take a breached clock back into time: its old due time no longer holds.
    const cleared = clock.remainingMs <= 0 && remainingMs > 0 ? { dueAt: null, atRiskAt: null } : {};
    await tx.slaClock.update({
      where: { id: clock.id },
      data: { targetMinutes, remainingMs, resumedAt, ...(resumedAt ? schedule(after.business, { ...next, ...cleared }) : cleared) },
    });
  }
}

/** A reopened case: its resolution clock counts on from where it stopped. */
export async function reopenResolution(tx: Tx, kase: SupportCase, context: SlaContext, now: Date): Promise<void> {
  const clock = await tx.slaClock.findFirst({ where: { caseId: kase.id, metric: 'RESOLUTION' }, orderBy: { cycle: 'desc' } });
  if (!clock || !clock.stoppedAt) return;
  const resumed = { ...clock, resumedAt: now };
  await tx.slaClock.update({ where: { id: clock.id }, data: { stoppedAt: null, resumedAt: now, ...schedule(context.business, resumed) } });
}

// ---- What the API shows -----------------------------------------------------------------------

export type SlaView = {
  firstResponseDueAt: Date | null;
  nextResponseDueAt: Date | null;
  periodicUpdateDueAt: Date | null;
  resolutionDueAt: Date | null;
  atRisk: SlaMetric[];
  breaches: SlaMetric[];
  paused: boolean;
  pausedBusinessMinutes: number;
};

/**
 * The case's clocks as of `now`: due times of the running clocks (null when stopped, paused or
 * not applicable), the metrics at risk (80% used, not yet due) and those breached (ever, in any
 * cycle).
 */
export function slaView(kase: Pick<SupportCase, 'status' | 'pausedBusinessMs'>, clocks: SlaClock[], now: Date): SlaView {
  const current = new Map<SlaMetric, SlaClock>();
  for (const clock of clocks) if (!clock.stoppedAt) current.set(clock.metric, clock);
  const due = (metric: SlaMetric) => {
    const clock = current.get(metric);
    return clock?.resumedAt ? clock.dueAt : null;
  };
  const breaches = SLA_METRICS.filter((metric) =>
    clocks.some((clock) => clock.metric === metric && (clock.breached || (!clock.stoppedAt && clock.dueAt !== null && clock.dueAt <= now))),
  );
  const atRisk = SLA_METRICS.filter((metric) => {
    const clock = current.get(metric);
    return !!clock?.resumedAt && clock.atRiskAt !== null && clock.atRiskAt <= now && (clock.dueAt === null || clock.dueAt > now);
  });
  return {
    firstResponseDueAt: due('FIRST_RESPONSE'),
    nextResponseDueAt: due('NEXT_RESPONSE'),
    periodicUpdateDueAt: due('PERIODIC_UPDATE'),
    resolutionDueAt: due('RESOLUTION'),
    atRisk,
    breaches,
    paused: isPausedStatus(kase.status),
    pausedBusinessMinutes: Math.floor(kase.pausedBusinessMs / MINUTE),
  };
}

export { isDone };
