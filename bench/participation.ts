// Participation at size (issue 13): members(segment:) pages through the GraphQL API on
// PostgreSQL, over 100,000 members and 1,000,000 daily signal buckets seeded by SQL
// (generate_series) in a scratch database, against a baseline measured in the same run (a
// trivial `{ viewer { id } }` by the same staff member). Prints p50/p95/p99 per query and the
// plan of the CHAMPIONS statement. Loopback only; bounded to 5 minutes.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:participation [-- --requests 40]
//
// Also: leaderboard pages (all time from MemberStats, periods from the daily buckets) and the
// reputation recompute of every member after a rule change.
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { configureSegments, ensureSnapshot, segmentSettings } from '../src/modules/participation/segments.js';
import { ADMIN_URL, intOption, onCleanup, runBenchmark } from './harness.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '100000' }, requests: { type: 'string', default: '40' } } });
const USERS = intOption(values, 'users', 1000, 1_000_000);
const REQUESTS = intOption(values, 'requests', 5, 1000);
/** Days per member with signals; each is counted in space 1 and overall (space 0): 10 rows per member. */
const DAYS_PER_MEMBER = 5;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function measure(run: () => Promise<void>): Promise<{ p50: number; p95: number; p99: number }> {
  for (let i = 0; i < 3; i++) await run(); // warm
  const samples: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99) };
}

async function main(): Promise<void> {
  const name = `tertulia_bench_part_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  onCleanup(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  // Jobs off: the bench measures reads only.
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '4',
    SIGNALS_POLL_MS: '0', PEER_ROUTING_INTERVAL_MS: '0', MAX_QUERY_COST: '1000000',
  });
  const app = buildApp(config, createLogger(config.logLevel));
  const endpoint = await app.start();
  onCleanup(() => app.stop());
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  onCleanup(() => db.end());

  const seeding = performance.now();
  // Members joined over the last year; member 1 is the staff member who asks.
  await db.query(
    `INSERT INTO "User" ("email", "passwordHash", "displayName", "handle", "nameKey", "role", "createdAt")
     SELECT 'u' || i || '@bench.invalid', 'x', 'Member ' || i, 'm_' || i, 'member ' || i,
            CASE WHEN i = 1 THEN 'COMMUNITY_MANAGER'::"Role" ELSE 'MEMBER'::"Role" END, now() - (i % 365) * interval '1 day'
     FROM generate_series(1, $1::int) AS i`,
    [USERS],
  );
  await db.query(`INSERT INTO "Space" ("slug", "name", "updatedAt") VALUES ('bench', 'Bench', now())`);
  // DAYS_PER_MEMBER distinct days per member over the last 180, each in space 1 and overall.
  await db.query(
    `INSERT INTO "MemberActivityDay" ("userId", "spaceId", "day", "threads", "replies", "repliesRead", "reactionsGiven", "reactionsReceived", "acceptedAnswers", "firstRepliesToNewcomers")
     SELECT i, s, (current_date - ((i * 7 + k * 37) % 180))::date,
            CASE WHEN k = 1 AND i % 3 = 0 THEN 1 ELSE 0 END, (i + k) % 4, k % 2, (i + k) % 3, (i * k) % 5,
            CASE WHEN (i * k) % 23 = 0 THEN 1 ELSE 0 END, CASE WHEN (i + k) % 11 = 0 THEN 1 ELSE 0 END
     FROM generate_series(1, $1::int) AS i, generate_series(1, ${DAYS_PER_MEMBER}) AS k, (VALUES (0), (1)) AS sp(s)`,
    [USERS],
  );
  // Members who joined in the last 30 days were active on each of the last 4 days (NEW_AND_ACTIVE).
  await db.query(
    `INSERT INTO "MemberActivityDay" ("userId", "spaceId", "day", "repliesRead")
     SELECT i, s, current_date - k, 1 FROM generate_series(1, $1::int) AS i, generate_series(0, 3) AS k, (VALUES (0), (1)) AS sp(s)
     WHERE i % 365 < 30 ON CONFLICT DO NOTHING`,
    [USERS],
  );
  // Threads of recent members, half of them answered by someone else.
  await db.query(
    `INSERT INTO "Thread" ("spaceId", "authorId", "title", "body", "updatedAt", "createdAt")
     SELECT 1, 1 + (g * 13) % $1::int, 'T' || g, 'B', now(), now() - (g % 20) * interval '1 day' FROM generate_series(1, 20000) g`,
    [USERS],
  );
  await db.query(`INSERT INTO "Post" ("threadId", "authorId", "body", "updatedAt") SELECT g, 1 + (g * 17) % $1::int, 'p', now() FROM generate_series(1, 20000, 2) g`, [USERS]);
  const token = randomBytes(24).toString('base64url');
  await db.query(`INSERT INTO "Session" ("tokenHash", "userId", "expiresAt") VALUES ($1, 1, now() + interval '1 day')`, [createHash('sha256').update(token).digest('hex')]);
  // Every member's all-time totals, as the signals job keeps them (MemberStats), with reputation
  // under the default rules (version 1, the migration's row).
  await db.query(
    `INSERT INTO "MemberStats" ("userId", "daysActive", "threads", "replies", "repliesRead", "reactionsGiven", "reactionsReceived",
                                "acceptedAnswers", "firstRepliesToNewcomers", "reputation", "rulesVersion", "score")
     SELECT "userId", count(*), sum("threads"), sum("replies"), sum("repliesRead"), sum("reactionsGiven"), sum("reactionsReceived"),
            sum("acceptedAnswers"), sum("firstRepliesToNewcomers"),
            15 * sum("acceptedAnswers") + sum("reactionsReceived") + 2 * sum("firstRepliesToNewcomers"), 1,
            sum("replies" + "threads" + "reactionsGiven")
     FROM "MemberActivityDay" WHERE "spaceId" = 0 GROUP BY "userId"`,
  );
  await db.query('VACUUM ANALYZE');
  const buckets = (await db.query(`SELECT count(*)::int AS n FROM "MemberActivityDay"`)).rows[0].n as number;
  console.log(`seeded ${USERS} members, ${buckets} daily buckets, 20,000 threads in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);

  const post = async (query: string, check: (data: Record<string, unknown>) => void) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    const result = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
    if (!result.data || result.errors) throw new Error(JSON.stringify(result).slice(0, 500));
    check(result.data);
  };

  // Recomputing a space's segment rows (what the first read after SEGMENT_REFRESH_SECONDS does).
  configureSegments({ ...segmentSettings(), refreshSeconds: 3600 });
  for (const space of [0, 1]) {
    const started = performance.now();
    await ensureSnapshot(space, new Date());
    const entries = (await db.query(`SELECT count(*)::int AS n FROM "MemberSegmentEntry" WHERE "spaceId" = $1`, [space])).rows[0].n as number;
    console.log(`recomputed the segment rows of ${space === 0 ? 'overall' : 'space 1'}: ${entries} rows in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  }

  const rows: string[] = [];
  const row = (label: string, r: { p50: number; p95: number; p99: number }) => {
    rows.push(`| ${label} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} |`);
    console.log(rows.at(-1));
  };
  row('baseline `{ viewer { id } }`', await measure(() => post('{ viewer { id } }', (d) => void (d.viewer as { id: string }).id)));
  for (const segment of ['CHAMPIONS', 'RISING', 'DRIFTING', 'NEW_AND_ACTIVE', 'NEWCOMERS_UNANSWERED']) {
    const query = `{ members(segment: ${segment}, first: 20) { edges { node { user { id displayName } reasons { signal value } } } pageInfo { endCursor } } }`;
    let cursor = '';
    row(`members(segment: ${segment}, first: 20), overall`, await measure(() =>
      post(query, (d) => {
        const page = d.members as { edges: unknown[]; pageInfo: { endCursor: string } };
        if (page.edges.length !== 20) throw new Error(`${segment}: ${page.edges.length} members`);
        cursor = page.pageInfo.endCursor;
      }),
    ));
    const next = `{ members(segment: ${segment}, first: 20, after: "${cursor}") { edges { node { user { id } reasons { value } } } } }`;
    row(`  its second page`, await measure(() => post(next, () => undefined)));
  }
  const spaceId = Buffer.from('Space:1').toString('base64');
  const inSpace = `{ members(segment: CHAMPIONS, spaceId: "${spaceId}", first: 20) { edges { node { user { id } reasons { value } } } } }`;
  row('members(segment: CHAMPIONS, spaceId, first: 20)', await measure(() => post(inSpace, () => undefined)));
  const experts = `{ node(id: "${spaceId}") { ... on Space { experts(first: 10) { user { id } acceptedAnswers score } } } }`;
  row('Space.experts(first: 10)', await measure(() => post(experts, () => undefined)));

  for (const [label, args] of [
    ['leaderboard(period: ALL, metric: REPUTATION), overall', 'period: ALL, metric: REPUTATION'],
    ['leaderboard(period: ALL, metric: ACCEPTED_ANSWERS), overall', 'period: ALL, metric: ACCEPTED_ANSWERS'],
    ['leaderboard(period: MONTH, metric: ACCEPTED_ANSWERS), overall', 'period: MONTH, metric: ACCEPTED_ANSWERS'],
    ['leaderboard(period: QUARTER, metric: REPUTATION, spaceId)', `period: QUARTER, metric: REPUTATION, spaceId: "${spaceId}"`],
  ]) {
    const board = `{ leaderboard(${args}, first: 20) { edges { node { rank value user { id displayName } } } pageInfo { endCursor } } }`;
    row(`${label}, first: 20`, await measure(() => post(board, (d) => {
      if ((d.leaderboard as { edges: unknown[] }).edges.length !== 20) throw new Error(`${label}: not a full page`);
    })));
  }

  // A rule change: every member's reputation recomputed (in batches of 1,000, one statement each)
  // before updateReputationRules answers.
  const changing = performance.now();
  await post('mutation { updateReputationRules(input: { acceptedAnswer: 20 }) { __typename } }', () => undefined);
  const stale = (await db.query(`SELECT count(*)::int AS n FROM "MemberStats" WHERE "rulesVersion" < 2`)).rows[0].n as number;
  console.log(`updateReputationRules: ${USERS} members recomputed in ${((performance.now() - changing) / 1000).toFixed(2)} s (${stale} left under the old rules)`);

  // The plan of the statement behind a CHAMPIONS page (as segments.ts sends it).
  const plan = await db.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT e."userId", e."rank", e."a", e."b" FROM "MemberSegmentEntry" e
    WHERE e."segment" = 'CHAMPIONS' AND e."spaceId" = 0 ORDER BY e."rank" DESC, e."userId" LIMIT 21`);
  console.log(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'));
  console.log(`\n| request (${REQUESTS} sequential, after 3 warm-up) | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|\n${rows.join('\n')}`);
}

await runBenchmark(main, 300_000);
