// Read state on PostgreSQL at size: the plans and times of the two reads that serve unread
// counts (readStates: a page of 20 threads) and threads(filter: {unread: true}) (unreadThreadIds),
// over a scratch database seeded by SQL. Prints EXPLAIN (ANALYZE, BUFFERS) and median times
// against the same count done without the index (a baseline measured in the same run).
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/read-state.ts
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyMigrations } from '../src/db/migrate.js';

const base = process.env.DATABASE_URL;
if (!base) throw new Error('Set DATABASE_URL to a PostgreSQL server (a scratch database is created and dropped)');
const THREADS = 2_000;
const BIG_THREAD_POSTS = 20_000;
const POSTS_PER_THREAD = 10;
const READERS = 200;

const name = `tertulia_bench_rs_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`CREATE DATABASE "${name}"`);
const url = new URL(base);
url.pathname = `/${name}`;
const db = new pg.Client({ connectionString: url.toString() });
try {
  await applyMigrations({ kind: 'postgres', url: url.toString() });
  await db.connect();
  await db.query(`INSERT INTO "User" (email, "passwordHash", "displayName") SELECT 'u' || g || '@example.com', 'x', 'U' || g FROM generate_series(1, ${READERS}) g`);
  await db.query(`INSERT INTO "Space" (slug, name, "updatedAt") VALUES ('bench', 'Bench', now())`);
  await db.query(`INSERT INTO "Thread" ("spaceId", "authorId", title, body, "updatedAt") SELECT 1, 1 + g % ${READERS}, 'T' || g, 'B', now() FROM generate_series(1, ${THREADS}) g`);
  // Thread 1 is huge; the others have a few replies each, some removed.
  await db.query(`INSERT INTO "Post" ("threadId", "authorId", body, "updatedAt") SELECT 1, 1 + g % ${READERS}, 'p', now() FROM generate_series(1, ${BIG_THREAD_POSTS}) g`);
  await db.query(`INSERT INTO "Post" ("threadId", "authorId", body, "updatedAt", "moderationStatus")
    SELECT t, 1 + (t * 7 + g) % ${READERS}, 'p', now(), CASE WHEN g = 3 THEN 'REMOVED'::"ModerationStatus" ELSE 'VISIBLE' END
    FROM generate_series(2, ${THREADS}) t, generate_series(1, ${POSTS_PER_THREAD}) g`);
  // Reader 2 opened every thread, read half of each (thread 1: its first 100 posts).
  await db.query(`INSERT INTO "ThreadRead" ("userId", "threadId", "lastReadPostId")
    SELECT 2, t, (SELECT min(id) + CASE WHEN t = 1 THEN 99 ELSE 4 END FROM "Post" WHERE "threadId" = t) FROM generate_series(1, ${THREADS}) t`);
  await db.query('VACUUM ANALYZE');

  const pageIds = Array.from({ length: 20 }, (_, i) => i + 1);
  const readStates = {
    text: `SELECT t."id" AS "threadId", r."lastReadPostId", r."readAt",
      (SELECT count(*)::int FROM "Post" p WHERE p."threadId" = t."id" AND p."id" > coalesce(r."lastReadPostId", 0)
        AND p."authorId" <> $1 AND p."moderationStatus" = ANY($3::text[]::"ModerationStatus"[])) AS "unreadCount"
      FROM unnest($2::int[]) AS t("id") LEFT JOIN "ThreadRead" r ON r."threadId" = t."id" AND r."userId" = $1`,
    values: [2, pageIds, ['VISIBLE', 'HIDDEN']],
  };
  const unreadIds = {
    text: `SELECT r."threadId" FROM "ThreadRead" r CROSS JOIN LATERAL (
      SELECT 1 FROM "Post" p WHERE p."threadId" = r."threadId" AND p."id" > coalesce(r."lastReadPostId", 0)
        AND p."authorId" <> $1 AND p."moderationStatus" = ANY($2::text[]::"ModerationStatus"[]) ORDER BY p."id" LIMIT 1) AS unread
      WHERE r."userId" = $1`,
    values: [2, ['VISIBLE', 'HIDDEN']],
  };
  async function median(query: { text: string; values: unknown[] }, runs = 30): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = process.hrtime.bigint();
      await db.query(query);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(runs / 2)];
  }
  for (const [label, query] of [['readStates (page of 20 threads, thread 1 with 19,900 unread)', readStates], ['unreadThreadIds (2,000 read marks)', unreadIds]] as const) {
    const plan = await db.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${query.text}`, values: query.values });
    console.log(`\n== ${label}\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
    console.log(`median of 30: ${(await median(query)).toFixed(2)} ms`);
  }
  // Baseline: the same page's counts with index scans off (a sequential scan of Post).
  await db.query('SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off');
  console.log(`\nbaseline, readStates with index scans off: median of 10 ${(await median(readStates, 10)).toFixed(2)} ms`);
} finally {
  await db.end().catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}
