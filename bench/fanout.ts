// Benchmark: live activity at scale (issue 3). Fan-out of one space's new posts to many graphql-ws
// subscribers, subscription churn, and two instances over Redis, each against a raw-transport
// baseline measured in the same run.
//
//   npm run bench:fanout [-- --scenarios fanout,churn,redis --sizes 1000,5000,10000 --rates 10,2,1]
//
// PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, the admin connection:
// a fresh database is created next to it and dropped at the end) and, for `redis`, Redis
// (REDIS_URL, default redis://127.0.0.1:6379; every run on channels of its own prefix).
//
// Processes, all on 127.0.0.1, each its own (bench/harness.ts startChild, IPC, exit with the driver):
//   server(s)   the real app (bench/server.ts), or the baseline (bench/fanout-baseline.ts): a bare
//               `ws` server that sends the same `next` frame to every subscription, no GraphQL
//   load        bench/fanout-load.ts: the subscribers, graphql-ws clients, one connection each
//   driver      this process: seeding, the writer (replyToThread over HTTP at a steady rate,
//               to the first instance), /proc readings, the report
//
// Latencies (all on one clock, wallClock in bench/ipc.ts: the machine's, sub-millisecond):
//   send -> receive      the subscriber's receipt of the `next` frame minus the moment the writer
//                        sent the mutation (end to end: HTTP, the write, commit, fan-out, delivery)
//   publish -> receive   the receipt minus the moment the writer's instance handed the event to
//                        its subscriptions (bench/server.ts notes it on the bus; the baseline
//                        before its first send): what fan-out to N subscribers costs
//   occurredAt -> receive  the receipt minus the event's occurredAt (millisecond precision)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import pg from 'pg';
import type { ChurnResult, LoadTarget, Percentiles, SentPost, Subscription, Tally } from './fanout-load.js';
import {
  type Actor,
  type Child,
  type CpuMark,
  cpuMark as harnessCpuMark,
  cpuSince as harnessCpuSince,
  createDatabase,
  CREATE_THREAD,
  f1,
  f2,
  intOption,
  mutate,
  NODE_ENV,
  percentile,
  machineDescription,
  procStatus,
  PROFILE_DIR,
  REPLY,
  ROOT,
  runBenchmark,
  seedSpace,
  SET_ROLE,
  signUp,
  startChild,
  table,
  withAdmin,
} from './harness.js';
import { wallClock, type Memory } from './ipc.js';

const { values: opts } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'fanout,churn,redis' },
    targets: { type: 'string', default: 'graphql,baseline' },
    sizes: { type: 'string', default: '1000,5000,10000' },
    rates: { type: 'string', default: '10,2,1' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    'churn-clients': { type: 'string', default: '300' },
    'churn-period': { type: 'string', default: '500' },
    'churn-seconds': { type: 'string', default: '20' },
    'churn-modes': { type: 'string', default: 'subscription,connection' },
    'redis-subscribers': { type: 'string', default: '1000' },
    'redis-rate': { type: 'string', default: '10' },
    threads: { type: 'string', default: '8' },
    members: { type: 'string', default: '20' },
    pool: { type: 'string', default: '10' },
    'open-concurrency': { type: 'string', default: '100' },
    'server-node-options': { type: 'string', default: '' },
    'cpu-prof': { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    selection: { type: 'string', default: 'full' },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(`npm run bench:fanout -- [options]
  --scenarios LIST     fanout,churn,redis (all three)
  --targets LIST       graphql,baseline: the app and the raw-transport baseline, for fanout and churn
  --sizes LIST         subscribers per fan-out run (1000,5000,10000)
  --rates LIST         posts per second for each size (10,2,1: 10,000 deliveries/s each)
  --duration S         seconds of measured writing per fan-out run (20)
  --warmup S           seconds of unmeasured writing first, with a few subscribers (3)
  --rounds N           fan-out runs per size and target, alternating targets (1)
  --churn-clients N    clients churning (300)
  --churn-period MS    each client replaces its subscription (or connection) this often (500)
  --churn-seconds S    length of each churn run (20)
  --churn-modes LIST   subscription (one connection, resubscribe), connection (reconnect) (both)
  --redis-subscribers N, --redis-rate R   the one-vs-two-instances runs (1000 at 10 posts/s)
  --threads N          threads the writer replies to in turn (8)
  --members N          member accounts whose tokens the subscribers share (20)
  --pool N             database pool of each app instance (10, the app's default)
  --open-concurrency N connections being opened at once by the load process (100)
  --server-node-options=FLAGS     extra node flags for every server, app and baseline (e.g. --server-node-options=--max-semi-space-size=32)
  --cpu-prof           V8 CPU profile of the app during measured runs (bench/.profiles/)
  --selection minimal  subscribe to \`activity { id subject { id } }\` instead, to tell the per-delivery cost of
                       the machinery (graphql-ws, envelop, executor) from that of the fields (graphql only)
  --selection viewer   the full selection plus \`viewerCanEdit\`, which reads the viewer's id: subscribers share
                       an execution only with the same member's other subscriptions (graphql only; with
                       --members 200, 200 executions per event instead of one)
  --heap-snapshot      heap snapshots of the app before and with N idle subscribers (bench/.profiles/;
                       compare with: npx tsx bench/heap-summary.ts IDLE --before BEFORE --per N)
env DATABASE_URL       admin connection (postgres://postgres@127.0.0.1:5432/test)
env REDIS_URL          for the redis scenario (redis://127.0.0.1:6379)
env BENCH_NODE_ENV     NODE_ENV of the servers (production)`);
  process.exit(0);
}

const int = (name: keyof typeof opts, min: number, max: number) => intOption(opts, name, min, max);
const list = (name: keyof typeof opts) => String(opts[name]).split(',').map((s) => s.trim()).filter(Boolean);
const SCENARIOS = list('scenarios');
const TARGETS = list('targets');
const SIZES = list('sizes').map(Number);
const RATES = list('rates').map(Number);
const DURATION_S = int('duration', 1, 600);
const WARMUP_S = int('warmup', 0, 60);
const ROUNDS = int('rounds', 1, 10);
const CHURN_CLIENTS = int('churn-clients', 1, 5000);
const CHURN_PERIOD = int('churn-period', 50, 60_000);
const CHURN_S = int('churn-seconds', 1, 600);
const CHURN_MODES = list('churn-modes') as ('subscription' | 'connection')[];
const REDIS_SUBSCRIBERS = int('redis-subscribers', 2, 10_000);
const REDIS_RATE = int('redis-rate', 1, 1000);
const THREADS = int('threads', 1, 100);
const MEMBERS = int('members', 1, 200);
const POOL = int('pool', 1, 200);
const OPEN_CONCURRENCY = int('open-concurrency', 1, 1000);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
for (const s of SCENARIOS) if (!['fanout', 'churn', 'redis'].includes(s)) throw new Error(`unknown scenario ${s}`);
for (const t of TARGETS) if (!['graphql', 'baseline'].includes(t)) throw new Error(`unknown target ${t}`);
for (const m of CHURN_MODES) if (!['subscription', 'connection'].includes(m)) throw new Error(`unknown churn mode ${m}`);
if (SIZES.length !== RATES.length) throw new Error('--sizes and --rates must have as many entries');
for (const n of SIZES) if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error('--sizes: 1 to 10,000 subscribers (one load process, ulimit -n)');
for (const r of RATES) if (!Number.isInteger(r) || r < 1 || r > 1000) throw new Error('--rates: 1 to 1,000 posts/s');

// The subscription every subscriber holds: what a moderation console would show for new posts.
const FULL_SUBSCRIPTION = `subscription Fanout($spaceId: ID!) { activity(filter: { spaceIds: [$spaceId], kinds: [POST_CREATED] }) { id kind occurredAt actor { id displayName } subject { __typename id ... on Post { body createdAt } } } }`;
const MINIMAL_SUBSCRIPTION = `subscription FanoutMinimal($spaceId: ID!) { activity(filter: { spaceIds: [$spaceId], kinds: [POST_CREATED] }) { id occurredAt subject { id } } }`;
const VIEWER_SUBSCRIPTION = `subscription FanoutViewer($spaceId: ID!) { activity(filter: { spaceIds: [$spaceId], kinds: [POST_CREATED] }) { id kind occurredAt actor { id displayName } subject { __typename id ... on Post { body createdAt viewerCanEdit } } } }`;
const SELECTIONS: Record<string, string> = { full: FULL_SUBSCRIPTION, minimal: MINIMAL_SUBSCRIPTION, viewer: VIEWER_SUBSCRIPTION };
if (!(String(opts.selection) in SELECTIONS)) throw new Error('--selection must be full, minimal or viewer');
if (opts.selection !== 'full' && TARGETS.includes('baseline')) throw new Error(`--selection ${opts.selection} is for --targets graphql (the baseline sends the full frame)`);
const SUBSCRIPTION = SELECTIONS[String(opts.selection)];
const WRITER_NAME = 'Writer';
// Waiting for the last deliveries after the writer stops, at most.
const DRAIN_MS = 20_000;

// ---- Seeding --------------------------------------------------------------------------------

type Seeded = { spaceId: string; threadIds: string[]; writer: Actor; subscriberTokens: string[] };

async function seed(url: string, databaseUrl: string): Promise<Seeded> {
  const { admin, manager, members, spaceId } = await seedSpace(url, MEMBERS, databaseUrl);
  const writer = await signUp(url, WRITER_NAME, databaseUrl);
  // Two moderators among the subscribers: staff and members go through the same delivery rule.
  for (const moderator of members.slice(0, Math.min(2, MEMBERS - 1))) {
    await mutate(url, 'setUserRole', 'SetUserRolePayload', SET_ROLE, { userId: moderator.id, role: 'MODERATOR' }, admin.token);
  }
  const threadIds: string[] = [];
  for (let i = 0; i < THREADS; i++) {
    const payload = await mutate(url, 'createThread', 'ThreadPayload', CREATE_THREAD, {
      spaceId,
      title: `Release notes discussion ${i + 1}`,
      body: 'What changed, and what do you think of it?',
    }, manager.token);
    threadIds.push(payload.thread.id);
  }
  // Subscribers' tokens: members and moderators (the MEMBERS space hides it from anonymous).
  return { spaceId, threadIds, writer, subscriberTokens: members.map((m) => m.token) };
}

// ---- Servers --------------------------------------------------------------------------------

type ServerKind = 'graphql' | 'baseline' | 'graphql-redis-1' | 'graphql-redis-2';
type Servers = { kind: ServerKind; children: Child[] };

async function startServers(kind: ServerKind, databaseUrl: string, seeded: Seeded): Promise<Servers> {
  const nodeArgs = ['--expose-gc', ...String(opts['server-node-options']).split(/\s+/).filter(Boolean)];
  if (kind === 'baseline') {
    const child = await startChild('baseline', 'fanout-baseline.ts', { BENCH_ACTOR_ID: seeded.writer.id, BENCH_ACTOR_NAME: WRITER_NAME, NODE_ENV }, nodeArgs);
    return { kind, children: [child] };
  }
  const env: Record<string, string> = { BENCH_DATABASE_URL: databaseUrl, BENCH_POOL_SIZE: String(POOL), NODE_ENV };
  if (kind !== 'graphql') {
    env.BENCH_REDIS_URL = REDIS_URL;
    env.BENCH_REDIS_CHANNEL_PREFIX = `tertulia-bench-${randomBytes(6).toString('hex')}:`;
  }
  const count = kind === 'graphql-redis-2' ? 2 : 1;
  const children: Child[] = [];
  for (let i = 0; i < count; i++) children.push(await startChild(count > 1 ? `graphql-${'AB'[i]}` : 'graphql', 'server.ts', env, nodeArgs));
  return { kind, children };
}

async function stopServers(servers: Servers): Promise<void> {
  await Promise.all(servers.children.map((c) => c.stop()));
}

async function memory(servers: Servers, gc: boolean): Promise<Memory[]> {
  return Promise.all(servers.children.map((c) => c.ask('memory', { gc })));
}

const total = (memories: Memory[], key: keyof Memory) => memories.reduce((s, m) => s + m[key], 0);

/** Polls until the servers hold `subscribers` subscriptions and `sockets` connections; returns the last reading. */
async function waitFor(servers: Servers, subscribers: number, sockets: number, timeoutMs: number): Promise<{ memories: Memory[]; reached: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const memories = await memory(servers, false);
    const reached = total(memories, 'subscribers') === subscribers && total(memories, 'sockets') === sockets;
    if (reached || Date.now() > deadline) return { memories, reached };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Splits `count` subscribers over the servers' WebSocket URLs. */
function split(servers: Servers, count: number): LoadTarget[] {
  const n = servers.children.length;
  return servers.children.map((c, i) => ({ wsUrl: c.url.replace(/^http/, 'ws'), count: Math.floor(count / n) + (i < count % n ? 1 : 0) }));
}

// ---- The writer -----------------------------------------------------------------------------

type Written = { posts: (SentPost & { answeredAt: number })[]; failures: number; failureSamples: string[]; behind: number; seconds: number };

/**
 * replyToThread over HTTP at `rate` per second for `seconds`, on a fixed schedule (a slow answer
 * does not delay the next send; at most 64 in flight), to the threads in turn.
 */
async function write(url: string, token: string, seeded: Seeded, rate: number, seconds: number, label: string): Promise<Written> {
  const count = Math.round(rate * seconds);
  const written: Written = { posts: [], failures: 0, failureSamples: [], behind: 0, seconds: 0 };
  const inflight = new Set<Promise<void>>();
  const started = wallClock();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - wallClock();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inflight.size >= 64) await Promise.race(inflight);
    if (wallClock() - due > 20) written.behind++;
    const body = JSON.stringify({ query: REPLY, variables: { input: { threadId: seeded.threadIds[i % seeded.threadIds.length], body: `${label} post ${i + 1}: a reply that everyone watching the space sees live.` } } });
    const sentAt = wallClock();
    const request = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body, signal: AbortSignal.timeout(30_000) })
      .then(async (response) => {
        const text = await response.text();
        const payload = JSON.parse(text)?.data?.replyToThread;
        if (payload?.__typename !== 'PostPayload') throw new Error(`replyToThread ${response.status}: ${text.slice(0, 300)}`);
        written.posts.push({ key: payload.post.id, sentAt, answeredAt: wallClock(), publishedAt: null });
      })
      .catch((error: unknown) => {
        written.failures++;
        if (written.failureSamples.length < 3) written.failureSamples.push((error as Error).message);
      })
      .finally(() => inflight.delete(request));
    inflight.add(request);
  }
  await Promise.all(inflight);
  written.seconds = (wallClock() - started) / 1000;
  return written;
}

/** The post id in a Post's global id. */
const postNumber = (key: string) => Number(Buffer.from(key, 'base64').toString('utf8').split(':')[1]);

/** Fills in when the writer's instance published each post. */
async function addPublishTimes(servers: Servers, posts: SentPost[]): Promise<void> {
  const replies = await Promise.all(servers.children.map((c) => c.ask('published', {})));
  const times = new Map(replies[0].times); // the first instance is the one the writer writes to
  for (const post of posts) post.publishedAt = times.get(postNumber(post.key)) ?? null;
}

/** Waits (bounded) until the load process has `expected` events, or none came for a while. */
async function drain(load: Child, expected: number): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  let last = -1;
  let still = 0;
  for (;;) {
    const { events } = await load.ask('progress', {});
    if (events >= expected || Date.now() > deadline) return;
    still = events === last ? still + 1 : 0;
    if (still > 50) return; // 5 s without a single event: the rest is lost
    last = events;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- CPU accounting -------------------------------------------------------------------------

const REDIS_PIDS = (() => {
  // The local Redis server's CPU counts as ours in the redis runs, not as other load.
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'redis-server') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
})();

type CpuSpent = { servers: number[]; load: number; driver: number; postgres: number; redis: number; otherCpus: number; seconds: number };

// The servers', the load process's and Redis's CPU, by position in the harness's readings.
const ourPids = (servers: Servers, load: Child) => [...servers.children.map((c) => c.pid), load.pid, ...REDIS_PIDS];

function cpuMark(servers: Servers, load: Child, admin: pg.Client, database: string): Promise<CpuMark> {
  return harnessCpuMark(ourPids(servers, load), admin, database);
}

async function cpuSince(mark: CpuMark, servers: Servers, load: Child, admin: pg.Client, database: string): Promise<CpuSpent> {
  const { processes, ...spent } = await harnessCpuSince(mark, ourPids(servers, load), admin, database);
  const count = servers.children.length;
  return { ...spent, servers: processes.slice(0, count), load: processes[count], redis: processes.slice(count + 1).reduce((a, b) => a + b, 0) };
}

// ---- Fan-out runs -----------------------------------------------------------------------------

type FanoutRun = {
  scenario: 'fanout' | 'redis';
  target: ServerKind;
  round: number;
  subscribers: number;
  rate: number;
  opened: { opened: number; failed: number; seconds: number };
  written: Written;
  tally: Tally;
  mutation: Percentiles;
  cpu: CpuSpent;
  before: Memory[];
  idle: Memory[];
  after: Memory[];
  peakRssMiB: number;
  loadRssMiB: number;
  closedTo: { subscribers: number; sockets: number; reached: boolean };
  profiles: string[];
};

function mutationLatency(written: Written): Percentiles {
  const sorted = Float64Array.from(written.posts.map((p) => p.answeredAt - p.sentAt)).sort();
  return { count: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), max: sorted.at(-1) ?? NaN };
}

async function fanoutRun(
  scenario: 'fanout' | 'redis',
  target: ServerKind,
  round: number,
  subscribers: number,
  rate: number,
  db: { name: string; url: string },
  seeded: Seeded,
  admin: pg.Client,
): Promise<FanoutRun> {
  const servers = await startServers(target, db.url, seeded);
  const load = await startChild('load', 'fanout-load.ts', {}, [], false);
  try {
    const writeUrl = servers.children[0].url;
    const subscription: Subscription = { query: SUBSCRIPTION, variables: { spaceId: seeded.spaceId }, tokens: seeded.subscriberTokens };
    // Warm-up: a few subscribers and posts, so what is measured runs compiled code.
    if (WARMUP_S > 0) {
      const few = Math.min(subscribers, 20 * servers.children.length);
      await load.ask('open', { targets: split(servers, few), subscription, concurrency: OPEN_CONCURRENCY }, 120_000);
      await waitFor(servers, few, few, 30_000);
      const warm = await write(writeUrl, seeded.writer.token, seeded, rate, WARMUP_S, 'Warm-up');
      await drain(load, few * warm.posts.length);
      await load.ask('close', {}, 60_000);
    }
    await waitFor(servers, 0, 0, 30_000);
    const before = await memory(servers, true);
    const snapshots = opts['heap-snapshot'] && target !== 'baseline';
    const profiles: string[] = [];
    const snapshot = async (label: string) => {
      for (const c of servers.children) profiles.push(path.relative(ROOT, (await c.ask('heapSnapshot', { dir: PROFILE_DIR, label }, 300_000)).file));
    };
    if (snapshots) await snapshot('before');

    const opened = await load.ask('open', { targets: split(servers, subscribers), subscription, concurrency: OPEN_CONCURRENCY }, 600_000);
    console.error(`  ${opened.opened} subscribers connected in ${f1(opened.seconds)} s (${opened.failed} failed${opened.errorSamples.length ? `: ${opened.errorSamples.join('; ')}` : ''})`);
    const subscribed = await waitFor(servers, opened.opened, opened.opened, 120_000);
    if (!subscribed.reached) throw new Error(`the servers hold ${total(subscribed.memories, 'subscribers')} subscriptions, not ${opened.opened}`);
    const idle = await memory(servers, true);
    if (snapshots) await snapshot(`idle-${opened.opened}`);

    await load.ask('reset', {});
    await Promise.all(servers.children.map((c) => c.ask('published', {})));
    const profiling = opts['cpu-prof'] && target !== 'baseline';
    if (profiling) await Promise.all(servers.children.map((c) => c.ask('profile', { on: true, dir: PROFILE_DIR })));
    const mark = await cpuMark(servers, load, admin, db.name);
    const written = await write(writeUrl, seeded.writer.token, seeded, rate, DURATION_S, 'Measured');
    await drain(load, opened.opened * written.posts.length);
    const cpu = await cpuSince(mark, servers, load, admin, db.name);
    if (profiling) {
      for (const c of servers.children) {
        const { file } = await c.ask('profile', { on: false, dir: PROFILE_DIR }, 60_000);
        if (file) profiles.push(path.relative(ROOT, file));
      }
    }
    await addPublishTimes(servers, written.posts);
    const tally = await load.ask('tally', { posts: written.posts }, 120_000);
    const after = await memory(servers, false);
    const peakRssMiB = servers.children.reduce((s, c) => s + procStatus(c.pid).hwmMiB, 0);
    const loadRssMiB = procStatus(load.pid).rssMiB;

    await load.ask('close', {}, 120_000);
    const closed = await waitFor(servers, 0, 0, 30_000);
    return {
      scenario,
      target,
      round,
      subscribers: opened.opened,
      rate,
      opened,
      written,
      tally,
      mutation: mutationLatency(written),
      cpu,
      before,
      idle,
      after,
      peakRssMiB,
      loadRssMiB,
      closedTo: { subscribers: total(closed.memories, 'subscribers'), sockets: total(closed.memories, 'sockets'), reached: closed.reached },
      profiles,
    };
  } finally {
    await load.stop();
    await stopServers(servers);
  }
}

// ---- Churn runs -------------------------------------------------------------------------------

type ChurnRun = {
  target: ServerKind;
  mode: 'subscription' | 'connection';
  result: ChurnResult;
  cpu: CpuSpent;
  posts: number;
  before: Memory[];
  after: Memory[];
  closedTo: { subscribers: number; sockets: number; reached: boolean };
};

async function churnRun(target: ServerKind, mode: 'subscription' | 'connection', db: { name: string; url: string }, seeded: Seeded, admin: pg.Client): Promise<ChurnRun> {
  const servers = await startServers(target, db.url, seeded);
  const load = await startChild('load', 'fanout-load.ts', {}, [], false);
  try {
    const subscription: Subscription = { query: SUBSCRIPTION, variables: { spaceId: seeded.spaceId }, tokens: seeded.subscriberTokens };
    const churn = (clients: number, seconds: number) =>
      load.ask('churn', { targets: split(servers, clients), subscription, periodMs: CHURN_PERIOD, seconds, mode }, (seconds + 120) * 1000);
    // Warm-up: the same churn, smaller and shorter.
    await churn(Math.min(30, CHURN_CLIENTS), 2);
    await waitFor(servers, 0, 0, 30_000);
    const before = await memory(servers, true);
    const mark = await cpuMark(servers, load, admin, db.name);
    // A slow writer meanwhile, so subscriptions come and go while events are being fanned out.
    const [result, written] = await Promise.all([
      churn(CHURN_CLIENTS, CHURN_S),
      write(servers.children[0].url, seeded.writer.token, seeded, 2, CHURN_S, 'Churn'),
    ]);
    const cpu = await cpuSince(mark, servers, load, admin, db.name);
    const closed = await waitFor(servers, 0, 0, 30_000);
    const after = await memory(servers, true);
    return {
      target,
      mode,
      result,
      cpu,
      posts: written.posts.length,
      before,
      after,
      closedTo: { subscribers: total(closed.memories, 'subscribers'), sockets: total(closed.memories, 'sockets'), reached: closed.reached },
    };
  } finally {
    await load.stop();
    await stopServers(servers);
  }
}

// ---- Report ---------------------------------------------------------------------------------

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const kib = (mib: number) => mib * 1024;
const ms = (n: number) => (Number.isFinite(n) ? f1(n) : '-');

/** Values replaced by their types: the app's and the baseline's frames must have the same shape. */
function shape(value: unknown): unknown {
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return typeof value;
}

function fanoutFigures(run: FanoutRun) {
  const serverCpu = sum(run.cpu.servers);
  const window = Math.max(0.001, (run.tally.lastReceiveAt - Math.min(...run.written.posts.map((p) => p.sentAt))) / 1000);
  return {
    postsPerSecond: run.written.posts.length / run.written.seconds,
    deliveriesPerSecond: run.tally.delivered / window,
    serverCores: serverCpu / run.cpu.seconds,
    serverUsPerDelivery: (serverCpu * 1e6) / Math.max(1, run.tally.delivered),
    rssPerConnectionKiB: kib(total(run.idle, 'rssMiB') - total(run.before, 'rssMiB')) / run.subscribers,
    heapPerConnectionKiB: kib(total(run.idle, 'heapUsedMiB') - total(run.before, 'heapUsedMiB')) / run.subscribers,
  };
}

function report(runs: FanoutRun[], churns: ChurnRun[], context: { machine: string; started: string; seconds: number }): string {
  const out: string[] = [];
  out.push(`## Live activity benchmark (${context.started})`, '');
  out.push(`Command: \`npm run bench:fanout${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (${f1(context.seconds / 60)} min)`);
  out.push(
    `Machine: ${context.machine}; NODE_ENV=${NODE_ENV}, pool ${POOL}${opts['server-node-options'] ? `, server node flags \`${opts['server-node-options']}\`` : ''}.`,
  );
  out.push(`Subscription: \`${SUBSCRIPTION}\``, '');

  if (runs.length) {
    out.push('### Fan-out', '');
    out.push(
      table(
        ['scenario', 'target', 'subs', 'posts/s', 'posts', 'deliveries/s', 'lost', 'dup', 'unexpected', 'out of order', 'publish→recv p50 / p90 / p99 / max ms', 'send→recv p50 / p99 ms', 'occurredAt→recv p99 ms', 'mutation p50 / p99 ms', 'server CPU (cores)', 'server µs/delivery', 'load CPU (cores)', 'PG CPU (cores)', 'RSS MiB before / idle N / after', 'peak RSS MiB', 'KiB/conn RSS / heap', 'after close subs / sockets', 'other load (CPUs)'],
        runs.map((r) => {
          const f = fanoutFigures(r);
          const t = r.tally;
          return [
            r.scenario, r.target, r.subscribers, f1(f.postsPerSecond), r.written.posts.length + (r.written.failures ? ` (+${r.written.failures} failed)` : ''),
            Math.round(f.deliveriesPerSecond), t.lost, t.duplicates, t.unexpected, t.outOfOrder,
            `${ms(t.publishToReceive.p50)} / ${ms(t.publishToReceive.p90)} / **${ms(t.publishToReceive.p99)}** / ${ms(t.publishToReceive.max)}`,
            `${ms(t.sendToReceive.p50)} / ${ms(t.sendToReceive.p99)}`, ms(t.occurredToReceive.p99),
            `${ms(r.mutation.p50)} / ${ms(r.mutation.p99)}`,
            f2(f.serverCores), f1(f.serverUsPerDelivery), f2(r.cpu.load / r.cpu.seconds), f2(r.cpu.postgres / r.cpu.seconds),
            `${f1(total(r.before, 'rssMiB'))} / ${f1(total(r.idle, 'rssMiB'))} / ${f1(total(r.after, 'rssMiB'))}`, f1(r.peakRssMiB),
            `${f1(f.rssPerConnectionKiB)} / ${f1(f.heapPerConnectionKiB)}`,
            `${r.closedTo.subscribers} / ${r.closedTo.sockets}`, f2(r.cpu.otherCpus),
          ];
        }),
      ),
      '',
    );
    // Ratios of the app over the baseline, per size, from the medians of the rounds' figures.
    const ratios: (string | number)[][] = [];
    for (const size of new Set(runs.filter((r) => r.scenario === 'fanout').map((r) => r.subscribers))) {
      const of = (target: ServerKind) => runs.filter((r) => r.scenario === 'fanout' && r.target === target && r.subscribers === size);
      const app = of('graphql');
      const base = of('baseline');
      if (!app.length || !base.length) continue;
      const median = (rs: FanoutRun[], pick: (r: FanoutRun) => number) => {
        const sorted = rs.map(pick).sort((a, b) => a - b);
        return sorted[Math.floor(sorted.length / 2)];
      };
      const ratio = (pick: (r: FanoutRun) => number) => f2(median(app, pick) / median(base, pick));
      ratios.push([
        size,
        ratio((r) => r.tally.publishToReceive.p50),
        ratio((r) => r.tally.publishToReceive.p99),
        ratio((r) => r.tally.sendToReceive.p99),
        ratio((r) => fanoutFigures(r).serverUsPerDelivery),
        ratio((r) => fanoutFigures(r).rssPerConnectionKiB),
        ratio((r) => fanoutFigures(r).heapPerConnectionKiB),
      ]);
    }
    if (ratios.length) {
      out.push(table(['graphql / baseline at N subscribers', 'publish→recv p50', 'publish→recv p99', 'send→recv p99', 'server CPU per delivery', 'RSS per connection', 'heap per connection'], ratios), '');
    }
    for (const r of runs) {
      if (r.written.failures) out.push(`- ${r.target} ${r.subscribers}: ${r.written.failures} writes failed: ${r.written.failureSamples.join('; ')}`);
      if (r.written.behind) out.push(`- ${r.target} ${r.subscribers}: ${r.written.behind} writes sent more than 20 ms late (the writer fell behind its schedule)`);
      if (r.profiles.length) out.push(`- ${r.target} ${r.subscribers}: profiles and snapshots ${r.profiles.join(', ')}`);
    }
    out.push('');
  }

  if (churns.length) {
    out.push('### Churn', '');
    out.push(
      table(
        ['target', 'mode', 'clients', 'subscribes', 'completes', 'connections', 'errors', 'events delivered', 'server CPU (cores)', 'server CPU ms per subscribe+complete', 'PG CPU (cores)', 'RSS MiB before / after', 'heap used MiB before / after', 'after: subs / sockets', 'other load (CPUs)'],
        churns.map((c) => {
          const serverCpu = sum(c.cpu.servers);
          return [
            c.target, c.mode, CHURN_CLIENTS, c.result.subscribes, c.result.completes, c.result.connections,
            c.result.errors + (c.result.errorSamples.length ? ` (${c.result.errorSamples.join('; ').slice(0, 200)})` : ''),
            c.result.events, f2(serverCpu / c.cpu.seconds), f2((serverCpu * 1000) / Math.max(1, c.result.subscribes)), f2(c.cpu.postgres / c.cpu.seconds),
            `${f1(total(c.before, 'rssMiB'))} / ${f1(total(c.after, 'rssMiB'))}`,
            `${f1(total(c.before, 'heapUsedMiB'))} / ${f1(total(c.after, 'heapUsedMiB'))}`,
            `${c.closedTo.subscribers} / ${c.closedTo.sockets}`, f2(c.cpu.otherCpus),
          ];
        }),
      ),
      '',
    );
  }
  return out.join('\n');
}

// ---- Main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = wallClock();
  const db = await createDatabase();
  console.error(`database ${db.name} created`);

  // Seeded through the app, which also migrates the database; then stopped.
  const seeder = await startServers('graphql', db.url, { spaceId: '', threadIds: [], writer: { id: '', token: '' }, subscriberTokens: [] });
  const seeded = await seed(seeder.children[0].url, db.url);
  await stopServers(seeder);
  console.error(`seeded: ${MEMBERS + 3} users, 1 MEMBERS space, ${THREADS} threads`);

  const runs: FanoutRun[] = [];
  const churns: ChurnRun[] = [];
  const samples = new Map<string, unknown>();
  await withAdmin(async (admin) => {
    const fanout = async (scenario: 'fanout' | 'redis', target: ServerKind, round: number, size: number, rate: number) => {
      console.error(`${scenario}: ${target}, ${size} subscribers, ${rate} posts/s, round ${round}`);
      const run = await fanoutRun(scenario, target, round, size, rate, db, seeded, admin);
      runs.push(run);
      if (run.tally.sample) samples.set(target, run.tally.sample);
      const t = run.tally;
      console.error(
        `  ${t.delivered} delivered, ${t.lost} lost, ${t.duplicates} duplicates; publish→recv p50 ${ms(t.publishToReceive.p50)} p99 ${ms(t.publishToReceive.p99)} ms; server ${f2(sum(run.cpu.servers) / run.cpu.seconds)} cores; other load ${f2(run.cpu.otherCpus)} CPUs`,
      );
    };
    if (SCENARIOS.includes('fanout')) {
      for (let i = 0; i < SIZES.length; i++) {
        for (let round = 1; round <= ROUNDS; round++) {
          for (const target of TARGETS) await fanout('fanout', target as ServerKind, round, SIZES[i], RATES[i]);
        }
      }
    }
    if (SCENARIOS.includes('churn')) {
      for (const mode of CHURN_MODES) {
        for (const target of TARGETS) {
          console.error(`churn: ${target}, ${CHURN_CLIENTS} clients replacing their ${mode} every ${CHURN_PERIOD} ms for ${CHURN_S} s`);
          const run = await churnRun(target as ServerKind, mode, db, seeded, admin);
          churns.push(run);
          console.error(`  ${run.result.subscribes} subscribes, ${run.result.errors} errors, server ${f2(sum(run.cpu.servers) / run.cpu.seconds)} cores; after: ${run.closedTo.subscribers} subscriptions, ${run.closedTo.sockets} sockets`);
        }
      }
    }
    if (SCENARIOS.includes('redis')) {
      for (let round = 1; round <= ROUNDS; round++) {
        for (const target of ['graphql', 'graphql-redis-1', 'graphql-redis-2'] as const) await fanout('redis', target, round, REDIS_SUBSCRIBERS, REDIS_RATE);
      }
    }
  });

  // The baseline must send what the app sends: the same fields, the same types, the same actor.
  const app = samples.get('graphql') as { data?: { activity?: { actor?: unknown; kind?: unknown } } } | undefined;
  const base = samples.get('baseline') as typeof app;
  if (app && base) {
    if (!isDeepStrictEqual(shape(app), shape(base)) || !isDeepStrictEqual(app.data?.activity?.actor, base.data?.activity?.actor)) {
      throw new Error(`the baseline's frames differ from the app's: ${JSON.stringify(app)} vs ${JSON.stringify(base)}`);
    }
    console.error(`the baseline sends the app's frame shape: ${JSON.stringify(base)}`);
  }

  console.log(report(runs, churns, { machine: await machineDescription(), started: new Date(started).toISOString(), seconds: (wallClock() - started) / 1000 }));
  const broken = runs.filter((r) => r.tally.lost || r.tally.duplicates || r.tally.unexpected || r.written.failures);
  if (broken.length) throw new Error(`lost, duplicated or unexpected events, or failed writes, in: ${broken.map((r) => `${r.target} ${r.subscribers}`).join(', ')}`);
}

// Everything is bounded: each connection, request and wait, and the whole benchmark.
const fanoutRuns = (SCENARIOS.includes('fanout') ? SIZES.length * TARGETS.length * ROUNDS : 0) + (SCENARIOS.includes('redis') ? 3 * ROUNDS : 0);
const churnRuns = SCENARIOS.includes('churn') ? CHURN_MODES.length * TARGETS.length : 0;
await runBenchmark(main, 300_000 + fanoutRuns * (WARMUP_S + DURATION_S + 300) * 1000 + churnRuns * (CHURN_S + 120) * 1000);
