// The real Tertulia app, started by bench/thread-page.ts in a child process of its own:
//   node --import tsx bench/server.ts   (with BENCH_DATABASE_URL and an IPC channel)
// It listens on 127.0.0.1, port 0, and tells the parent its GraphQL URL over IPC. It counts the SQL
// statements Prisma sends (db/client.ts onQuery) so the parent can report statements per request.
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { onQuery } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import { countRequests, serveParent } from './ipc.js';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');

const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: databaseUrl,
  LOG_LEVEL: 'silent',
  DATABASE_POOL_SIZE: process.env.BENCH_POOL_SIZE,
  // No REDIS_URL: the in-memory event bus, as a single instance runs.
});
const app = buildApp(config, createLogger('silent'));

let statements = 0;
let traced: string[] | null = null;
onQuery((sql) => {
  statements++;
  traced?.push(sql);
});

const send = serveParent({
  statements: () => statements,
  requests: countRequests(app.httpServer),
  trace: (on) => {
    const done = traced ?? [];
    traced = on ? [] : null;
    return done;
  },
  stop: () => app.stop(),
});

send({ type: 'ready', url: await app.start() });
