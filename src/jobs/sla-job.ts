import type { Logger } from '../logger.js';
import { reassignUnanswered } from '../modules/support/assignment.js';
import { raiseDueSlaAlerts } from '../modules/support/sla-alerts.js';

// The SLA job: every SLA_JOB_INTERVAL_MS, raise the SLA alerts that have come due and move the
// cases whose assignee has not answered within SUPPORT_REASSIGN_AFTER_MINUTES. Each instance
// runs its own; they may overlap freely (sla-alerts.ts and assignment.ts say why each effect
// happens once).

export type SlaJobResult = { atRisk: number; breached: number; reassigned: number };

/** One pass at `now` (tests pass an explicit time). */
export async function runSlaJob(now: Date = new Date(), options: { reassignAfterMinutes?: number } = {}): Promise<SlaJobResult> {
  const alerts = await raiseDueSlaAlerts(now);
  const reassigned = options.reassignAfterMinutes ? await reassignUnanswered(now, options.reassignAfterMinutes) : 0;
  return { ...alerts, reassigned };
}

export type Job = { stop(): Promise<void> };

/** Runs the job every `intervalMs` (0: never), one pass at a time; `stop` waits for the pass under way. */
export function startSlaJob(intervalMs: number, logger: Logger, options: { reassignAfterMinutes: number }): Job {
  if (intervalMs <= 0) return { stop: async () => {} };
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runSlaJob(new Date(), options)
      .then((result) => {
        if (result.atRisk || result.breached) logger.info(result, 'SLA alerts raised');
        if (result.reassigned) logger.info(result, 'unanswered cases re-assigned (see each case timeline for why)');
      })
      .catch((err: unknown) => logger.error({ err }, 'SLA job failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
