// The subscribers of bench/fanout.ts, in a process of their own (not the server's, not the
// driver's): graphql-ws clients (`createClient` from graphql-ws over `ws`), one WebSocket
// connection each, subscribed to the activity of one space. Started by the driver:
//   node --import tsx bench/fanout-load.ts   (with an IPC channel)
// For every event it notes when it arrived (wallClock, comparable with the writer's and the
// server's clocks) and which subscriber got it, so the driver can count lost and duplicated
// events and compute latencies once it knows when each post was sent and published.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { memoryNow, serveParent, wallClock, type Memory } from './ipc.js';

export type LoadTarget = { wsUrl: string; count: number };
/** One subscription document for every client; tokens are handed out round-robin. */
export type Subscription = { query: string; variables: Record<string, unknown>; tokens: string[] };
/** A post the driver knows about: its Post id (as the subscription returns it), when it was sent and published. */
export type SentPost = { key: string; sentAt: number; publishedAt: number | null };
export type Percentiles = { count: number; p50: number; p90: number; p99: number; p999: number; max: number };
export type Tally = {
  subscribers: number;
  posts: number;
  /** Deliveries of the posts asked about (each subscriber x post, once). */
  delivered: number;
  /** Subscriber x post pairs that never arrived. */
  lost: number;
  duplicates: number;
  /** Events that are not among the posts asked about (should be 0). */
  unexpected: number;
  outOfOrder: number;
  /** Receive minus the writer's send, receive minus the server's publish, receive minus occurredAt (ms precision). */
  sendToReceive: Percentiles;
  publishToReceive: Percentiles;
  occurredToReceive: Percentiles;
  firstReceiveAt: number;
  lastReceiveAt: number;
  /** One payload as received, to compare with the baseline's. */
  sample: unknown;
};
export type ChurnResult = { subscribes: number; completes: number; connections: number; errors: number; errorSamples: string[]; events: number; seconds: number };

export type LoadRequests = {
  /** Opens clients and subscribes each once; resolves when every connection is acknowledged. */
  open: { request: { targets: LoadTarget[]; subscription: Subscription; concurrency: number }; reply: { opened: number; failed: number; seconds: number; errorSamples: string[] } };
  /** Forgets every event received so far (after a warm-up). */
  reset: { request: Record<string, never>; reply: { dropped: number } };
  /** Events received so far, for waiting until the last one has arrived. */
  progress: { request: Record<string, never>; reply: { events: number; lastReceiveAt: number; errors: number; completes: number } };
  tally: { request: { posts: SentPost[] }; reply: Tally };
  /** Closes every client (unsubscribe, then close the socket) and waits for the closes. */
  close: { request: Record<string, never>; reply: { closed: number; seconds: number } };
  /**
   * `count` clients (split over targets), each replacing its subscription with a new one every
   * `periodMs` (mode `subscription`, one connection each for the whole run) or its whole
   * connection (mode `connection`: close, connect, init, subscribe), for `seconds`.
   */
  churn: { request: { targets: LoadTarget[]; subscription: Subscription; periodMs: number; seconds: number; mode: 'subscription' | 'connection' }; reply: ChurnResult };
  loadMemory: { request: Record<string, never>; reply: Omit<Memory, 'sockets' | 'subscribers'> };
};

// biome-ignore lint: a graphql-ws payload, read by hand
type Payload = any;

type Subscriber = { client: Client; counts: Uint8Array; lastId: string };

const subscribers: Subscriber[] = [];
// Event keys (the subject's id) in order of first arrival, and for each: its arrival times.
const keyIndex = new Map<string, number>();
let arrivals: number[][] = [];
let occurredAt: number[] = [];
let events = 0;
let errors = 0;
let completes = 0;
let outOfOrder = 0;
let lastReceiveAt = 0;
let sample: unknown;
const errorSamples: string[] = [];

function noteError(what: unknown): void {
  errors++;
  if (errorSamples.length < 5) errorSamples.push(what instanceof Error ? what.message : JSON.stringify(what)?.slice(0, 300) ?? String(what));
}

function receive(subscriber: Subscriber | undefined, value: Payload): void {
  const at = wallClock();
  const event = value?.data?.activity;
  if (!event) return noteError(value);
  const key: string = event.subject?.id ?? `missing subject of ${event.id}`;
  let index = keyIndex.get(key);
  if (index === undefined) {
    index = arrivals.length;
    keyIndex.set(key, index);
    arrivals.push([]);
    occurredAt.push(Date.parse(event.occurredAt));
  }
  arrivals[index].push(at);
  events++;
  lastReceiveAt = at;
  sample ??= value;
  if (!subscriber) return;
  if (index >= subscriber.counts.length) {
    const grown = new Uint8Array(Math.max(index + 1, subscriber.counts.length * 2));
    grown.set(subscriber.counts);
    subscriber.counts = grown;
  }
  if (subscriber.counts[index] < 255) subscriber.counts[index]++;
  if (event.id <= subscriber.lastId) outOfOrder++; // ids are fixed-width, so strings compare in order
  subscriber.lastId = event.id;
}

function newClient(wsUrl: string, token: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
}

/** Resolves when the client's connection is acknowledged, rejects if it closes first or takes 30 s. */
function acknowledged(client: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error('no connection_ack within 30 s'))), 30_000);
    const offConnected = client.on('connected', () => (off(), resolve()));
    const offClosed = client.on('closed', (event) => (off(), reject(new Error(`closed before ack: ${(event as { code?: number }).code}`))));
    const off = () => {
      clearTimeout(timer);
      offConnected();
      offClosed();
    };
  });
}

function subscribeOnce(client: Client, subscription: Subscription, subscriber?: Subscriber): () => void {
  return client.subscribe(
    { query: subscription.query, variables: subscription.variables },
    {
      next: (value) => receive(subscriber, value),
      error: (error) => noteError(error),
      complete: () => completes++,
    },
  );
}

async function open({ targets, subscription, concurrency }: LoadRequests['open']['request']): Promise<LoadRequests['open']['reply']> {
  const started = wallClock();
  const jobs = targets.flatMap((target) => Array.from({ length: target.count }, () => target.wsUrl));
  let next = 0;
  let opened = 0;
  let failed = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        const client = newClient(jobs[i], subscription.tokens[(subscribers.length + i) % subscription.tokens.length]);
        const subscriber: Subscriber = { client, counts: new Uint8Array(64), lastId: '' };
        const ack = acknowledged(client);
        subscribeOnce(client, subscription, subscriber);
        try {
          await ack;
          subscribers.push(subscriber);
          opened++;
        } catch (error) {
          failed++;
          if (failures.length < 5) failures.push((error as Error).message);
          void client.dispose();
        }
      }
    }),
  );
  return { opened, failed, seconds: (wallClock() - started) / 1000, errorSamples: failures };
}

function reset(): { dropped: number } {
  const dropped = events;
  keyIndex.clear();
  arrivals = [];
  occurredAt = [];
  events = errors = completes = outOfOrder = lastReceiveAt = 0;
  errorSamples.length = 0;
  sample = undefined;
  for (const subscriber of subscribers) subscriber.counts.fill(0);
  return { dropped };
}

function percentiles(values: number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN);
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

function tally({ posts }: { posts: SentPost[] }): Tally {
  let delivered = 0;
  let lost = 0;
  let duplicates = 0;
  let firstReceiveAt = Infinity;
  const send: number[] = [];
  const publish: number[] = [];
  const occurred: number[] = [];
  const known = new Set<number>();
  for (const post of posts) {
    const index = keyIndex.get(post.key);
    if (index === undefined) {
      lost += subscribers.length;
      continue;
    }
    known.add(index);
    for (const subscriber of subscribers) {
      const count = subscriber.counts[index] ?? 0;
      if (count === 0) lost++;
      else delivered++;
      if (count > 1) duplicates += count - 1;
    }
    for (const at of arrivals[index]) {
      firstReceiveAt = Math.min(firstReceiveAt, at);
      send.push(at - post.sentAt);
      if (post.publishedAt !== null) publish.push(at - post.publishedAt);
      occurred.push(at - occurredAt[index]);
    }
  }
  let unexpected = 0;
  arrivals.forEach((times, index) => {
    if (!known.has(index)) unexpected += times.length;
  });
  return {
    subscribers: subscribers.length,
    posts: posts.length,
    delivered,
    lost,
    duplicates,
    unexpected,
    outOfOrder,
    sendToReceive: percentiles(send),
    publishToReceive: percentiles(publish),
    occurredToReceive: percentiles(occurred),
    firstReceiveAt,
    lastReceiveAt,
    sample,
  };
}

/** Disposes clients and waits (bounded) until their sockets have closed. */
async function closeClients(clients: Client[]): Promise<void> {
  await Promise.race([
    Promise.all(clients.map((client) => client.dispose())),
    new Promise((resolve) => setTimeout(resolve, 30_000)),
  ]);
}

async function close(): Promise<{ closed: number; seconds: number }> {
  const started = wallClock();
  const clients = subscribers.splice(0).map((s) => s.client);
  await closeClients(clients);
  return { closed: clients.length, seconds: (wallClock() - started) / 1000 };
}

async function churn(request: LoadRequests['churn']['request']): Promise<ChurnResult> {
  const { targets, subscription, periodMs, seconds, mode } = request;
  const result: ChurnResult = { subscribes: 0, completes: 0, connections: 0, errors: 0, errorSamples: [], events: 0, seconds: 0 };
  const eventsBefore = events;
  const errorsBefore = errors;
  const started = wallClock();
  const deadline = started + seconds * 1000;
  const urls = targets.flatMap((target) => Array.from({ length: target.count }, () => target.wsUrl));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await Promise.all(
    urls.map(async (wsUrl, i) => {
      const token = subscription.tokens[i % subscription.tokens.length];
      // Spread over the period, so the server sees a steady rate rather than bursts.
      await sleep((periodMs * i) / urls.length);
      let client = newClient(wsUrl, token);
      result.connections++;
      let unsubscribe = subscribeOnce(client, subscription);
      result.subscribes++;
      while (wallClock() + periodMs < deadline) {
        await sleep(periodMs);
        if (mode === 'subscription') {
          // The new one first: with no subscription left, a lazy client would close its socket.
          const previous = unsubscribe;
          unsubscribe = subscribeOnce(client, subscription);
          previous();
        } else {
          unsubscribe();
          await client.dispose();
          client = newClient(wsUrl, token);
          result.connections++;
          unsubscribe = subscribeOnce(client, subscription);
        }
        result.subscribes++;
        result.completes++;
      }
      unsubscribe();
      result.completes++;
      await client.dispose();
    }),
  );
  result.seconds = (wallClock() - started) / 1000;
  result.events = events - eventsBefore;
  result.errors = errors - errorsBefore;
  result.errorSamples = errorSamples.slice(0, 5);
  return result;
}

const send = serveParent(
  {
    open,
    reset,
    progress: () => ({ events, lastReceiveAt, errors, completes }),
    tally,
    close,
    churn,
    loadMemory: () => memoryNow(false),
  },
  async () => {
    await close();
  },
);
send({ type: 'ready', url: '' });
