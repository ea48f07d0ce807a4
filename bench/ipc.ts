// The messages between bench/thread-page.ts and the servers it starts (bench/server.ts,
// bench/baseline-server.ts), over the child process's IPC channel.
import fs from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

/**
 * A question to a child: `stats` (statements and requests so far), `trace` (start or stop listing
 * statements), `profile` (start or stop a V8 CPU profile, written to `dir`).
 */
export type ParentRequest = { type: 'stats' } | { type: 'trace'; on: boolean } | { type: 'profile'; on: boolean; dir: string };

/** Parent -> child. Every request carries an id that its reply repeats. */
export type ParentMessage = (ParentRequest & { id: number }) | { type: 'stop' };

/** Child -> parent. */
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'stats'; id: number; statements: number; requests: number; inflight: number; heapMiB: number }
  | { type: 'trace'; id: number; statements: string[] }
  | { type: 'profile'; id: number; file: string | null };

/** Counts the requests a server has finished and those still in flight. */
export function countRequests(server: Server): { finished: number; inflight: number } {
  const counts = { finished: 0, inflight: 0 };
  server.on('request', (_req, res: ServerResponse) => {
    counts.inflight++;
    res.once('close', () => {
      counts.inflight--;
      counts.finished++;
    });
  });
  return counts;
}

/**
 * Wires a server child to its parent: answers `stats` and `trace` from the counters it is given, and calls `stop` once on `stop`, SIGINT, SIGTERM or when the parent goes away (so a
 * killed benchmark never leaves a server behind).
 */
export function serveParent(options: {
  statements: () => number;
  requests: { finished: number; inflight: number };
  trace: (on: boolean) => string[];
  stop: () => Promise<void>;
}): (message: ChildMessage) => void {
  const send = (message: ChildMessage) => {
    if (process.connected) process.send!(message);
  };
  if (!process.send) throw new Error('This server is started by bench/thread-page.ts (it needs an IPC channel)');
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    // Bounded: a stuck stop() must not keep the process alive.
    setTimeout(() => process.exit(code || 1), 10_000).unref();
    options
      .stop()
      .catch((error: unknown) => {
        console.error(error);
        code = 1;
      })
      .finally(() => process.exit(code));
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') {
      const { finished, inflight } = options.requests;
      const heapMiB = process.memoryUsage().heapTotal / 2 ** 20;
      send({ type: 'stats', id: message.id, statements: options.statements(), requests: finished, inflight, heapMiB });
    }
    else if (message.type === 'trace') send({ type: 'trace', id: message.id, statements: options.trace(message.on) });
    else if (message.type === 'profile') {
      profile(message.on, message.dir).then(
        (file) => send({ type: 'profile', id: message.id, file }),
        (error: unknown) => {
          console.error(error);
          send({ type: 'profile', id: message.id, file: null });
        },
      );
    } else if (message.type === 'stop') shutdown(0);
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
