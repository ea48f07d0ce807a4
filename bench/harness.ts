// What every benchmark driver in bench/ shares: a database of its own for the run, child
// processes it talks to over IPC, /proc readings, a GraphQL client for seeding, a time limit, and
// Markdown tables. Cleanup is registered as things are made and runs once, children first, also on
// failure and Ctrl-C.
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type ChildMessage, type ParentMessage, type RequestName, type Requests, wallClock } from './ipc.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..');
export const PROFILE_DIR = path.join(HERE, '.profiles');
export const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
// Production, as deployed; otherwise src/builder.ts turns on Pothos' onUnusedQuery checks.
export const NODE_ENV = process.env.BENCH_NODE_ENV || 'production';
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Reads an integer option of parseArgs' `values`, within bounds. */
export function intOption(values: Record<string, unknown>, name: string, min: number, max: number): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return value;
}

// ---- Cleanup: children first, then the database; bounded, once ------------------------------

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Registers `fn` to run at the end; the last registered runs first. */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        console.error('cleanup:', error);
      }
    }
  })();
  return cleaning;
}

/**
 * Runs a driver's `main` within `budgetMs`, cleans up after it (also on SIGINT/SIGTERM and when
 * the budget runs out) and exits with its status.
 */
export async function runBenchmark(main: () => Promise<void>, budgetMs: number): Promise<never> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`\n${signal}: stopping the child processes and dropping the database`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const watchdog = setTimeout(() => {
    console.error(`the benchmark took longer than ${budgetMs / 1000} s; giving up`);
    void cleanup().finally(() => process.exit(1));
  }, budgetMs);
  let exitCode = 0;
  try {
    await main();
  } catch (error) {
    // After Ctrl-C the children go first, so whatever was talking to them fails: not news.
    if (!interrupted) console.error(error);
    exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
  process.exit(exitCode);
}

// ---- Database -------------------------------------------------------------------------------

export async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database next to ADMIN_URL's, dropped at cleanup. */
export async function createDatabase(): Promise<{ name: string; url: string }> {
  const name = `tertulia_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  if (url.pathname.slice(1) === name) throw new Error('refusing to use the admin database');
  url.pathname = `/${name}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  onCleanup(async () => {
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    console.error(`dropped database ${name}`);
  });
  return { name, url: url.toString() };
}

/** The machine, Node and PostgreSQL, for the head of a report. */
export async function machineDescription(): Promise<string> {
  const pgVersion = await withAdmin(async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v);
  return `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? '?'}), ${f1(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL ${pgVersion} on ${new URL(ADMIN_URL).host}, ${os.platform()} ${os.release()}`;
}

// ---- Child processes ------------------------------------------------------------------------

export type Child = {
  name: string;
  pid: number;
  /** The URL the child said it serves ('' for children that serve none). */
  url: string;
  ask<K extends RequestName>(type: K, body: Requests[K]['request'], timeoutMs?: number): Promise<Requests[K]['reply']>;
  /** Asks it to stop and waits for its exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
};

/**
 * `node [nodeArgs] --import tsx bench/<file>` with an IPC channel; resolves once it says `ready`.
 * With `loopback`, the URL it reports must be on 127.0.0.1.
 */
export async function startChild(name: string, file: string, env: Record<string, string>, nodeArgs: string[] = [], loopback = true): Promise<Child> {
  const proc: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(HERE, file)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (exited) return;
    if (proc.connected) proc.send({ type: 'stop' } satisfies ParentMessage);
    else proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(killer);
  };
  onCleanup(stop);

  const pending = new Map<number, (message: Extract<ChildMessage, { type: 'reply' }>) => void>();
  let nextId = 1;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 120 s`)), 120_000);
    proc.once('exit', (code) => reject(new Error(`${name} exited (code ${code}) before it was ready`)));
    proc.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.url);
      } else pending.get(message.id)?.(message);
    });
  });
  if (loopback && !/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`${name} is not on loopback: ${url}`);
  return {
    name,
    pid: proc.pid!,
    url,
    stop,
    ask(type, body, timeoutMs = 10_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not answer ${type} within ${timeoutMs / 1000} s`)), timeoutMs);
        pending.set(id, (reply) => {
          clearTimeout(timer);
          pending.delete(id);
          if (reply.error !== undefined) reject(new Error(`${name} failed ${type}: ${reply.error}`));
          else resolve(reply.value as never);
        });
        proc.send({ type, id, body } as ParentMessage);
      });
    },
  };
}

// ---- /proc readings ---------------------------------------------------------------------------

export function procStatus(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

/** User + system CPU seconds of a process, or 0 if it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine (all CPUs), from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal ...: everything but idle and iowait is busy.
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - ticks[3] - ticks[4]) / CLK_TCK;
}

/** CPU seconds of every PostgreSQL backend connected to the benchmark database, by pid. */
export async function backendCpu(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]));
}

/** CPU seconds the backends spent between two `backendCpu` readings. */
export function backendCpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let spent = 0;
  for (const [pid, cpu] of after) spent += cpu - (before.get(pid) ?? 0);
  return spent;
}

/** CPU readings at one moment: of some processes, this one, the database's backends, the machine. */
export type CpuMark = { processes: number[]; driver: NodeJS.CpuUsage; postgres: Map<number, number>; machine: number; at: number };
/**
 * CPU seconds spent since a mark by each of the processes, this driver and the PostgreSQL backends
 * of `database`; and how many CPUs everything else on the machine kept busy meanwhile.
 */
export type CpuSpent = { processes: number[]; driver: number; postgres: number; otherCpus: number; seconds: number };

export async function cpuMark(pids: number[], admin: pg.Client, database: string): Promise<CpuMark> {
  return {
    processes: pids.map(cpuSeconds),
    driver: process.cpuUsage(),
    postgres: await backendCpu(admin, database),
    machine: machineBusySeconds(),
    at: wallClock(),
  };
}

export async function cpuSince(mark: CpuMark, pids: number[], admin: pg.Client, database: string): Promise<CpuSpent> {
  const now = await cpuMark(pids, admin, database);
  const driverUsage = process.cpuUsage(mark.driver);
  const processes = now.processes.map((s, i) => s - mark.processes[i]);
  const driver = (driverUsage.user + driverUsage.system) / 1e6;
  const postgres = backendCpuSpent(mark.postgres, now.postgres);
  const seconds = (now.at - mark.at) / 1000;
  const ours = processes.reduce((a, b) => a + b, 0) + driver + postgres;
  return { processes, driver, postgres, seconds, otherCpus: Math.max(0, now.machine - mark.machine - ours) / seconds };
}

// ---- GraphQL client for seeding and checks ----------------------------------------------------

export async function post(url: string, body: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, text: await response.text() };
}

// biome-ignore lint: untyped GraphQL results, checked by hand where used
export type Json = any;

export async function gql(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<Json> {
  const { status, text } = await post(url, JSON.stringify({ query, variables }), token);
  const result = JSON.parse(text) as { data?: Json; errors?: unknown[] };
  if (status !== 200 || result.errors?.length) throw new Error(`GraphQL ${status}: ${text.slice(0, 500)}`);
  return result.data;
}

/** Runs a mutation whose result union must be `expected`; returns that payload. */
export async function mutate(url: string, field: string, expected: string, doc: string, input: unknown, token?: string): Promise<Json> {
  const data = await gql(url, doc, { input }, token);
  const payload = data[field];
  if (payload.__typename !== expected) throw new Error(`${field}: ${JSON.stringify(payload)}`);
  return payload;
}

export const SIGN_UP = `mutation ($input: SignUpInput!) { signUp(input: $input) { __typename ... on Error { message } } }`;
export const VERIFY_EMAIL = `mutation ($input: VerifyEmailInput!) { verifyEmail(input: $input) { __typename ... on AuthPayload { token user { id } } ... on Error { message } } }`;
export const SET_ROLE = `mutation ($input: SetUserRoleInput!) { setUserRole(input: $input) { __typename ... on Error { message } } }`;
export const CREATE_SPACE = `mutation ($input: CreateSpaceInput!) { createSpace(input: $input) { __typename ... on SpacePayload { space { id } } ... on Error { message } } }`;
export const CREATE_THREAD = `mutation ($input: CreateThreadInput!) { createThread(input: $input) { __typename ... on ThreadPayload { thread { id } } ... on Error { message } } }`;
export const REPLY = `mutation ($input: ReplyToThreadInput!) { replyToThread(input: $input) { __typename ... on PostPayload { post { id } } ... on Error { message } } }`;

export type Actor = { token: string; id: string };

/**
 * Signs up `name` (the first account of a database becomes its ADMIN) and follows the link of
 * its verification email, read from the outbox of the server's database (`databaseUrl`).
 */
export async function signUp(url: string, name: string, databaseUrl: string): Promise<Actor> {
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}@bench.example`;
  await mutate(url, 'signUp', 'AccountEmailPayload', SIGN_UP, { email, password: 'a long enough password', displayName: name });
  const outbox = new pg.Client({ connectionString: databaseUrl });
  await outbox.connect();
  let text: string;
  try {
    const { rows } = await outbox.query<{ text: string }>(
      `SELECT text FROM "OutboundMessage" WHERE "toAddress" = $1 AND kind = 'EMAIL_VERIFICATION' ORDER BY id DESC LIMIT 1`,
      [email],
    );
    text = rows[0]?.text ?? '';
  } finally {
    await outbox.end();
  }
  const token = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
  if (!token) throw new Error(`no verification email for ${email}`);
  const payload = await mutate(url, 'verifyEmail', 'AuthPayload', VERIFY_EMAIL, { token });
  return { token: payload.token, id: payload.user.id };
}

/**
 * The start of every benchmark's data: an ADMIN, a COMMUNITY_MANAGER, `memberCount` members
 * ("Member 001", ...) and one MEMBERS space made by the manager (so both the visibility rule and
 * the token matter to every read).
 */
export async function seedSpace(
  url: string,
  memberCount: number,
  databaseUrl: string,
): Promise<{ admin: Actor; manager: Actor; members: Actor[]; spaceId: string }> {
  const admin = await signUp(url, 'Admin', databaseUrl); // the first account is the ADMIN
  const manager = await signUp(url, 'Manager', databaseUrl);
  await mutate(url, 'setUserRole', 'SetUserRolePayload', SET_ROLE, { userId: manager.id, role: 'COMMUNITY_MANAGER' }, admin.token);
  const members: Actor[] = new Array(memberCount);
  await inParallel(
    Array.from({ length: memberCount }, (_, i) => async () => {
      members[i] = await signUp(url, `Member ${String(i + 1).padStart(3, '0')}`, databaseUrl);
    }),
    4,
  );
  const space = await mutate(url, 'createSpace', 'SpacePayload', CREATE_SPACE, {
    name: 'Product help',
    slug: 'product-help',
    description: 'Questions and answers about the product.',
    visibility: 'MEMBERS',
  }, manager.token);
  return { admin, manager, members, spaceId: space.space.id };
}

/** Runs `tasks` with at most `limit` in flight; the first failure fails the lot. */
export async function inParallel(tasks: (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) await tasks[next++]();
    }),
  );
}

// ---- Report ---------------------------------------------------------------------------------

/** The p-th percentile (nearest rank) of ascending `sorted`. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const f1 = (n: number) => n.toFixed(1);
export const f2 = (n: number) => n.toFixed(2);

export function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
