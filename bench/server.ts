// The real Tertulia app, started by a benchmark driver (bench/thread-page.ts, bench/fanout.ts) in a
// child process of its own:
//   node --import tsx bench/server.ts   (with BENCH_DATABASE_URL and an IPC channel)
// It listens on 127.0.0.1, port 0, and tells the parent its GraphQL URL over IPC. It counts the SQL
// statements Prisma sends (db/client.ts onQuery) so the parent can report statements per request,
// and notes when each new post's event is handed to this instance's subscribers ("published").
// With BENCH_REDIS_URL it uses Redis for events, on the channels of BENCH_REDIS_CHANNEL_PREFIX.
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { onQuery } from '../src/db/client.js';
import { activitySubscriberCount, subscribeActivity } from '../src/events/bus.js';
import { createLogger } from '../src/logger.js';
import { countStatementsAndRequests, memoryNow, serveParent, wallClock } from './ipc.js';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');

const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: databaseUrl,
  // Silent by default, so logging costs nothing in the measurements; BENCH_LOG_LEVEL=error shows failures.
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'silent',
  DATABASE_POOL_SIZE: process.env.BENCH_POOL_SIZE,
  // Without it, the in-memory event bus, as a single instance runs.
  REDIS_URL: process.env.BENCH_REDIS_URL,
  REDIS_CHANNEL_PREFIX: process.env.BENCH_REDIS_CHANNEL_PREFIX,
  // Every bench client connects from 127.0.0.1: one socket each, thousands of them.
  WS_MAX_CONNECTIONS_PER_ADDRESS: '100000',
  SSE_MAX_SUBSCRIPTIONS_PER_ADDRESS: '100000',
  // The driver signs up hundreds of members from one address, which the sign-up throttle would stop.
  SIGNUP_MAX_PER_ADDRESS: '100000',
  // BENCH_METRICS_ENABLED=true measures the app with Prometheus metrics on (off by default, as in production).
  METRICS_ENABLED: process.env.BENCH_METRICS_ENABLED,
});
const app = buildApp(config, createLogger(config.logLevel));

const counts = countStatementsAndRequests(app.httpServer);
onQuery((sql) => counts.statement(sql));

// [post id, when], bounded: the driver drains it after each run.
let published: [number, number][] = [];
const MAX_PUBLISHED = 1_000_000;

const send = serveParent(
  {
    ...counts.handlers,
    // One subscriber below is this process's own publish clock, not a client.
    memory: ({ gc }) => ({ ...memoryNow(gc), sockets: app.wsServer.clients.size, subscribers: activitySubscriberCount() - 1 }),
    published: () => {
      const times = published;
      published = [];
      return { times };
    },
  },
  () => app.stop(),
);

const url = await app.start();
// A subscriber of the bus that keeps nothing: the bus calls `accept` for every subscriber in the
// order they subscribed, as the event is fanned out, so this one (the first) notes the moment
// the instance hands the event to its clients' subscriptions.
subscribeActivity((event) => {
  if (event.kind === 'POST_CREATED' && event.subjectType === 'Post' && published.length < MAX_PUBLISHED) published.push([event.subjectId, wallClock()]);
  return false;
});
send({ type: 'ready', url });
