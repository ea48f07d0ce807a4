import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { createSpace, createThread, createUser, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { connected, startTestApp, subscribe, uniqueEmail, type TestApp } from './helpers.js';

// GET /metrics through the real server: a scripted session, then the counters it must have
// moved, by exactly how much (text format parsed, before and after compared).

const ScrapeThread = graphql(`
  query ScrapeThread($id: ID!) {
    node(id: $id) { ... on Thread { id title posts(first: 10) { edges { node { id body } } } } }
  }
`);
const ScrapeBadCursor = graphql(`
  query ScrapeBadCursor($after: String) {
    activityLog(first: 5, after: $after) { edges { cursor } }
  }
`);
const ScrapeReply = graphql(`
  mutation ScrapeReply($input: ReplyToThreadInput!) {
    replyToThread(input: $input) { __typename ... on PostPayload { post { id } } ... on Error { message } }
  }
`);
const ScrapeSignIn = graphql(`
  mutation ScrapeSignIn($input: SignInInput!) {
    signIn(input: $input) { __typename ... on AuthPayload { token } ... on Error { message } }
  }
`);
const ScrapeSignUp = graphql(`
  mutation ScrapeSignUp($input: SignUpInput!) {
    signUp(input: $input) { __typename ... on Error { message } }
  }
`);
const ScrapeActivity = graphql(`
  subscription ScrapeActivity($filter: ActivityFilter) {
    activity(filter: $filter) { id kind }
  }
`);

type Samples = Map<string, number>;

/** Prometheus text format: `name{a="x",b="y"} value` lines, keyed by name and sorted labels. */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}=${v}`).sort();
    samples.set(key(match[1], labels), Number(match[3]));
  }
  return samples;
}

function key(name: string, labels: string[] | Record<string, string> = []): string {
  const list = Array.isArray(labels) ? labels : Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort();
  return `${name}{${list.join(',')}}`;
}

/** A sample's value (0 when absent, as a counter not yet incremented). */
const value = (samples: Samples, name: string, labels: Record<string, string> = {}) => samples.get(key(name, labels)) ?? 0;

async function scrape(url: string, token?: string): Promise<Samples> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await response.text());
}

const metricsUrl = (t: TestApp) => t.url.replace(/\/graphql$/, '/metrics');

// Jobs that would query while a request is measured run once at start, then not for an hour.
const QUIET_JOBS = {
  SLA_JOB_INTERVAL_MS: '0',
  NOTIFICATION_POLL_MS: '0',
  MAIL_JOB_INTERVAL_MS: '0',
  NOTIFICATION_DIGEST_INTERVAL_MS: '0',
  LISTENING_JOB_INTERVAL_MS: '3600000',
};

describe('metrics after a scripted session', () => {
  let t: TestApp;
  let admin: Actor;
  let threadId: string;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_ENABLED: 'true', ...QUIET_JOBS });
    // The start-up passes of the jobs still on are over before anything is measured.
    await vi.waitFor(async () => {
      const samples = await scrape(metricsUrl(t));
      for (const job of ['activity-retention', 'listening-feeds', 'listening-alerts']) {
        expect(value(samples, 'tertulia_job_runs_total', { job, outcome: 'ok' })).toBe(1);
      }
    }, { timeout: 60_000, interval: 100 });
    admin = await createUser(t, 'Admin');
    const spaceId = await createSpace(t, admin, 'metrics-space');
    threadId = await createThread(t, admin, spaceId, 'Measured', 'Its body');
  });
  afterAll(() => t?.stop());

  it('counts requests, errors by code, phases and the SQL of each operation', async () => {
    const before = await scrape(metricsUrl(t));
    const statements: string[] = [];
    const stop = onQuery((sql) => statements.push(sql));
    try {
      await t.query(ScrapeThread, { id: threadId }, admin.token);
      await t.query(ScrapeThread, { id: threadId }, admin.token);
    } finally {
      stop();
    }
    const bad = await t.request(ScrapeBadCursor, { after: 'garbage' }, admin.token);
    expect(bad.errors?.[0]).toMatchObject({ extensions: { code: 'VALIDATION' } });
    // A mutation whose answer is an error of its union: a request, but no GraphQL error.
    const wrong = await t.query(ScrapeSignIn, { input: { email: uniqueEmail('nobody'), password: 'not the password' } });
    expect(wrong.signIn.__typename).toBe('InvalidCredentialsError');
    const after = await scrape(metricsUrl(t));
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    const thread = { operationName: 'ScrapeThread', operationType: 'query' };
    expect(delta('graphql_envelop_request', thread)).toBe(2);
    expect(delta('graphql_envelop_phase_execute_count', thread)).toBe(2);
    expect(delta('graphql_envelop_phase_parse_count', thread)).toBe(2);
    expect(delta('graphql_envelop_phase_validate_count', thread)).toBe(2);
    expect(delta('graphql_envelop_phase_context_count', thread)).toBe(2);
    expect(delta('graphql_envelop_request_duration_count', thread)).toBe(2);
    expect(delta('graphql_envelop_phase_execute_bucket', { ...thread, le: '+Inf' })).toBe(2);
    expect(delta('graphql_envelop_error_result', { ...thread, phase: 'execute', code: 'VALIDATION' })).toBe(0);

    const badCursor = { operationName: 'ScrapeBadCursor', operationType: 'query' };
    expect(delta('graphql_envelop_request', badCursor)).toBe(1);
    expect(delta('graphql_envelop_error_result', { ...badCursor, phase: 'execute', code: 'VALIDATION' })).toBe(1);

    const signIn = { operationName: 'ScrapeSignIn', operationType: 'mutation' };
    expect(delta('graphql_envelop_request', signIn)).toBe(1);
    const signInErrors = [...after.keys()].filter((k) => k.startsWith('graphql_envelop_error_result{') && k.includes('operationName=ScrapeSignIn'));
    expect(signInErrors).toEqual([]);

    // Every statement of the two requests (the token's session lookup included), and only those.
    expect(statements.length).toBeGreaterThan(0);
    expect(delta('tertulia_sql_statements_total', { source: 'graphql', operation: 'ScrapeThread' })).toBe(statements.length);
    expect(delta('tertulia_sql_duration_seconds_total', { source: 'graphql', operation: 'ScrapeThread' })).toBeGreaterThan(0);
  });

  it('counts parse and validation failures with their codes', async () => {
    const post = (query: string) =>
      fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then((r) => r.json());
    const before = await scrape(metricsUrl(t));
    expect(await post('query ScrapeInvalid { noSuchField }')).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    expect(await post('query ScrapeBroken {')).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
    const after = await scrape(metricsUrl(t));
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('graphql_envelop_error_result', { operationName: 'ScrapeInvalid', operationType: 'query', phase: 'validate', code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(delta('graphql_envelop_error_result', { operationName: 'anonymous', operationType: 'unknown', phase: 'parse', code: 'GRAPHQL_PARSE_FAILED' })).toBe(1);
    // Refused before execution: not a request.
    expect(delta('graphql_envelop_request', { operationName: 'ScrapeInvalid', operationType: 'query' })).toBe(0);
  });

  it('counts live subscriptions, WebSocket connections, events published and delivered, and their lag', async () => {
    const before = await scrape(metricsUrl(t));
    const client = t.wsClient(admin.token);
    const isConnected = connected(client);
    const sub = subscribe(client, ScrapeActivity, { filter: { threadId } });
    await isConnected;
    const live = { field: 'activity', transport: 'websocket' };
    await vi.waitFor(async () => {
      const now = await scrape(metricsUrl(t));
      expect(value(now, 'tertulia_live_subscriptions', live) - value(before, 'tertulia_live_subscriptions', live)).toBe(1);
      expect(value(now, 'tertulia_websocket_connections', { kind: 'signed-in' }) - value(before, 'tertulia_websocket_connections', { kind: 'signed-in' })).toBe(1);
    });

    const { replyToThread } = await t.query(ScrapeReply, { input: { threadId, body: 'Counted' } }, admin.token);
    expect(replyToThread.__typename).toBe('PostPayload');
    const [event] = await sub.next(1);
    expect(event.data?.activity.kind).toBe('POST_CREATED');

    const after = await scrape(metricsUrl(t));
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(delta('tertulia_activity_events_published_total', { kind: 'POST_CREATED' })).toBe(1);
    expect(delta('tertulia_activity_events_delivered_total', { kind: 'POST_CREATED' })).toBe(1);
    expect(delta('tertulia_activity_delivery_lag_seconds_count')).toBe(1);
    expect(delta('tertulia_activity_delivery_lag_seconds_sum')).toBeGreaterThanOrEqual(0);
    expect(delta('tertulia_activity_delivery_lag_seconds_sum')).toBeLessThan(5);
    expect(delta('graphql_envelop_request', { operationName: 'ScrapeReply', operationType: 'mutation' })).toBe(1);

    // Ended by the client: the gauges come back down.
    sub.dispose();
    await client.dispose();
    await vi.waitFor(async () => {
      const now = await scrape(metricsUrl(t));
      expect(value(now, 'tertulia_live_subscriptions', live)).toBe(value(before, 'tertulia_live_subscriptions', live));
      expect(value(now, 'tertulia_websocket_connections', { kind: 'signed-in' })).toBe(value(before, 'tertulia_websocket_connections', { kind: 'signed-in' }));
    });
  });

  it('reports the outbox backlog, the jobs, the database pool and Redis, and process metrics', async () => {
    const res = await t.query(ScrapeSignUp, { input: { email: uniqueEmail('queued'), password: 'a long enough password', displayName: 'Queued' } });
    expect(res.signUp.__typename).toBe('AccountEmailPayload');
    // The mail job is off here, so every queued email is still PENDING; the gauge is cached for 5 s.
    const pending = await prisma().outboundMessage.count({ where: { status: 'PENDING' } });
    expect(pending).toBeGreaterThan(0);
    await vi.waitFor(
      async () => expect(value(await scrape(metricsUrl(t)), 'tertulia_outbox_pending_messages')).toBe(pending),
      { timeout: 20_000, interval: 500 },
    );
    const samples = await scrape(metricsUrl(t));
    expect(value(samples, 'tertulia_job_runs_total', { job: 'activity-retention', outcome: 'ok' })).toBe(1);
    expect(value(samples, 'tertulia_job_duration_seconds_count', { job: 'activity-retention' })).toBe(1);
    expect(value(samples, 'tertulia_job_lag_seconds_count', { job: 'activity-retention' })).toBe(1);
    expect(value(samples, 'tertulia_sql_statements_total', { source: 'job', operation: 'activity-retention' })).toBeGreaterThan(0);
    expect(samples.has(key('tertulia_outbox_oldest_due_seconds'))).toBe(true);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.has(key('nodejs_eventloop_lag_p99_seconds'))).toBe(true);
    if (process.env.DATABASE_URL) {
      expect(value(samples, 'tertulia_db_pool_connections', { state: 'max' })).toBe(10);
      expect(value(samples, 'tertulia_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
      expect(samples.has(key('tertulia_db_pool_connections', { state: 'waiting' }))).toBe(true);
    } else {
      expect([...samples.keys()].some((k) => k.startsWith('tertulia_db_pool_connections'))).toBe(false);
    }
    if (process.env.REDIS_URL) {
      expect(value(samples, 'tertulia_redis_up', { connection: 'publish' })).toBe(1);
      expect(value(samples, 'tertulia_redis_up', { connection: 'subscribe' })).toBe(1);
    } else {
      expect([...samples.keys()].some((k) => k.startsWith('tertulia_redis_up'))).toBe(false);
    }
  });
});

// Apps are started in beforeAll hooks: a start on a busy machine can take longer than a test may.
describe('metrics off (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.stop());

  it('is off by default: /metrics is 404', async () => {
    expect(t.app.metrics).toBeUndefined();
    expect((await fetch(metricsUrl(t))).status).toBe(404);
  });
});

describe('metrics with METRICS_TOKEN', () => {
  const token = 'metrics-token-0123456789abcdef';
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: token });
  });
  afterAll(() => t?.stop());

  it('with METRICS_TOKEN, answers only a request with that bearer token', async () => {
    const without = await fetch(metricsUrl(t));
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect((await fetch(metricsUrl(t), { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await fetch(metricsUrl(t), { headers: { authorization: `Bearer ${token.slice(0, -1)}` } })).status).toBe(401);
    expect((await fetch(metricsUrl(t), { headers: { authorization: token } })).status).toBe(401);
    const samples = await scrape(metricsUrl(t), token);
    expect(samples.has(key('process_resident_memory_bytes'))).toBe(true);
  });
});

describe('metrics with METRICS_PORT', () => {
  const token = 'another-metrics-token-0123456789';
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_PORT: '0', METRICS_TOKEN: token });
  });
  afterAll(() => t?.stop());

  it('with METRICS_PORT, serves /metrics on that port only', async () => {
    const own = t.app.metricsUrl();
    expect(own).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(own!).port).not.toBe(new URL(t.url).port);
    expect((await fetch(metricsUrl(t), { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    expect((await fetch(own!)).status).toBe(401);
    expect((await scrape(own!, token)).has(key('process_resident_memory_bytes'))).toBe(true);
    expect((await fetch(own!.replace(/\/metrics$/, '/graphql'))).status).toBe(404);
  });
});
