// Benchmark: a reply in a thread watched by 10,000 members (issue 12, "Performance").
//
//   npm run bench:notifications [-- --watchers 10000 --rounds 10]
//
// PostgreSQL only (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, the admin
// connection): a fresh database is created next to it and dropped at the end.
//
// The app runs in this process (buildApp, as the tests start it), so every SQL statement it sends
// is counted (db/client.ts onQuery); this driver polls with a pg client of its own, which is not.
// Each round, in the same run and alternately:
//   quiet     a reply in a thread only its author watches: the baseline reply latency
//   watched   a reply in a thread `watchers` members watch (seeded by SQL), then the time until the
//             last watcher's notification is written (fan-out after commit, in batches), and the
//             statements the app sent meanwhile, per notification
// Between rounds every notification is marked read, so each watched reply writes new rows (the
// grouped, update-in-place case is cheaper: no index entries for a new row).
import { parseArgs } from 'node:util';
import { decodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { onQuery } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import {
  createDatabase,
  CREATE_SPACE,
  CREATE_THREAD,
  f1,
  f2,
  intOption,
  machineDescription,
  mutate,
  onCleanup,
  percentile,
  REPLY,
  runBenchmark,
  signUp,
  table,
} from './harness.js';

const { values: opts } = parseArgs({
  options: {
    watchers: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    batch: { type: 'string', default: '1000' },
  },
});
const WATCHERS = intOption(opts, 'watchers', 1, 1_000_000);
const ROUNDS = intOption(opts, 'rounds', 1, 1000);
const WARMUP = intOption(opts, 'warmup', 0, 100);
const BATCH = intOption(opts, 'batch', 1, 50_000);

const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);

async function main() {
  const db = await createDatabase();
  const config = loadConfig({
    DATABASE_URL: db.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NOTIFICATION_BATCH_SIZE: String(BATCH),
  });
  const app = buildApp(config, createLogger(config.logLevel));
  const url = await app.start();
  onCleanup(() => app.stop());
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  onCleanup(() => client.end());

  const admin = await signUp(url, 'Admin', db.url);
  const author = await signUp(url, 'Author', db.url);
  const replier = await signUp(url, 'Replier', db.url);
  const space = await mutate(url, 'createSpace', 'SpacePayload', CREATE_SPACE, { name: 'Busy', slug: 'busy' }, admin.token);
  const thread = async (title: string) =>
    (await mutate(url, 'createThread', 'ThreadPayload', CREATE_THREAD, { spaceId: space.space.id, title, body: 'Body' }, author.token)).thread.id as string;
  const watched = await thread('Watched by everyone');
  const quiet = await thread('Watched by its author only');

  const seeded = performance.now();
  await client.query(
    `INSERT INTO "User" ("email", "passwordHash", "displayName")
     SELECT 'watcher-' || g || '@bench.example', 'not a hash', 'Watcher ' || g FROM generate_series(1, $1::int) g`,
    [WATCHERS],
  );
  await client.query(
    `INSERT INTO "ThreadSubscription" ("userId", "threadId", "level", "reason", "updatedAt")
     SELECT "id", $1::int, 'WATCHING', 'CHOSE', now() FROM "User" WHERE "email" LIKE 'watcher-%@bench.example'`,
    [rowId(watched)],
  );
  await client.query('ANALYZE');
  console.error(`seeded ${WATCHERS} watchers in ${f1((performance.now() - seeded) / 1000)} s`);

  const reply = async (threadId: string) => {
    const started = performance.now();
    const payload = await mutate(url, 'replyToThread', 'PostPayload', REPLY, { threadId, body: 'A reply' }, replier.token);
    return { ms: performance.now() - started, postId: rowId(payload.post.id), sentAt: started };
  };
  /** Waits until the fan-out has read the whole log; resolves with when it saw that. */
  const settled = async () => {
    for (;;) {
      const { rows } = await client.query(
        `SELECT (SELECT COALESCE(max("id"), 0) FROM "Activity") > c."activityId" OR c."afterUserId" > 0 AS "behind" FROM "NotificationCursor" c`,
      );
      if (!rows[0].behind) return performance.now();
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const readAll = () => client.query(`UPDATE "Notification" SET "readAt" = now(), "groupKey" = NULL WHERE "readAt" IS NULL`);

  for (let i = 0; i < WARMUP; i++) {
    await reply(quiet);
    await reply(watched);
    await settled();
    await readAll();
  }

  const quietMs: number[] = [];
  const watchedMs: number[] = [];
  const fanOutMs: number[] = [];
  const perNotification: number[] = [];
  const statementCounts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    quietMs.push((await reply(quiet)).ms);
    await settled();
    let statements = 0;
    const stop = onQuery(() => statements++, { background: true });
    const sent = await reply(watched);
    const done = await settled();
    stop();
    watchedMs.push(sent.ms);
    fanOutMs.push(done - sent.sentAt);
    const { rows } = await client.query(
      `SELECT count(*)::int AS "n" FROM "Notification" n JOIN "Activity" a ON a."id" = n."lastActivityId"
       WHERE a."kind" = 'POST_CREATED' AND a."subjectId" = $1`,
      [sent.postId],
    );
    if (rows[0].n !== WATCHERS + 1) throw new Error(`expected ${WATCHERS + 1} notifications (watchers and the author), found ${rows[0].n}`);
    perNotification.push(statements / rows[0].n);
    statementCounts.push(statements);
    await readAll();
  }

  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const [q, w, f] = [sorted(quietMs), sorted(watchedMs), sorted(fanOutMs)];
  console.log(`notifications fan-out: ${WATCHERS} watchers, ${ROUNDS} rounds, batch ${BATCH}; ${await machineDescription()}`);
  console.log(
    table(
      ['measure', 'median', 'p95', 'min', 'max'],
      [
        ['reply, thread its author alone watches (ms)', f1(percentile(q, 50)), f1(percentile(q, 95)), f1(q[0]), f1(q[q.length - 1])],
        [`reply, ${WATCHERS} watchers (ms)`, f1(percentile(w, 50)), f1(percentile(w, 95)), f1(w[0]), f1(w[w.length - 1])],
        ['fan-out, reply sent -> last notification (ms)', f1(percentile(f, 50)), f1(percentile(f, 95)), f1(f[0]), f1(f[f.length - 1])],
      ],
    ),
  );
  console.log(`reply latency ratio 10,000 watchers / 1 watcher (medians): ${f2(percentile(w, 50) / percentile(q, 50))}`);
  const median = percentile(sorted(statementCounts), 50);
  console.log(
    `SQL statements from the reply to the last notification (median round): ${median} for ${WATCHERS + 1} notifications, ` +
      `${(percentile(sorted(perNotification), 50)).toFixed(4)} per notification`,
  );
  console.log(`notifications per second of fan-out (median round): ${Math.round((WATCHERS + 1) / (percentile(f, 50) / 1000))}`);
}

void runBenchmark(main, 30 * 60_000);
