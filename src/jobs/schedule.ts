import type { Logger } from '../logger.js';
import { inScope, probe } from '../observability/probes.js';

export type Job<R = unknown> = {
  name: string;
  /** 0: not on this instance. */
  everyMs: number;
  /** One pass of the work; must be safe when other instances run the same job at the same time. */
  run(): Promise<R>;
  /** When the next pass is wanted, if sooner than `everyMs` (a retry coming due, say). */
  nextInMs?(result: R): number;
};

export type RunningJobs = {
  /** Runs the named job as soon as it is free (at once if idle; right after the pass under way, if any). */
  wake(name: string): void;
  /** Stops scheduling and waits for passes already under way, so the database can close after. */
  stop(): Promise<void>;
};

/** Runs one pass of the named job in a span (observability/tracing.ts), when tracing is on. */
export type JobTracer = (name: string, pass: () => Promise<void>) => Promise<void>;

/**
 * Runs each job at once and then every `everyMs` (or sooner, as its `nextInMs` asks), one pass
 * at a time (a slow pass delays the next instead of overlapping it). A failed pass is logged and
 * the job goes on.
 */
export function scheduleJobs(jobs: Job[], logger: Logger, options: { trace?: JobTracer } = {}): RunningJobs {
  let stopped = false;
  const running = new Set<Promise<void>>();
  // dueAt: when the pass now waiting was wanted, for the lag metric (how late it starts).
  type State = { job: Job; timer?: NodeJS.Timeout; busy: boolean; again: boolean; dueAt: number };
  const states = new Map<string, State>();

  const later = (state: State, delayMs: number) => {
    clearTimeout(state.timer);
    state.dueAt = Date.now() + delayMs;
    state.timer = setTimeout(() => pass(state), delayMs);
    state.timer.unref();
  };

  const pass = (state: State) => {
    if (stopped) return;
    const { job } = state;
    state.busy = true;
    state.again = false;
    const started = performance.now();
    // A pass woken while another ran is due from the moment that one ended, not from the wake.
    const lagSeconds = Math.max(0, Date.now() - state.dueAt) / 1000;
    let next = job.everyMs;
    const took = () => (performance.now() - started) / 1000;
    // Its SQL statements are counted for the job (metrics), not for a request running beside it;
    // its log lines, with tracing on, carry the pass's trace id.
    const work = () =>
      inScope({ source: 'job', name: job.name }, () => job.run()).then(
        (result) => {
          logger.debug({ job: job.name, result, durationMs: Math.round(performance.now() - started) }, 'job pass');
          probe.jobPass(job.name, 'ok', took(), lagSeconds);
          if (job.nextInMs) next = Math.max(0, Math.min(job.everyMs, job.nextInMs(result)));
        },
        (error: unknown) => {
          logger.error({ err: error, job: job.name }, 'job pass failed');
          probe.jobPass(job.name, 'failed', took(), lagSeconds);
          throw error;
        },
      );
    const run = (options.trace ? options.trace(job.name, work) : work())
      .catch(() => {})
      .finally(() => {
        running.delete(run);
        state.busy = false;
        if (!stopped) later(state, state.again ? 0 : next);
      });
    running.add(run);
  };
  for (const job of jobs) {
    if (job.everyMs <= 0) continue;
    const state: State = { job, busy: false, again: false, dueAt: Date.now() };
    states.set(job.name, state);
    pass(state);
  }

  return {
    wake(name) {
      const state = states.get(name);
      if (!state || stopped) return;
      // Never inside the caller's stack (a transaction still being written, say).
      if (state.busy) state.again = true;
      else later(state, 0);
    },
    async stop() {
      stopped = true;
      for (const state of states.values()) clearTimeout(state.timer);
      await Promise.all(running);
    },
  };
}
