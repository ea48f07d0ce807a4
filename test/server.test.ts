import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { closeDatabase } from '../src/db/client.js';
import { createSpace, createThread, createUser, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { isolatedDatabase, sleep, startTestApp, subscribe, type TestApp } from './helpers.js';
import { linkToken, storedEmails } from './mailbox.js';
import { killServers, ServerProcess, START_TIMEOUT, withTimeout } from './processes.js';

// The server as users run it: `node --import tsx src/main.ts` in a child process for start-up,
// configuration, shutdown and persistence; the in-process app (startTestApp) for HTTP behaviour.

const ON_POSTGRES = !!process.env.DATABASE_URL;
const PROCESS_TEST = 180_000;

// ---- Child processes --------------------------------------------------------------------------

const tempDirs: string[] = [];
const databases: { drop(): Promise<void> }[] = [];



function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tertulia-server-test-'));
  tempDirs.push(dir);
  return dir;
}

/**
 * The database settings of one spawned server family: a DATA_DIR of its own, or with
 * DATABASE_URL a fresh PostgreSQL database (never the shared one), dropped in afterAll.
 */
async function storageEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = { DATA_DIR: path.join(tempDir(), 'data') };
  const database = await isolatedDatabase('tertulia_server');
  if (database) {
    databases.push(database);
    env.DATABASE_URL = database.url;
  }
  if (process.env.REDIS_URL) {
    env.REDIS_URL = process.env.REDIS_URL;
    env.REDIS_CHANNEL_PREFIX = `tertulia-server-test-${randomBytes(6).toString('hex')}:`;
  }
  return env;
}

afterAll(async () => {
  killServers();
  for (const db of databases) await db.drop().catch(() => {});
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// ---- HTTP helpers -----------------------------------------------------------------------------

async function post(url: string, query: string, variables?: Record<string, unknown>, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
}

/** A raw HTTP request, so headers and framing (Content-Length, chunked) are exactly ours. */
function rawRequest(
  url: string,
  options: { method: string; headers: Record<string, string | number> },
  write: (req: http.ClientRequest) => void,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    write(req);
  });
}

/** A graphql-ws connection by hand, to see the exact close code. */
async function openGraphqlWs(
  url: string,
  token?: string,
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }>; messages: any[] }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await withTimeout(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 10_000, 'the WebSocket to open');
  ws.send(JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : undefined }));
  await withTimeout(
    (async () => {
      while (!messages.some((m) => m.type === 'connection_ack')) await sleep(10);
    })(),
    10_000,
    'connection_ack',
  );
  return { ws, closed, messages };
}

// ---- Configuration ----------------------------------------------------------------------------

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      dataDir: './.data',
      databaseUrl: undefined,
      redisUrl: undefined,
      logLevel: 'info',
      limits: { maxDepth: 12, maxCost: 50_000, maxSubscriptionCost: 5000, maxAliases: 30, maxDirectives: 20, maxTokens: 5000 },
      maxBodyBytes: 1024 * 1024,
      webhookToleranceSeconds: 300,
    });
    // An empty variable is unset, as with `PORT= npm start`.
    expect(loadConfig({ PORT: '', HOST: '' }).port).toBe(4000);
  });

  it('names every variable at fault', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', MAX_QUERY_DEPTH: '1', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', WEBHOOK_TOLERANCE_SECONDS: '0' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'MAX_QUERY_DEPTH', 'DATABASE_URL', 'LOG_LEVEL', 'WEBHOOK_TOLERANCE_SECONDS']) expect(message).toContain(`${name}:`);
  });

  it(
    'stops start-up with exit code 78 and a message naming the variable',
    async () => {
      const server = new ServerProcess({ DATA_DIR: path.join(tempDir(), 'data'), PORT: '99999', MAX_ALIASES: 'many' });
      const exit = await server.waitForExit(60_000);
      expect(exit).toEqual({ code: 78, signal: null });
      expect(server.stderr).toMatch(/^Invalid configuration:/);
      expect(server.stderr).toMatch(/^\s+PORT: /m);
      expect(server.stderr).toMatch(/^\s+MAX_ALIASES: /m);
      expect(server.logs.some((l) => String(l.msg).startsWith('Tertulia is listening'))).toBe(false);
    },
    PROCESS_TEST,
  );

  it(
    'stops cleanly when a process manager sends SIGTERM to `npm start`',
    async () => {
      const server = new ServerProcess({ DATA_DIR: ':memory:', HOST: '127.0.0.1' }, ['npm', 'start', '--silent']);
      const url = await server.listening();
      expect((await fetch(new URL('/healthz', url))).status).toBe(200);
      const exit = await server.stop();
      // npm hands the signal to the server, which shuts down as it does when run directly.
      expect(server.logs.filter((l) => ['shutting down', 'stopped'].includes(String(l.msg))).map((l) => [l.msg, l.signal])).toEqual([
        ['shutting down', 'SIGTERM'],
        ['stopped', undefined],
      ]);
      expect(exit).toEqual({ code: 0, signal: null });
      await expect(fetch(new URL('/healthz', url))).rejects.toThrow();
    },
    PROCESS_TEST,
  );
});

// ---- Endpoints, limits and errors (in-process app) --------------------------------------------

describe('endpoints and limits', () => {
  let t: TestApp;
  let base: string;
  let admin: Actor;
  let spaceId: string;
  const MAX_BODY_BYTES = 4096;

  beforeAll(async () => {
    t = await startTestApp({ MAX_QUERY_DEPTH: '5', MAX_QUERY_COST: '300', MAX_ALIASES: '3', MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
    base = t.url.replace(/\/graphql$/, '');
    admin = await createUser(t, 'Admin');
    spaceId = await createSpace(t, admin, 'server-test');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers /healthz and /readyz, and 404 elsewhere', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    // Mail never decides readiness (undelivered emails wait and are retried); without SMTP_URL it is logged.
    expect(await ready.json()).toEqual({ status: 'ready', mail: 'logging' });
    const other = await fetch(`${base}/nope`);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: 'Not found; the API is at /graphql' });
  });

  it('serves GraphQL over POST and GET, and refuses mutations over GET', async () => {
    expect(await post(t.url, 'query Hello { __typename }')).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });

    const get = await fetch(`${t.url}?query=${encodeURIComponent('query Hello { __typename }')}`, { headers: { accept: 'application/json' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });

    const mutation = 'mutation { signIn(input: { email: "a@example.com", password: "x" }) { __typename } }';
    const refused = await fetch(`${t.url}?query=${encodeURIComponent(mutation)}`, { headers: { accept: 'application/json' } });
    expect(refused.status).toBe(405);
  });

  it('serves GraphiQL to a browser and JSON to everyone else', async () => {
    const page = await fetch(t.url, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<title>Tertulia GraphiQL</title>');
    // An API client's GET without a query is an error, never the HTML page.
    const api = await fetch(t.url, { headers: { accept: 'application/json' } });
    expect(api.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await api.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });

  it('speaks graphql-ws on the same path', async () => {
    const { ws, closed, messages } = await openGraphqlWs(t.url);
    ws.send(JSON.stringify({ id: 'q1', type: 'subscribe', payload: { query: 'query OverWs { __typename }' } }));
    await withTimeout(
      (async () => {
        while (!messages.some((m) => m.id === 'q1' && m.type === 'complete')) await sleep(10);
      })(),
      10_000,
      'the query over graphql-ws',
    );
    expect(messages.filter((m) => m.id === 'q1')).toEqual([
      { id: 'q1', type: 'next', payload: { data: { __typename: 'Query' } } },
      { id: 'q1', type: 'complete' },
    ]);
    ws.close(1000);
    expect((await closed).code).toBe(1000);
  });

  it('answers a bad operation over graphql-ws with an error message, keeping the socket open', async () => {
    const user = await createUser(t, 'Revoked');
    const { ws, closed, messages } = await openGraphqlWs(t.url, user.token);
    const waitFor = (id: string) =>
      withTimeout(
        (async () => {
          while (!messages.some((m) => m.id === id && (m.type === 'error' || m.type === 'complete'))) await sleep(10);
          return messages.filter((m) => m.id === id);
        })(),
        10_000,
        `the answer to ${id}`,
      );

    ws.send(JSON.stringify({ id: 'syntax', type: 'subscribe', payload: { query: 'query Broken { viewer {' } }));
    expect(await waitFor('syntax')).toEqual([
      { id: 'syntax', type: 'error', payload: [expect.objectContaining({ message: 'Syntax Error: Expected Name, found <EOF>.' })] },
    ]);

    // The token is revoked after the connection was accepted: the next operation says so.
    expect((await post(t.url, 'mutation { signOut { __typename } }', undefined, user.token)).body).toEqual({
      data: { signOut: { __typename: 'SignOutPayload' } },
    });
    ws.send(JSON.stringify({ id: 'revoked', type: 'subscribe', payload: { query: 'query Me { viewer { id } }' } }));
    expect(await waitFor('revoked')).toEqual([
      {
        id: 'revoked',
        type: 'error',
        payload: [expect.objectContaining({ message: 'The access token is invalid, expired or revoked', extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })],
      },
    ]);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close(1000);
    expect((await closed).code).toBe(1000);
  });

  it('streams subscriptions over SSE to a GET with Accept: text/event-stream', async () => {
    const controller = new AbortController();
    const query = 'subscription SseKinds { activity(filter: { kinds: [THREAD_CREATED] }) { kind thread { title } } }';
    const response = await fetch(`${t.url}?query=${encodeURIComponent(query)}`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let text = '';
    const reader = response.body!.getReader();
    const reading = (async () => {
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += decoder.decode(value, { stream: true });
        }
      } catch {
        // aborted
      }
    })();
    // The stream goes live a moment after the response starts: write until an event shows up.
    const deadline = Date.now() + 20_000;
    while (!text.includes('event: next')) {
      if (Date.now() > deadline) throw new Error(`no SSE event; got ${JSON.stringify(text)}`);
      await createThread(t, admin, spaceId, 'Seen over SSE');
      await sleep(200);
    }
    controller.abort();
    await reading;
    expect(text).toContain('event: next\ndata: {"data":{"activity":{"kind":"THREAD_CREATED","thread":{"title":"Seen over SSE"}}}}');
  });

  it('refuses queries deeper than MAX_QUERY_DEPTH, but not introspection', async () => {
    const deep = 'query Deep { threads(first: 1) { edges { node { space { threads(first: 1) { edges { node { id } } } } } } } }';
    const { body } = await post(t.url, deep);
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([{ message: 'The query is 8 levels deep; at most 5 are allowed (MAX_QUERY_DEPTH)', extensions: { code: 'QUERY_TOO_DEEP' } }]);
    // GraphiQL's own introspection query is deeper than that and must keep working.
    const introspection = await post(t.url, getIntrospectionQuery());
    expect(introspection.body.errors).toBeUndefined();
    expect(introspection.body.data.__schema.queryType).toMatchObject({ name: 'Query' });
  });

  it('refuses queries costlier than MAX_QUERY_COST', async () => {
    const costly = `query Costly { threads(first: 10) { edges { node { id title body createdAt author { id displayName } space { id slug name } } } } }`;
    const { body } = await post(t.url, costly);
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([
      {
        message: 'The query costs 619; at most 300 is allowed (MAX_QUERY_COST). Ask for fewer items (first, last, ids) or fewer fields',
        extensions: { code: 'QUERY_TOO_COSTLY' },
      },
    ]);
    const cheap = await post(t.url, 'query Cheap { threads(first: 10) { edges { node { id } } } }');
    expect(cheap.body.errors).toBeUndefined();
  });

  it('refuses more aliases than MAX_ALIASES', async () => {
    const ok = await post(t.url, 'query ThreeAliases { a: viewer { id } b: viewer { id } c: viewer { id } }');
    expect(ok.body).toEqual({ data: { a: null, b: null, c: null } });
    const { body } = await post(t.url, 'query FourAliases { a: viewer { id } b: viewer { id } c: viewer { id } d: viewer { id } }');
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([{ message: 'The query uses 4 aliases; at most 3 are allowed (MAX_ALIASES)', extensions: { code: 'TOO_MANY_ALIASES' } }]);
  });

  it('never suggests field names', async () => {
    const { body } = await post(t.url, 'query Typo { viewr { id } spacs(first: 1) { totalCount } }');
    expect(body.errors!.length).toBeGreaterThan(0);
    const text = JSON.stringify(body.errors);
    expect(text).not.toMatch(/did you mean/i);
    expect(text).not.toContain('"viewer"');
    expect(text).not.toContain('spaces');
  });

  it('limits the request body: 413 over MAX_BODY_BYTES, 411 without a Content-Length', async () => {
    // At the limit is fine (padding the query with spaces).
    const query = 'query Padded { __typename }';
    const fits = JSON.stringify({ query: query + ' '.repeat(MAX_BODY_BYTES - JSON.stringify({ query }).length) });
    expect(Buffer.byteLength(fits)).toBe(MAX_BODY_BYTES);
    const ok = await rawRequest(t.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': MAX_BODY_BYTES } }, (req) => req.end(fits));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ data: { __typename: 'Query' } });

    const big = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `query Big { __typename }${' '.repeat(MAX_BODY_BYTES)}` }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: `Request body is larger than ${MAX_BODY_BYTES} bytes` });

    const chunked = await rawRequest(
      t.url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (req) => req.end(JSON.stringify({ query: 'query Chunked { __typename }' })),
    );
    expect(chunked.status).toBe(411);
    expect(JSON.parse(chunked.body)).toEqual({ error: 'POST requests need a Content-Length header' });
  });

  it('closes a WebSocket whose message is over MAX_BODY_BYTES with 1009, or is not UTF-8 with 1007, and keeps stderr quiet', async () => {
    const stderr = vi.spyOn(console, 'error');
    try {
      const big = await openGraphqlWs(t.url);
      big.ws.send(JSON.stringify({ id: 'big', type: 'subscribe', payload: { query: `query Big { __typename }${' '.repeat(MAX_BODY_BYTES)}` } }));
      expect((await withTimeout(big.closed, 10_000, 'the WebSocket to close')).code).toBe(1009);
      const garbled = await openGraphqlWs(t.url);
      garbled.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      expect((await withTimeout(garbled.closed, 10_000, 'the WebSocket to close')).code).toBe(1007);
      // A client's bad frame is the client's fault: a warning in the app's log, not an internal error.
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
    }
  });

  // Last in this block: it closes the app's database.
  it('masks unexpected errors (even with NODE_ENV=development) and reports not ready without a database', async () => {
    await closeDatabase();
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    try {
      const { status, body } = await post(t.url, 'query Spaces { spaces(first: 5) { edges { node { slug } } } }');
      expect(status).toBe(200);
      expect(body.errors).toEqual([
        {
          message: 'Unexpected error.',
          locations: [{ line: 1, column: 16 }],
          path: ['spaces'],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ]);
      const text = JSON.stringify(body);
      expect(text).not.toMatch(/stack|originalError|database is not open|\.ts:\d+/);
    } finally {
      process.env.NODE_ENV = previous;
    }
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable', reason: 'database is not answering', mail: 'logging' });
    // Alive all the same.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('live streams at shutdown', () => {
  it('completes open SSE streams and closes graphql-ws with 1001 at once, instead of holding the drain until the timeout', async () => {
    // The longest timeout allowed: if the streams held the drain, stop() would outlive the test.
    const own = await startTestApp({ SHUTDOWN_TIMEOUT_MS: '120000' });
    const admin = await createUser(own, 'Admin');
    const spaceId = await createSpace(own, admin, 'closing-time');
    const query = 'subscription SseAtShutdown { activity(filter: { kinds: [THREAD_CREATED] }) { kind } }';
    const response = await fetch(`${own.url}?query=${encodeURIComponent(query)}`, { headers: { accept: 'text/event-stream' } });
    let text = '';
    const reading = (async () => {
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    })();
    const ws = subscribe(own.wsClient(admin.token), graphql(`subscription WsAtShutdown { activity { kind } }`));
    while (!text.includes('event: next') || ws.received.length === 0) {
      await createThread(own, admin, spaceId, 'live');
      await sleep(100);
    }
    await withTimeout(own.app.stop(), 20_000, 'the app to stop');
    await reading;
    // The SSE response ended normally, with its closing event.
    expect(text.endsWith('\n\nevent: complete\ndata:\n\n')).toBe(true);
    // graphql-ws gets 1001 Going Away and no `complete`: its client should resume elsewhere.
    expect(ws.completed).toBe(false);
    expect(ws.error).toMatchObject({ code: 1001 });
    await own.stop();
  });
});

// ---- The process: start-up, single-instance lock, shutdown, persistence -----------------------

describe('the server process', () => {
  let env: Record<string, string>;
  let first: ServerProcess;
  let url: string;
  const email = `persist-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'a long enough password';

  beforeAll(async () => {
    env = await storageEnv();
  });

  it(
    'starts on its own, applies migrations, listens on 127.0.0.1 and logs JSON lines',
    async () => {
      first = new ServerProcess(env);
      url = await first.listening();
      // HOST defaults to 127.0.0.1; PORT=0 picks a free port.
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
      expect(first.logs.every((l) => !l.notJson && typeof l.level === 'number' && typeof l.time === 'string')).toBe(true);
      const listening = first.logs.find((l) => String(l.msg).startsWith('Tertulia is listening'))!;
      expect(listening).toMatchObject({
        msg: `Tertulia is listening on ${url}`,
        database: ON_POSTGRES ? 'postgresql' : `pglite:${env.DATA_DIR}`,
      });
      expect(first.logs.some((l) => /^applied migrations: \d+_init/.test(String(l.msg)))).toBe(true);
      if (!ON_POSTGRES) expect(fs.existsSync(path.join(env.DATA_DIR, 'PG_VERSION'))).toBe(true);

      const base = url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      // One line per operation, with its name and duration, executed or refused.
      const { body } = await post(url, 'mutation PersistUser($input: SignUpInput!) { signUp(input: $input) { __typename } }', {
        input: { email, password, displayName: 'Persistent' },
      });
      expect(body).toEqual({ data: { signUp: { __typename: 'AccountEmailPayload' } } });
      const line = await first.waitForLog((l) => l.operation === 'PersistUser', 'the PersistUser operation line');
      expect(line).toMatchObject({ msg: 'graphql operation', type: 'execute', errors: 0, level: 30 });
      expect(line.durationMs).toEqual(expect.any(Number));
      await post(url, 'query Refused { nope }');
      const refused = await first.waitForLog((l) => l.operation === 'Refused', 'the Refused operation line');
      expect(refused).toMatchObject({ msg: 'graphql operation', type: 'rejected', errors: 1 });
      expect(refused.durationMs).toEqual(expect.any(Number));
    },
    PROCESS_TEST,
  );

  it.skipIf(ON_POSTGRES)(
    'refuses a second server on the same DATA_DIR with a clear message',
    async () => {
      expect(first?.exitStatus, 'the first server is running').toBeUndefined();
      const second = new ServerProcess(env);
      const exit = await second.waitForExit(START_TIMEOUT);
      expect(exit.code).toBe(1);
      expect(second.stderr).toContain(
        `DATA_DIR ${env.DATA_DIR} is in use by process ${first.pid}; the embedded database allows one server at a time`,
      );
      // The first one is unharmed.
      expect((await fetch(url.replace(/\/graphql$/, '/readyz'))).status).toBe(200);
    },
    PROCESS_TEST,
  );

  it(
    'on SIGTERM stops accepting, finishes in-flight requests, closes WebSockets with 1001 and exits 0',
    async () => {
      expect(first?.exitStatus, 'the first server is running').toBeUndefined();
      const base = url.replace(/\/graphql$/, '');

      // A live subscription over graphql-ws.
      const socket = await openGraphqlWs(url);
      socket.ws.send(JSON.stringify({ id: 's1', type: 'subscribe', payload: { query: 'subscription Live { activity { kind } }' } }));
      await first.waitForLog((l) => l.operation === 'Live' && l.msg === 'graphql subscription started', 'the subscription to start');

      // An in-flight request: the server has its headers (it answered 100-continue) and half its body.
      const body = JSON.stringify({ query: 'query InFlight { spaces(first: 5) { edges { node { slug } } } }' });
      let finishBody!: () => void;
      let inFlight!: ReturnType<typeof rawRequest>;
      const continued = new Promise<void>((resolve) => {
        const response = rawRequest(
          url,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
          },
          (req) => {
            req.on('continue', () => {
              req.write(body.slice(0, 20));
              resolve();
            });
            req.flushHeaders();
            finishBody = () => req.end(body.slice(20));
          },
        );
        inFlight = response;
      });
      await withTimeout(continued, 10_000, '100-continue');
      await sleep(100); // let the first half reach the server

      first.child.kill('SIGTERM');
      await first.waitForLog((l) => l.msg === 'shutting down', 'the "shutting down" line');
      expect(first.logs.find((l) => l.msg === 'shutting down')).toMatchObject({ signal: 'SIGTERM' });

      // WebSockets are told "going away".
      const closed = await withTimeout(socket.closed, 10_000, 'the WebSocket to close');
      expect(closed).toEqual({ code: 1001, reason: 'Going away' });
      // New connections are refused...
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
      // ...but the request already in flight is served in full, database and all.
      expect(first.exitStatus).toBeUndefined();
      finishBody();
      const response = await withTimeout(inFlight, 10_000, 'the in-flight response');
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ data: { spaces: { edges: [] } } });
      // ...and its keep-alive connection is told to close rather than held open for 5 s.
      expect(response.headers.connection).toBe('close');

      expect(await first.waitForExit(30_000)).toEqual({ code: 0, signal: null });
      const stopped = first.logs.findIndex((l) => l.msg === 'stopped');
      expect(stopped).toBeGreaterThan(first.logs.findIndex((l) => l.operation === 'InFlight'));
      expect(first.logs.some((l) => l.level! >= 40), 'no warnings or errors').toBe(false);
      expect(first.stderr).toBe('');
      // The embedded database was closed and its lock released.
      if (!ON_POSTGRES) expect(fs.existsSync(`${env.DATA_DIR}.lock`)).toBe(false);
    },
    PROCESS_TEST,
  );

  it(
    'keeps its data across restarts and applies no migration twice; SIGINT and stuck clients are bounded by SHUTDOWN_TIMEOUT_MS',
    async () => {
      expect(first?.exitStatus?.code, 'the first server stopped cleanly').toBe(0);
      // The verification email the first server queued is in the outbox (read while no server holds the data).
      const [verification] = await storedEmails(env, email);
      expect(verification.kind).toBe('EMAIL_VERIFICATION');
      const again = new ServerProcess({ ...env, SHUTDOWN_TIMEOUT_MS: '1000' });
      const url2 = await again.listening();
      expect(again.logs.some((l) => String(l.msg).startsWith('applied migrations'))).toBe(false);
      const verified = await post(url2, 'mutation PersistVerify($input: VerifyEmailInput!) { verifyEmail(input: $input) { __typename } }', {
        input: { token: linkToken(verification, '/verify-email') },
      });
      expect(verified.body).toEqual({ data: { verifyEmail: { __typename: 'AuthPayload' } } });

      const { body } = await post(url2, 'mutation PersistSignIn($input: SignInInput!) { signIn(input: $input) { __typename ... on AuthPayload { token } } }', {
        input: { email, password },
      });
      expect(body.data.signIn.__typename).toBe('AuthPayload');
      const viewer = await post(url2, 'query PersistViewer { viewer { displayName } }', undefined, body.data.signIn.token);
      expect(viewer.body).toEqual({ data: { viewer: { displayName: 'Persistent' } } });

      // Two clients that never finish: a WebSocket that ignores the close frame (its TCP reads
      // paused) and a request whose body never ends. The deadline cuts them.
      const stuckWs = await openGraphqlWs(url2);
      (stuckWs.ws as unknown as { _socket: net.Socket })._socket.pause();
      const stuckRequest = rawRequest(
        url2,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 1000 } },
        (req) => req.write('{"query":'),
      ).catch((error: Error) => error);
      await sleep(200);

      const signalled = Date.now();
      again.child.kill('SIGINT');
      expect(await again.waitForExit(30_000)).toEqual({ code: 0, signal: null });
      // Well below ws's own 30 s close timeout.
      expect(Date.now() - signalled).toBeLessThan(8_000);
      expect(again.logs.find((l) => l.msg === 'shutting down')).toMatchObject({ signal: 'SIGINT' });
      expect(again.logs.some((l) => l.msg === 'shutdown timeout: closing remaining connections')).toBe(true);
      expect(again.logs.at(-1)).toMatchObject({ msg: 'stopped' });
      expect(await stuckRequest).toBeInstanceOf(Error);
      stuckWs.ws.terminate();
    },
    PROCESS_TEST,
  );

  it(
    'fails cleanly when its port is taken: exit 1, the reason, the database closed',
    async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as net.AddressInfo).port;
      try {
        const server = new ServerProcess({ ...env, PORT: String(port) });
        expect(await server.waitForExit(START_TIMEOUT)).toEqual({ code: 1, signal: null });
        expect(server.stderr).toContain(`EADDRINUSE`);
        expect(server.stderr).toContain(`127.0.0.1:${port}`);
        if (!ON_POSTGRES) expect(fs.existsSync(`${env.DATA_DIR}.lock`)).toBe(false);
      } finally {
        blocker.close();
      }
    },
    PROCESS_TEST,
  );
});
