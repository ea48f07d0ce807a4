// Creates and applies Prisma Migrate migrations with Prisma's WebAssembly schema engine
// (@prisma/schema-engine-wasm) over driver adapters, so no native engine binary is needed.
// `_prisma_migrations` is written by the engine itself, exactly as `prisma migrate deploy` does.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
// The engine's JS glue and its 3 MB of WebAssembly are loaded only when a migration is pending
// (or for create/check): a start on an up-to-date database costs one query (isUpToDate).
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

type MigrationTarget = { kind: 'pglite'; pglite: PGlite } | { kind: 'postgres'; url: string };

// Found by walking up from this module, so the same code finds them from src/db/ (tsx) and from
// the compiled dist/main.js.
const prismaDir = findPrismaDir(path.dirname(fileURLToPath(import.meta.url)));
export const migrationsDir = path.join(prismaDir, 'migrations');
const schemaPath = path.join(prismaDir, 'schema.prisma');

function findPrismaDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'prisma', 'schema.prisma'))) return path.join(dir, 'prisma');
    if (path.dirname(dir) === dir) throw new Error(`prisma/schema.prisma not found above ${from}`);
  }
}
export const LOCKFILE = 'migration_lock.toml';
const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

// Our own session lock, taken before the engine starts. It must differ from the engine's own key
// (72707369, taken on the adapter's connection): the same key on two sessions would deadlock.
const MIGRATION_LOCK_KEY = '7270736901';

/**
 * Applies the pending migrations in prisma/migrations and returns their names (empty when the
 * database is up to date). A PGlite passed in stays open: it belongs to the caller.
 */
export async function applyMigrations(
  target: MigrationTarget,
  log: (msg: string) => void = () => {},
): Promise<{ applied: string[] }> {
  const migrationsList = await readMigrations();
  const run = async (factory: TrackingFactory) =>
    withEngine(factory, await readFile(schemaPath, 'utf8'), log, async (engine) => {
      const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTERS });
      return { applied: appliedMigrationNames };
    });

  if (target.kind === 'pglite') {
    if (await isUpToDate(migrationsList, async (sql) => (await target.pglite.query<AppliedMigration>(sql)).rows)) return { applied: [] };
    return run(pgliteFactory(target.pglite));
  }

  const lockClient = new pg.Client({ connectionString: target.url });
  lockClient.on('error', (error) => log(`migration lock connection error: ${error.message}`));
  await lockClient.connect();
  try {
    if (await isUpToDate(migrationsList, async (sql) => (await lockClient.query<AppliedMigration>(sql)).rows)) return { applied: [] };
    const { rows } = await lockClient.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [MIGRATION_LOCK_KEY],
    );
    if (!rows[0]?.locked) {
      log('another process is applying migrations; waiting for it');
      await lockClient.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
    // max 1: the engine's own advisory lock and every statement then share one session, as with
    // the native engine. The pool is ended (dropping that lock) before our lock is released.
    return await run(postgresFactory(new PrismaPg({ connectionString: target.url, max: 1 })));
  } finally {
    // Ending the session releases the lock even if the unlock itself fails.
    await lockClient.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await lockClient.end().catch(() => {});
  }
}

/**
 * The SQL that takes a database built by prisma/migrations to prisma/schema.prisma; '' when they
 * match. The migrations are replayed on a throwaway in-memory PGlite, so no server is needed.
 */
export async function diffMigrationsToSchema(): Promise<string> {
  const [migrationsList, schema] = await Promise.all([readMigrations(), readFile(schemaPath, 'utf8')]);
  // Before the first migration there is no lockfile, but the engine needs one to pick the connector.
  migrationsList.lockfile.content ??= lockfileContent('postgresql');
  const pglite = new PGlite();
  try {
    // The engine only replays migrations on the shadow database here, so the main connection can
    // share the same instance: booting a second PGlite would cost seconds.
    const factory = pgliteFactory(pglite, async () => pgliteAdapter(pglite));
    const script = await withEngine(factory, schema, () => {}, async (engine) => {
      const { stdout } = await engine.diff({
        from: { tag: 'migrations', ...migrationsList },
        to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
        script: true,
        exitCode: null,
        filters: NO_FILTERS,
      });
      return stdout ?? '';
    });
    // In sync, the engine answers with a comment ("-- This is an empty migration.").
    return hasStatements(script) ? script : '';
  } finally {
    await pglite.close();
  }
}

/** The migration_lock.toml Prisma Migrate writes. */
export function lockfileContent(provider: string): string {
  return `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider}"\n`;
}

type AppliedMigration = { migration_name: string; checksum: string };

/**
 * True when every migration in the folder is recorded as applied with the same checksum (the
 * SHA-256 of its migration.sql, as Prisma Migrate records it): one query, no engine. Anything
 * else (a pending, failed or edited migration, no table yet) is left to the engine to apply or
 * to report.
 */
async function isUpToDate(list: MigrationList, query: (sql: string) => Promise<AppliedMigration[]>): Promise<boolean> {
  let rows: AppliedMigration[];
  try {
    rows = await query(
      'SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
  } catch {
    return false;
  }
  const applied = new Map(rows.map((row) => [row.migration_name, row.checksum]));
  return list.migrationDirectories.every(
    ({ path: name, migrationFile }) =>
      migrationFile.content.tag === 'ok' &&
      applied.get(name) === createHash('sha256').update(migrationFile.content.value).digest('hex'),
  );
}

function hasStatements(sql: string): boolean {
  return sql.replace(/--[^\n]*/g, '').trim().length > 0;
}

// Reads the folder the way the Prisma CLI does before handing it to the engine.
async function readMigrations(): Promise<MigrationList> {
  const lockContent = await readFile(path.join(migrationsDir, LOCKFILE), 'utf8').catch(() => null);
  const lockfile = { path: LOCKFILE, content: lockContent };
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (error: Error) => ({ tag: 'error' as const, value: error.message }),
        ),
      },
    })),
  );
  return { baseDir: migrationsDir, lockfile, shadowDbInitScript: '', migrationDirectories };
}

// ---------------------------------------------------------------------------------------------
// The wasm engine

type Bindings = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');
type PanicRegistry = { message: string; set_message(message: string): void };
declare global {
  // Set by the engine's panic hook (wasm-bindgen calls `global.PRISMA_WASM_PANIC_REGISTRY`).
  var PRISMA_WASM_PANIC_REGISTRY: PanicRegistry | undefined;
}

let bindingsPromise: Promise<Bindings> | undefined;
let panicked: string | undefined;

// The wasm-bindgen "bundler" build expects a bundler to link the .wasm; in Node we do it. The JS
// glue keeps module-level state, so the module is instantiated once per process.
function loadEngine(): Promise<Bindings> {
  bindingsPromise ??= (async () => {
    globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
      message: '',
      set_message(message: string) {
        this.message = message;
      },
    };
    const engineBindings: Bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(glue.replace(/\.js$/, '.wasm'));
    const imports: WebAssembly.ModuleImports = { ...engineBindings };
    // applyMigrations arms a 10 s timer (its advisory-lock timeout) that it never clears, which
    // would keep the process alive for 10 s after the work is done: unref the engine's timers.
    for (const [name, value] of Object.entries(imports)) {
      if (!name.startsWith('__wbg_setTimeout_') || typeof value !== 'function') continue;
      const setTimer = value as (callback: () => void, ms: number) => NodeJS.Timeout;
      imports[name] = (callback: () => void, ms: number) => setTimer(callback, ms).unref();
    }
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': imports });
    engineBindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as (() => void) | undefined)?.();
    return engineBindings;
  })().catch((error: unknown) => {
    bindingsPromise = undefined;
    throw error;
  });
  return bindingsPromise;
}

/** Whether this process has loaded the schema engine (tests check that an up-to-date start does not). */
export const schemaEngineLoaded = (): boolean => bindingsPromise !== undefined;

async function withEngine<T>(
  factory: TrackingFactory,
  schema: string,
  log: (msg: string) => void,
  use: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  // After a Rust panic the wasm instance is in an undefined state and cannot be re-instantiated
  // (the JS glue caches views of its memory), so refuse rather than misbehave.
  if (panicked) throw new Error(`The schema engine panicked earlier in this process: ${panicked}`);
  const { SchemaEngine } = await loadEngine();
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngine.new(
      { datamodels: [[schemaPath, schema]] },
      (line: string) => forwardEngineLog(line, log),
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    return await use(engine);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) {
      panicked = globalThis.PRISMA_WASM_PANIC_REGISTRY?.message || error.message;
      throw new Error(`The schema engine panicked: ${panicked}`, { cause: error });
    }
    throw error;
  } finally {
    engine?.free();
    // The engine disposes the shadow connections it opens, but never the main one.
    await factory.disposeAll();
  }
}

// The engine writes one JSON object per line (tracing's JSON format, INFO and above).
function forwardEngineLog(line: string, log: (msg: string) => void): void {
  const text = line.trim();
  if (!text) return;
  try {
    const { level, fields } = JSON.parse(text) as { level?: string; fields?: { message?: string } };
    const message = fields?.message ?? text;
    log(level && level !== 'INFO' ? `schema-engine ${level}: ${message}` : `schema-engine: ${message}`);
  } catch {
    log(`schema-engine: ${text}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Driver adapters

/** Hands out adapters and remembers them, so every connection can be closed afterwards. */
class TrackingFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  private readonly open = new Set<SqlDriverAdapter>();

  constructor(
    readonly adapterName: string,
    private readonly openMain: () => Promise<SqlDriverAdapter>,
    private readonly openShadow: () => Promise<SqlDriverAdapter>,
  ) {}

  connect(): Promise<SqlDriverAdapter> {
    return this.openMain().then((adapter) => this.track(adapter));
  }

  connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.openShadow().then((adapter) => this.track(adapter));
  }

  async disposeAll(): Promise<void> {
    await Promise.all([...this.open].map((adapter) => adapter.dispose()));
  }

  private track(adapter: SqlDriverAdapter): SqlDriverAdapter {
    let disposed: Promise<void> | undefined;
    const tracked: SqlDriverAdapter = {
      provider: adapter.provider,
      adapterName: adapter.adapterName,
      queryRaw: (query) => adapter.queryRaw(query),
      executeRaw: (query) => adapter.executeRaw(query),
      executeScript: (script) => adapter.executeScript(script),
      startTransaction: (isolationLevel) => adapter.startTransaction(isolationLevel),
      // Once only: the engine disposes shadow connections itself, and disposing a PrismaPg shadow
      // connection twice would try to drop its database twice.
      dispose: () => {
        this.open.delete(tracked);
        disposed ??= adapter.dispose();
        return disposed;
      },
    };
    if (adapter.getConnectionInfo) tracked.getConnectionInfo = () => adapter.getConnectionInfo!();
    this.open.add(tracked);
    return tracked;
  }
}

// Both adapters' executeScript are unfit for migration scripts: pglite-prisma-adapter does not
// await `exec` (a failing script would be recorded as applied and crash the process with an
// unhandled rejection), and @prisma/adapter-pg splits the script on every ";", which breaks
// dollar-quoted function bodies and applies a script statement by statement. Sending the whole
// script as one simple-protocol query, as the native engine does, also makes it run atomically.
function withScriptRunner(
  adapter: SqlDriverAdapter,
  runScript: (script: string) => Promise<unknown>,
  dispose: () => Promise<void> = () => adapter.dispose(),
): SqlDriverAdapter {
  return {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (query) => adapter.queryRaw(query),
    executeRaw: (query) => adapter.executeRaw(query),
    startTransaction: (isolationLevel) => adapter.startTransaction(isolationLevel),
    getConnectionInfo: () => adapter.getConnectionInfo?.() ?? { supportsRelationJoins: true },
    executeScript: async (script) => {
      try {
        await runScript(script);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    },
    dispose,
  };
}

// As DriverAdapterErrors, database errors reach the engine (and `_prisma_migrations.logs`) with
// their PostgreSQL message, as the adapters' own query errors do.
function toDriverAdapterError(error: unknown): unknown {
  const e = error as {
    code?: unknown;
    message?: unknown;
    severity?: string;
    detail?: string;
    column?: string;
    hint?: string;
  };
  if (typeof e?.code !== 'string' || typeof e.message !== 'string') return error;
  return new DriverAdapterError({
    kind: 'postgres',
    code: e.code,
    severity: e.severity ?? 'ERROR',
    message: e.message,
    detail: e.detail,
    column: e.column,
    hint: e.hint,
    originalCode: e.code,
    originalMessage: e.message,
  });
}

async function pgliteAdapter(pglite: PGlite, dispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
  // PrismaPGlite's adapter never closes the PGlite it wraps (dispose is a no-op).
  const adapter = await new PrismaPGlite(pglite).connect();
  return withScriptRunner(adapter, (script) => pglite.exec(script), dispose);
}

function pgliteFactory(
  pglite: PGlite,
  // PrismaPGlite's own connectToShadowDb leaks a PGlite it never closes; ours closes it.
  openShadow: () => Promise<SqlDriverAdapter> = async () => {
    const shadow = new PGlite();
    return pgliteAdapter(shadow, () => shadow.close());
  },
): TrackingFactory {
  return new TrackingFactory(new PrismaPGlite(pglite).adapterName, () => pgliteAdapter(pglite), openShadow);
}

function postgresFactory(factory: PrismaPg): TrackingFactory {
  const fix = (adapter: Awaited<ReturnType<PrismaPg['connect']>>) =>
    withScriptRunner(adapter, (script) => adapter.underlyingDriver().query(script));
  return new TrackingFactory(
    factory.adapterName,
    async () => fix(await factory.connect()),
    async () => fix(await factory.connectToShadowDb()),
  );
}
