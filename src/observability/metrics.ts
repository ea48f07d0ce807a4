import type { Plugin } from '@envelop/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WebSocket, WebSocketServer } from 'ws';
import { databasePoolState, onQuery } from '../db/client.js';
import { eventBusRedisState } from '../events/bus.js';
import { outboxBacklog } from '../modules/mail/outbox.js';
import { graphqlMetricsPlugins } from './graphql-metrics.js';
import { OperationNames } from './labels.js';
import { attachMetricsSink, currentScope } from './probes.js';

// One Prometheus registry per app (tests run several apps in one process), filled by the envelop
// plugin (graphql-metrics.ts), the probes of the process-wide parts (probes.ts), the database
// client's query events, and gauges read at scrape time. The README's "Operating" section lists
// every metric.

export type WsKind = 'anonymous' | 'signed-in';

export type Metrics = {
  registry: Registry;
  /** Envelop plugins for Yoga: request, error and phase metrics, live subscriptions, SQL scopes. */
  plugins: Plugin[];
  /** A graphql-ws connection was acknowledged, signed in or not (ws.ts). */
  wsConnected(socket: WebSocket, kind: WsKind): void;
  /** Starts hearing the database and the probes; the app calls it once the database is open. */
  start(): void;
  stop(): void;
};

/** Outbox counts are read at most this often, however often Prometheus scrapes. */
const OUTBOX_CACHE_MS = 5000;

/** Seconds: from a few milliseconds (same process) to minutes (a catch-up after a Redis outage). */
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const JOB_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export function createMetrics(wsServer: WebSocketServer): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Process memory, CPU, handles, event-loop lag (nodejs_eventloop_lag_*), GC.
  collectDefaultMetrics({ register: registry });
  const names = new OperationNames();

  const sqlStatements = new Counter({
    name: 'tertulia_sql_statements_total',
    help: 'SQL statements sent, by what sent them: a GraphQL operation (source=graphql, by operation name), a job (source=job), or other (start-up, scrapes)',
    labelNames: ['source', 'operation'],
    registers,
  });
  const sqlSeconds = new Counter({
    name: 'tertulia_sql_duration_seconds_total',
    help: 'Time spent in SQL statements, seconds, labelled as tertulia_sql_statements_total',
    labelNames: ['source', 'operation'],
    registers,
  });
  const published = new Counter({ name: 'tertulia_activity_events_published_total', help: 'Activity events this instance published (after commit), by kind', labelNames: ['kind'], registers });
  const delivered = new Counter({
    name: 'tertulia_activity_events_delivered_total',
    help: 'Activity events handed to live subscribers of this instance (once per subscriber), by kind',
    labelNames: ['kind'],
    registers,
  });
  const lag = new Histogram({
    name: 'tertulia_activity_delivery_lag_seconds',
    help: 'From an event\'s occurredAt to its hand-over to a live subscriber for sending, seconds',
    buckets: LAG_BUCKETS,
    registers,
  });
  const slow = new Counter({
    name: 'tertulia_slow_consumer_disconnects_total',
    help: 'Live subscriptions ended because their client read too slowly (SUBSCRIBER_TOO_SLOW), by stream',
    labelNames: ['stream'],
    registers,
  });
  const jobRuns = new Counter({ name: 'tertulia_job_runs_total', help: 'Passes of background jobs, by job and outcome (ok, failed)', labelNames: ['job', 'outcome'], registers });
  const jobSeconds = new Histogram({ name: 'tertulia_job_duration_seconds', help: 'Duration of a job pass, seconds', labelNames: ['job'], buckets: JOB_BUCKETS, registers });
  const jobLag = new Histogram({
    name: 'tertulia_job_lag_seconds',
    help: 'How late a job pass started after it was due (a busy event loop, a previous pass still running), seconds',
    labelNames: ['job'],
    buckets: LAG_BUCKETS,
    registers,
  });

  // Read at scrape time: nothing is done for them between scrapes.
  const kinds = new WeakMap<WebSocket, WsKind>();
  new Gauge({
    name: 'tertulia_websocket_connections',
    help: 'WebSocket connections open now, by kind: signed-in, anonymous, or pending (connection_init not yet acknowledged)',
    labelNames: ['kind'],
    registers,
    collect() {
      const counts = { 'signed-in': 0, anonymous: 0, pending: 0 };
      for (const socket of wsServer.clients) counts[kinds.get(socket) ?? 'pending'] += 1;
      for (const [kind, count] of Object.entries(counts)) this.set({ kind }, count);
    },
  });
  new Gauge({
    name: 'tertulia_redis_up',
    help: 'Whether each Redis connection of the event bus is ready (1) or not (0); absent without REDIS_URL',
    labelNames: ['connection'],
    registers,
    collect() {
      const state = eventBusRedisState();
      this.reset();
      if (state === 'off') return;
      this.set({ connection: 'publish' }, state.publish ? 1 : 0);
      this.set({ connection: 'subscribe' }, state.subscribe ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tertulia_db_pool_connections',
    help: 'PostgreSQL pool connections by state: total (open), idle, waiting (queries queued for a connection), max; absent on PGlite',
    labelNames: ['state'],
    registers,
    collect() {
      const pool = databasePoolState();
      this.reset();
      if (!pool) return;
      for (const [state, value] of Object.entries(pool)) this.set({ state }, value);
    },
  });
  let outbox: { at: number; value: Promise<{ pending: number; oldestDueSeconds: number }> } | undefined;
  const readOutbox = () => {
    const now = Date.now();
    if (!outbox || now - outbox.at > OUTBOX_CACHE_MS) outbox = { at: now, value: outboxBacklog(new Date(now)) };
    return outbox.value;
  };
  new Gauge({
    name: 'tertulia_outbox_pending_messages',
    help: 'Emails waiting in the outbox (PENDING), read at most every 5 s',
    registers,
    async collect() {
      try {
        this.set((await readOutbox()).pending);
      } catch {
        outbox = undefined; // the database is away: no value rather than a stale one
        this.reset();
      }
    },
  });
  new Gauge({
    name: 'tertulia_outbox_oldest_due_seconds',
    help: 'How long the most overdue PENDING email has been due (0: none overdue), seconds; the mail job\'s lag',
    registers,
    async collect() {
      try {
        this.set((await readOutbox()).oldestDueSeconds);
      } catch {
        outbox = undefined;
        this.reset();
      }
    },
  });

  let stops: (() => void)[] = [];
  return {
    registry,
    plugins: graphqlMetricsPlugins(registry, names),
    wsConnected(socket, kind) {
      kinds.set(socket, kind);
    },
    start() {
      stops.push(
        attachMetricsSink({
          eventPublished: (kind) => published.inc({ kind }),
          eventDelivered(kind, occurredAt) {
            delivered.inc({ kind });
            lag.observe(Math.max(0, Date.now() - Date.parse(occurredAt)) / 1000);
          },
          slowConsumer: (stream) => slow.inc({ stream }),
          jobPass(job, outcome, durationSeconds, lagSeconds) {
            jobRuns.inc({ job, outcome });
            jobSeconds.observe({ job }, durationSeconds);
            jobLag.observe({ job }, lagSeconds);
          },
        }),
        onQuery(
          (_sql, durationMs, background) => {
            const scope = currentScope();
            // Background work started from a request (the notification fan-out woken by its
            // event) is not that request's.
            const labels =
              background && scope?.source !== 'job'
                ? { source: 'job', operation: 'background' }
                : scope
                  ? { source: scope.source, operation: scope.name }
                  : { source: 'other', operation: '' };
            sqlStatements.inc(labels);
            sqlSeconds.inc(labels, durationMs / 1000);
          },
          { background: true },
        ),
      );
    },
    stop() {
      for (const stop of stops) stop();
      stops = [];
    },
  };
}
