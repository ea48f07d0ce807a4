import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { ActivityKind, ActivityVisibility, SpaceVisibility } from '../generated/prisma/enums.js';

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
};

// Topic names carry the channel prefix, so several deployments (or test runs) can share a Redis.
type Topics = Record<string, [ActivityMessage]>;

type Bus = { pubsub: PubSub<Topics>; activityTopic: string; close(): Promise<void> };

// One bus per process, like the database client: Redis when REDIS_URL is set, so every
// instance sees every event; in-memory otherwise.
let current: Bus | undefined;

export function openEventBus(redisUrl?: string, channelPrefix = 'tertulia:'): void {
  if (current) throw new Error('The event bus is already open');
  const activityTopic = `${channelPrefix}activity`;
  if (!redisUrl) {
    current = { pubsub: createPubSub<Topics>(), activityTopic, close: async () => {} };
    return;
  }
  const publishClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(redisUrl, { lazyConnect: false });
  const eventTarget = createRedisEventTarget({
    publishClient,
    subscribeClient,
  });
  current = {
    pubsub: createPubSub<Topics>({ eventTarget }),
    activityTopic,
    close: async () => {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}

function bus(): Bus {
  if (!current) throw new Error('The event bus is not open: call openEventBus() first');
  return current;
}

export function publishActivity(message: ActivityMessage): void {
  const { pubsub, activityTopic } = bus();
  pubsub.publish(activityTopic, message);
}

export function subscribeActivity(): AsyncIterable<ActivityMessage> {
  const { pubsub, activityTopic } = bus();
  return pubsub.subscribe(activityTopic);
}

export async function closeEventBus(): Promise<void> {
  const bus = current;
  current = undefined;
  await bus?.close();
}
