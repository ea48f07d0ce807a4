// Benchmark: the 20-thread page of a space, as a signed-in member sees it, over HTTP.
//
//   npm run bench [-- --connections 20 --warmup 3 --duration 10 --rounds 2 --targets graphql,baseline]
//
// PostgreSQL only (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, used as the admin
// connection): a fresh database with a random name is created, used, and dropped at the end, also
// on failure and Ctrl-C. The app migrates it on start; the data is seeded through the public API.
//
// Targets, measured alternately (A B A B ...) with the same autocannon settings:
//   graphql          the real app (bench/server.ts), the ThreadPage query below
//   baseline         a hand-written node:http + pg endpoint for the same read (bench/baseline-server.ts)
// and, optional, to attribute the app's cost:
//   graphql-lite     the app, the same query minus reactionGroups
//   graphql-min      the app, `{ __typename }` with the same token: HTTP, Yoga and authentication only
//
// Each server runs in a child process of its own (`node --import tsx <file>`), not in this
// process: autocannon spends real CPU on sending and parsing, and in-process it would share the
// event loop (and the GC) with the server it measures, and do so differently for the two targets.
// Separate processes also give each server its own RSS to report. Every child has an IPC channel:
// it exits when told to, on SIGINT/SIGTERM, and by itself when this process goes away.
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import type { Requests } from './ipc.js';
import {
  type Actor,
  backendCpu,
  backendCpuSpent,
  type Child,
  cpuSeconds,
  createDatabase,
  CREATE_THREAD,
  f1,
  f2,
  inParallel,
  intOption,
  type Json,
  machineBusySeconds,
  mutate,
  NODE_ENV,
  percentile,
  post,
  machineDescription,
  procStatus,
  PROFILE_DIR,
  REPLY,
  ROOT,
  runBenchmark,
  seedSpace,
  startChild,
  table,
  withAdmin,
} from './harness.js';

const { values: opts } = parseArgs({
  options: {
    connections: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    targets: { type: 'string', default: 'graphql,baseline' },
    threads: { type: 'string', default: '240' },
    members: { type: 'string', default: '12' },
    pool: { type: 'string', default: '10' },
    'cpu-prof': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(`npm run bench -- [options]
  --connections N   autocannon connections (20)
  --warmup S        seconds of unmeasured load before each measured run (3)
  --duration S      seconds per measured run (10)
  --rounds N        measured runs per target, alternating targets (2)
  --targets LIST    graphql,baseline[,graphql-lite][,graphql-min] (graphql,baseline)
  --threads N       threads to seed, >= 21 (240)
  --members N       member accounts to seed, >= 3 (12)
  --pool N          database pool size of both servers (10, the app's default)
  --cpu-prof        profile both servers during the measured runs (V8 CPU profiles in bench/.profiles/,
                    summarize with: npx tsx bench/cpuprofile-summary.ts FILE); slows them down
env DATABASE_URL    admin connection (postgres://postgres@127.0.0.1:5432/test); a fresh database is made next to it
env BENCH_NODE_ENV  NODE_ENV of both servers (production)`);
  process.exit(0);
}

const int = (name: keyof typeof opts, min: number, max: number): number => intOption(opts, name, min, max);
const CONNECTIONS = int('connections', 1, 1000);
const WARMUP_S = int('warmup', 0, 120);
const DURATION_S = int('duration', 1, 600);
const ROUNDS = int('rounds', 1, 20);
const THREADS = int('threads', 21, 20_000);
const MEMBERS = int('members', 3, 500);
const POOL = int('pool', 1, 200);
const TARGETS = opts.targets!.split(',').map((t) => t.trim());
for (const t of TARGETS) if (!['graphql', 'baseline', 'graphql-lite', 'graphql-min'].includes(t)) throw new Error(`unknown target ${t}`);
if (!TARGETS.includes('graphql') || !TARGETS.includes('baseline')) throw new Error('--targets must include graphql and baseline');

// ---- The query under test -------------------------------------------------------------------

const THREAD_PAGE = `query ThreadPage($spaceId: ID!) { threads(spaceId: $spaceId, first: 20) { totalCount edges { cursor node { id title createdAt lastActivityAt replyCount author { id displayName } reactionGroups { content count viewerHasReacted } } } pageInfo { hasNextPage endCursor } } }`;
const THREAD_PAGE_LITE = `query ThreadPageLite($spaceId: ID!) { threads(spaceId: $spaceId, first: 20) { totalCount edges { cursor node { id title createdAt lastActivityAt replyCount author { id displayName } } } pageInfo { hasNextPage endCursor } } }`;

// ---- GraphQL client for seeding and checks ----------------------------------------------------

const ADD_REACTION = `mutation ($input: ReactionInput!) { addReaction(input: $input) { __typename ... on Error { message } } }`;
const CONTENTS = ['THUMBS_UP', 'THUMBS_DOWN', 'LAUGH', 'HOORAY', 'CONFUSED', 'HEART', 'ROCKET', 'EYES'];

/** A small deterministic PRNG (mulberry32), so every run seeds the same shape of data. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Seeded = { spaceId: string; viewer: Actor; threads: number; replies: number; reactions: number; users: number };

async function seed(url: string, databaseUrl: string): Promise<Seeded> {
  const rand = prng(42);
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)];
  const { manager, members, spaceId } = await seedSpace(url, MEMBERS, databaseUrl);
  const viewer = members[0];
  const people = [manager, ...members];

  const threadIds: string[] = new Array(THREADS);
  await inParallel(
    Array.from({ length: THREADS }, (_, i) => async () => {
      const author = i % 10 === 0 ? manager : members[i % MEMBERS];
      const payload = await mutate(url, 'createThread', 'ThreadPayload', CREATE_THREAD, {
        spaceId,
        title: `How do I configure feature ${i + 1} for my team?`,
        body: `Thread ${i + 1}. I tried the settings page and the docs, but something is still unclear. `.repeat(1 + (i % 4)),
      }, author.token);
      threadIds[i] = payload.thread.id;
    }),
    8,
  );

  // 0 to 4 replies per thread, posted in a shuffled order so lastActivityAt interleaves threads.
  const replies: (() => Promise<unknown>)[] = [];
  threadIds.forEach((threadId, i) => {
    const count = Math.floor(rand() * 5);
    for (let k = 0; k < count; k++) {
      const author = pick(people);
      replies.push(() => mutate(url, 'replyToThread', 'PostPayload', REPLY, { threadId, body: `Reply ${k + 1} to thread ${i + 1}.` }, author.token));
    }
  });
  for (let i = replies.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [replies[i], replies[j]] = [replies[j], replies[i]];
  }
  await inParallel(replies, 8);

  // Reactions on ~70% of threads: 1 to 6 users, 1 or 2 contents each; the viewer on every 5th.
  const reactions: (() => Promise<unknown>)[] = [];
  threadIds.forEach((subjectId, i) => {
    if (rand() >= 0.7 && i % 5 !== 0) return;
    const users = new Set<Actor>();
    const count = Math.min(people.length, 1 + Math.floor(rand() * 6));
    while (users.size < count) users.add(pick(people));
    if (i % 5 === 0) users.add(viewer);
    for (const user of users) {
      const contents = new Set([pick(CONTENTS.slice(0, 4)), ...(rand() < 0.3 ? [pick(CONTENTS)] : [])]);
      for (const content of contents) {
        reactions.push(() => mutate(url, 'addReaction', 'ReactionPayload', ADD_REACTION, { subjectId, content }, user.token));
      }
    }
  });
  await inParallel(reactions, 8);

  return { spaceId, viewer, threads: THREADS, replies: replies.length, reactions: reactions.length, users: 2 + MEMBERS };
}

// ---- Equivalence check ----------------------------------------------------------------------

function firstDifference(a: unknown, b: unknown, at = '$'): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const diff = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`);
      if (diff) return diff;
    }
  }
  return `${at}: ${JSON.stringify(a)?.slice(0, 300)} != ${JSON.stringify(b)?.slice(0, 300)}`;
}

function withoutReactions(data: Json): Json {
  return {
    threads: {
      ...data.threads,
      edges: data.threads.edges.map(({ node: { reactionGroups: _, ...node }, ...edge }: Json) => ({ ...edge, node })),
    },
  };
}

// ---- Load -----------------------------------------------------------------------------------

type Target = { name: string; child: Child; body: string; expectBody: string };
type Run = {
  target: string;
  round: number;
  seconds: number;
  /** 2xx responses autocannon received within the measured time. */
  responses: number;
  /** Requests the server finished between the two idle readings (includes the last in-flight ones). */
  served: number;
  latencies: number[];
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  statements: number;
  serverCpu: number;
  postgresCpu: number;
  loadgenCpu: number;
  rssMiB: number;
  hwmMiB: number;
  heapMiB: number;
  /** CPUs kept busy by everything else on the machine during the run (noise; ideally 0). */
  otherCpus: number;
};

function cannon(target: Target, token: string, seconds: number, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.child.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: target.body,
        connections: CONNECTIONS,
        duration: seconds,
        timeout: 10,
        // The data does not change during the load, so every answer must be byte-identical to
        // the one checked before: a GraphQL error or a wrong page counts as a mismatch.
        expectBody: target.expectBody,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    if (onLatency) instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => onLatency(ms));
  });
}

type Stats = Requests['stats']['reply'];

/** The child's counters once it has no request in flight (bounded wait). */
async function quiet(child: Child): Promise<Stats> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stats = await child.ask('stats', {});
    if (stats.inflight === 0) return stats;
    if (Date.now() > deadline) throw new Error(`${child.name} still has ${stats.inflight} requests in flight after 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function measure(target: Target, round: number, token: string, admin: pg.Client, database: string): Promise<Run> {
  if (WARMUP_S > 0) await cannon(target, token, WARMUP_S);
  // Counters are read with the server idle, so statements and CPU belong to the requests counted.
  const first = await quiet(target.child);
  const before = {
    server: cpuSeconds(target.child.pid),
    postgres: await backendCpu(admin, database),
    loadgen: process.cpuUsage(),
    machine: machineBusySeconds(),
    at: performance.now(),
  };
  const latencies: number[] = [];
  if (opts['cpu-prof']) await target.child.ask('profile', { on: true, dir: PROFILE_DIR });
  const result = await cannon(target, token, DURATION_S, (ms) => latencies.push(ms));
  const loadgen = process.cpuUsage(before.loadgen);
  if (opts['cpu-prof']) {
    const { file } = await target.child.ask('profile', { on: false, dir: PROFILE_DIR });
    console.error(`  CPU profile of ${target.name}: ${file ? path.relative(ROOT, file) : 'failed'}`);
  }
  const last = await quiet(target.child);
  const after = {
    server: cpuSeconds(target.child.pid),
    postgres: await backendCpu(admin, database),
    machine: machineBusySeconds(),
    at: performance.now(),
  };
  const postgresCpu = backendCpuSpent(before.postgres, after.postgres);
  const loadgenCpu = (loadgen.user + loadgen.system) / 1e6;
  const ours = after.server - before.server + postgresCpu + loadgenCpu;
  return {
    target: target.name,
    round,
    seconds: result.duration,
    responses: result['2xx'],
    served: last.requests - first.requests,
    latencies,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    statements: last.statements - first.statements,
    serverCpu: after.server - before.server,
    postgresCpu,
    loadgenCpu,
    ...procStatus(target.child.pid),
    heapMiB: last.heapMiB,
    otherCpus: Math.max(0, after.machine - before.machine - ours) / ((after.at - before.at) / 1000),
  };
}

// ---- Report ---------------------------------------------------------------------------------

type Summary = {
  target: string;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  non2xx: number;
  mismatches: number;
  statementsPerRequest: number;
  serverCpuMs: number;
  postgresCpuMs: number;
  loadgenCpuMs: number;
  rssMiB: number;
  hwmMiB: number;
  heapMiB: number;
};

function summarize(target: string, runs: Run[]): Summary {
  const responses = runs.reduce((n, r) => n + r.responses, 0);
  const served = runs.reduce((n, r) => n + r.served, 0);
  const sorted = Float64Array.from(runs.flatMap((r) => r.latencies)).sort();
  const perRequest = (key: 'serverCpu' | 'postgresCpu') => (runs.reduce((s, r) => s + r[key], 0) * 1000) / served;
  return {
    target,
    rps: responses / runs.reduce((s, r) => s + r.seconds, 0),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    errors: runs.reduce((n, r) => n + r.errors, 0), // autocannon's errors include its timeouts
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    mismatches: runs.reduce((n, r) => n + r.mismatches, 0),
    statementsPerRequest: runs.reduce((n, r) => n + r.statements, 0) / served,
    serverCpuMs: perRequest('serverCpu'),
    postgresCpuMs: perRequest('postgresCpu'),
    loadgenCpuMs: (runs.reduce((s, r) => s + r.loadgenCpu, 0) * 1000) / responses,
    rssMiB: Math.max(...runs.map((r) => r.rssMiB)),
    hwmMiB: Math.max(...runs.map((r) => r.hwmMiB)),
    heapMiB: Math.max(...runs.map((r) => r.heapMiB)),
  };
}

// ---- Main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const db = await createDatabase();
  console.error(`database ${db.name} created`);
  const env = { BENCH_DATABASE_URL: db.url, BENCH_POOL_SIZE: String(POOL), NODE_ENV: NODE_ENV };

  const app = await startChild('graphql', 'server.ts', env);
  const idleRss: Record<string, number> = { graphql: procStatus(app.pid).rssMiB };
  console.error(`app at ${app.url} (pid ${app.pid}, RSS ${f1(idleRss.graphql)} MiB)`);
  const seeded = await seed(app.url, db.url);
  console.error(
    `seeded in ${((Date.now() - started) / 1000).toFixed(1)} s: ${seeded.users} users, 1 space, ${seeded.threads} threads, ${seeded.replies} replies, ${seeded.reactions} reactions`,
  );
  const baseline = await startChild('baseline', 'baseline-server.ts', env);
  idleRss.baseline = procStatus(baseline.pid).rssMiB;
  idleRss['graphql-lite'] = idleRss['graphql-min'] = idleRss.graphql;
  console.error(`baseline at ${baseline.url} (pid ${baseline.pid}, RSS ${f1(idleRss.baseline)} MiB)`);

  const variables = { spaceId: seeded.spaceId };
  const bodies = {
    graphql: JSON.stringify({ query: THREAD_PAGE, variables, operationName: 'ThreadPage' }),
    'graphql-lite': JSON.stringify({ query: THREAD_PAGE_LITE, variables, operationName: 'ThreadPageLite' }),
    'graphql-min': JSON.stringify({ query: 'query Min { __typename }' }),
  };
  const bodyOf = (name: string) => bodies[name as keyof typeof bodies] ?? bodies.graphql;
  const token = seeded.viewer.token;

  // Check once, before any load, that both answer the same page; fail loudly if not.
  const answers: Record<string, { text: string; data: Json }> = {};
  for (const name of TARGETS) {
    const child = name === 'baseline' ? baseline : app;
    const { status, text } = await post(child.url, bodyOf(name), token);
    const parsed = JSON.parse(text) as { data?: Json; errors?: unknown };
    if (status !== 200 || parsed.errors || !parsed.data) throw new Error(`${name} answered ${status}: ${text.slice(0, 500)}`);
    answers[name] = { text, data: parsed.data };
  }
  const diff = firstDifference(answers.graphql.data, answers.baseline.data);
  if (diff) throw new Error(`graphql and baseline disagree at ${diff}`);
  if (answers['graphql-lite']) {
    const liteDiff = firstDifference(answers['graphql-lite'].data, withoutReactions(answers.baseline.data));
    if (liteDiff) throw new Error(`graphql-lite and baseline disagree at ${liteDiff}`);
  }
  if (answers['graphql-min'] && answers['graphql-min'].data.__typename !== 'Query') throw new Error('graphql-min: unexpected answer');
  const page = answers.graphql.data.threads;
  const nodes: Json[] = page.edges.map((e: Json) => e.node);
  const facts = {
    edges: nodes.length,
    totalCount: page.totalCount,
    hasNextPage: page.pageInfo.hasNextPage,
    withReplies: nodes.filter((n) => n.replyCount > 0).length,
    withReactions: nodes.filter((n) => n.reactionGroups.some((g: Json) => g.count > 0)).length,
    viewerReacted: nodes.filter((n) => n.reactionGroups.some((g: Json) => g.viewerHasReacted)).length,
    authors: new Set(nodes.map((n) => n.author.id)).size,
  };
  if (facts.edges !== 20 || facts.totalCount !== THREADS || !facts.hasNextPage || !facts.withReplies || !facts.withReactions || !facts.viewerReacted) {
    throw new Error(`the page is not the seeded data: ${JSON.stringify(facts)}`);
  }
  console.error(`both answer the same page: ${JSON.stringify(facts)}, ${answers.graphql.text.length} bytes`);

  // The SQL of one request, per server.
  const traces: Record<string, string[]> = {};
  for (const name of TARGETS) {
    const child = name === 'baseline' ? baseline : app;
    await child.ask('trace', { on: true });
    await post(child.url, bodyOf(name), token);
    traces[name] = (await child.ask('trace', { on: false })).statements;
  }

  const targets: Target[] = TARGETS.map((name) => ({
    name,
    child: name === 'baseline' ? baseline : app,
    body: bodyOf(name),
    expectBody: answers[name].text,
  }));

  const runs: Run[] = [];
  await withAdmin(async (admin) => {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of targets) {
        console.error(`round ${round}/${ROUNDS}: ${target.name} (${WARMUP_S} s warm-up, ${DURATION_S} s measured, ${CONNECTIONS} connections)`);
        const run = await measure(target, round, token, admin, db.name);
        runs.push(run);
        console.error(
          `  ${f1(run.responses / run.seconds)} req/s, ${run.responses} responses, errors ${run.errors} (timeouts ${run.timeouts}), non-2xx ${run.non2xx}, mismatches ${run.mismatches}, other load ${f2(run.otherCpus)} CPUs`,
        );
      }
    }
  });

  // ---- Print ----
  const summaries = TARGETS.map((name) => summarize(name, runs.filter((r) => r.target === name)));
  const by = Object.fromEntries(summaries.map((s) => [s.target, s]));
  const out: string[] = [];
  out.push(`## Thread page benchmark (${new Date().toISOString()})`, '');
  out.push(`Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``);
  out.push(
    `Machine: ${await machineDescription()}`,
  );
  out.push(
    `Load: autocannon, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s measured per run, ${ROUNDS} rounds of ${TARGETS.join(' / ')} alternating; both servers with a pool of ${POOL}, NODE_ENV=${NODE_ENV}.`,
  );
  out.push(`Data: ${seeded.users} users, 1 MEMBERS space, ${seeded.threads} threads, ${seeded.replies} replies, ${seeded.reactions} reactions; page: ${JSON.stringify(facts)}; ${answers.graphql.text.length} bytes.`, '');
  out.push(
    table(
      ['target', 'req/s (mean)', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'non-2xx', 'mismatches', 'SQL/req', 'server CPU ms/req', 'PG CPU ms/req', 'loadgen CPU ms/req', 'RSS MiB at start', 'RSS MiB after', 'peak RSS MiB', 'V8 heap MiB after'],
      summaries.map((s) => [
        s.target, f1(s.rps), f2(s.p50), f2(s.p90), f2(s.p99), s.errors, s.non2xx, s.mismatches,
        f2(s.statementsPerRequest), f2(s.serverCpuMs), f2(s.postgresCpuMs), f2(s.loadgenCpuMs), f1(idleRss[s.target]), f1(s.rssMiB), f1(s.hwmMiB), f1(s.heapMiB),
      ]),
    ),
    '',
  );
  const ratios = summaries
    .filter((s) => s.target !== 'baseline')
    .map((s) => [
      `${s.target} / baseline`,
      f2(s.rps / by.baseline.rps),
      f2(s.p50 / by.baseline.p50),
      f2(s.p99 / by.baseline.p99),
      f2(s.serverCpuMs / by.baseline.serverCpuMs),
      f2(s.postgresCpuMs / by.baseline.postgresCpuMs),
    ]);
  out.push(table(['ratio', 'req/s', 'p50', 'p99', 'server CPU/req', 'PG CPU/req'], ratios), '');
  out.push('Per run:', '');
  out.push(
    table(
      ['round', 'target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'mismatches', 'RSS MiB after', 'other load (CPUs)'],
      runs.map((r) => {
        const sorted = Float64Array.from(r.latencies).sort();
        return [r.round, r.target, f1(r.responses / r.seconds), f2(percentile(sorted, 50)), f2(percentile(sorted, 99)), r.errors, r.non2xx, r.mismatches, f1(r.rssMiB), f2(r.otherCpus)];
      }),
    ),
    '',
  );
  for (const name of TARGETS) {
    out.push(`SQL of one ${name} request (${traces[name].length} statements):`, '');
    for (const sql of traces[name]) out.push(`    ${sql.replace(/\s+/g, ' ').trim()}`);
    out.push('');
  }
  console.log(out.join('\n'));

  const failed = summaries.filter((s) => s.errors || s.non2xx || s.mismatches);
  if (failed.length) throw new Error(`errors under load: ${failed.map((s) => s.target).join(', ')}`);
}

// Everything is bounded: the seeding, every run, and the whole benchmark.
await runBenchmark(main, 300_000 + ROUNDS * TARGETS.length * (WARMUP_S + DURATION_S + 15) * 1000);
