import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { createSpace, createThread, createUser, type Actor } from './fixtures.js';
import { sleep, startTestApp, type TestApp } from './helpers.js';

// What one client address may hold open (graphql-ws sockets, operations per socket, HTTP
// subscription streams), and which requests and browser pages the API answers (JSON-only POST
// bodies, CORS and WebSocket origins), through real sockets and fetch.

type Message = { id?: string; type: string; payload?: unknown };
type Closed = { code: number; reason: string };

/** A raw graphql-transport-ws socket: its messages, how it closed, and waits on both. */
function rawSocket(wsUrl: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { headers });
  const messages: Message[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
  const closed = new Promise<Closed>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  // A refused upgrade: the HTTP status and body the server answered instead.
  const refused = new Promise<{ status: number; body: string }>((resolve) =>
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        // With this listener, ending the handshake is ours to do.
        req.destroy();
      });
    }),
  );
  ws.on('error', () => {});
  const opened = new Promise<void>((resolve) => ws.on('open', () => resolve()));
  return {
    ws,
    messages,
    closed,
    refused,
    /** Waits for a message matching `match`, or fails after `timeoutMs`. */
    async waitFor(match: (m: Message) => boolean, what: string, timeoutMs = 5000): Promise<Message> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`);
        await sleep(10);
      }
    },
    /** Opens, sends connection_init and resolves once acknowledged, or with how it closed. */
    async init(authorization?: string): Promise<'acked' | Closed> {
      const outcome = Promise.race([opened.then(() => 'open' as const), closed]);
      const first = await outcome;
      if (first !== 'open') return first;
      ws.send(JSON.stringify({ type: 'connection_init', payload: authorization ? { authorization } : {} }));
      return Promise.race([
        this.waitFor((m) => m.type === 'connection_ack', 'connection_ack').then(() => 'acked' as const),
        closed,
      ]);
    },
    subscribe(id: string, query: string) {
      ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
    },
    async close(): Promise<Closed> {
      ws.close(1000);
      return closed;
    },
  };
}

/** Polls `attempt` until it yields a value, or fails after `timeoutMs`. */
async function eventually<T>(attempt: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

/** A socket the server acknowledged, opened again until it is (places free as closes reach the server). */
function acceptedSocket(wsUrl: string): Promise<ReturnType<typeof rawSocket>> {
  return eventually(async () => {
    const candidate = rawSocket(wsUrl);
    return (await candidate.init()) === 'acked' ? candidate : undefined;
  }, 'a socket accepted');
}

const THREADS = 'subscription { activity(filter: { kinds: [THREAD_CREATED] }) { kind subject { ... on Thread { title } } } }';

describe('graphql-ws connections per client address', () => {
  let t: TestApp;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startTestApp({ WS_MAX_CONNECTIONS_PER_ADDRESS: '3' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.stop();
  });

  it('accepts up to the cap, closes the next socket with 4429 and the reason, and takes a new one once one has closed', async () => {
    const held = [rawSocket(t.wsUrl), rawSocket(t.wsUrl), rawSocket(t.wsUrl)];
    expect(await Promise.all(held.map((s) => s.init()))).toEqual(['acked', 'acked', 'acked']);

    // Without TRUST_PROXY, a client's own X-Forwarded-For changes nothing.
    const over = rawSocket(t.wsUrl, { 'x-forwarded-for': '203.0.113.9' });
    expect(await over.init()).toEqual({ code: 4429, reason: 'Too many WebSocket connections from your address (at most 3)' });
    expect(over.messages).toEqual([]);

    // Held sockets still work.
    held[0].subscribe('q', 'query { __typename }');
    expect(await held[0].waitFor((m) => m.id === 'q' && m.type === 'next', 'the query result')).toEqual({
      id: 'q',
      type: 'next',
      payload: { data: { __typename: 'Query' } },
    });

    expect(await held[1].close()).toEqual({ code: 1000, reason: '' });
    // The server frees the place when its side of the socket has closed: a moment after ours.
    const next = await acceptedSocket(t.wsUrl);
    expect(next.ws.readyState).toBe(WebSocket.OPEN);

    // At the cap again.
    expect(await rawSocket(t.wsUrl).init()).toEqual({ code: 4429, reason: 'Too many WebSocket connections from your address (at most 3)' });
    await Promise.all([held[0].close(), held[2].close(), next.close()]);
  });

  it('a graphql-ws client over the cap gets the 4429 close as its error and does not retry', async () => {
    // The previous test's places come free as the server sees its sockets close.
    const held = [await acceptedSocket(t.wsUrl), await acceptedSocket(t.wsUrl), await acceptedSocket(t.wsUrl)];

    let attempts = 0;
    const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 5, retryWait: async () => {} });
    clients.push(client);
    client.on('connecting', () => attempts++);
    const error = await new Promise<unknown>((resolve) =>
      client.subscribe({ query: THREADS }, { next: () => {}, error: resolve, complete: () => resolve('completed') }),
    );
    expect(error).toMatchObject({ code: 4429, reason: 'Too many WebSocket connections from your address (at most 3)' });
    expect(attempts).toBe(1);
    await Promise.all(held.map((s) => s.close()));
  });
});

describe('operations per graphql-ws connection, and subscriptions over HTTP per address', () => {
  let t: TestApp;
  let admin: Actor;
  let spaceId: string;

  beforeAll(async () => {
    // One proxy trusted: the address is the last X-Forwarded-For entry (none: the peer).
    t = await startTestApp({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2', SSE_MAX_SUBSCRIPTIONS_PER_ADDRESS: '2', TRUST_PROXY: '1' });
    admin = await createUser(t, 'Admin');
    spaceId = await createSpace(t, admin, 'transport-limits');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a subscribe over the cap with an error for that operation id, keeps the socket and the others, and counts completed ones out', async () => {
    const socket = rawSocket(t.wsUrl);
    expect(await socket.init(`Bearer ${admin.token}`)).toBe('acked');
    socket.subscribe('a', THREADS);
    socket.subscribe('b', THREADS);
    socket.subscribe('c', THREADS);
    expect(await socket.waitFor((m) => m.id === 'c', 'the answer to c')).toEqual({
      id: 'c',
      type: 'error',
      payload: [
        {
          message: 'Too many operations on this connection (at most 2 at once); complete one first or open another connection',
          extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
        },
      ],
    });

    // a and b are live on the same socket.
    await eventually(async () => {
      await createThread(t, admin, spaceId, 'probe');
      return socket.messages.some((m) => m.id === 'a') && socket.messages.some((m) => m.id === 'b') ? true : undefined;
    }, 'a and b live');
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);

    // The client completes a: its place is free at once for d.
    socket.ws.send(JSON.stringify({ id: 'a', type: 'complete' }));
    socket.subscribe('d', THREADS);
    const before = socket.messages.length;
    await createThread(t, admin, spaceId, 'After a completed');
    const live = { type: 'next', payload: { data: { activity: { kind: 'THREAD_CREATED', subject: { title: 'After a completed' } } } } };
    await socket.waitFor((m) => m.id === 'd' && JSON.stringify(m) === JSON.stringify({ id: 'd', ...live }), 'd live');
    await socket.waitFor((m) => m.id === 'b' && JSON.stringify(m) === JSON.stringify({ id: 'b', ...live }), 'b live');
    // a got nothing after its complete (probes of before may still have been on their way).
    expect(socket.messages.slice(before).filter((m) => (m.id === 'a' && JSON.stringify(m).includes('After a completed')) || m.type === 'error')).toEqual([]);

    // Queries count while they run and not after: at the cap (b, d), one more is refused...
    socket.subscribe('q1', 'query { __typename }');
    expect(await socket.waitFor((m) => m.id === 'q1', 'the answer to q1')).toMatchObject({ type: 'error' });
    // ...and with d completed, queries one after the other all run.
    socket.ws.send(JSON.stringify({ id: 'd', type: 'complete' }));
    for (const id of ['q2', 'q3', 'q4']) {
      socket.subscribe(id, 'query { __typename }');
      expect(await socket.waitFor((m) => m.id === id, `the answer to ${id}`)).toEqual({ id, type: 'next', payload: { data: { __typename: 'Query' } } });
    }
    expect(await socket.close()).toEqual({ code: 1000, reason: '' });
  });

  /** A subscription over SSE: the response, and a way to end it from the client side. */
  function sseStream(forwardedFor?: string) {
    const controller = new AbortController();
    const response = fetch(`${t.url}?${new URLSearchParams({ query: THREADS })}`, {
      headers: { accept: 'text/event-stream', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
      signal: controller.signal,
    });
    return { response, abort: () => controller.abort() };
  }

  it('refuses an SSE subscription over the per-address cap with 429 and TOO_MANY_SUBSCRIPTIONS, and takes one again once a stream has ended', async () => {
    const held = [sseStream(), sseStream()];
    const statuses = await Promise.all(held.map(async (s) => (await s.response).status));
    expect(statuses).toEqual([200, 200]);

    const over = await sseStream().response;
    expect(over.status).toBe(429);
    expect(over.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await over.text()).toBe(
      ':\n\nevent: next\ndata: {"errors":[{"message":"Too many live subscriptions over HTTP from your address (at most 2 at once); end one first","extensions":{"code":"TOO_MANY_SUBSCRIPTIONS"}}]}\n\nevent: complete\ndata:\n\n',
    );

    held[0].abort();
    const again = await eventually(async () => {
      const candidate = sseStream();
      const res = await candidate.response;
      if (res.status === 200) return candidate;
      await res.body?.cancel();
      return undefined;
    }, 'an SSE stream accepted after one ended');
    // Subscriptions over graphql-ws do not count against it.
    const socket = rawSocket(t.wsUrl);
    expect(await socket.init()).toBe('acked');
    socket.subscribe('w', THREADS);
    await eventually(async () => {
      await createThread(t, admin, spaceId, 'probe');
      return socket.messages.some((m) => m.id === 'w' && m.type === 'next') ? true : undefined;
    }, 'w live');
    expect(socket.messages.filter((m) => m.type !== 'next' && m.type !== 'connection_ack')).toEqual([]);
    again.abort();
    held[1].abort();
    await socket.close();
  });

  it('behind a trusted proxy, counts each client by the address the proxy forwarded, IPv6 per /64', async () => {
    const status = async (stream: ReturnType<typeof sseStream>) => {
      const res = await stream.response;
      if (res.status !== 200) await res.body?.cancel();
      return res.status;
    };
    const held = [sseStream('198.51.100.1'), sseStream('198.51.100.1'), sseStream('2001:db8::1'), sseStream('2001:db8::2')];
    expect(await Promise.all(held.map(status))).toEqual([200, 200, 200, 200]);
    // The proxy appends what it saw: what the client itself put before that is not believed.
    expect(await status(sseStream('198.51.100.1'))).toBe(429);
    expect(await status(sseStream('203.0.113.50, 198.51.100.1'))).toBe(429);
    expect(await status(sseStream('2001:db8::ffff'))).toBe(429);
    const others = [sseStream('198.51.100.2'), sseStream('198.51.100.1, 198.51.100.2'), sseStream('2001:db8:0:1::1')];
    expect(await Promise.all(others.map(status))).toEqual([200, 200, 200]);
    for (const stream of [...held, ...others]) stream.abort();
  });
});

const CONSOLE = 'https://console.example.com';
const FOREIGN = 'https://evil.example';

/** The CORS headers of an answer, by name. */
const corsHeaders = (res: Response) => Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')));
const postFrom = (app: TestApp, origin: string) =>
  fetch(app.url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
const preflightFrom = (app: TestApp, origin: string) =>
  fetch(app.url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
async function expectUpgradeRefused(app: TestApp, origin: string) {
  const socket = rawSocket(app.wsUrl, { origin });
  expect(await socket.refused).toEqual({
    status: 403,
    body: JSON.stringify({ error: `Origin ${origin} may not open WebSockets here; add it to CORS_ORIGINS` }),
  });
  expect(socket.ws.readyState).not.toBe(WebSocket.OPEN);
}
async function expectUpgradeAccepted(app: TestApp, headers: Record<string, string>, token: string) {
  const socket = rawSocket(app.wsUrl, headers);
  expect({ headers, outcome: await socket.init(`Bearer ${token}`) }).toEqual({ headers, outcome: 'acked' });
  await socket.close();
}

describe('request bodies, CORS and WebSocket origins, with CORS_ORIGINS set', () => {
  let t: TestApp;
  let admin: Actor;

  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: `${CONSOLE}, https://other.example.org` });
    admin = await createUser(t, 'Admin');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('takes only exact origins in CORS_ORIGINS, and says which entry is wrong at start-up', () => {
    for (const value of ['https://console.example.com/', '*', 'console.example.com', 'https://console.example.com/app', 'ftp://files.example', 'https://Console.example.com']) {
      expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(
        'Invalid configuration:\n  CORS_ORIGINS.0: must list exact origins such as https://console.example.com, comma-separated',
      );
    }
    expect(loadConfig({ CORS_ORIGINS: ' https://a.example , http://localhost:3000,' }).transport.corsOrigins).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(loadConfig({}).transport).toEqual({
      wsMaxConnectionsPerAddress: 20,
      wsMaxSubscriptionsPerConnection: 50,
      sseMaxSubscriptionsPerAddress: 20,
      corsOrigins: [],
      trustProxy: 0,
    });
  });

  const createSpaceMutation = (slug: string) => `mutation { createSpace(input: { name: "${slug}", slug: "${slug}" }) { __typename } }`;
  async function spaceExists(slug: string): Promise<boolean> {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ query: `{ space(slug: "${slug}") { slug } }` }),
    });
    const body = (await res.json()) as { data: { space: { slug: string } | null } };
    return body.data.space !== null;
  }

  it('refuses POST bodies that are not JSON with 415, executing nothing', async () => {
    const refused = { error: 'POST /graphql takes a JSON body: send Content-Type: application/json (or application/graphql+json)' };
    const attempts: [string | undefined, string][] = [
      ['application/x-www-form-urlencoded', new URLSearchParams({ query: createSpaceMutation('via-form') }).toString()],
      ['text/plain', JSON.stringify({ query: createSpaceMutation('via-text') })],
      ['application/graphql', createSpaceMutation('via-graphql')],
      ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: createSpaceMutation('via-multipart') })}\r\n--x--\r\n`],
      [undefined, JSON.stringify({ query: createSpaceMutation('via-none') })],
    ];
    for (const [type, body] of attempts) {
      const res = await fetch(t.url, {
        method: 'POST',
        // fetch would add text/plain to a string body without a type: a Blob of no type sends none.
        headers: { authorization: `Bearer ${admin.token}`, ...(type ? { 'content-type': type } : {}) },
        body: type ? body : new Blob([body]),
      });
      expect({ type, status: res.status, body: await res.json() }).toEqual({ type, status: 415, body: refused });
    }
    for (const slug of ['via-form', 'via-text', 'via-graphql', 'via-multipart', 'via-none']) expect(await spaceExists(slug)).toBe(false);

    // JSON in each type Yoga parses, with or without a charset.
    for (const [type, slug] of [
      ['application/json', 'via-json'],
      ['application/json; charset=utf-8', 'via-json-charset'],
      ['application/graphql+json', 'via-graphql-json'],
    ]) {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': type, authorization: `Bearer ${admin.token}` },
        body: JSON.stringify({ query: createSpaceMutation(slug) }),
      });
      expect({ type, status: res.status, body: await res.json() }).toEqual({ type, status: 200, body: { data: { createSpace: { __typename: 'SpacePayload' } } } });
      expect(await spaceExists(slug)).toBe(true);
    }
  });

  it('sends CORS headers, credentials included, only to the listed origins', async () => {
    const listed = await postFrom(t, CONSOLE);
    expect(listed.status).toBe(200);
    expect(corsHeaders(listed)).toEqual({
      'access-control-allow-origin': CONSOLE,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
      'access-control-max-age': '600',
    });
    // Answers differ by Origin, so caches must key on it.
    expect(listed.headers.get('vary')).toMatch(/\bOrigin\b/i);
    const listedPreflight = await preflightFrom(t, CONSOLE);
    expect(listedPreflight.status).toBe(204);
    expect(corsHeaders(listedPreflight)).toEqual({
      'access-control-allow-origin': CONSOLE,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization,content-type',
      'access-control-max-age': '600',
    });

    // Any other origin: no CORS header at all, so a browser gives the page nothing.
    for (const origin of [FOREIGN, `${CONSOLE}:8443`, 'null']) {
      const answer = await postFrom(t, origin);
      expect(answer.status).toBe(200);
      expect(corsHeaders(answer)).toEqual({});
      expect(answer.headers.get('vary')).toMatch(/\bOrigin\b/i);
      expect(corsHeaders(await preflightFrom(t, origin))).toEqual({});
    }
  });

  it('opens WebSockets for pages of this origin or a listed one, and for clients without an Origin; refuses others before the upgrade', async () => {
    for (const headers of [{} as Record<string, string>, { origin: new URL(t.url).origin }, { origin: CONSOLE }]) await expectUpgradeAccepted(t, headers, admin.token);
    for (const origin of [FOREIGN, 'null']) await expectUpgradeRefused(t, origin);
  });
});

describe('CORS and WebSocket origins, with CORS_ORIGINS unset', () => {
  let t: TestApp;
  let admin: Actor;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await createUser(t, 'Admin');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sends no CORS header to any origin, and opens WebSockets only for same-origin pages and clients without an Origin', async () => {
    for (const origin of [CONSOLE, FOREIGN]) {
      const answer = await postFrom(t, origin);
      expect(answer.status).toBe(200);
      expect(corsHeaders(answer)).toEqual({});
      expect(corsHeaders(await preflightFrom(t, origin))).toEqual({});
      await expectUpgradeRefused(t, origin);
    }
    for (const headers of [{} as Record<string, string>, { origin: new URL(t.url).origin }]) await expectUpgradeAccepted(t, headers, admin.token);
  });
});
