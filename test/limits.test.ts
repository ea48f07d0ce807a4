import { once } from 'node:events';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { onQuery, prisma } from '../src/db/client.js';
import { createCommunity, createThread, reply, type Community } from './fixtures.js';
import { startTestApp, type TestApp } from './helpers.js';

// Operation limits (src/limits.ts): each refusal is one error, before anything runs, with a code
// and a message naming the setting, over HTTP, graphql-ws and SSE alike.

type Body = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

async function post(t: TestApp, query: string, variables?: Record<string, unknown>, token?: string): Promise<Body> {
  const response = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Body;
}

/** The errors an operation ends in over graphql-ws: refused at once (`error`) or as its only result. */
function overWs(t: TestApp, query: string, variables?: Record<string, unknown>): Promise<{ errors: Body['errors']; results: number }> {
  const client = t.wsClient();
  let results = 0;
  return new Promise((resolve, reject) => {
    let errors: Body['errors'];
    client.subscribe(
      { query, variables },
      {
        next(value) {
          results++;
          errors = value.errors as Body['errors'];
        },
        error(error) {
          if (Array.isArray(error)) resolve({ errors: error as Body['errors'], results });
          else reject(error);
        },
        complete: () => resolve({ errors, results }),
      },
    );
  });
}

const error = (code: string, message: string) => ({ message, extensions: { code } });

/** SQL statements run while `work` runs. */
async function statementsDuring<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const stop = onQuery((sql) => statements.push(sql));
  try {
    return { result: await work(), statements };
  } finally {
    stop();
  }
}

const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');

describe('operation limit settings', () => {
  it('are read from the environment, with defaults, and refused out of range', () => {
    expect(loadConfig({}).limits).toEqual({ maxDepth: 12, maxCost: 50_000, maxSubscriptionCost: 5000, maxAliases: 30, maxDirectives: 20, maxTokens: 5000 });
    expect(loadConfig({ MAX_SUBSCRIPTION_COST: '300', MAX_DIRECTIVES: '5', MAX_QUERY_TOKENS: '2000' }).limits).toMatchObject({
      maxSubscriptionCost: 300,
      maxDirectives: 5,
      maxTokens: 2000,
    });
    expect(() => loadConfig({ MAX_SUBSCRIPTION_COST: '5', MAX_DIRECTIVES: '0', MAX_QUERY_TOKENS: '99' })).toThrow(
      /MAX_DIRECTIVES[\s\S]*MAX_QUERY_TOKENS[\s\S]*MAX_SUBSCRIPTION_COST/,
    );
  });
});

describe('operation limits', () => {
  let t: TestApp;
  let c: Community;

  beforeAll(async () => {
    t = await startTestApp({
      MAX_QUERY_DEPTH: '6',
      MAX_QUERY_COST: '400',
      MAX_SUBSCRIPTION_COST: '20',
      MAX_ALIASES: '30',
      MAX_DIRECTIVES: '20',
      MAX_QUERY_TOKENS: '600',
    });
    c = await createCommunity(t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('counts aliases of __typename like any other', async () => {
    const aliases = (n: number) => `query Aliases { ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const thirty = await post(t, aliases(30));
    expect(thirty.errors).toBeUndefined();
    expect(Object.keys(thirty.data!)).toHaveLength(30);
    expect(await post(t, aliases(101))).toEqual({
      errors: [error('TOO_MANY_ALIASES', 'The query uses 101 aliases; at most 30 are allowed (MAX_ALIASES)')],
    });
  });

  it('refuses a repeated non-repeatable directive once, not once per repetition', async () => {
    expect(await post(t, 'query Unknown { __typename @a@a@a@a@a@a@a@a@a@a@a@a@a@a@a@a@a@a@a@a }')).toEqual({
      errors: [error('REPEATED_DIRECTIVE', 'The directive @a is repeated in one place; it may be used there once')],
    });
    expect(await post(t, 'query Skips { __typename @skip(if: false) @skip(if: false) @skip(if: false) }')).toEqual({
      errors: [error('REPEATED_DIRECTIVE', 'The directive @skip is repeated in one place; it may be used there once')],
    });
    // Once per place is fine.
    expect(await post(t, 'query Once { a: __typename @skip(if: false) b: __typename @skip(if: true) }')).toEqual({ data: { a: 'Query' } });
  });

  const deep = 'query Deep { threads(first: 1) { edges { node { space { threads(first: 1) { edges { node { id } } } } } } } }';
  const directives = `query Directives { ${Array.from({ length: 21 }, (_, i) => `a${i % 10}${i}: __typename @include(if: true)`).slice(0, 21).join(' ')} }`;
  const tokens = `query Tokens { viewer { ${Array.from({ length: 700 }, () => 'id').join(' ')} } }`;
  const costly = `query Costly { threads(first: 100) { edges { node { id title } } } }`;
  it.each([
    ['depth', deep, error('QUERY_TOO_DEEP', 'The query is 8 levels deep; at most 6 are allowed (MAX_QUERY_DEPTH)')],
    ['directives', directives, error('TOO_MANY_DIRECTIVES', 'The query uses 21 directives; at most 20 are allowed (MAX_DIRECTIVES)')],
    ['tokens', tokens, error('TOO_MANY_TOKENS', 'The query has more than 600 tokens (MAX_QUERY_TOKENS)')],
    [
      'cost',
      costly,
      error('QUERY_TOO_COSTLY', 'The query costs 1625; at most 400 is allowed (MAX_QUERY_COST). Ask for fewer items (first, last, ids) or fewer fields'),
    ],
  ])('names the %s limit and its setting, with a code, over HTTP and graphql-ws', async (_name, query, expected) => {
    expect(await post(t, query)).toEqual({ errors: [expected] });
    const ws = await overWs(t, query);
    expect(ws.errors).toEqual([expected]);
  });

  it('caps nodes(ids:) at 100, as a literal or a variable, before running anything', async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => globalId('Thread', i + 1));
    const tooMany = error('LIST_TOO_LONG', '`nodes(ids)` takes at most 100 items, got 101');
    const viaVariable = await statementsDuring(() => post(t, 'query Ids($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids(101) }));
    expect(viaVariable.result).toEqual({ errors: [tooMany] });
    expect(viaVariable.statements).toEqual([]);
    const literal = await statementsDuring(() => post(t, `query Literal { nodes(ids: ${JSON.stringify(ids(101))}) { id } }`));
    expect(literal.result).toEqual({ errors: [tooMany] });
    expect(literal.statements).toEqual([]);
    expect((await overWs(t, 'query Ids($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids(101) })).errors).toEqual([tooMany]);
    // 100 is fine (ids of threads that do not exist: nulls).
    expect(await post(t, 'query Ids($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids(100).map((_, i) => globalId('Thread', 900_000 + i)) })).toEqual({
      data: { nodes: Array.from({ length: 100 }, () => null) },
    });
  });

  it('caps every other list argument and list input field, nested ones too', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => globalId('TrackedBrand', i + 1));
    const report = 'query Report($ids: [ID!]) { listeningReport(brandIds: $ids, bucket: DAY, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { brand { id } } }';
    expect(await post(t, report, { ids }, c.manager.token)).toEqual({
      errors: [error('LIST_TOO_LONG', '`listeningReport(brandIds)` takes at most 100 items, got 101')],
    });
    const log = 'query Log($kinds: [ActivityKind!]) { activityLog(first: 1, filter: { kinds: $kinds }) { edges { cursor } } }';
    expect(await post(t, log, { kinds: Array.from({ length: 101 }, () => 'THREAD_CREATED') }, c.alice.token)).toEqual({
      errors: [error('LIST_TOO_LONG', '`activityLog(filter).kinds` takes at most 100 items, got 101')],
    });
    // A list whose own cap is larger (an automod rule's keywords, up to 500) takes more.
    const rule = 'mutation Rule($keywords: [String!]) { createAutomodRule(input: { name: "many", trigger: KEYWORD, action: HOLD, keywords: $keywords }) { __typename } }';
    const keywords = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`);
    expect(await post(t, rule, { keywords: keywords(150) }, c.manager.token)).toEqual({ data: { createAutomodRule: { __typename: 'AutomodRulePayload' } } });
    expect(await post(t, rule, { keywords: keywords(501) }, c.manager.token)).toEqual({
      errors: [error('LIST_TOO_LONG', '`createAutomodRule(input).keywords` takes at most 500 items, got 501')],
    });
  });

  it('counts list arguments and variables in the cost: 100 ids cost more than 1', async () => {
    const query = 'query Some($ids: [ID!]!) { nodes(ids: $ids) { id ... on Thread { title } } }';
    const ids = (n: number) => Array.from({ length: n }, (_, i) => globalId('Thread', 900_000 + i));
    expect(await post(t, query, { ids: ids(1) })).toEqual({ data: { nodes: [null] } });
    expect(await post(t, query, { ids: ids(30) })).toEqual({ data: { nodes: ids(30).map(() => null) } });
    expect(await post(t, query, { ids: ids(100) })).toEqual({
      errors: [error('QUERY_TOO_COSTLY', 'The query costs 875; at most 400 is allowed (MAX_QUERY_COST). Ask for fewer items (first, last, ids) or fewer fields')],
    });
    // `first` counts the same as a variable as it does written in the query.
    expect(await post(t, 'query Page($first: Int!) { threads(first: $first) { edges { node { id title } } } }', { first: 100 })).toEqual({
      errors: [error('QUERY_TOO_COSTLY', 'The query costs 1625; at most 400 is allowed (MAX_QUERY_COST). Ask for fewer items (first, last, ids) or fewer fields')],
    });
  });

  const costlySubscription = 'subscription Costly { activity { kind actor { displayName } thread { title author { displayName } space { name } } } }';
  const subscriptionTooCostly = error(
    'QUERY_TOO_COSTLY',
    "The subscription's selection costs 30; at most 20 is allowed (MAX_SUBSCRIPTION_COST). Ask for fewer items (first, last, ids) or fewer fields",
  );

  it('refuses a subscription whose selection costs more than MAX_SUBSCRIPTION_COST, over graphql-ws', async () => {
    expect(await overWs(t, costlySubscription)).toEqual({ errors: [subscriptionTooCostly], results: 1 });
    // A cheap one goes live: it gets the next thread.
    const client = t.wsClient(c.alice.token);
    const events: unknown[] = [];
    const dispose = client.subscribe({ query: 'subscription Cheap { activity { kind } }' }, { next: (v) => void events.push(v), error: () => {}, complete: () => {} });
    const deadline = Date.now() + 20_000;
    while (!events.length) {
      if (Date.now() > deadline) throw new Error('the cheap subscription got nothing');
      await createThread(t, c.alice, c.publicSpace, 'Live');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(events[0]).toEqual({ data: { activity: { kind: 'THREAD_CREATED' } } });
    dispose();
  });

  it('refuses a subscription whose selection costs more than MAX_SUBSCRIPTION_COST, over SSE', async () => {
    const response = await fetch(`${t.url}?query=${encodeURIComponent(costlySubscription)}`, { headers: { accept: 'text/event-stream' } });
    const text = await response.text();
    expect(text).toContain(`event: next\ndata: ${JSON.stringify({ errors: [subscriptionTooCostly] })}`);
    expect(text).toContain('event: complete');
  });
});

describe('nodes(ids:) loads each type in one statement', () => {
  let t: TestApp;
  let c: Community;
  const ids: Record<'Thread' | 'Post' | 'User' | 'Space', string[]> = { Thread: [], Post: [], User: [], Space: [] };
  let hiddenThread: string;

  beforeAll(async () => {
    t = await startTestApp();
    c = await createCommunity(t);
    ids.User = [c.alice.id, c.bob.id, c.moderator.id, c.admin.id];
    ids.Space = [c.publicSpace, c.membersSpace];
    for (let i = 0; i < 25; i++) {
      const thread = await createThread(t, i % 2 ? c.alice : c.bob, c.publicSpace, `Thread ${i}`);
      ids.Thread.push(thread);
      ids.Post.push(await reply(t, i % 2 ? c.bob : c.alice, thread, `Reply ${i}`));
    }
    hiddenThread = await createThread(t, c.moderator, c.staffSpace, 'Staff only');
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  const query = `query Many($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename id
      ... on Thread { title author { displayName } space { slug } }
      ... on Post { body author { displayName } thread { title } }
      ... on User { displayName }
      ... on Space { slug }
    }
  }`;

  async function load(list: string[]) {
    const { result, statements } = await statementsDuring(() => post(t, query, { ids: list }, c.alice.token));
    expect(result.errors).toBeUndefined();
    return { nodes: result.data!.nodes as Record<string, unknown>[], statements: statements.filter((sql) => !/"Session"/.test(sql)) };
  }

  it('runs as many statements for 100 ids of four types as for one of each', async () => {
    const one = await load([ids.Thread[0], ids.Post[0], ids.User[0], ids.Space[0]]);
    const many = [...ids.Thread, ...ids.Post, ...ids.User, ...ids.Space];
    while (many.length < 100) many.push(ids.Thread[many.length % 25]);
    const hundred = await load(many);
    expect(hundred.nodes).toHaveLength(100);
    expect(hundred.statements.length).toBe(one.statements.length);
    // At most one statement per type and per relation selected under it (author, space, thread).
    expect(one.statements.length).toBeLessThanOrEqual(9);
    expect(one.nodes).toEqual([
      { __typename: 'Thread', id: ids.Thread[0], title: 'Thread 0', author: { displayName: 'Bob' }, space: { slug: 'general' } },
      { __typename: 'Post', id: ids.Post[0], body: 'Reply 0', author: { displayName: 'Alice' }, thread: { title: 'Thread 0' } },
      { __typename: 'User', id: ids.User[0], displayName: 'Alice' },
      { __typename: 'Space', id: ids.Space[0], slug: 'general' },
    ]);
    // Every answer at the place of its id.
    expect(hundred.nodes.map((n) => n.id)).toEqual(many);
    expect(hundred.nodes[30]).toMatchObject({ __typename: 'Post', body: 'Reply 5', author: { displayName: 'Bob' }, thread: { title: 'Thread 5' } });
  });

  it('keeps each type’s visibility rule: what the viewer may not see is null, in its place', async () => {
    const missing = globalId('Thread', 999_999);
    const { nodes } = await load([ids.Thread[1], hiddenThread, missing, ids.Space[1]]);
    expect(nodes).toEqual([
      { __typename: 'Thread', id: ids.Thread[1], title: 'Thread 1', author: { displayName: 'Alice' }, space: { slug: 'general' } },
      null,
      null,
      { __typename: 'Space', id: ids.Space[1], slug: 'members-lounge' },
    ]);
    // Signed out: the members' space is hidden too; staff see the staff thread.
    expect((await post(t, query, { ids: [ids.Space[1], hiddenThread] })).data).toEqual({ nodes: [null, null] });
    expect((await post(t, query, { ids: [hiddenThread] }, c.moderator.token)).data).toMatchObject({ nodes: [{ __typename: 'Thread', title: 'Staff only' }] });
  });
});

describe('a request whose client has gone', () => {
  let t: TestApp;
  let c: Community;

  beforeAll(async () => {
    t = await startTestApp();
    c = await createCommunity(t);
    for (let i = 0; i < 5; i++) await createThread(t, c.alice, c.publicSpace, `Page ${i}`);
  });
  afterAll(async () => {
    await t?.stop();
  });

  // Two levels: the threads, then (once they are loaded) their reactions, in another statement.
  const page = 'query Page($space: ID!) { threads(spaceId: $space, first: 20) { edges { node { title reactionGroups { count } } } } }';
  const readsThreads = (sql: string) => /FROM "public"\."Thread"/.test(sql);
  const readsReactions = (sql: string) => /FROM "Reaction"/.test(sql);

  /** Sends the page and returns once the server is executing it, with a function that makes its client go. */
  type Client = (url: string) => Promise<{ leave(): Promise<void> }>;

  const overHttp: Client = async (url) => {
    const received = new Promise<{ req: http.IncomingMessage; res: http.ServerResponse }>((resolve) =>
      t.app.httpServer.once('request', (req, res) => resolve({ req, res })),
    );
    const controller = new AbortController();
    const answer = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: page, variables: { space: c.publicSpace } }),
      signal: controller.signal,
    }).then(
      () => 'answered',
      (error: Error) => error.name,
    );
    const { req, res } = await received;
    if (!req.readableEnded) await once(req, 'end');
    await executing();
    return {
      async leave() {
        controller.abort();
        expect(await answer).toBe('AbortError');
        if (!res.closed) await once(res, 'close');
      },
    };
  };

  const overWebSocket: Client = async (url) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await once(socket, 'message');
    const serverSocket = [...t.app.wsServer.clients].at(-1)!;
    const received = once(serverSocket, 'message');
    socket.send(JSON.stringify({ id: 'page', type: 'subscribe', payload: { query: page, variables: { space: c.publicSpace } } }));
    await received;
    await executing();
    return {
      async leave() {
        const closed = once(serverSocket, 'close');
        socket.terminate();
        await closed;
      },
    };
  };

  /** Until the operation, now past its I/O but the database's, has called its first resolver. */
  async function executing() {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  it.each([
    ['HTTP', overHttp],
    ['graphql-ws', overWebSocket],
  ])('stops resolving over %s: what comes after the client left never runs', async (_transport, client) => {
    const full = await statementsDuring(() => post(t, page, { space: c.publicSpace }));
    expect(full.result.errors).toBeUndefined();
    expect([full.statements.some(readsThreads), full.statements.some(readsReactions)]).toEqual([true, true]);

    // Hold the threads (on PGlite, the one connection), so the request is stuck on its first
    // level when its client goes.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = prisma().$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe('LOCK TABLE "Thread" IN ACCESS EXCLUSIVE MODE');
        locked();
        await held;
      },
      { timeout: 60_000, maxWait: 60_000 },
    );
    await isLocked;

    const statements: string[] = [];
    const stop = onQuery((sql) => statements.push(sql));
    try {
      const operation = await client(t.url);
      await operation.leave();
      release();
      await holder;
      // The request was mid-way: its first level now runs...
      const deadline = Date.now() + 10_000;
      while (!statements.some(readsThreads)) {
        if (Date.now() > deadline) throw new Error('the first level never ran');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // ...and a request made after it, on the same database, is answered.
      expect((await post(t, 'query After { spaces(first: 1) { totalCount } }')).errors).toBeUndefined();
      // The second level never ran: no resolver started after the client had gone.
      expect(statements.filter(readsReactions)).toEqual([]);
    } finally {
      stop();
      release();
    }
  });
});
