import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activitySubscriberCount } from '../src/events/bus.js';
import { expectOrdered, Feed, label, logAfter, until, type Event } from './feeds.js';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { httpEndpoint, isolatedDatabase, startTestApp, type Endpoint, type TestApp } from './helpers.js';
import { killPrivateServices, PrivateRedis, TcpProxy } from './outages.js';
import { killServers, ServerProcess } from './processes.js';

// Chaos: Redis and PostgreSQL go away under live subscribers of two instances (A in this
// process, B a child process), and come back. Both services are private to this file: a
// redis-server child process on a port of its own, and a TCP proxy in front of the shared
// PostgreSQL that cuts every connection. The shared services themselves are never stopped.

const TEST_TIMEOUT = 180_000;
/** How long an outage may take to show in /readyz, and recovery to show in delivery. */
const RECOVERY_MS = 30_000;

const ChaosThread = graphql(`
  mutation ChaosThread($input: CreateThreadInput!) {
    createThread(input: $input) { __typename ... on ThreadPayload { thread { id } } ... on Error { message } }
  }
`);
const ChaosThreads = graphql(`
  query ChaosThreads($spaceId: ID!) {
    threads(first: 100, spaceId: $spaceId) { edges { node { title } } }
  }
`);

type Readiness = { status: number; body: unknown };

async function readiness(on: Endpoint): Promise<Readiness> {
  const response = await fetch(on.url.replace(/\/graphql$/, '/readyz'));
  return { status: response.status, body: await response.json() };
}

/** Polls /readyz until it answers exactly `expected`; fails with its last answer after RECOVERY_MS. */
async function readinessSays(on: Endpoint, expected: Readiness): Promise<void> {
  const deadline = Date.now() + RECOVERY_MS;
  for (;;) {
    const answer = await readiness(on);
    if (JSON.stringify(answer) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) expect(answer, `/readyz after ${RECOVERY_MS} ms`).toEqual(expected);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// No SMTP_URL here: mail is logged, which /readyz says without it deciding readiness.
const READY = { status: 200, body: { status: 'ready', mail: 'logging' } };
const REDIS_DOWN = {
  status: 503,
  body: { status: 'unavailable', reason: 'Redis is not answering; not subscribed to live events on Redis (retrying)', mail: 'logging' },
};
const DATABASE_DOWN = { status: 503, body: { status: 'unavailable', reason: 'database is not answering', mail: 'logging' } };

// The fixtures only call `query`; an HTTP endpoint of the child process serves as well as a TestApp.
const via = (e: Endpoint) => e as TestApp;

/** The shared database's URL with the host and port of `proxy` (and the same database name). */
function throughProxy(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return proxied.toString();
}

const sharedServices = !process.env.DATABASE_URL || !process.env.REDIS_URL;

describe.skipIf(sharedServices)('Redis and PostgreSQL go down under live subscribers of two instances', () => {
  let database: { url: string; drop(): Promise<void> };
  let redis: PrivateRedis;
  let proxy: TcpProxy;
  let a: TestApp;
  let b: Endpoint;
  let bProcess: ServerProcess;
  let admin: Actor;
  let spaceId: string;
  const feeds: Feed[] = [];

  /** Two subscribers on each instance, as the admin (who sees every event). */
  const subscribers = () => {
    const opened = [a, b, a, b].map((on) => new Feed(() => on.wsUrl, admin.token));
    feeds.push(...opened);
    return opened;
  };

  /** Writes probe threads until every feed has one; returns the last probe's thread id. */
  async function probe(subs: Feed[]): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const probeId = await createThread(a, admin, spaceId, 'probe');
      const seen = () => subs.every((s) => s.events.some((e) => e.subject === probeId));
      await until('a probe event', seen, 500).catch(() => {});
      if (seen()) return probeId;
    }
    throw new Error('the subscriptions never received a probe event');
  }

  /** Every subscriber received exactly the log after `start`: every id, once, in order. */
  async function expectExactly(subs: Feed[], start: string, expected: string[]): Promise<Event[]> {
    await Promise.all(subs.map((s) => s.waitFor(`${expected.length} events`, () => s.since(start).length >= expected.length, RECOVERY_MS)));
    const startId = subs[0].events.find((e) => e.subject === start)!.id;
    const log = await logAfter(a, admin.token, startId);
    expect(log.map(label)).toEqual(expected);
    for (const s of subs) {
      expect(s.since(start)).toEqual(log);
      expectOrdered(s.since(start));
      expect(s.closes).toEqual([]);
    }
    return log;
  }

  beforeAll(async () => {
    redis = await PrivateRedis.reserve();
    await redis.start();
    database = (await isolatedDatabase('tertulia_chaos'))!;
    const target = new URL(database.url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const env = {
      DATABASE_URL: throughProxy(database.url, proxy),
      REDIS_URL: redis.url,
      REDIS_CHANNEL_PREFIX: `tertulia-chaos-${randomBytes(6).toString('hex')}:`,
    };
    a = await startTestApp(env);
    bProcess = new ServerProcess({ HOST: '127.0.0.1', ...env });
    b = httpEndpoint(await bProcess.listening());
    admin = await createUser(a, 'Admin');
    spaceId = await createSpace(a, admin, 'chaos');
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await Promise.all(feeds.map((f) => f.dispose()));
    killServers();
    await a?.stop();
    await proxy?.close();
    await redis?.stop();
    killPrivateServices();
    await database?.drop().catch(() => {});
  });

  it(
    'Redis crashes: /readyz says so on both instances, and once it is back every subscriber gets the events written meanwhile, once each, in order',
    async () => {
      const subs = subscribers();
      const start = await probe(subs);
      expect(await readiness(a)).toEqual(READY);
      expect(await readiness(b)).toEqual(READY);

      await redis.stop();
      await readinessSays(a, REDIS_DOWN);
      await readinessSays(b, REDIS_DOWN);

      // Writes go on (the database is up); their PUBLISH fails, on either instance.
      const thread = await createThread(a, admin, spaceId, 'While Redis was down');
      const posts = [await reply(via(b), admin, thread, 'from B'), await reply(a, admin, thread, 'from A')];
      const meanwhile = [`THREAD_CREATED:${thread}`, ...posts.map((p) => `POST_CREATED:${p}`)];
      for (const s of subs) expect(s.since(start)).toEqual([]);

      // Same port, empty: no event is waiting in Redis. No later write comes either: the
      // instances catch up from the activity log once they hold the subscription again.
      await redis.start();
      await readinessSays(a, READY);
      await readinessSays(b, READY);
      await expectExactly(subs, start, meanwhile);

      // And live again, through either instance.
      const live = [await reply(via(b), admin, thread, 'live on B'), await reply(a, admin, thread, 'live on A')];
      await expectExactly(subs, start, [...meanwhile, ...live.map((p) => `POST_CREATED:${p}`)]);
      await Promise.all(subs.map((s) => s.dispose()));
    },
    TEST_TIMEOUT,
  );

  // Refused: every connection is reset and new ones are refused at once. Silent: connections are
  // accepted and never answered, as when the host is gone; a new connection gives up after 10 s.
  for (const [how, outage] of [
    ['refuses connections', () => proxy.cut()],
    ['goes silent', () => proxy.blackhole()],
  ] as const) {
    it(
      `PostgreSQL ${how}: /readyz says so, a write fails cleanly and leaves nothing, and live delivery resumes with nothing lost`,
      async () => {
        const subs = subscribers();
        const start = await probe(subs);

        outage();
        await readinessSays(a, DATABASE_DOWN);
        await readinessSays(b, DATABASE_DOWN);

        // A write on each instance: a masked error, within a bound, and neither process goes down.
        for (const on of [a, b]) {
          const began = Date.now();
          const response = await fetch(on.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
            body: JSON.stringify({ query: print(ChaosThread), variables: { input: { spaceId, title: `Lost: the database ${how}`, body: 'lost' } } }),
          });
          expect(Date.now() - began).toBeLessThan(15_000);
          expect({ status: response.status, body: await response.json() }).toEqual({
            status: 500,
            body: { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] },
          });
        }
        expect(bProcess.exitStatus).toBeUndefined();
        for (const s of subs) expect(s.since(start)).toEqual([]);

        proxy.restore();
        await readinessSays(a, READY);
        await readinessSays(b, READY);

        // The subscriptions held through the outage; new writes reach them all, and nothing of
        // the failed writes remains (neither a thread nor its event).
        const thread = await createThread(via(b), admin, spaceId, `Kept: the database ${how}`);
        const post = await reply(a, admin, thread, 'from A');
        await expectExactly(subs, start, [`THREAD_CREATED:${thread}`, `POST_CREATED:${post}`]);
        const { threads } = await a.query(ChaosThreads, { spaceId }, admin.token);
        const titles = threads.edges.map((e) => e.node.title).filter((title) => title.endsWith(`the database ${how}`));
        expect(titles).toEqual([`Kept: the database ${how}`]);
        await Promise.all(subs.map((s) => s.dispose()));
      },
      TEST_TIMEOUT,
    );
  }

  it(
    'both down: Redis comes back first, the catch-up waits for the database, then delivers what was written, once each, in order',
    async () => {
      const subs = subscribers();
      const start = await probe(subs);

      await redis.stop();
      await readinessSays(a, REDIS_DOWN);
      await readinessSays(b, REDIS_DOWN);
      const thread = await createThread(via(b), admin, spaceId, 'Before both went');
      const post = await reply(a, admin, thread, 'from A');
      proxy.cut();
      const bothDown = { status: 503, body: { status: 'unavailable', reason: `database is not answering; ${REDIS_DOWN.body.reason}`, mail: 'logging' } };
      await readinessSays(a, bothDown);
      await readinessSays(b, bothDown);

      // Redis back: the subscriptions are held again, but the log cannot be read yet.
      await redis.start();
      await readinessSays(a, DATABASE_DOWN);
      await readinessSays(b, DATABASE_DOWN);
      for (const s of subs) expect(s.since(start)).toEqual([]);

      proxy.restore();
      await readinessSays(a, READY);
      await readinessSays(b, READY);
      await expectExactly(subs, start, [`THREAD_CREATED:${thread}`, `POST_CREATED:${post}`]);
      await Promise.all(subs.map((s) => s.dispose()));
    },
    TEST_TIMEOUT,
  );
});

describe.skipIf(sharedServices)('an instance that starts while Redis is unreachable', () => {
  let database: { url: string; drop(): Promise<void> };
  let redis: PrivateRedis;
  let c: TestApp;
  let d: Endpoint;
  let dProcess: ServerProcess;
  const feeds: Feed[] = [];

  beforeAll(async () => {
    redis = await PrivateRedis.reserve(); // nothing listens there yet
    database = (await isolatedDatabase('tertulia_chaos'))!;
  });

  afterAll(async () => {
    await Promise.all(feeds.map((f) => f.dispose()));
    killServers();
    await c?.stop();
    await redis?.stop();
    killPrivateServices();
    await database?.drop().catch(() => {});
  });

  it(
    'is not ready until it holds the subscription, then delivers every event written since it started, through either instance, once, in order',
    async () => {
      const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, REDIS_CHANNEL_PREFIX: `tertulia-chaos-${randomBytes(6).toString('hex')}:` };
      c = await startTestApp(env);
      expect(await readiness(c)).toEqual(REDIS_DOWN);
      dProcess = new ServerProcess({ HOST: '127.0.0.1', ...env });
      d = httpEndpoint(await dProcess.listening());
      expect(await readiness(d)).toEqual(REDIS_DOWN);

      // Serving all the same: sign-up and writes work, a subscriber can come.
      const admin = await createUser(c, 'Admin');
      const spaceId = await createSpace(c, admin, 'started-without-redis');
      const onC = new Feed(() => c.wsUrl, admin.token);
      feeds.push(onC);
      await until('the subscription on C', () => activitySubscriberCount() === 1);

      // Written through C and through D before either holds its subscription.
      const fromC = await createThread(c, admin, spaceId, 'through C');
      const fromD = await createThread(via(d), admin, spaceId, 'through D');
      expect(onC.events).toEqual([]);

      await redis.start();
      await readinessSays(c, READY);
      await readinessSays(d, READY);
      // What C delivers once it holds the subscription is the log since C started, in order:
      // here that includes the sign-up and the space, written just before the subscriber came
      // (as an event committed a moment before subscribing can arrive live in any case).
      await onC.waitFor('the events written before Redis came', (events) => events.length >= 4, RECOVERY_MS);
      const log = await logAfter(c, admin.token, null);
      const written = [`USER_SIGNED_UP:${admin.id}`, `SPACE_CREATED:${spaceId}`, `THREAD_CREATED:${fromC}`, `THREAD_CREATED:${fromD}`];
      expect(log.map(label)).toEqual(written);
      expect(onC.events).toEqual(log);

      // Then live, on both instances.
      const onD = new Feed(() => d.wsUrl, admin.token);
      feeds.push(onD);
      const probes: string[] = [];
      for (let attempt = 0; attempt < 50 && onD.events.length === 0; attempt++) {
        probes.push(await createThread(c, admin, spaceId, 'probe'));
        await until('a probe on D', () => onD.events.length > 0, 500).catch(() => {});
      }
      const live = await createThread(via(d), admin, spaceId, 'live through D');
      await onC.waitFor('the live event', (events) => events.some((e) => e.subject === live), RECOVERY_MS);
      await onD.waitFor('the live event', (events) => events.some((e) => e.subject === live), RECOVERY_MS);
      const all = await logAfter(c, admin.token, null);
      expect(all.map(label)).toEqual([...written, ...[...probes, live].map((id) => `THREAD_CREATED:${id}`)]);
      expect(onC.events).toEqual(all);
      expectOrdered(onC.events);
      expect(onD.since(onD.events[0].subject!)).toEqual(all.slice(all.findIndex((e) => e.id === onD.events[0].id) + 1));
      expect([...onC.closes, ...onD.closes]).toEqual([]);
    },
    TEST_TIMEOUT,
  );
});
