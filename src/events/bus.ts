import { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import type { ActivityKind, ActivityVisibility, Role, SpaceVisibility } from '../generated/prisma/enums.js';
import { probe } from '../observability/probes.js';

/** What crosses the wire between instances for one activity row (JSON-safe). */
export type ActivityMessage = {
  id: string;
  kind: ActivityKind;
  actorId: number | null;
  subjectType: string;
  subjectId: number;
  spaceId: number | null;
  spaceVisibility: SpaceVisibility | null;
  threadId: number | null;
  visibility: ActivityVisibility;
  occurredAt: string;
  /** Support: the case's department, the case and its requester (CASE / CASE_STAFF visibility). */
  departmentId?: number | null;
  caseId?: number | null;
  requesterId?: number | null;
  /** Live-only facts that open subscriptions act on: a user's new role, a revoked session. */
  access?: AccessChange;
};

export type AccessChange = {
  role?: Role;
  revokedSessionId?: number;
  /** Sessions of the user ended at once (a password changed or reset): their subscriptions end. */
  revokedSessionIds?: number[];
  /** A suspension (ISO date) or its end (null): a suspended user's subscriptions end. */
  suspendedUntil?: string | null;
};

/** How many bytes may wait for one client before its subscription is ended (about 1 MiB). */
const DEFAULT_SUBSCRIBER_BUFFER_BYTES = 1024 * 1024;

let bufferLimit = DEFAULT_SUBSCRIBER_BUFFER_BYTES;
/** Sets the bound of subscriptions opened from now on (config SUBSCRIBER_BUFFER_BYTES). */
export function configureSubscriberBuffer(bytes: number): void {
  bufferLimit = bytes;
}
export const subscriberBufferBytes = (): number => bufferLimit;

/** Ends a subscription whose client reads slower than events arrive. */
export class SubscriberTooSlowError extends AppError {
  readonly code = 'SUBSCRIBER_TOO_SLOW';
  constructor(limit: number) {
    super(`More than ${limit} bytes were waiting for this client, so its subscription was ended; subscribe again`);
  }
}

// The size an event takes while it waits, as JSON; computed once per event, however many
// subscribers hold it.
const sizes = new WeakMap<ActivityMessage, number>();
function messageSize(message: ActivityMessage): number {
  let size = sizes.get(message);
  if (size === undefined) {
    size = JSON.stringify(message).length;
    sizes.set(message, size);
  }
  return size;
}

type Subscriber = { receive(message: ActivityMessage): void; end(): void };

type Bus = {
  publish(message: ActivityMessage): void;
  /** Notifications written (see publishNotificationNotice): to this process's listeners, or all instances' through Redis. */
  publishNotice(notice: NotificationNotice): void;
  subscribers: Set<Subscriber>;
  /** Shutting down: new subscriptions end at once. */
  draining: boolean;
  /** Why this instance cannot deliver every event now (Redis down, not subscribed), or none. */
  health(): Promise<string | undefined>;
  /** With Redis: whether each connection is ready (and the subscription held). */
  redis?(): { publish: boolean; subscribe: boolean };
  close(): Promise<void>;
};

/** What the bus reads from the activity log to deliver in order and to catch up after an outage. */
export type ActivityLogReader = {
  /** Log rows with afterId < id (< beforeId, if given), oldest first, at most `take`. */
  readBetween(afterId: bigint, beforeId: bigint | undefined, take: number): Promise<ActivityMessage[]>;
  /** The newest row's id (0 for an empty log). */
  latestId(): Promise<bigint>;
};

// One bus per process, like the database client: Redis when REDIS_URL is set, so every
// instance sees every event; in-memory otherwise. Either way each event is fanned out to the
// subscribers of this process by the bus itself: the Redis channel is subscribed once, when
// the bus opens, not per GraphQL subscription.
let current: Bus | undefined;

/** How long start-up waits for the Redis subscription before serving (then /readyz says why not). */
const SUBSCRIBE_WAIT_MS = 3000;
/** A readiness PING slower than this counts as Redis not answering. */
const PING_TIMEOUT_MS = 1000;
/** After a failed log read or SUBSCRIBE, the next attempt comes this much later. */
const RETRY_MS = 1000;

/**
 * `onError` hears what the bus cannot hand to anyone: a Redis publish that failed (the write
 * has committed; the event is delivered from the log once Redis is back) or a connection error.
 */
export async function openEventBus(
  redisUrl?: string,
  channelPrefix = 'tertulia:',
  onError: (error: unknown, what: string) => void = (error, what) => console.error(what, error),
  /** Without it (scripts), events Redis did not carry are not recovered from the log. */
  log?: ActivityLogReader,
): Promise<void> {
  if (current) throw new Error('The event bus is already open');
  // Topic names carry the channel prefix, so several deployments (or test runs) can share a Redis.
  const activityTopic = `${channelPrefix}activity`;
  const subscribers = new Set<Subscriber>();
  const dispatch = dispatcher(subscribers);
  // Every event this process delivers, its own or (through Redis) another instance's, wakes the
  // listeners that work from the log (the notification fan-out), before the subscribers get it.
  const fanOut = (message: ActivityMessage) => {
    for (const listener of activityListeners) listener(message);
    dispatch(message);
  };
  const noticeTopic = `${channelPrefix}notifications`;
  const endAll = () => {
    for (const subscriber of subscribers) subscriber.end();
    subscribers.clear();
  };
  if (!redisUrl) {
    current = {
      publish: fanOut,
      publishNotice: deliverNotice,
      subscribers,
      draining: false,
      health: async () => undefined,
      close: async () => endAll(),
    };
    return;
  }
  const ordered = inOrder(fanOut, onError, log);
  // ioredis directly rather than @graphql-yoga/redis-event-target: that target drops the
  // promises of PUBLISH and SUBSCRIBE, so a Redis outage that outlasts ioredis's retries would
  // become an unhandled rejection and end the process. Here every failure is reported instead.
  // No offline queues: a command while Redis is away fails at once rather than piling up; what
  // it was for is done again when the connection is back (SUBSCRIBE, the last failed PUBLISH).
  const publishClient = new Redis(redisUrl, { enableOfflineQueue: false });
  const subscribeClient = new Redis(redisUrl, { enableOfflineQueue: false, autoResubscribe: false, autoResendUnfulfilledCommands: false });
  publishClient.on('error', (error) => onError(error, 'Redis publish connection error'));
  subscribeClient.on('error', (error) => onError(error, 'Redis subscribe connection error'));
  subscribeClient.on('message', (channel: string, raw: string) => {
    if (channel === noticeTopic) {
      try {
        return deliverNotice(JSON.parse(raw) as NotificationNotice);
      } catch (error) {
        return onError(error, `Unreadable message on ${noticeTopic}`);
      }
    }
    if (channel !== activityTopic) return;
    let message: ActivityMessage;
    try {
      message = JSON.parse(raw) as ActivityMessage;
    } catch (error) {
      return onError(error, `Unreadable message on ${activityTopic}`);
    }
    ordered.deliver(message);
  });

  // The subscription is held from a SUBSCRIBE's reply until its connection closes. Each new
  // connection subscribes again, then delivers from the log what was written meanwhile: events
  // published while this instance was cut off, by any instance, reach its subscribers, in order.
  let subscribed = false;
  let closed = false;
  let heldOnce: () => void = () => {};
  const firstHeld = new Promise<void>((resolve) => (heldOnce = resolve));
  const subscribeNow = () => {
    if (closed || subscribeClient.status !== 'ready') return;
    subscribeClient.subscribe(activityTopic, noticeTopic).then(
      () => {
        subscribed = true;
        heldOnce();
        ordered.catchUp();
      },
      (error: unknown) => {
        onError(error, `Could not subscribe to ${activityTopic}; retrying`);
        setTimeout(subscribeNow, RETRY_MS).unref();
      },
    );
  };
  subscribeClient.on('ready', subscribeNow);
  subscribeClient.on('close', () => {
    subscribed = false;
    ordered.lost();
  });

  // The highest event whose PUBLISH failed: sent again when Redis is back, so instances that
  // kept their subscription meanwhile read it (and any before it) from the log.
  let unsent: ActivityMessage | undefined;
  const publish = (message: ActivityMessage) => {
    publishClient.publish(activityTopic, JSON.stringify(message)).catch((error: unknown) => {
      if (!unsent || BigInt(message.id) > BigInt(unsent.id)) unsent = message;
      onError(error, `Could not publish activity ${message.id}`);
    });
  };
  publishClient.on('ready', () => {
    const message = unsent;
    unsent = undefined;
    if (message) publish(message);
  });

  current = {
    publish,
    // Best effort, like any live push: a notice lost while Redis is away leaves the notification
    // in the inbox (and in unreadNotificationCount), only its live announcement is missed.
    publishNotice(notice) {
      publishClient.publish(noticeTopic, JSON.stringify(notice)).catch((error: unknown) => onError(error, 'Could not publish a notification notice'));
    },
    subscribers,
    draining: false,
    redis: () => ({ publish: publishClient.status === 'ready', subscribe: subscribeClient.status === 'ready' && subscribed }),
    async health() {
      const problems: string[] = [];
      if (!(await answers(publishClient))) problems.push('Redis is not answering');
      if (!subscribed) problems.push('not subscribed to live events on Redis (retrying)');
      return problems.length ? problems.join('; ') : undefined;
    },
    close: async () => {
      closed = true;
      ordered.stop();
      endAll();
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
  // A healthy Redis answers within milliseconds, so this instance serves with its subscription
  // held; an unreachable one does not hold start-up: /readyz says why until it is held, and what
  // was published meanwhile is delivered from the log then.
  const timer = new Promise<void>((resolve) => setTimeout(resolve, SUBSCRIBE_WAIT_MS).unref());
  await Promise.race([firstHeld, timer]);
  if (!subscribed) onError(new Error(`Redis did not answer within ${SUBSCRIBE_WAIT_MS} ms`), `Not yet subscribed to ${activityTopic}`);
}

/** PING, answered within PING_TIMEOUT_MS. */
async function answers(client: Redis): Promise<boolean> {
  if (client.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)));
  try {
    return await Promise.race([client.ping().then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deliveries handed out in one turn of the event loop before I/O gets its turn. */
const FANOUT_CHUNK = 200;

/**
 * Hands each event to every subscriber of this process, in publishing order, at most
 * FANOUT_CHUNK subscribers per turn of the event loop. Each delivery starts a GraphQL execution;
 * thousands of them in one go would keep the process from reading anything else for that long
 * (the queries of writes in flight time out, new requests wait). An event goes to the
 * subscribers there were when its turn came, all of them before the next event starts, so each
 * subscriber still sees every event in order. A few subscribers are served at once, as before.
 */
function dispatcher(subscribers: Set<Subscriber>): (message: ActivityMessage) => void {
  const queue: ActivityMessage[] = [];
  let current: { message: ActivityMessage; targets: Subscriber[]; next: number } | undefined;
  // Waiting for its next turn, or handing out right now (a publish from inside a delivery queues).
  let busy = false;
  const pump = () => {
    busy = true;
    let budget = FANOUT_CHUNK;
    while (budget > 0) {
      if (!current) {
        const message = queue.shift();
        if (!message) {
          busy = false;
          return;
        }
        current = { message, targets: [...subscribers], next: 0 };
      }
      const end = Math.min(current.targets.length, current.next + budget);
      for (let i = current.next; i < end; i++) current.targets[i].receive(current.message);
      budget -= end - current.next;
      current.next = end;
      if (current.next === current.targets.length) current = undefined;
    }
    setImmediate(pump);
  };
  return (message) => {
    queue.push(message);
    if (!busy) pump();
  };
}

/** Log rows read per query when filling a gap or catching up. */
const LOG_PAGE = 500;

type OrderedDelivery = {
  /** An event from Redis. */
  deliver(message: ActivityMessage): void;
  /** Delivers every log row after the last one delivered (the subscription is held again). */
  catchUp(): void;
  /** The subscription is lost: what comes next is delivered from the log first. */
  lost(): void;
  stop(): void;
};

/**
 * Hands events to this process's subscribers in log order, each once. Instances publish after
 * their own commit, so event n+1 from one instance can reach Redis before event n from another.
 * Log ids are handed out in commit order (see writeWithActivity), so when n+1 arrives, every
 * smaller id has committed: the rows in between are read from the log and delivered first, and
 * the late copy of n is then dropped. The same rule catches up after an outage: every row after
 * the last one delivered has committed, and is read from the log. It starts from the newest row
 * when the bus opens, so events written while the subscription is not yet held are not lost.
 * A failed read (the database is away too) is tried again until it succeeds; until then events
 * from Redis wait in the log.
 */
function inOrder(fanOut: (message: ActivityMessage) => void, onError: (error: unknown, what: string) => void, log?: ActivityLogReader): OrderedDelivery {
  let last: bigint | undefined;
  let queue = Promise.resolve();
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  // Live events are not delivered as they come until a catch-up has read the log.
  let behind = true;
  /** Delivers the log rows after `last` (and before `beforeId`), page by page. */
  const readUpTo = async (beforeId?: bigint) => {
    if (!log) return;
    if (last === undefined) {
      last = await log.latestId();
      return;
    }
    for (;;) {
      const page = await log.readBetween(last, beforeId, LOG_PAGE);
      for (const missed of page) {
        last = BigInt(missed.id);
        fanOut(missed);
      }
      if (page.length < LOG_PAGE) return;
    }
  };
  const run = (what: string, task: () => Promise<void>) => {
    queue = queue.then(() => (stopped ? undefined : task())).catch((error: unknown) => {
      if (stopped) return; // closing: the database may be closed already
      behind = true;
      onError(error, what);
      // What was not delivered is in the log: read it again once the database answers.
      if (retry) return;
      retry = setTimeout(() => {
        retry = undefined;
        catchUp();
      }, RETRY_MS).unref();
    });
  };
  const catchUp = () =>
    run('Could not catch up from the activity log; retrying', async () => {
      await readUpTo();
      behind = false;
    });
  catchUp(); // sets the starting point: the newest row now
  return {
    deliver: (message) =>
      run(`Could not deliver activity ${message.id} in order; retrying from the log`, async () => {
        const id = BigInt(message.id);
        // A catch-up is due (after a new subscription, or a failed read): it delivers this event
        // in its turn, once the database answers (and subscribers can read what it is about).
        if (behind) return;
        if (last !== undefined && id <= last) return;
        if (last !== undefined && id > last + 1n) await readUpTo(id);
        last = id;
        fanOut(message);
      }),
    catchUp,
    lost() {
      behind = true;
    },
    stop() {
      stopped = true;
      clearTimeout(retry);
    },
  };
}

function bus(): Bus {
  if (!current) throw new Error('The event bus is not open: call openEventBus() first');
  return current;
}

export function publishActivity(message: ActivityMessage): void {
  bus().publish(message);
  probe.eventPublished(message.kind);
}

type SubscribeOptions = {
  /** Bytes that may wait for this client: queued events plus `transportBytes()`. */
  maxBytes?: number;
  /** Bytes already serialized but not yet taken by the client (a WebSocket's bufferedAmount). */
  transportBytes?: () => number;
  /** Called when the bound is passed, e.g. to close a connection whose reader is stuck. */
  onOverflow?: (error: SubscriberTooSlowError) => void;
  /** Called once when the subscription ends, however it ends. */
  onEnd?: () => void;
};

/** A live subscription: an async iterator that can also be ended with an error from outside. */
type ActivitySubscription = AsyncIterableIterator<ActivityMessage> & {
  /** Ends the subscription: the reader gets `error` (an expired token, say), then the end. */
  fail(error: unknown): void;
  /** It has ended (its reader may still have queued events, or the error, to read). */
  readonly ended: boolean;
};

/** A reader waiting in `next()` for the next event. */
type Pull = { resolve(result: IteratorResult<ActivityMessage>): void; reject(error: unknown): void };

const acceptAll = () => true;
const done = (): IteratorResult<ActivityMessage> => ({ value: undefined, done: true });

/**
 * The activity events of every instance from now on, those `accept` lets through, in order.
 * `accept` runs as each event arrives, so a subscriber queues only what it will deliver. A
 * subscriber whose client lets more than `maxBytes` wait (queued events plus what its transport
 * still holds) is ended with a SubscriberTooSlowError: one stalled client must neither grow
 * memory without bound nor make the process fail for everyone.
 */
export function subscribeActivity(
  accept: (message: ActivityMessage) => boolean = acceptAll,
  options: SubscribeOptions = {},
): ActivitySubscription {
  const { subscribers, draining } = bus();
  return new Subscription(subscribers, draining, accept, options);
}

// A class rather than closures: an idle subscription holds one object and its (empty) backlog,
// while the methods live once on the prototype; closures cost a function and a context apiece.
class Subscription implements ActivitySubscription, Subscriber {
  private readonly maxBytes: number;
  private readonly transportBytes: (() => number) | undefined;
  private readonly onOverflow: ((error: SubscriberTooSlowError) => void) | undefined;
  private readonly onEnd: (() => void) | undefined;
  private readonly backlog: ActivityMessage[] = [];
  private backlogBytes = 0;
  /** The reader waiting in next(), and any that called next() again before it was answered. */
  private reader: Pull | undefined;
  private moreReaders: Pull[] | undefined;
  /** Why it ended, for the next next() when no reader was waiting to hear it. */
  private failure: unknown;
  private isEnded = false;

  constructor(
    private readonly subscribers: Set<Subscriber>,
    draining: boolean,
    private readonly accept: (message: ActivityMessage) => boolean,
    { maxBytes = bufferLimit, transportBytes, onOverflow, onEnd }: SubscribeOptions,
  ) {
    this.maxBytes = maxBytes;
    this.transportBytes = transportBytes;
    this.onOverflow = onOverflow;
    this.onEnd = onEnd;
    // A process that is shutting down opens no new subscriptions: the stream ends at once.
    if (draining) this.isEnded = true;
    else subscribers.add(this);
  }

  receive(message: ActivityMessage): void {
    if (this.isEnded) return;
    let wanted: boolean;
    try {
      wanted = this.accept(message);
    } catch (error) {
      return this.finish(error);
    }
    if (!wanted) return;
    const reader = this.takeReader();
    if (reader) {
      probe.eventDelivered(message.kind, message.occurredAt);
      return reader.resolve({ value: message, done: false });
    }
    const size = messageSize(message);
    if (this.backlogBytes + size + (this.transportBytes?.() ?? 0) > this.maxBytes) {
      const error = new SubscriberTooSlowError(this.maxBytes);
      this.finish(error);
      probe.slowConsumer('activity');
      return this.onOverflow?.(error);
    }
    this.backlog.push(message);
    this.backlogBytes += size;
  }

  end(): void {
    this.finish();
  }

  next(): Promise<IteratorResult<ActivityMessage>> {
    const message = this.backlog.shift();
    if (message) {
      this.backlogBytes -= messageSize(message);
      probe.eventDelivered(message.kind, message.occurredAt);
      return Promise.resolve({ value: message, done: false });
    }
    if (this.failure !== undefined) {
      const error = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.isEnded) return Promise.resolve(done());
    return new Promise((resolve, reject) => {
      const pull = { resolve, reject };
      if (!this.reader) this.reader = pull;
      else (this.moreReaders ??= []).push(pull);
    });
  }

  return(): Promise<IteratorResult<ActivityMessage>> {
    this.finish();
    this.failure = undefined;
    return Promise.resolve(done());
  }

  throw(error: unknown): Promise<IteratorResult<ActivityMessage>> {
    this.finish();
    this.failure = undefined;
    return Promise.reject(error);
  }

  fail(error: unknown): void {
    this.finish(error);
  }

  get ended(): boolean {
    return this.isEnded;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private takeReader(): Pull | undefined {
    const reader = this.reader;
    this.reader = this.moreReaders?.shift();
    if (this.moreReaders?.length === 0) this.moreReaders = undefined;
    return reader;
  }

  private finish(error?: unknown): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.onEnd?.();
    this.subscribers.delete(this);
    this.backlog.length = 0;
    this.backlogBytes = 0;
    for (let reader = this.takeReader(); reader; reader = this.takeReader()) {
      if (error === undefined) reader.resolve(done());
      else reader.reject(error);
      error = undefined; // only the first waiting reader hears why; later ones see the end
    }
    this.failure = error;
  }
}

/**
 * Ends every live subscription of this process, and refuses new ones, while the bus stays open
 * for the events of writes still in flight. Used at shutdown, so SSE responses and graphql-ws
 * subscriptions complete instead of holding the process until its timeout.
 */
export function endActivitySubscriptions(): void {
  const open = current;
  if (!open) return;
  open.draining = true;
  for (const subscriber of open.subscribers) subscriber.end();
  open.subscribers.clear();
}

/** How many activity subscriptions this process is serving now. */
export function activitySubscriberCount(): number {
  return current?.subscribers.size ?? 0;
}

/** Redis as this instance's bus sees it, for metrics: off (in memory), or whether both connections are up. */
export function eventBusRedisState(): { publish: boolean; subscribe: boolean } | 'off' {
  return current?.redis ? current.redis() : 'off';
}

/** Why this instance cannot deliver live events now, for /readyz; undefined when it can. */
export async function eventBusHealth(): Promise<string | undefined> {
  return current ? current.health() : 'the event bus is not open';
}

export async function closeEventBus(): Promise<void> {
  const bus = current;
  current = undefined;
  await bus?.close();
}

// ---- In-process listeners of the log, and notification notices ---------------------------------

const activityListeners = new Set<(message: ActivityMessage) => void>();

/** Calls `listener` with every event this process delivers (see openEventBus); returns the way to stop. */
export function onActivity(listener: (message: ActivityMessage) => void): () => void {
  activityListeners.add(listener);
  return () => activityListeners.delete(listener);
}

/** Which users just got (or had updated) which notification: ids only, each reader loads its own. */
export type NotificationNotice = { items: { userId: number; notificationId: number }[] };

const noticeListeners = new Map<number, Set<(notificationId: number) => void>>();

function deliverNotice(notice: NotificationNotice): void {
  for (const { userId, notificationId } of notice.items) {
    const listeners = noticeListeners.get(userId);
    if (listeners) for (const listener of listeners) listener(notificationId);
  }
}

/** Announces notifications to their owners' live subscriptions, on every instance. */
export function publishNotificationNotice(notice: NotificationNotice): void {
  if (notice.items.length > 0) bus().publishNotice(notice);
}

/** Hears the ids of `userId`'s new or updated notifications; returns the way to stop. */
export function onNotificationNotice(userId: number, listener: (notificationId: number) => void): () => void {
  let listeners = noticeListeners.get(userId);
  if (!listeners) noticeListeners.set(userId, (listeners = new Set()));
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && noticeListeners.get(userId) === listeners) noticeListeners.delete(userId);
  };
}
