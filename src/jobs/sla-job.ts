import type { Logger } from '../logger.js';
import { raiseDueSlaAlerts } from '../modules/support/sla-alerts.js';

// The SLA job: every SLA_JOB_INTERVAL_MS, raise the SLA alerts that have come due. Each instance
// runs its own; they may overlap freely (see sla-alerts.ts for why each alert happens once).

/** One pass at `now` (tests pass an explicit time). */
export async function runSlaJob(now: Date = new Date()): Promise<{ atRisk: number; breached: number }> {
  return raiseDueSlaAlerts(now);
}

export type Job = { stop(): Promise<void> };

/** Runs the job every `intervalMs` (0: never), one pass at a time; `stop` waits for the pass under way. */
export function startSlaJob(intervalMs: number, logger: Logger): Job {
  if (intervalMs <= 0) return { stop: async () => {} };
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runSlaJob()
      .then((raised) => {
        if (raised.atRisk || raised.breached) logger.info(raised, 'SLA alerts raised');
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
