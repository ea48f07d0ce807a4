import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { MultiLogQuery } from './gql/graphql.js';
import { httpEndpoint, isolatedDatabase, sleep, startTestApp, type Endpoint, type TestApp } from './helpers.js';
import { killServers, ServerProcess } from './processes.js';

// Two app instances on one PostgreSQL database and one Redis: A in this process (startTestApp),
// B a child process (`node --import tsx src/main.ts`): the db client and the event bus are
// process-wide singletons, so a second instance needs a process of its own.

const TEST_TIMEOUT = 120_000;

const MultiFeed = graphql(`
  subscription MultiFeed($after: String, $filter: ActivityFilter) {
    activity(after: $after, filter: $filter) { id kind subject { id } }
  }
`);
const MultiLog = graphql(`
  query MultiLog($first: Int, $after: String) {
    activityLog(first: $first, after: $after) {
      edges { node { id kind subject { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

type Event = { id: string; kind: string; subject: string | undefined };
const label = (e: Event) => `${e.kind}:${e.subject}`;

// The fixtures only call `query`; an HTTP endpoint of the child process serves as well as a TestApp.
const via = (e: Endpoint) => e as TestApp;

// ---- Instance B: a child process -----------------------------------------------------------


async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

// ---- A subscriber that remembers its last event id and can resume from it -------------------

/**
 * One `activity` subscription at a time over graphql-ws. `events` is everything received, across
 * reconnections, duplicates included (so a test sees them). With `reconnect`, a closed
 * subscription is opened again, at whatever `target()` names then, with `after: <last id>`.
 */
class Feed {
  readonly events: Event[] = [];
  /** How each subscription ended: a close code, or the errors / 'complete' it ended with. */
  readonly closes: unknown[] = [];
  private client: Client | undefined;
  private disposed = false;
  private readonly reconnect: boolean;
  private cursor: string | undefined;

  constructor(
    private readonly target: () => string | undefined,
    private readonly token: string,
    options: { reconnect?: boolean; after?: string } = {},
  ) {
    this.reconnect = options.reconnect ?? false;
    this.cursor = options.after;
    this.open();
  }

  /** The id of the last event received (or the `after` it started with). */
  get lastId(): string | undefined {
    return this.cursor;
  }

  /** Opens a subscription on the current target, after the last id received. */
  private open(): void {
    if (this.disposed) return;
    const url = this.target();
    if (!url) return void setTimeout(() => this.open(), 100);
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${this.token}` },
    });
    this.client = client;
    const ended = (reason: unknown) => {
      if (this.client !== client) return;
      const code = (reason as { code?: unknown } | undefined)?.code;
      this.closes.push(typeof code === 'number' ? { code } : reason);
      this.client = undefined;
      void client.dispose();
      if (this.reconnect && !this.disposed) setTimeout(() => this.open(), 100);
    };
    client.subscribe<{ activity: { id: string; kind: string; subject: { id: string } | null } }>(
      { query: print(MultiFeed), variables: this.cursor ? { after: this.cursor } : {} },
      {
        next: (result) => {
          if (result.errors?.length || !result.data) return ended(result.errors);
          const { id, kind, subject } = result.data.activity;
          this.events.push({ id, kind, subject: subject?.id });
          this.cursor = id;
        },
        error: ended,
        complete: () => ended('complete'),
      },
    );
  }

  /** The events after the one about `subject` (a probe), as `KIND:subjectId`. */
  since(subject: string): Event[] {
    const index = this.events.findIndex((e) => e.subject === subject);
    if (index < 0) throw new Error(`the feed never saw ${subject}`);
    return this.events.slice(index + 1);
  }

  async waitFor(what: string, check: (events: Event[]) => boolean, timeoutMs = 10_000): Promise<void> {
    await until(what, () => check(this.events), timeoutMs);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const client = this.client;
    this.client = undefined;
    await client?.dispose();
  }
}

// ---- The suite ------------------------------------------------------------------------------

describe.skipIf(!process.env.DATABASE_URL || !process.env.REDIS_URL)('two instances on one database and one Redis', () => {
  let database: { url: string; drop(): Promise<void> };
  let sharedEnv: Record<string, string>;
  let a: TestApp;
  let b: Endpoint;
  let bProcess: ServerProcess;
  let admin: Actor;
  let spaceId: string;
  const feeds: Feed[] = [];

  const feed = (target: () => string | undefined, token: string, options?: { reconnect?: boolean; after?: string }) => {
    const f = new Feed(target, token, options);
    feeds.push(f);
    return f;
  };

  /** The log after `afterId`, read over HTTP from `on`, as the admin sees it. */
  async function logAfter(on: Endpoint, afterId: string): Promise<Event[]> {
    const events: Event[] = [];
    let after: string | null = afterId;
    for (;;) {
      const { activityLog }: MultiLogQuery = await on.query(MultiLog, { first: 100, after }, admin.token);
      events.push(...activityLog.edges.map(({ node }) => ({ id: node.id, kind: node.kind, subject: node.subject?.id })));
      if (!activityLog.pageInfo.hasNextPage) return events;
      after = activityLog.pageInfo.endCursor!;
    }
  }

  /**
   * Writes probe threads through `on` until every feed has received one (so each subscription
   * is attached on its server and hears the other instance), and returns the last probe's
   * thread id: later assertions look at what came after it.
   */
  async function probe(on: Endpoint, subs: Feed[]): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const probeId = await createThread(via(on), admin, spaceId, 'probe');
      const seen = () => subs.every((s) => s.events.some((e) => e.subject === probeId));
      await until('a probe event', seen, 500).catch(() => {});
      if (seen()) return probeId;
    }
    throw new Error('the subscriptions never received a probe event');
  }

  const ids = (events: Event[]) => events.map((e) => e.id);
  const expectOrdered = (events: Event[]) => {
    expect([...ids(events)].sort()).toEqual(ids(events));
    expect(new Set(ids(events)).size).toBe(events.length);
  };

  beforeAll(async () => {
    database = (await isolatedDatabase('tertulia_multi'))!;
    sharedEnv = {
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_CHANNEL_PREFIX: `tertulia-multi-${randomBytes(6).toString('hex')}:`,
    };
    // A first, so it applies the migrations before B opens the database.
    a = await startTestApp(sharedEnv);
    bProcess = new ServerProcess({ HOST: '127.0.0.1', ...sharedEnv });
    b = httpEndpoint(await bProcess.listening());
    admin = await createUser(a, 'Admin');
    spaceId = await createSpace(a, admin, 'multi-instance');
  });

  afterAll(async () => {
    await Promise.all(feeds.map((f) => f.dispose()));
    killServers();
    await a?.stop();
    await database?.drop().catch(() => {});
  });

  it(
    'delivers the events of writes made through either instance to subscribers on both, in order',
    async () => {
      const onA = feed(() => a.wsUrl, admin.token);
      const onB = feed(() => b.wsUrl, admin.token);
      const start = await probe(a, [onA, onB]);

      // Writes through B, by a user who signed up through B.
      const bob = await createUser(via(b), 'Bob');
      const thread = await createThread(via(b), bob, spaceId, 'Written on B');
      const post = await reply(via(b), bob, thread, 'Also on B');
      const fromB = [`USER_SIGNED_UP:${bob.id}`, `THREAD_CREATED:${thread}`, `POST_CREATED:${post}`];
      await onA.waitFor('B\'s writes on A', () => onA.since(start).length >= 3);
      expect(onA.since(start).map(label)).toEqual(fromB);
      expectOrdered(onA.since(start));

      // And the other way round: writes through A reach a subscriber on B.
      await onB.waitFor('B\'s own writes on B', () => onB.since(start).length >= 3);
      const thread2 = await createThread(a, admin, spaceId, 'Written on A');
      const post2 = await reply(a, bob, thread2, 'Also on A');
      await onB.waitFor('A\'s writes on B', () => onB.since(start).length >= 5);
      expect(onB.since(start).map(label)).toEqual([...fromB, `THREAD_CREATED:${thread2}`, `POST_CREATED:${post2}`]);
      expectOrdered(onB.since(start));

      // Exactly the log, on both: nothing extra, nothing missing.
      const fence = await createThread(via(b), admin, spaceId, 'fence');
      await Promise.all([onA, onB].map((f) => f.waitFor('the fence', (events) => events.some((e) => e.subject === fence))));
      const log = await logAfter(b, onA.events.find((e) => e.subject === start)!.id);
      expect(log.map(label)).toEqual([...fromB, `THREAD_CREATED:${thread2}`, `POST_CREATED:${post2}`, `THREAD_CREATED:${fence}`]);
      expect(onA.since(start)).toEqual(log);
      expect(onB.since(start)).toEqual(log);
      await Promise.all([onA.dispose(), onB.dispose()]);
    },
    TEST_TIMEOUT,
  );

  it(
    'a client that leaves A resumes on B with `after`: the missed events in order, then live ones, no duplicate',
    async () => {
      const first = feed(() => a.wsUrl, admin.token);
      await probe(b, [first]);
      const lastSeen = first.lastId!;
      await first.dispose();

      // Missed: writes through both instances while the client is away.
      const carol = await createUser(a, 'Carol');
      const thread = await createThread(via(b), carol, spaceId, 'While you were away');
      const missedPosts = [
        await reply(a, carol, thread, 'one'),
        await reply(via(b), admin, thread, 'two'),
        await reply(a, admin, thread, 'three'),
      ];
      const missed = await logAfter(a, lastSeen);
      expect(missed.map(label)).toEqual([
        `USER_SIGNED_UP:${carol.id}`,
        `THREAD_CREATED:${thread}`,
        ...missedPosts.map((p) => `POST_CREATED:${p}`),
      ]);

      const resumed = feed(() => b.wsUrl, admin.token, { after: lastSeen });
      await resumed.waitFor('the replay', () => resumed.events.length >= missed.length);
      expect(resumed.events.slice(0, missed.length)).toEqual(missed);

      // Then live, through either instance, exactly once each.
      const live = [await reply(a, carol, thread, 'live on A'), await reply(via(b), carol, thread, 'live on B')];
      await resumed.waitFor('the live events', () => resumed.events.length >= missed.length + 2);
      const log = await logAfter(b, lastSeen);
      expect(log).toEqual([...missed, ...log.slice(missed.length)]);
      expect(log.slice(missed.length).map(label)).toEqual(live.map((p) => `POST_CREATED:${p}`));
      expect(resumed.events).toEqual(log);
      expect(ids(resumed.events).every((id) => id > lastSeen)).toBe(true);
      expectOrdered(resumed.events);
      expect(resumed.closes).toEqual([]);
      await resumed.dispose();
    },
    TEST_TIMEOUT,
  );

  // Each instance publishes to Redis after its own commit, so event n from A can reach Redis
  // after n+1 from B; the bus reads the gap from the log and delivers in order (bus.ts inOrder).
  it(
    'keeps id order and loses nothing with concurrent writers on both instances',
    async () => {
      const live = feed(() => a.wsUrl, admin.token);
      const start = await probe(b, [live]);
      const resumed = feed(() => b.wsUrl, admin.token, { after: live.lastId });
      await probe(a, [live, resumed]);
      const thread = await createThread(a, admin, spaceId, 'Busy on both');
      // Six sequential writers, three per instance: enough overlap for commits to interleave.
      await Promise.all(
        [a, b, a, b, a, b].map(async (on, w) => {
          for (let i = 0; i < 20; i++) await reply(via(on), admin, thread, `writer ${w}, reply ${i}`);
        }),
      );
      const fence = await createThread(via(b), admin, spaceId, 'fence');
      await Promise.all([live, resumed].map((f) => f.waitFor('the fence', (events) => events.some((e) => e.subject === fence), 20_000)));
      const log = await logAfter(a, live.events.find((e) => e.subject === start)!.id);
      expect(ids(live.since(start))).toEqual(ids(log));
      expect(ids(resumed.events)).toEqual(ids(log));
    },
    TEST_TIMEOUT,
  );

  it(
    'a client on B survives a restart of B: it reconnects with its last cursor and loses nothing',
    async () => {
      let bUrl: string | undefined = b.wsUrl;
      const client = feed(() => bUrl, admin.token, { reconnect: true });
      const start = await probe(a, [client]);

      // B shuts down gracefully: its WebSockets are closed with 1001 Going Away.
      const stopped = bProcess.stop();
      bUrl = undefined;
      expect(await stopped).toEqual({ code: 0, signal: null });
      await until('the subscription to close', () => client.closes.length > 0);
      expect(client.closes[0]).toMatchObject({ code: 1001 });
      const lastBefore = client.lastId!;

      // Writes through A while B is down.
      const dave = await createUser(a, 'Dave');
      const thread = await createThread(a, dave, spaceId, 'While B was down');
      const downPosts = [await reply(a, dave, thread, 'one'), await reply(a, admin, thread, 'two')];

      // B again, on a new port; the client finds it and resumes from its last id.
      bProcess = new ServerProcess({ HOST: '127.0.0.1', ...sharedEnv });
      b = httpEndpoint(await bProcess.listening());
      bUrl = b.wsUrl;
      const missed = [`USER_SIGNED_UP:${dave.id}`, `THREAD_CREATED:${thread}`, ...downPosts.map((p) => `POST_CREATED:${p}`)];
      await client.waitFor('the missed events', () => client.since(start).length >= missed.length, 30_000);
      expect(client.since(start).map(label)).toEqual(missed);

      const live = [await reply(a, dave, thread, 'live on A'), await reply(via(b), dave, thread, 'live on new B')];
      await client.waitFor('the live events', () => client.since(start).length >= missed.length + 2);
      const log = await logAfter(b, lastBefore);
      expect(log.map(label)).toEqual([...missed, ...live.map((p) => `POST_CREATED:${p}`)]);
      expect(client.since(start)).toEqual(log);
      expectOrdered(client.since(start));
      expect(client.closes).toHaveLength(1); // one outage, one resume
      await client.dispose();
    },
    TEST_TIMEOUT,
  );
});
