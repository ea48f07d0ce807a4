import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../src/config.js';
import { sleep } from './helpers.js';

// Real server processes for the tests that need one: start-up, shutdown, restarts, a second
// instance. Every config variable of this process is cleared first, so the parent's (the
// shared test database's DATABASE_URL, say) never leaks in.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// PGlite's start-up (and a first initdb) takes seconds, many more on a busy machine.
export const START_TIMEOUT = 90_000;

export type LogLine = { msg?: string; level?: number; [key: string]: unknown };
export type Exit = { code: number | null; signal: NodeJS.Signals | null };

const children = new Set<ChildProcess>();

/** Kills every server process still running (for afterAll). */
export function killServers(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** This process's environment without any variable src/config.ts reads. */
export function environmentWithoutConfig(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of CONFIG_VARIABLES) delete env[key];
  return env;
}

/** The server as users run it (`node --import tsx src/main.ts`), its JSON log lines parsed as they come. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stderr = '';
  exitStatus: Exit | undefined;
  readonly exited: Promise<Exit>;

  /** `command`: another way to start it, such as `npm start`. */
  constructor(env: Record<string, string>, [command, ...args]: string[] = [process.execPath, '--import', 'tsx', 'src/main.ts']) {
    const childEnv = environmentWithoutConfig();
    this.child = spawn(command, args, {
      cwd: ROOT,
      // SIGNALS_POLL_MS=0: the participation job off, as in startTestApp (its badge and trust
      // events would join the exact event lists these tests compare).
      env: { ...childEnv, PORT: '0', LOG_LEVEL: 'info', SIGNALS_POLL_MS: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(this.child);
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        if (!line.trim()) continue;
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line, notJson: true });
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        children.delete(this.child);
        resolve(this.exitStatus);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits for a log line matching `match`; fails early if the process exits first. */
  async waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (this.exitStatus) throw new Error(`the server exited (${JSON.stringify(this.exitStatus)}) before logging ${what}; stderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs: ${JSON.stringify(this.logs)}; stderr: ${this.stderr}`);
      await sleep(25);
    }
  }

  /** Waits for the "listening" line and returns the GraphQL URL it names. */
  async listening(): Promise<string> {
    const line = await this.waitForLog((l) => String(l.msg).startsWith('Tertulia is listening on'), 'the listening line', START_TIMEOUT);
    return String(line.url);
  }

  async waitForExit(timeoutMs = 30_000): Promise<Exit> {
    return withTimeout(this.exited, timeoutMs, 'the server to exit');
  }

  /** SIGTERM, then its exit. */
  async stop(timeoutMs = 30_000): Promise<Exit> {
    this.child.kill('SIGTERM');
    return this.waitForExit(timeoutMs);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}
