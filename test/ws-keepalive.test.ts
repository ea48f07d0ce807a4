import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { activitySubscriberCount } from '../src/events/bus.js';
import { createSpace, createThread, createUser, type Actor } from './fixtures.js';
import { sleep, startTestApp, type TestApp } from './helpers.js';

// The server's heartbeat (WS_KEEPALIVE_MS) as raw clients see it: every period each socket is
// pinged, and one that did not answer the previous ping is cut. A short period here, in a file
// of its own (the other protocol tests pause sockets, which would stop their pongs too).

const PERIOD_MS = 200;

let t: TestApp;
let admin: Actor;
let spaceId: string;

beforeAll(async () => {
  t = await startTestApp({ WS_KEEPALIVE_MS: String(PERIOD_MS) });
  admin = await createUser(t, 'Admin');
  spaceId = await createSpace(t, admin, 'heartbeat');
});
afterAll(async () => {
  await t?.stop();
});

type Client = {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  pings: number;
  closed: Promise<{ code: number }>;
};

/** A raw graphql-transport-ws client, acknowledged and subscribed to new threads. */
async function subscribed(options: WebSocket.ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws', options);
  const client: Client = {
    ws,
    messages: [],
    pings: 0,
    closed: new Promise((resolve) => ws.on('close', (code) => resolve({ code }))),
  };
  ws.on('message', (data) => client.messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  ws.on('ping', () => client.pings++);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await until(() => client.messages.some((m) => m.type === 'connection_ack'), 'connection_ack');
  ws.send(
    JSON.stringify({
      id: 'threads',
      type: 'subscribe',
      payload: { query: 'subscription { activity(filter: { kinds: [THREAD_CREATED] }) { subject { id } } }' },
    }),
  );
  return client;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const threadIds = (c: Client) =>
  c.messages.filter((m) => m.type === 'next').map((m) => (m.payload as { data: { activity: { subject: { id: string } } } }).data.activity.subject.id);

describe('keep-alive', () => {
  it('cuts a client that stops answering pings, and keeps one that answers', async () => {
    const answering = await subscribed();
    // ws answers pings by itself unless told not to: this one never answers.
    const silent = await subscribed({ autoPong: false });
    await until(() => activitySubscriberCount() === 2, 'both subscriptions');

    // Pinged once, then cut at the next beat: no close frame, so the client sees 1006.
    expect(await silent.closed).toEqual({ code: 1006 });
    expect(silent.pings).toBe(1);
    await until(() => activitySubscriberCount() === 1, 'the cut client’s subscription to end');

    // The answering client stays through several beats and still gets its events.
    await until(() => answering.pings >= 4, 'four pings');
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    const threadId = await createThread(t, admin, spaceId, 'Still connected');
    await until(() => threadIds(answering).includes(threadId), 'the new thread');
    expect(threadIds(answering)).toEqual([threadId]);
    expect(threadIds(silent)).toEqual([]);
    answering.ws.close(1000);
    expect(await answering.closed).toEqual({ code: 1000 });
  });
});
