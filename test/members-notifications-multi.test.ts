import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { connected, httpEndpoint, isolatedDatabase, startTestApp, subscribe, type Endpoint, type TestApp } from './helpers.js';
import { killServers, ServerProcess } from './processes.js';

// Two instances on one PostgreSQL database and one Redis (A in this process, B a child process, as
// in multi-instance.test.ts): both run the fan-out job, and both are woken by every reply.

const AddedOnB = graphql(`subscription AddedOnB { notificationAdded { unreadCount notification { id kind actorCount } } }`);

const via = (e: Endpoint) => e as TestApp;

describe.skipIf(!process.env.DATABASE_URL || !process.env.REDIS_URL)('notifications on two instances', () => {
  let database: { url: string; drop(): Promise<void> };
  let a: TestApp;
  let b: Endpoint;
  let admin: Actor;
  let spaceId: string;

  beforeAll(async () => {
    database = (await isolatedDatabase('tertulia_notify'))!;
    const sharedEnv = {
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_CHANNEL_PREFIX: `tertulia-notify-${randomBytes(6).toString('hex')}:`,
      NOTIFICATION_BATCH_SIZE: '2',
    };
    a = await startTestApp(sharedEnv);
    b = httpEndpoint(await new ServerProcess({ HOST: '127.0.0.1', ...sharedEnv }).listening());
    admin = await createUser(a, 'Admin');
    spaceId = await createSpace(a, admin, 'two-instances');
  }, 120_000);

  afterAll(async () => {
    killServers();
    await a?.stop();
    await database?.drop().catch(() => {});
  });

  it('a reply through A reaches its watcher subscribed on B, and every watcher is notified once', async () => {
    const ana = await createUser(via(b), 'Ana');
    const watchers = await Promise.all(Array.from({ length: 5 }, (_, i) => createUser(a, `W${i}`)));
    const threadId = await createThread(via(b), ana, spaceId);
    const SetLevel = graphql(`mutation SetLevelMulti($input: SetThreadSubscriptionInput!) { setThreadSubscription(input: $input) { __typename } }`);
    for (const w of watchers) await a.query(SetLevel, { input: { threadId, level: 'WATCHING' } }, w.token);

    const client = createClient({ url: b.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0, connectionParams: { authorization: `Bearer ${ana.token}` } });
    const onB = subscribe(client, AddedOnB);
    await connected(client);
    const bob = await createUser(a, 'Bob');
    // Bob replies through A until Ana's subscription on B (attached at some point) hears one.
    for (let i = 0; i < 40 && onB.received.length === 0; i++) {
      await reply(a, bob, threadId, `reply ${i}`);
      await onB.next(1, 250).catch(() => undefined);
    }
    expect(onB.received[0].data!.notificationAdded).toMatchObject({ unreadCount: 1, notification: { kind: 'REPLIED' } });

    // Both instances' jobs raced over every reply: one REPLIED per watcher, written once each.
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const deadline = Date.now() + 15_000;
      let rows: { userId: number; n: number }[] = [];
      for (;;) {
        ({ rows } = await db.query(
          `SELECT "userId", count(*)::int AS "n" FROM "Notification" WHERE "threadId" = $1 GROUP BY "userId" ORDER BY "userId"`,
          [Number(Buffer.from(threadId, 'base64').toString().split(':')[1])],
        ));
        const { rows: cursor } = await db.query(
          `SELECT (SELECT max("id") FROM "Activity") = "activityId" AND "afterUserId" = 0 AS "done" FROM "NotificationCursor"`,
        );
        if (cursor[0].done && rows.length === watchers.length + 1) break;
        if (Date.now() > deadline) throw new Error(`fan-out never finished: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows.every((row) => row.n === 1)).toBe(true);
    } finally {
      await db.end();
      await client.dispose();
    }
  }, 120_000);
});
