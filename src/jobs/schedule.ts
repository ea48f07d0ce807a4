import type { Logger } from '../logger.js';

type Job = {
  name: string;
  /** 0: not on this instance. */
  everyMs: number;
  /** One pass of the work; must be safe when other instances run the same job at the same time. */
  run(): Promise<unknown>;
};

export type RunningJobs = {
  /** Stops scheduling and waits for passes already under way, so the database can close after. */
  stop(): Promise<void>;
};

/**
 * Runs each job at once and then every `everyMs`, one pass at a time (a slow pass delays the
 * next instead of overlapping it). A failed pass is logged and the job goes on.
 */
export function scheduleJobs(jobs: Job[], logger: Logger): RunningJobs {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();

  const pass = (job: Job) => {
    if (stopped) return;
    const started = performance.now();
    const run = job
      .run()
      .then(
        (result) => logger.debug({ job: job.name, result, durationMs: Math.round(performance.now() - started) }, 'job pass'),
        (error: unknown) => logger.error({ err: error, job: job.name }, 'job pass failed'),
      )
      .finally(() => {
        running.delete(run);
        if (stopped) return;
        const timer = setTimeout(() => (timers.delete(timer), pass(job)), job.everyMs);
        timer.unref();
        timers.add(timer);
      });
    running.add(run);
  };
  for (const job of jobs) if (job.everyMs > 0) pass(job);

  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(running);
    },
  };
}
