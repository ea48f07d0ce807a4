import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations } from './migrate.js';

export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

type QueryEvents = { $on(event: 'query', cb: (event: { query: string; duration: number }) => void): void };

type OpenDatabase = {
  client: PrismaClient;
  kind: 'pglite' | 'postgres';
  /** PostgreSQL's connection pool (for its state in metrics); PGlite has none. */
  pool?: pg.Pool;
  close(): Promise<void>;
};

// The process-wide client. Opened once by buildApp (or a script) before anything queries.
let current: OpenDatabase | undefined;
type QueryListener = { hear(sql: string, durationMs: number, background: boolean): void; background: boolean };
const queryListeners = new Set<QueryListener>();
// Set while background work (a job) queries: the statements of a request are then told apart
// from those of a job that happens to run at the same moment.
const backgroundWork = new AsyncLocalStorage<true>();

/** Runs `work` as background work: its statements reach only onQuery listeners that ask for them. */
export function inBackground<T>(work: () => Promise<T>): Promise<T> {
  return backgroundWork.run(true, work);
}

export function prisma(): PrismaClient {
  if (!current) throw new Error('The database is not open: call openDatabase() first');
  return current.client;
}

/** The PostgreSQL pool's connections now (undefined on PGlite, or when the database is closed). */
export function databasePoolState(): { total: number; idle: number; waiting: number; max: number } | undefined {
  const pool = current?.pool;
  return pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 };
}

/**
 * Calls `listener` with each SQL statement Prisma sends, how long it took, and whether it was
 * background work (with `background`, those of jobs run through inBackground are heard too), in
 * the async context of the code that sent it;
 * returns an unsubscribe function.
 */
export function onQuery(listener: (sql: string, durationMs: number, background: boolean) => void, options: { background?: boolean } = {}): () => void {
  const entry = { hear: listener, background: options.background ?? false };
  queryListeners.add(entry);
  return () => queryListeners.delete(entry);
}

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databasePoolSize'>,
  log: (msg: string) => void = () => {},
): Promise<void> {
  if (current) throw new Error('The database is already open');
  const opened = config.databaseUrl
    ? await openPostgres(config.databaseUrl, config.databasePoolSize, log)
    : await openPGlite(config.dataDir, log);
  // The client is typed without its log options, so $on('query') needs this narrow cast.
  (opened.client as unknown as QueryEvents).$on('query', (event) => {
    const background = backgroundWork.getStore() === true;
    for (const listener of queryListeners) if (listener.background || !background) listener.hear(event.query, event.duration, background);
  });
  try {
    await opened.client.$connect();
  } catch (error) {
    await opened.close(); // release PGlite and its DATA_DIR lock
    throw error;
  }
  current = opened;
}

export async function closeDatabase(): Promise<void> {
  const open = current;
  current = undefined;
  await open?.close();
}

/**
 * How long a query may wait for a connection (a free one of the pool, or a new one opening)
 * before it fails: as long as a transaction may wait to start (maxWait in writeWithActivity).
 */
const CONNECT_TIMEOUT_MS = 10_000;

async function openPostgres(url: string, max: number, log: (msg: string) => void): Promise<OpenDatabase> {
  const { applied } = await applyMigrations({ kind: 'postgres', url }, log);
  if (applied.length) log(`applied migrations: ${applied.join(', ')}`);
  // Our own pool, handed to the adapter (which ends it on disconnect), so metrics can read its state.
  // A database host that went silent must fail requests, not hold them: pg waits forever for
  // a new connection by default.
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  const client = new PrismaClient({
    adapter: new PrismaPg(pool, { disposeExternalPool: true }),
    log: [{ level: 'query', emit: 'event' }],
  });
  return { client, kind: 'postgres', pool, close: () => client.$disconnect() };
}

async function openPGlite(dataDir: string, log: (msg: string) => void): Promise<OpenDatabase> {
  const inMemory = dataDir === ':memory:';
  const releaseLock = inMemory ? () => {} : lockDataDir(dataDir);
  try {
    const pglite = inMemory ? new PGlite() : new PGlite(path.resolve(dataDir));
    await pglite.waitReady;
    const { applied } = await applyMigrations({ kind: 'pglite', pglite }, log);
    if (applied.length) log(`applied migrations: ${applied.join(', ')}`);
    const client = new PrismaClient({
      adapter: new PrismaPGlite(pglite),
      log: [{ level: 'query', emit: 'event' }],
    });
    return {
      client,
      kind: 'pglite',
      close: async () => {
        await client.$disconnect();
        await pglite.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

// PGlite is a single process's database: a second server on the same folder would corrupt it.
// The lock file appears whole (written aside, then linked or renamed into place), so a reader
// never sees it empty; a lock left by a dead process is taken over.
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(path.resolve(dataDir), '..', `${path.basename(path.resolve(dataDir))}.lock`);
  const draft = `${lockFile}.${process.pid}`;
  fs.writeFileSync(draft, String(process.pid));
  try {
    try {
      fs.linkSync(draft, lockFile); // fails if the lock exists
    } catch {
      const holder = Number(fs.readFileSync(lockFile, 'utf8'));
      if (holder && holder !== process.pid && isAlive(holder)) throw inUse(dataDir, holder);
      fs.renameSync(draft, lockFile);
      // Two processes taking over the same stale lock: the last rename wins, the other leaves.
      const winner = Number(fs.readFileSync(lockFile, 'utf8'));
      if (winner !== process.pid) throw inUse(dataDir, winner);
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
  return () => fs.rmSync(lockFile, { force: true });
}

function inUse(dataDir: string, pid: number): Error {
  return new Error(
    `DATA_DIR ${dataDir} is in use by process ${pid}; the embedded database allows one server at a time (set DATABASE_URL to run several)`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
