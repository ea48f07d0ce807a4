import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations } from './migrate.js';

export type Db = PrismaClient;
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

type QueryEvents = { $on(event: 'query', cb: (event: { query: string }) => void): void };

type OpenDatabase = {
  client: PrismaClient;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
};

// The process-wide client. Opened once by buildApp (or a script) before anything queries.
let current: OpenDatabase | undefined;
const queryListeners = new Set<(sql: string) => void>();

export function prisma(): PrismaClient {
  if (!current) throw new Error('The database is not open: call openDatabase() first');
  return current.client;
}

export function databaseKind(): 'pglite' | 'postgres' {
  return current?.kind ?? 'pglite';
}

/** Calls `listener` with each SQL statement Prisma sends; returns an unsubscribe function. */
export function onQuery(listener: (sql: string) => void): () => void {
  queryListeners.add(listener);
  return () => queryListeners.delete(listener);
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
    for (const listener of queryListeners) listener(event.query);
  });
  await opened.client.$connect();
  current = opened;
}

export async function closeDatabase(): Promise<void> {
  const open = current;
  current = undefined;
  await open?.close();
}

async function openPostgres(url: string, max: number, log: (msg: string) => void): Promise<OpenDatabase> {
  const { applied } = await applyMigrations({ kind: 'postgres', url }, log);
  if (applied.length) log(`applied migrations: ${applied.join(', ')}`);
  const client = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max }),
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
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(path.resolve(dataDir), '..', `${path.basename(path.resolve(dataDir))}.lock`);
  try {
    fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(fs.readFileSync(lockFile, 'utf8'));
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `DATA_DIR ${dataDir} is in use by process ${holder}; the embedded database allows one server at a time (set DATABASE_URL to run several)`,
      );
    }
    fs.writeFileSync(lockFile, String(process.pid));
  }
  return () => fs.rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
