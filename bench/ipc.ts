// The messages between a benchmark driver (bench/thread-page.ts, bench/fanout.ts) and the
// processes it starts (bench/server.ts, the baselines, bench/fanout-load.ts), over the child
// process's IPC channel. Every request names a handler and carries an id that its reply repeats.
import fs from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import v8 from 'node:v8';
import type { LoadRequests } from './fanout-load.js';

/** Memory of a process, in MiB (process.memoryUsage), and what it is serving now. */
export type Memory = {
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** Open WebSocket connections. */
  sockets: number;
  /** Live activity subscriptions (graphql-ws operations on the baseline). */
  subscribers: number;
};

/** What a driver can ask, by name: the request's fields and the reply's. */
export type Requests = {
  /** Statements and requests so far. */
  stats: { request: Record<string, never>; reply: { statements: number; requests: number; inflight: number; heapMiB: number } };
  /** Start or stop listing SQL statements; stopping returns those listed. */
  trace: { request: { on: boolean }; reply: { statements: string[] } };
  /** Start or stop a V8 CPU profile, written to `dir`. */
  profile: { request: { on: boolean; dir: string }; reply: { file: string | null } };
  /** A V8 heap snapshot written to `dir` (after a full GC, as V8 always does). */
  heapSnapshot: { request: { dir: string; label: string }; reply: { file: string } };
  /** Memory after a full GC (when the process runs with --expose-gc and `gc` is set). */
  memory: { request: { gc: boolean }; reply: Memory };
  /** The moments this process handed each post's event to its subscribers since the last ask: [post id, ms since the epoch]. */
  published: { request: Record<string, never>; reply: { times: [number, number][] } };
} & LoadRequests;

export type RequestName = keyof Requests;

/** Parent -> child. */
export type ParentMessage =
  | { [K in RequestName]: { type: K; id: number; body: Requests[K]['request'] } }[RequestName]
  | { type: 'stop' };

/** Child -> parent. */
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'reply'; id: number; value?: unknown; error?: string };

export type Handlers = { [K in RequestName]?: (request: Requests[K]['request']) => Requests[K]['reply'] | Promise<Requests[K]['reply']> };

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes of one machine. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

/**
 * What a server counts for the `stats` and `trace` requests: the SQL statements it is told about
 * (`statement`) and the requests `server` has finished and still has in flight.
 */
export function countStatementsAndRequests(server: Server): { statement(sql: string): void; handlers: Pick<Handlers, 'stats' | 'trace'> } {
  let statements = 0;
  let traced: string[] | null = null;
  const requests = { finished: 0, inflight: 0 };
  server.on('request', (_req, res: ServerResponse) => {
    requests.inflight++;
    res.once('close', () => {
      requests.inflight--;
      requests.finished++;
    });
  });
  return {
    statement(sql) {
      statements++;
      traced?.push(sql);
    },
    handlers: {
      stats: () => ({ statements, requests: requests.finished, inflight: requests.inflight, heapMiB: process.memoryUsage().heapTotal / 2 ** 20 }),
      trace: ({ on }) => {
        const done = traced ?? [];
        traced = on ? [] : null;
        return { statements: done };
      },
    },
  };
}

/** process.memoryUsage in MiB, after a full GC when asked and available. */
export function memoryNow(gc: boolean): Omit<Memory, 'sockets' | 'subscribers'> {
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  const mib = (n: number) => n / 2 ** 20;
  return { rssMiB: mib(usage.rss), heapUsedMiB: mib(usage.heapUsed), heapTotalMiB: mib(usage.heapTotal), externalMiB: mib(usage.external) };
}

/**
 * Wires a child to its driver: answers the requests it has handlers for (`profile` and `heapSnapshot` always), and
 * calls `stop` once on `stop`, SIGINT, SIGTERM or when the driver goes away (so a killed
 * benchmark never leaves a process behind). Returns `send`, for the `ready` message.
 */
export function serveParent(handlers: Handlers, stop: () => Promise<void>): (message: ChildMessage) => void {
  const send = (message: ChildMessage) => {
    if (process.connected) process.send!(message);
  };
  if (!process.send) throw new Error('This process is started by a benchmark driver in bench/ (it needs an IPC channel)');
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    // Bounded: a stuck stop() must not keep the process alive.
    setTimeout(() => process.exit(code || 1), 10_000).unref();
    stop()
      .catch((error: unknown) => {
        console.error(error);
        code = 1;
      })
      .finally(() => process.exit(code));
  };
  const all: Handlers = {
    profile: ({ on, dir }) => profile(on, dir).then((file) => ({ file })),
    heapSnapshot: ({ dir, label }) => {
      fs.mkdirSync(dir, { recursive: true });
      return { file: v8.writeHeapSnapshot(path.join(dir, `${path.basename(process.argv[1], '.ts')}-${process.pid}-${label}.heapsnapshot`)) };
    },
    ...handlers,
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stop') return shutdown(0);
    const handler = all[message.type] as ((request: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`${path.basename(process.argv[1])} does not answer ${message.type}`);
        return handler(message.body);
      })
      .then(
        (value) => send({ type: 'reply', id: message.id, value }),
        (error: unknown) => {
          console.error(error);
          send({ type: 'reply', id: message.id, error: error instanceof Error ? error.message : String(error) });
        },
      );
  });
  process.on('disconnect', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  return send;
}

// One inspector session per process, profiling only while the parent asks (the measured runs).
let session: Session | undefined;
async function profile(on: boolean, dir: string): Promise<string | null> {
  if (on) {
    session ??= new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    return null;
  }
  if (!session) return null;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  session = undefined;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${path.basename(process.argv[1], '.ts')}-${process.pid}-${Date.now()}.cpuprofile`);
  fs.writeFileSync(file, JSON.stringify(profile));
  return file;
}
