import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, diffMigrationsToSchema, migrationsDir } from '../src/db/migrate.js';

// Booting PGlite and the wasm engine takes seconds on a slow machine.
const SLOW = 90_000;

const migrationNames = (await readdir(migrationsDir, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('migrations on PGlite', () => {
  let pglite: PGlite;

  beforeAll(async () => {
    pglite = new PGlite();
    await pglite.waitReady;
  }, SLOW);

  afterAll(async () => {
    await pglite?.close();
  });

  it(
    'applies every migration once, then nothing',
    async () => {
      expect(migrationNames.length).toBeGreaterThan(0);
      expect((await applyMigrations({ kind: 'pglite', pglite })).applied).toEqual(migrationNames);
      expect((await applyMigrations({ kind: 'pglite', pglite })).applied).toEqual([]);

      const { rows } = await pglite.query<{ migration_name: string; finished_at: Date | null }>(
        'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(rows.map((row) => row.migration_name)).toEqual(migrationNames);
      expect(rows.every((row) => row.finished_at)).toBe(true);
    },
    SLOW,
  );

  it('creates the tables', async () => {
    const { rows } = await pglite.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(rows.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['User', 'Session', 'Space', 'Thread', 'Post', 'Revision', 'Reaction', 'Activity']),
    );
  });

  it('fills searchVector from title and body with a trigger, in English and Spanish', async () => {
    await pglite.exec(`
      INSERT INTO "User" ("email", "passwordHash", "displayName", "handle") VALUES ('ana@example.com', 'x', 'Ana', 'ana');
      INSERT INTO "Space" ("slug", "name", "updatedAt") VALUES ('general', 'General', now());
    `);
    const { rows } = await pglite.query<{ id: number; searchVector: string }>(
      `INSERT INTO "Thread" ("spaceId", "authorId", "title", "body", "updatedAt")
       SELECT s.id, u.id, 'Running shoes', 'Las zapatillas corriendo', now() FROM "Space" s, "User" u
       RETURNING id, "searchVector"::text AS "searchVector"`,
    );
    expect(rows[0]?.searchVector).toContain("'run':1A"); // English stem of the title
    expect(rows[0]?.searchVector).toContain("'zapatill':"); // Spanish stem of the body
    const hits = await pglite.query(
      `SELECT id FROM "Thread" WHERE "searchVector" @@ websearch_to_tsquery('spanish', 'zapatilla')`,
    );
    expect(hits.rows).toHaveLength(1);
  });

  it('rejects a reaction on two subjects (check constraint from the migration)', async () => {
    await expect(
      pglite.exec(`INSERT INTO "Reaction" ("userId", "threadId", "postId", "content") VALUES (1, 1, 1, 'HEART')`),
    ).rejects.toThrow(/Reaction_one_subject|violates/);
  });

  it('leaves the PGlite passed in open', async () => {
    expect(pglite.closed).toBe(false);
    expect((await pglite.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});

describe('start-up on an up-to-date database', () => {
  // A fresh process per step: the engine, once loaded, stays loaded for the process.
  const applyInChild = async (dataDir: string) => {
    const script = `
      import { PGlite } from '@electric-sql/pglite';
      import { applyMigrations, schemaEngineLoaded } from './src/db/migrate.ts';
      const pglite = new PGlite(${JSON.stringify(dataDir)});
      const { applied } = await applyMigrations({ kind: 'pglite', pglite });
      await pglite.close();
      console.log(JSON.stringify({ applied: applied.length, engineLoaded: schemaEngineLoaded() }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(migrationsDir, '../..'),
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { applied: number; engineLoaded: boolean };
  };

  it('applies pending migrations with the engine, then checks with one query and never loads it', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tertulia-migrated-'));
    try {
      const migrations = (await readdir(migrationsDir, { withFileTypes: true })).filter((entry) => entry.isDirectory());
      expect(await applyInChild(dataDir)).toEqual({ applied: migrations.length, engineLoaded: true });
      expect(await applyInChild(dataDir)).toEqual({ applied: 0, engineLoaded: false });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('prisma/migrations', () => {
  it('produce exactly prisma/schema.prisma', async () => {
    expect(await diffMigrationsToSchema()).toBe('');
  }, SLOW);
});

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)('migrations on PostgreSQL', () => {
  const name = `tertulia_migrate_${randomUUID().replace(/-/g, '')}`;
  let admin: pg.Client;
  let url: string;

  beforeAll(async () => {
    const adminUrl = new URL(databaseUrl!);
    adminUrl.pathname = '/postgres';
    admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const target = new URL(databaseUrl!);
    target.pathname = `/${name}`;
    url = target.toString();
  });

  afterAll(async () => {
    await admin?.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin?.end();
  });

  it(
    'applies each migration exactly once when three processes race',
    async () => {
      const results = await Promise.all([1, 2, 3].map(() => applyMigrations({ kind: 'postgres', url })));
      expect(results.flatMap((result) => result.applied).sort()).toEqual(migrationNames);

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ migration_name: string; finished_at: Date | null }>(
          'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name',
        );
        expect(rows.map((row) => row.migration_name)).toEqual(migrationNames);
        expect(rows.every((row) => row.finished_at)).toBe(true);
        // The dollar-quoted trigger functions survived (PrismaPg would have split them on ";").
        await client.query(`
          INSERT INTO "User" ("email", "passwordHash", "displayName", "handle") VALUES ('a@b.c', 'x', 'A', 'a_b');
          INSERT INTO "Space" ("slug", "name", "updatedAt") VALUES ('s', 'S', now());
          INSERT INTO "Thread" ("spaceId", "authorId", "title", "body", "updatedAt")
            SELECT s.id, u.id, 'Running', 'corriendo', now() FROM "Space" s, "User" u;
        `);
        const vector = await client.query<{ v: string }>(`SELECT "searchVector"::text AS v FROM "Thread"`);
        expect(vector.rows[0]?.v).toContain("'run':1A");
      } finally {
        await client.end();
      }

      expect((await applyMigrations({ kind: 'postgres', url })).applied).toEqual([]);
    },
    SLOW,
  );
});
