import { AsyncLocalStorage } from 'node:async_hooks';

// Hook points for the process-wide parts (event bus, jobs, database client) that metrics read.
// This file imports nothing of the app, so the lowest layers can call it. With metrics off no
// sink is attached and every probe is one `undefined` check.

/** What a metrics registry hears from the process-wide parts. */
export type MetricsSink = {
  /** This instance published an activity event (after its transaction committed). */
  eventPublished(kind: string): void;
  /** A live subscriber took an event from its stream (to execute and send it). */
  eventDelivered(kind: string, occurredAt: string): void;
  /** A live subscription was ended because its client read too slowly. */
  slowConsumer(stream: 'activity' | 'notifications'): void;
  /** One pass of a scheduled job ended; `lagSeconds`: how late it started after it was due. */
  jobPass(name: string, outcome: 'ok' | 'failed', durationSeconds: number, lagSeconds: number): void;
};

let sink: MetricsSink | undefined;

/** Attaches the sink of the app whose metrics are on; returns the way to detach it. */
export function attachMetricsSink(next: MetricsSink): () => void {
  sink = next;
  return () => {
    if (sink === next) sink = undefined;
  };
}

export const probe = {
  eventPublished(kind: string): void {
    sink?.eventPublished(kind);
  },
  eventDelivered(kind: string, occurredAt: string): void {
    sink?.eventDelivered(kind, occurredAt);
  },
  slowConsumer(stream: 'activity' | 'notifications'): void {
    sink?.slowConsumer(stream);
  },
  jobPass(name: string, outcome: 'ok' | 'failed', durationSeconds: number, lagSeconds: number): void {
    sink?.jobPass(name, outcome, durationSeconds, lagSeconds);
  },
};

/** What the SQL statements running now are done for: a GraphQL operation or a job. */
export type WorkScope = { source: 'graphql' | 'job'; name: string };

const scopes = new AsyncLocalStorage<WorkScope>();

/** Runs `work` with its SQL statements counted for `scope`. */
export function inScope<T>(scope: WorkScope, work: () => T): T {
  return scopes.run(scope, work);
}

/** The scope of the code running now, if any. */
export function currentScope(): WorkScope | undefined {
  return scopes.getStore();
}
