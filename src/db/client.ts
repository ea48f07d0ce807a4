import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations } from './migrate.js';

export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

type QueryEvents = { $on(event: 'query', cb: (event: { query: string }) => void): void };

type OpenDatabase = {
  client: PrismaClient;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
};

// The process-wide client. Opened once by buildApp (or a script) before anything queries.
let current: OpenDatabase | undefined;
type QueryListener = { hear(sql: string): void; background: boolean };
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

/**
 * Calls `listener` with each SQL statement Prisma sends (with `background`, those of jobs run
 * through inBackground too); returns an unsubscribe function.
 */
export function onQuery(listener: (sql: string) => void, options: { background?: boolean } = {}): () => void {
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
    for (const listener of queryListeners) if (listener.background || !background) listener.hear(event.query);
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
  const client = new PrismaClient({
    // A database host that went silent must fail requests, not hold them: pg waits forever for
    // a new connection by default.
    adapter: new PrismaPg({ connectionString: url, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }),
    log: [{ level: 'query', emit: 'event' }],
  });
  return { client, kind: 'postgres', close: () => client.$disconnect() };
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
