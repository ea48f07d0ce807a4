import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSpace, createThread, createUser, type Actor } from './fixtures.js';
import { activitySubscriberCount } from '../src/events/bus.js';
import { startTestApp, type TestApp } from './helpers.js';

// The graphql-transport-ws protocol as a raw client sees it: what the server answers to each
// misbehaviour, and how it treats a client that stops reading.

let t: TestApp;
let admin: Actor;
let spaceId: string;

beforeAll(async () => {
  // Aliases let one event carry ~1 MiB, so socket buffers fill after a few writes; a 64 KiB
  // bound then ends the stalled subscription after a few more.
  t = await startTestApp({ MAX_ALIASES: '40', SUBSCRIBER_BUFFER_BYTES: '65536' });
  admin = await createUser(t, 'Admin');
  spaceId = await createSpace(t, admin, 'protocol');
});
afterAll(async () => {
  await t?.stop();
});

type Closed = { code: number; reason: string };

/** A raw socket that records every message and how it closed. */
async function open(): Promise<{ ws: WebSocket; messages: Record<string, unknown>[]; closed: Promise<Closed>; next(type: string): Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws');
  const messages: Record<string, unknown>[] = [];
  const waiting: { type: string; resolve(m: Record<string, unknown>): void }[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    messages.push(message);
    for (const w of waiting.filter((w) => w.type === message.type)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(message);
    }
  });
  const closed = new Promise<Closed>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    ws,
    messages,
    closed,
    next: (type) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} message`)), 10_000);
        waiting.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      }),
  };
}

const send = (ws: WebSocket, message: unknown) => ws.send(JSON.stringify(message));
const SUBSCRIBE = { query: 'subscription { activity { id kind } }' };

describe('graphql-transport-ws protocol', () => {
  it('closes with 4401 on subscribe before the connection is acknowledged', async () => {
    const c = await open();
    send(c.ws, { id: '1', type: 'subscribe', payload: SUBSCRIBE });
    expect(await c.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('closes with 4429 on a second connection_init', async () => {
    const c = await open();
    send(c.ws, { type: 'connection_init' });
    await c.next('connection_ack');
    send(c.ws, { type: 'connection_init' });
    expect(await c.closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
  });

  it('closes with 4409 when an operation id is already in use', async () => {
    const c = await open();
    send(c.ws, { type: 'connection_init' });
    await c.next('connection_ack');
    send(c.ws, { id: 'same', type: 'subscribe', payload: SUBSCRIBE });
    send(c.ws, { id: 'same', type: 'subscribe', payload: SUBSCRIBE });
    expect(await c.closed).toEqual({ code: 4409, reason: 'Subscriber for same already exists' });
  });

  it('closes with 4408 when connection_init never comes', async () => {
    const c = await open();
    expect(await c.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
  });

  it('closes with 4403 when the token is refused, and answers ping with pong', async () => {
    const refused = await open();
    send(refused.ws, { type: 'connection_init', payload: { authorization: 'Bearer tta_not-a-real-token' } });
    expect(await refused.closed).toEqual({ code: 4403, reason: 'Forbidden' });

    const c = await open();
    send(c.ws, { type: 'connection_init' });
    await c.next('connection_ack');
    send(c.ws, { type: 'ping', payload: { at: 1 } });
    expect(await c.next('pong')).toEqual({ type: 'pong', payload: { at: 1 } });
    c.ws.close(1000);
  });

  it("signs in one operation with the Authorization of its extensions.headers, as GraphiQL's Headers tab sends it", async () => {
    const c = await open();
    send(c.ws, { type: 'connection_init' });
    await c.next('connection_ack');
    const asAdmin = { headers: { Authorization: `Bearer ${admin.token}` } };
    const viewer = '{ viewer { displayName } }';
    send(c.ws, { id: 'anonymous', type: 'subscribe', payload: { query: viewer } });
    expect(await c.next('next')).toEqual({ id: 'anonymous', type: 'next', payload: { data: { viewer: null } } });
    send(c.ws, { id: 'signed-in', type: 'subscribe', payload: { query: viewer, extensions: asAdmin } });
    expect(await c.next('next')).toEqual({ id: 'signed-in', type: 'next', payload: { data: { viewer: { displayName: 'Admin' } } } });
    // A bad token there is this operation's error, as over HTTP; the socket stays open.
    send(c.ws, { id: 'bad', type: 'subscribe', payload: { query: viewer, extensions: { headers: { authorization: 'Bearer tta_not-a-real-token' } } } });
    expect(await c.next('error')).toMatchObject({ id: 'bad', type: 'error', payload: [{ extensions: { code: 'UNAUTHENTICATED' } }] });

    // Live: a sign-up goes to staff only, so only the signed-in subscription gets it.
    const signUps = 'subscription { activity(filter: { kinds: [USER_SIGNED_UP] }) { kind subject { ... on User { displayName } } } }';
    const before = activitySubscriberCount();
    send(c.ws, { id: 'live-anonymous', type: 'subscribe', payload: { query: signUps } });
    send(c.ws, { id: 'live-admin', type: 'subscribe', payload: { query: signUps, extensions: asAdmin } });
    for (let i = 0; i < 200 && activitySubscriberCount() < before + 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(activitySubscriberCount()).toBe(before + 2);
    // Waited for from before: the event comes at sign-up, while createUser still follows the email's link.
    const signedUp = c.next('next');
    await createUser(t, 'Newcomer');
    expect(await signedUp).toEqual({ id: 'live-admin', type: 'next', payload: { data: { activity: { kind: 'USER_SIGNED_UP', subject: { displayName: 'Newcomer' } } } } });
    expect(c.messages.filter((m) => m.id === 'live-anonymous')).toEqual([]);
    c.ws.close(1000);
  });
});

// Each event repeats the thread body 24 times: about 1 MiB per event with a 45,000-character body.
const BIG_EVENTS = `subscription { activity(filter: { kinds: [THREAD_CREATED] }) { id subject { ... on Thread { ${Array.from(
  { length: 24 },
  (_, i) => `b${i}: body`,
).join(' ')} } } } }`;

describe('slow consumers', () => {
  it('disconnects a client that stops reading once its backlog passes the bound, without slowing others', async () => {
    const slow = await open();
    const healthy = await open();
    for (const c of [slow, healthy]) {
      send(c.ws, { type: 'connection_init' });
      await c.next('connection_ack');
      send(c.ws, { id: 'a', type: 'subscribe', payload: { query: BIG_EVENTS } });
    }
    // Wait until both subscriptions are attached: a probe reaches both.
    const gotEvent = (c: { messages: Record<string, unknown>[] }) => c.messages.some((m) => m.type === 'next');
    for (let i = 0; i < 50 && !(gotEvent(slow) && gotEvent(healthy)); i++) {
      await createThread(t, admin, spaceId, 'probe', 'probe');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Stop reading: socket buffers fill, graphql-ws's awaited send stalls this subscription, and
    // its unsent bytes plus the events queued behind them pass the bound: it is ended and closed.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const body = 'x'.repeat(45_000);
    // Write until the server has ended the stalled subscription (the healthy one stays).
    let written = 0;
    while (activitySubscriberCount() > 1 && written < 60) {
      await createThread(t, admin, spaceId, `big ${written}`, body);
      written++;
    }
    expect(activitySubscriberCount()).toBe(1);
    const slowClosed = slow.closed;
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slowClosed;
    // Either the close frame reached it (1008 with the reason) or, never read, it was cut (1006).
    expect([1008, 1006]).toContain(closed.code);
    if (closed.code === 1008) {
      expect(closed.reason).toBe('More than 65536 bytes were waiting for this client, so its subscription was ended; subscribe again');
    }
    expect(written).toBeLessThan(60);
    // The reading client got every event and is still connected.
    const marker = await createThread(t, admin, spaceId, 'after', 'still here');
    for (let i = 0; i < 100 && !healthy.messages.some((m) => JSON.stringify(m).includes('still here')); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(healthy.messages.some((m) => JSON.stringify(m).includes('still here'))).toBe(true);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    expect(marker).toBeTruthy();
    healthy.ws.close(1000);
  });
});
