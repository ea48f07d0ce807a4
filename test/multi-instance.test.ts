import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { expectOrdered, Feed, ids, label, logAfter as readLog, until, type Event } from './feeds.js';
import { httpEndpoint, isolatedDatabase, startTestApp, type Endpoint, type TestApp } from './helpers.js';
import { killServers, ServerProcess } from './processes.js';

// Two app instances on one PostgreSQL database and one Redis: A in this process (startTestApp),
// B a child process (`node --import tsx src/main.ts`): the db client and the event bus are
// process-wide singletons, so a second instance needs a process of its own.

const TEST_TIMEOUT = 120_000;

// The fixtures only call `query`; an HTTP endpoint of the child process serves as well as a TestApp.
const via = (e: Endpoint) => e as TestApp;

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
  const logAfter = (on: Endpoint, afterId: string) => readLog(on, admin.token, afterId);

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
