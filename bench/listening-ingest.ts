// Benchmark: mentions ingested per second through the listening webhook (issue 6), with full
// processing, against the same rows inserted raw in the same run.
//
//   npm run bench:listening [-- --mentions 20000 --batch 100 --concurrency 4 --rounds 2]
//
// PostgreSQL only (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, the admin
// connection: a fresh database is created next to it and dropped at the end). The app migrates it;
// an admin, three tracked brands and one WEBHOOK source per run are made through the public API.
//
// Targets, measured alternately (A B A B ...), each into a source of its own, with the same corpus
// (bench/listening-corpus.ts), batch size and concurrency:
//   webhook   the real app (bench/server.ts, its own process): each batch signed and POSTed to
//             /ingest/mentions (signature check, JSON, validation, language, sentiment, brand
//             matching, then Prisma: createManyAndReturn + createMany in one transaction)
//   raw       the rows the app would store, computed before the clock starts with the app's own
//             prepareMentions, inserted from this process with `pg`: one transaction per batch,
//             INSERT ... ON CONFLICT DO NOTHING RETURNING into "Mention", then "MentionBrand"
//             (the search-vector trigger stays on)
// Bodies and signatures are made before the clock starts too, so the sender only sends (stamped
// with that moment: a run must end within the server's WEBHOOK_TOLERANCE_SECONDS, 300 s, or its
// late batches are refused with 401 and reported as failures).
// Then, outside the measured runs: the same batches again to the same sources (all duplicates),
// one webhook run under the V8 profiler, and each processing step timed in this process.
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import type { Prisma } from '../src/generated/prisma/client.js';
import { analyzeSentiment, detectLanguage } from '../src/modules/listening/analysis.js';
import { brandMatcher, type BrandMatcher } from '../src/modules/listening/brands.js';
import { prepareMentions, type MentionInput } from '../src/modules/listening/ingest.js';
import { foldText } from '../src/text.js';
import { signatureHeaders, signatureMatches } from '../src/webhooks.js';
import { attribute, type Frame, readProfile } from './cpuprofile-summary.js';
import {
  type Child,
  cpuMark,
  type CpuMark,
  cpuSince,
  type CpuSpent,
  createDatabase,
  f1,
  f2,
  intOption,
  machineDescription,
  mutate,
  NODE_ENV,
  onCleanup,
  percentile,
  PROFILE_DIR,
  ROOT,
  runBenchmark,
  signUp,
  startChild,
  table,
  withAdmin,
} from './harness.js';
import { wallClock } from './ipc.js';
import { CORPUS_BRANDS, type CorpusMention, makeCorpus } from './listening-corpus.js';

const { values: opts } = parseArgs({
  options: {
    mentions: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3000' },
    targets: { type: 'string', default: 'webhook,raw' },
    pool: { type: 'string', default: '10' },
    'no-duplicates': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(`npm run bench:listening -- [options]
  --mentions N       mentions per measured run (20000)
  --batch B          mentions per webhook delivery and per raw transaction (100; at most 500)
  --concurrency C    deliveries (or raw transactions) in flight (4)
  --rounds N         measured runs per target, alternating targets (2)
  --warmup N         mentions sent to each target before the measured runs, into sources of their own (3000)
  --targets LIST     webhook,raw (both)
  --pool N           the app's database pool (10, its default)
  --no-duplicates    skip the runs that send round 1's batches again (every mention a duplicate)
  --no-profile       skip the profiled webhook run and the breakdown of the server's CPU
env DATABASE_URL     admin connection (postgres://postgres@127.0.0.1:5432/test)
env BENCH_NODE_ENV   NODE_ENV of the server (production)`);
  process.exit(0);
}

const int = (name: keyof typeof opts, min: number, max: number) => intOption(opts, name, min, max);
const MENTIONS = int('mentions', 1, 200_000);
const BATCH = int('batch', 1, 500);
const CONCURRENCY = int('concurrency', 1, 64);
const ROUNDS = int('rounds', 1, 10);
const WARMUP = int('warmup', 0, 100_000);
const POOL = int('pool', 1, 200);
const TARGETS = String(opts.targets).split(',').map((s) => s.trim()).filter(Boolean) as Target[];
for (const t of TARGETS) if (t !== 'webhook' && t !== 'raw') throw new Error(`unknown target ${t}`);

type Target = 'webhook' | 'raw';
type Kind = 'measured' | 'duplicates' | 'warm-up' | 'profiled';

// ---- Seeding --------------------------------------------------------------------------------

const CREATE_BRAND = `mutation ($input: CreateTrackedBrandInput!) { createTrackedBrand(input: $input) { __typename ... on TrackedBrandPayload { brand { id } } ... on Error { message } } }`;
const CREATE_SOURCE = `mutation ($input: CreateListeningSourceInput!) { createListeningSource(input: $input) { __typename ... on CreateListeningSourcePayload { webhookSecret source { id } } ... on Error { message } } }`;

/** A WEBHOOK source: its global id (the X-Tertulia-Source header), its row id and secret. */
type Source = { globalId: string; id: number; secret: string; name: string };

async function createSource(url: string, token: string, name: string): Promise<Source> {
  const payload = await mutate(url, 'createListeningSource', 'CreateListeningSourcePayload', CREATE_SOURCE, { name, kind: 'WEBHOOK' }, token);
  return { globalId: payload.source.id, id: Number(decodeGlobalID(payload.source.id).id), secret: payload.webhookSecret, name };
}

// ---- The work of a run, prepared before the clock starts --------------------------------------

const toInput = (m: CorpusMention): MentionInput => ({ ...m, publishedAt: new Date(m.publishedAt) });

function batchesOf<T>(items: T[]): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) batches.push(items.slice(i, i + BATCH));
  return batches;
}

/** A webhook delivery: the body as sent and its timestamp and signature headers. */
type Delivery = { body: string; signed: Record<string, string>; size: number };

function deliveries(corpus: CorpusMention[], source: Source): Delivery[] {
  return batchesOf(corpus).map((mentions) => {
    const body = JSON.stringify({ mentions });
    return { body, signed: signatureHeaders(source.secret, body), size: mentions.length };
  });
}

const MENTION_COLUMNS = ['sourceId', 'externalId', 'url', 'title', 'body', 'author', 'publishedAt', 'ingestedAt', 'language', 'sentimentScore', 'sentiment', 'normalizedText', 'matched'] as const;

/** A raw transaction: the Mention rows' parameters, and each row's brands to link once it has an id. */
type RawBatch = { params: unknown[]; size: number; links: Map<string, { brandIds: number[]; publishedAt: string }> };

const timestamp = (value: Date | string | undefined) => (value instanceof Date ? value : new Date(value!)).toISOString();

function rawBatches(corpus: CorpusMention[], source: Source, brandsOf: BrandMatcher): RawBatch[] {
  const now = new Date();
  return batchesOf(corpus).map((mentions) => {
    const { rows } = prepareMentions(source.id, mentions.map(toInput), brandsOf, now);
    const params: unknown[] = [];
    const links: RawBatch['links'] = new Map();
    for (const { mention, brandIds } of rows.values()) {
      const row: Prisma.MentionCreateManyInput = mention;
      for (const column of MENTION_COLUMNS) {
        const value = row[column];
        params.push(column === 'publishedAt' || column === 'ingestedAt' ? timestamp(value as Date) : (value ?? null));
      }
      links.set(mention.externalId, { brandIds, publishedAt: timestamp(mention.publishedAt) });
    }
    return { params, size: rows.size, links };
  });
}

function insertMentionsSql(rows: number): string {
  const values = Array.from({ length: rows }, (_, r) => `(${MENTION_COLUMNS.map((_, c) => `$${r * MENTION_COLUMNS.length + c + 1}`).join(', ')})`);
  return `INSERT INTO "Mention" (${MENTION_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES ${values.join(', ')} ON CONFLICT DO NOTHING RETURNING "id", "externalId"`;
}

function insertLinksSql(rows: number): string {
  const values = Array.from({ length: rows }, (_, r) => `($${3 * r + 1}, $${3 * r + 2}, $${3 * r + 3})`);
  return `INSERT INTO "MentionBrand" ("mentionId", "brandId", "publishedAt") VALUES ${values.join(', ')}`;
}

// ---- Runs -----------------------------------------------------------------------------------

type Run = {
  target: Target;
  kind: Kind;
  round: number;
  source: Source;
  mentions: number;
  batches: number;
  seconds: number;
  /** Per batch, ms from send to answer (webhook) or from BEGIN to COMMIT (raw). */
  latencies: Float64Array;
  accepted: number;
  duplicates: number;
  failures: string[];
  cpu: CpuSpent;
  /** Prisma's statements per webhook delivery (bench/server.ts counts them). */
  statementsPerBatch: number | null;
  profile: string | null;
};

type Context = { server: Child; webhookUrl: string; pool: pg.Pool; admin: pg.Client; database: string; brandsOf: BrandMatcher };

/** Runs `send` over the batches with CONCURRENCY in flight; per-batch latency in ms. */
async function sendAll<T>(batches: T[], send: (batch: T) => Promise<void>): Promise<{ seconds: number; latencies: Float64Array }> {
  const latencies = new Float64Array(batches.length);
  let next = 0;
  const started = wallClock();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, batches.length) }, async () => {
      while (next < batches.length) {
        const i = next++;
        const sentAt = wallClock();
        await send(batches[i]);
        latencies[i] = wallClock() - sentAt;
      }
    }),
  );
  return { seconds: (wallClock() - started) / 1000, latencies: latencies.sort() };
}

async function run(ctx: Context, target: Target, kind: Kind, round: number, source: Source, corpus: CorpusMention[]): Promise<Run> {
  let accepted = 0;
  let duplicates = 0;
  const failures: string[] = [];
  const fail = (message: string) => failures.length < 5 && failures.push(message);
  const statsBefore = target === 'webhook' ? await ctx.server.ask('stats', {}) : null;
  const profiling = kind === 'profiled';
  let timed: { seconds: number; latencies: Float64Array };
  let mark: CpuMark;
  if (target === 'webhook') {
    const work = deliveries(corpus, source);
    if (profiling) await ctx.server.ask('profile', { on: true, dir: PROFILE_DIR });
    mark = await cpuMark([ctx.server.pid], ctx.admin, ctx.database);
    timed = await sendAll(work, async (delivery) => {
      try {
        const response = await fetch(ctx.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-tertulia-source': source.globalId, ...delivery.signed },
          body: delivery.body,
          signal: AbortSignal.timeout(60_000),
        });
        const text = await response.text();
        if (response.status !== 200) return void fail(`${response.status} ${text.slice(0, 200)}`);
        const result = JSON.parse(text) as { accepted: number; duplicates: number };
        if (result.accepted + result.duplicates !== delivery.size) fail(`a batch of ${delivery.size} answered ${text}`);
        accepted += result.accepted;
        duplicates += result.duplicates;
      } catch (error) {
        fail((error as Error).message);
      }
    });
  } else {
    const work = rawBatches(corpus, source, ctx.brandsOf);
    mark = await cpuMark([ctx.server.pid], ctx.admin, ctx.database);
    timed = await sendAll(work, async (batch) => {
      const client = await ctx.pool.connect();
      try {
        await client.query('BEGIN');
        const inserted = await client.query<{ id: number; externalId: string }>(insertMentionsSql(batch.size), batch.params);
        const links: unknown[] = [];
        for (const { id, externalId } of inserted.rows) {
          const { brandIds, publishedAt } = batch.links.get(externalId)!;
          for (const brandId of brandIds) links.push(id, brandId, publishedAt);
        }
        if (links.length) await client.query(insertLinksSql(links.length / 3), links);
        await client.query('COMMIT');
        accepted += inserted.rowCount ?? 0;
        duplicates += batch.size - (inserted.rowCount ?? 0);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        fail((error as Error).message);
      } finally {
        client.release();
      }
    });
  }
  const cpu = await cpuSince(mark, [ctx.server.pid], ctx.admin, ctx.database);
  const profile = profiling ? (await ctx.server.ask('profile', { on: false, dir: PROFILE_DIR }, 60_000)).file : null;
  const statsAfter = target === 'webhook' ? await ctx.server.ask('stats', {}) : null;
  const batches = Math.ceil(corpus.length / BATCH);
  return {
    target,
    kind,
    round,
    source,
    mentions: corpus.length,
    batches,
    ...timed,
    accepted,
    duplicates,
    failures,
    cpu,
    statementsPerBatch: statsBefore && statsAfter ? (statsAfter.statements - statsBefore.statements) / batches : null,
    profile,
  };
}

/** What a source holds: mentions and brand links. */
async function stored(pool: pg.Pool, source: Source): Promise<{ mentions: number; links: number }> {
  const { rows } = await pool.query<{ mentions: string; links: string }>(
    `SELECT (SELECT count(*) FROM "Mention" WHERE "sourceId" = $1) AS mentions,
            (SELECT count(*) FROM "MentionBrand" b JOIN "Mention" m ON m."id" = b."mentionId" WHERE m."sourceId" = $1) AS links`,
    [source.id],
  );
  return { mentions: Number(rows[0].mentions), links: Number(rows[0].links) };
}

/** The earliest and latest ingestedAt of a source's mentions, in ms since the epoch (stored as UTC wall time). */
async function ingestedBetween(pool: pg.Pool, source: Source): Promise<[number, number]> {
  const { rows } = await pool.query<{ first: string; last: string }>(
    `SELECT extract(epoch FROM min("ingestedAt")) * 1000 AS first, extract(epoch FROM max("ingestedAt")) * 1000 AS last FROM "Mention" WHERE "sourceId" = $1`,
    [source.id],
  );
  return [Number(rows[0].first), Number(rows[0].last)];
}

/** A digest of everything a source's mentions hold but their ids and ingestedAt, by external id, brand links included. */
async function digest(pool: pg.Pool, source: Source): Promise<string> {
  const { rows } = await pool.query<{ digest: string }>(
    `SELECT md5(string_agg(concat_ws('|', m."externalId", m."url", m."title", m."body", m."author", m."publishedAt", m."language",
              m."sentimentScore", m."sentiment", m."normalizedText", m."matched", m."status", m."searchVector"::text,
              (SELECT string_agg(b."brandId"::text || '@' || b."publishedAt"::text, ',' ORDER BY b."brandId") FROM "MentionBrand" b WHERE b."mentionId" = m."id")),
            E'\\n' ORDER BY m."externalId")) AS digest
     FROM "Mention" m WHERE m."sourceId" = $1`,
    [source.id],
  );
  return rows[0].digest;
}

// ---- Processing steps, timed in this process ----------------------------------------------------

type Step = { step: string; usPerMention: number };

/** The fastest of a few passes (after one to warm up) of `work` over `count` mentions, in µs per mention. */
function timeSteps(count: number, work: () => void): number {
  work();
  let best = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const started = performance.now();
    work();
    best = Math.min(best, performance.now() - started);
  }
  return (best * 1000) / count;
}

function measureSteps(corpus: CorpusMention[], brandsOf: BrandMatcher, source: Source): Step[] {
  const texts = corpus.map((m) => (m.title ? `${m.title}\n${m.body}` : m.body));
  const languages = texts.map(detectLanguage);
  const folded = texts.map(foldText);
  const work = deliveries(corpus, source).map((d) => ({ ...d, raw: Buffer.from(d.body) }));
  const inputs = batchesOf(corpus.map(toInput));
  const now = new Date();
  let sink = 0;
  const steps: Step[] = [
    { step: 'HMAC-SHA256 check of the timestamp and body (signatureMatches)', usPerMention: timeSteps(corpus.length, () => work.forEach((d) => (sink += Number(signatureMatches(source.secret, d.raw, d.signed))))) },
    { step: 'JSON.parse of the body', usPerMention: timeSteps(corpus.length, () => work.forEach((d) => (sink += (JSON.parse(d.body) as { mentions: unknown[] }).mentions.length))) },
    { step: 'language detection (detectLanguage)', usPerMention: timeSteps(corpus.length, () => texts.forEach((t) => (sink += detectLanguage(t)?.length ?? 0))) },
    { step: 'sentiment (analyzeSentiment)', usPerMention: timeSteps(corpus.length, () => texts.forEach((t, i) => (sink += analyzeSentiment(t, languages[i]).score))) },
    { step: 'folding (foldText)', usPerMention: timeSteps(corpus.length, () => texts.forEach((t) => (sink += foldText(t).length))) },
    { step: `brand matching (${CORPUS_BRANDS.length} brands)`, usPerMention: timeSteps(corpus.length, () => folded.forEach((f) => (sink += brandsOf(f).length))) },
    { step: 'all of the processing (prepareMentions: validation and the steps above but HMAC and JSON)', usPerMention: timeSteps(corpus.length, () => inputs.forEach((batch) => (sink += prepareMentions(1, batch, brandsOf, now).rows.size))) },
  ];
  if (Number.isNaN(sink)) throw new Error('unreachable'); // keeps the results alive
  const whole = steps.at(-1)!.usPerMention;
  const parts = steps.slice(2, 6).reduce((s, x) => s + x.usPerMention, 0);
  steps.push({ step: 'validation (zod) and the rest of prepareMentions: all of it minus the four steps', usPerMention: whole - parts });
  return steps;
}

// ---- Where the server's time goes, from the profiled run ---------------------------------------

const LISTENING = 'src/modules/listening/';
const PROFILE_CATEGORIES: [string, (f: Frame) => boolean][] = [
  ['processing: language detection', (f) => f.functionName === 'detectLanguage' || /^(franc|trigram-utils|n-gram|collapse-white-space)$/.test(f.where)],
  ['processing: sentiment', (f) => f.functionName === 'analyzeSentiment' || f.where === 'natural'],
  ['processing: folding and brand matching', (f) => f.where === 'src/text.ts' || f.functionName === 'brandMatcher'],
  ['processing: validation', (f) => f.where === 'zod' || f.where === 'src/validation.ts' || f.functionName === 'toMentionInput'],
  ['processing: the rest of ingest (service code)', (f) => f.where === `${LISTENING}ingest.ts`],
  ['Prisma (client, query compiler, adapter)', (f) => /^(@prisma\/|wasm:)/.test(f.where) || /^src\/(generated|db)\//.test(f.where)],
  ['pg driver', (f) => /^pg(-|$)/.test(f.where) || f.where === 'postgres-array'],
  ['webhook HTTP, JSON.parse, HMAC (src/webhooks.ts, webhook.ts, app.ts)', (f) => f.where === 'src/webhooks.ts' || f.where === `${LISTENING}webhook.ts` || f.where === 'src/app.ts'],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
];
const PROFILE_REST = 'Node core (HTTP server, sockets, streams, timers) and other';
// The breakdown's summary: what the issue asks about, a row each.
const GROUPS: [string, RegExp][] = [
  ['processing (language, sentiment, matching, validation)', /^processing:/],
  ['HTTP, JSON, HMAC (no GraphQL on this path) and Node core', /^(webhook HTTP|Node core)/],
  ['Prisma and the pg driver', /^(Prisma|pg driver)/],
  ['garbage collector', /^garbage collector$/],
];

// ---- Report ---------------------------------------------------------------------------------

const rate = (r: Run) => r.mentions / r.seconds;
const us = (seconds: number, mentions: number) => (seconds * 1e6) / mentions;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
};

function runRow(r: Run): (string | number)[] {
  const lat = r.latencies;
  return [
    r.kind === 'measured' ? `${r.target} ${r.round}` : `${r.target} (${r.kind})`,
    r.mentions,
    `${r.accepted} / ${r.duplicates}`,
    f2(r.seconds),
    `**${Math.round(rate(r))}**`,
    `${f1(percentile(lat, 50))} / ${f1(percentile(lat, 90))} / ${f1(percentile(lat, 99))} / ${f1(lat.at(-1) ?? NaN)}`,
    r.target === 'webhook' ? f1(us(r.cpu.processes[0], r.mentions)) : '-',
    f1(us(r.cpu.driver, r.mentions)),
    f1(us(r.cpu.postgres, r.mentions)),
    r.statementsPerBatch === null ? '-' : f1(r.statementsPerBatch),
    f2(r.cpu.otherCpus),
  ];
}

function report(runs: Run[], steps: Step[], breakdown: { busyUs: number; byCategory: Map<string, number> } | null, context: { machine: string; started: string; seconds: number; linksPerMention: number }): string {
  const out: string[] = [];
  out.push(`## Listening ingest benchmark (${context.started})`, '');
  out.push(`Command: \`npm run bench:listening${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (${f1(context.seconds / 60)} min)`);
  out.push(`Machine: ${context.machine}; NODE_ENV=${NODE_ENV}, pool ${POOL}.`);
  out.push(`${MENTIONS} mentions per run in batches of ${BATCH}, ${CONCURRENCY} in flight; ${f2(context.linksPerMention)} brand links per mention.`, '');
  out.push(
    table(
      ['run', 'mentions', 'accepted / duplicates', 'seconds', 'mentions/s', 'batch latency p50 / p90 / p99 / max ms', 'server CPU µs/mention', 'driver CPU µs/mention', 'PG CPU µs/mention', 'SQL statements per batch', 'other load (CPUs)'],
      runs.map(runRow),
    ),
    '',
  );
  const measured = (target: Target) => runs.filter((r) => r.kind === 'measured' && r.target === target);
  const webhook = measured('webhook');
  const raw = measured('raw');
  if (webhook.length && raw.length) {
    const ratio = (pick: (r: Run) => number) => f2(median(webhook.map(pick)) / median(raw.map(pick)));
    out.push(
      table(
        ['webhook / raw (medians of the rounds)', 'mentions/s', 'batch latency p50', 'batch latency p99', 'PG CPU per mention'],
        [['ratio', `**${ratio(rate)}**`, ratio((r) => percentile(r.latencies, 50)), ratio((r) => percentile(r.latencies, 99)), ratio((r) => us(r.cpu.postgres, r.mentions))]],
      ),
      '',
    );
  }
  out.push('Processing steps, timed in the driver over the corpus (fastest of 3 passes):', '');
  out.push(table(['step', 'µs per mention'], steps.map((s) => [s.step, f1(s.usPerMention)])), '');
  const profiled = runs.find((r) => r.kind === 'profiled');
  if (breakdown && profiled && webhook.length) {
    // The profiler slows the server down; its shares are applied to the unprofiled runs' CPU.
    const serverUs = median(webhook.map((r) => us(r.cpu.processes[0], r.mentions)));
    const pgUs = median(webhook.map((r) => us(r.cpu.postgres, r.mentions)));
    const rawPgUs = raw.length ? median(raw.map((r) => us(r.cpu.postgres, r.mentions))) : NaN;
    const rows = [...breakdown.byCategory].sort((a, b) => b[1] - a[1]).map(([category, spent]) => {
      const share = spent / breakdown.busyUs;
      return [category, `${f1(100 * share)}%`, f1(share * serverUs)];
    });
    out.push(`Where the webhook's time goes: the server's CPU split by the profile of \`${profiled.profile ? path.relative(ROOT, profiled.profile) : '?'}\` (each sample to the innermost frame that names a category), applied to the measured runs' ${f1(serverUs)} µs per mention; then PostgreSQL from /proc:`, '');
    const totals = [['**server total**', '100%', `**${f1(serverUs)}**`], ['PostgreSQL backends (webhook runs)', '', f1(pgUs)], ['PostgreSQL backends (raw runs)', '', f1(rawPgUs)]];
    const grouped = GROUPS.map(([group, test]) => {
      const share = [...breakdown.byCategory].filter(([category]) => test.test(category)).reduce((sum, [, spent]) => sum + spent, 0) / breakdown.busyUs;
      return [group, `${f1(100 * share)}%`, f1(share * serverUs)];
    });
    out.push(table(['where (summary)', 'share of server CPU', 'µs per mention'], [...grouped, ...totals]), '');
    out.push(table(['where (in detail)', 'share of server CPU', 'µs per mention'], rows), '');
  }
  for (const r of runs) if (r.failures.length) out.push(`- ${r.target} ${r.kind} ${r.round}: failures: ${r.failures.join('; ')}`);
  return out.join('\n');
}

// ---- Main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = wallClock();
  const db = await createDatabase();
  console.error(`database ${db.name} created`);
  const server = await startChild('server', 'server.ts', { BENCH_DATABASE_URL: db.url, BENCH_POOL_SIZE: String(POOL), NODE_ENV });
  const webhookUrl = server.url.replace(/\/graphql$/, '/ingest/mentions');

  const admin = await signUp(server.url, 'Admin', db.url); // the first account is the ADMIN
  for (const brand of CORPUS_BRANDS) await mutate(server.url, 'createTrackedBrand', 'TrackedBrandPayload', CREATE_BRAND, brand, admin.token);
  const source = (name: string) => createSource(server.url, admin.token, name);

  const pool = new pg.Pool({ connectionString: db.url, max: CONCURRENCY, idleTimeoutMillis: 0 });
  onCleanup(() => pool.end());
  const { rows: brands } = await pool.query<{ id: number; keywords: string[]; exclusionKeywords: string[] }>('SELECT "id", "keywords", "exclusionKeywords" FROM "TrackedBrand" WHERE "archivedAt" IS NULL');
  const brandsOf = brandMatcher(brands);

  const corpus = makeCorpus(MENTIONS);
  // The brand links every run must store, as the app's own processing finds them.
  const expectedLinks = batchesOf(corpus.map(toInput)).reduce(
    (links, batch) => links + [...prepareMentions(1, batch, brandsOf, new Date()).rows.values()].reduce((s, r) => s + r.brandIds.length, 0),
    0,
  );
  const runs: Run[] = [];
  const steps = await withAdmin(async (adminDb) => {
    const ctx: Context = { server, webhookUrl, pool, admin: adminDb, database: db.name, brandsOf };
    const once = async (target: Target, kind: Kind, round: number, into: Source, mentions: CorpusMention[]) => {
      const r = await run(ctx, target, kind, round, into, mentions);
      console.error(`${target} ${kind} ${round}: ${Math.round(rate(r))} mentions/s, ${r.accepted} accepted, ${r.duplicates} duplicates, other load ${f2(r.cpu.otherCpus)} CPUs`);
      return r;
    };
    if (WARMUP) for (const target of TARGETS) await once(target, 'warm-up', 0, await source(`Warm-up ${target}`), makeCorpus(WARMUP, 7));
    const measuredSources = new Map<string, Source>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of TARGETS) {
        const into = await source(`${target} ${round}`);
        measuredSources.set(`${target} ${round}`, into);
        const startedAt = Date.now();
        const r = await once(target, 'measured', round, into, corpus);
        runs.push(r);
        const held = await stored(pool, into);
        // ingestedAt is the time of the delivery, in UTC, as the app's clock (and this one) says.
        const [first, last] = await ingestedBetween(pool, into);
        if (first < startedAt - 60_000 || last > Date.now() + 1000) throw new Error(`${target} ${round}: ingestedAt from ${new Date(first).toISOString()} to ${new Date(last).toISOString()}, not during the run`);
        if (r.failures.length || r.accepted !== MENTIONS || r.duplicates !== 0 || held.mentions !== MENTIONS || held.links !== expectedLinks) {
          throw new Error(`${target} ${round}: ${r.accepted} accepted, ${r.duplicates} duplicates, ${held.mentions} stored with ${held.links} brand links, expected ${MENTIONS} new with ${expectedLinks}; ${r.failures.join('; ')}`);
        }
      }
    }
    if (!opts['no-duplicates']) {
      for (const target of TARGETS) {
        const into = measuredSources.get(`${target} 1`)!;
        const before = await stored(pool, into);
        const r = await once(target, 'duplicates', 1, into, corpus);
        runs.push(r);
        const after = await stored(pool, into);
        if (r.failures.length || r.accepted !== 0 || r.duplicates !== MENTIONS || after.mentions !== before.mentions || after.links !== before.links) {
          throw new Error(`${target} duplicates: ${r.accepted} accepted, ${r.duplicates} duplicates; ${r.failures.join('; ')}`);
        }
      }
    }
    if (!opts['no-profile'] && TARGETS.includes('webhook')) runs.push(await once('webhook', 'profiled', 0, await source('Profiled'), corpus));

    // The app and the baseline stored the same thing (all but ids and ingestedAt), links included.
    if (TARGETS.length === 2) {
      const [a, b] = await Promise.all(TARGETS.map((t) => digest(pool, measuredSources.get(`${t} 1`)!)));
      if (a !== b) throw new Error(`the raw baseline stored other rows than the webhook: digests ${a} and ${b}`);
      console.error(`webhook and raw stored the same rows (digest ${a})`);
    }
    console.error('timing the processing steps in this process');
    return measureSteps(corpus, brandsOf, measuredSources.values().next().value!);
  });

  const profiled = runs.find((r) => r.kind === 'profiled');
  const breakdown = profiled?.profile ? attribute(readProfile(profiled.profile), PROFILE_CATEGORIES, PROFILE_REST) : null;
  console.log(report(runs, steps, breakdown, { machine: await machineDescription(), started: new Date(started).toISOString(), seconds: (wallClock() - started) / 1000, linksPerMention: expectedLinks / MENTIONS }));
}

// Bounded: at worst ~2 ms per mention for every run, plus start-up and seeding.
const runsPlanned = TARGETS.length * (ROUNDS + 2) + 1;
await runBenchmark(main, 180_000 + runsPlanned * (MENTIONS + WARMUP) * 2);
