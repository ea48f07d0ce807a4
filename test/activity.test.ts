import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.js';
import { activityLogReader, writeWithActivity } from '../src/events/activity.js';
import {
  activitySubscriberCount,
  closeEventBus,
  openEventBus,
  publishActivity,
  subscribeActivity,
  type ActivityMessage,
} from '../src/events/bus.js';
import { type Actor, createCommunity, createSpace, createThread, createUser, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { ActivityFeedSubscription, ActivityFilter } from './gql/graphql.js';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';

const ActivityFeed = graphql(`
  subscription ActivityFeed($filter: ActivityFilter) {
    activity(filter: $filter) {
      id
      kind
      occurredAt
      actor { id }
      space { id }
      thread { id }
      subject { __typename id }
    }
  }
`);
const SseActivity = graphql(`
  subscription SseActivity($filter: ActivityFilter) {
    activity(filter: $filter) { kind actor { id } space { id } thread { id } subject { __typename id } }
  }
`);
const ActivityCreateThread = graphql(`
  mutation ActivityCreateThread($input: CreateThreadInput!) {
    createThread(input: $input) { __typename ... on ThreadPayload { thread { id } } ... on Error { message } }
  }
`);
const ActivityEditThread = graphql(`
  mutation ActivityEditThread($input: EditThreadInput!) {
    editThread(input: $input) { __typename ... on Error { message } }
  }
`);
const ActivityEditPost = graphql(`
  mutation ActivityEditPost($input: EditPostInput!) {
    editPost(input: $input) { __typename ... on Error { message } }
  }
`);
const ActivityMarkAsAnswer = graphql(`
  mutation ActivityMarkAsAnswer($input: MarkAsAnswerInput!) {
    markAsAnswer(input: $input) { __typename ... on Error { message } }
  }
`);
const ActivityAddReaction = graphql(`
  mutation ActivityAddReaction($input: ReactionInput!) {
    addReaction(input: $input) { __typename ... on Error { message } }
  }
`);
const ActivityRemoveReaction = graphql(`
  mutation ActivityRemoveReaction($input: ReactionInput!) {
    removeReaction(input: $input) { __typename ... on Error { message } }
  }
`);
const ActivitySetRole = graphql(`
  mutation ActivitySetRole($input: SetUserRoleInput!) {
    setUserRole(input: $input) { __typename ... on Error { message } }
  }
`);
const ActivitySignOut = graphql(`
  mutation ActivitySignOut { signOut { __typename ... on SignOutPayload { revoked } ... on Error { message } } }
`);
const ActivityViewer = graphql(`query ActivityViewer { viewer { id } }`);

type Event = ActivityFeedSubscription['activity'];
type Feed = ReturnType<typeof subscribe<ActivityFeedSubscription, { filter?: ActivityFilter | null }>>;

let t: TestApp;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let agent: Actor;
let alice: Actor;
let bob: Actor;
let publicSpace: string;
let membersSpace: string;
let staffSpace: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ admin, manager, moderator, agent, alice, bob, publicSpace, membersSpace, staffSpace } = await createCommunity(t, { public: 'town-square', members: 'members-only', staff: 'back-office' }));
});
afterAll(async () => {
  await t?.stop();
});

// Each test closes its connections, so no subscription of one test sees the writes of the next.
const clients: Client[] = [];
function ws(token?: string | null): Client {
  const client = t.wsClient(token);
  clients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

// ---- Helpers --------------------------------------------------------------------------------

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs` with `what`. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function eventsOf(feed: Feed): Event[] {
  return feed.received.map((result) => {
    if (result.errors?.length || !result.data) throw new Error(`subscription result with errors: ${JSON.stringify(result)}`);
    return result.data.activity;
  });
}

/**
 * A subscription is live only once the server has attached it (and, with Redis, once the
 * channel is subscribed). Writes `probe` (which must produce an event every feed passes) until
 * each feed has received one, then waits for the last probe written, which was published after
 * every feed went live. Returns, per feed, a reader of the events after that probe.
 */
async function goLive(feeds: Feed[], probe: () => Promise<string>) {
  const probes: string[] = [];
  const deadline = Date.now() + 20_000;
  while (feeds.some((feed) => feed.received.length === 0)) {
    for (const feed of feeds) if (feed.error) throw new Error(`subscription failed: ${JSON.stringify(feed.error)}`);
    if (Date.now() > deadline) throw new Error('the subscriptions never went live');
    probes.push(await probe());
    const waitUntil = Date.now() + 300;
    while (Date.now() < waitUntil && feeds.some((feed) => feed.received.length === 0)) await sleep(10);
  }
  const last = probes.at(-1);
  const starts: number[] = [];
  for (const feed of feeds) {
    await until(() => eventsOf(feed).some((event) => event.subject?.id === last), 'the last probe');
    starts.push(eventsOf(feed).findIndex((event) => event.subject?.id === last) + 1);
  }
  return feeds.map((feed, i) => ({
    feed,
    /** The events after the probes, up to and including the one about `fenceSubjectId`. */
    async upTo(fenceSubjectId: string): Promise<Event[]> {
      await until(() => eventsOf(feed).slice(starts[i]).some((e) => e.subject?.id === fenceSubjectId), `event about ${fenceSubjectId}`);
      const events = eventsOf(feed).slice(starts[i]);
      return events.slice(0, events.findIndex((e) => e.subject?.id === fenceSubjectId) + 1);
    },
  }));
}

const probeThread = (actor: Actor, spaceId: string) => () => createThread(t, actor, spaceId, 'probe', 'probe body');

/** The log position inside an opaque ActivityEvent id ("act_" and 16 hex digits). */
function sequence(id: string): bigint {
  const match = /^act_([0-9a-f]{16})$/.exec(id);
  if (!match) throw new Error(`unexpected activity id ${id}`);
  return BigInt(`0x${match[1]}`);
}

function expectIncreasingIds(events: Event[]): void {
  const numbers = events.map((e) => sequence(e.id));
  for (let i = 1; i < numbers.length; i++) expect(numbers[i] > numbers[i - 1], `id #${i} ${numbers[i]} after ${numbers[i - 1]}`).toBe(true);
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  // Ordered as plain strings too, so clients can compare cursors without decoding them.
  for (let i = 1; i < events.length; i++) expect(events[i].id > events[i - 1].id).toBe(true);
}

/** The event fields that depend on the write, for toEqual on whole events. */
function event(
  kind: Event['kind'],
  actor: Actor | null,
  subject: { __typename: 'Thread' | 'Post' | 'Space' | 'User'; id: string },
  spaceId: string | null,
  threadId: string | null,
): Event {
  return {
    id: expect.any(String) as unknown as string,
    kind,
    occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown as string,
    actor: actor ? { id: actor.id } : null,
    space: spaceId ? { id: spaceId } : null,
    thread: threadId ? { id: threadId } : null,
    subject,
  };
}

function closeEventOf(client: Client): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    client.on('closed', (e) => {
      const close = e as { code: number; reason: string };
      resolve({ code: close.code, reason: close.reason });
    });
  });
}

// ---- Tests ----------------------------------------------------------------------------------

describe('activity over graphql-ws', () => {
  it('streams every kind of community write as it commits, exactly, with increasing ids', async () => {
    const [live] = await goLive([subscribe(ws(alice.token), ActivityFeed, {})], probeThread(bob, publicSpace));
    const started = Date.now();

    const threadId = await createThread(t, alice, publicSpace, 'Exporting to CSV', 'How?');
    const postId = await reply(t, bob, threadId, 'Settings, then Export.');
    const react = { subjectId: postId, content: 'HEART' as const };
    expect((await t.query(ActivityAddReaction, { input: react }, alice.token)).addReaction.__typename).toBe('ReactionPayload');
    // Reacting twice is a no-op: no second event.
    expect((await t.query(ActivityAddReaction, { input: react }, alice.token)).addReaction.__typename).toBe('ReactionPayload');
    expect((await t.query(ActivityRemoveReaction, { input: react }, alice.token)).removeReaction.__typename).toBe('ReactionPayload');
    // Removing what is not there is a no-op too.
    expect((await t.query(ActivityRemoveReaction, { input: react }, alice.token)).removeReaction.__typename).toBe('ReactionPayload');
    expect((await t.query(ActivityEditThread, { input: { threadId, title: 'Exporting to CSV files' } }, alice.token)).editThread.__typename).toBe('ThreadPayload');
    expect((await t.query(ActivityEditPost, { input: { postId, body: 'Settings, then Export data.' } }, bob.token)).editPost.__typename).toBe('PostPayload');
    expect((await t.query(ActivityMarkAsAnswer, { input: { postId } }, alice.token)).markAsAnswer.__typename).toBe('ThreadPayload');
    // Marking the same answer again changes nothing and says nothing.
    expect((await t.query(ActivityMarkAsAnswer, { input: { postId } }, alice.token)).markAsAnswer.__typename).toBe('ThreadPayload');
    const fence = await createThread(t, bob, publicSpace, 'fence');

    const events = await live.upTo(fence);
    expect(events).toEqual([
      event('THREAD_CREATED', alice, { __typename: 'Thread', id: threadId }, publicSpace, threadId),
      event('POST_CREATED', bob, { __typename: 'Post', id: postId }, publicSpace, threadId),
      event('REACTION_ADDED', alice, { __typename: 'Post', id: postId }, publicSpace, threadId),
      event('REACTION_REMOVED', alice, { __typename: 'Post', id: postId }, publicSpace, threadId),
      event('THREAD_EDITED', alice, { __typename: 'Thread', id: threadId }, publicSpace, threadId),
      event('POST_EDITED', bob, { __typename: 'Post', id: postId }, publicSpace, threadId),
      event('THREAD_ANSWERED', alice, { __typename: 'Thread', id: threadId }, publicSpace, threadId),
      event('THREAD_CREATED', bob, { __typename: 'Thread', id: fence }, publicSpace, fence),
    ]);
    expectIncreasingIds(events);
    for (const e of events) {
      const at = new Date(e.occurredAt).getTime();
      expect(at).toBeGreaterThanOrEqual(started - 5_000);
      expect(at).toBeLessThanOrEqual(Date.now() + 5_000);
    }
  });

  it('delivers each space event only to viewers who can see the space', async () => {
    const [anonymous, member, staff] = await goLive(
      [
        subscribe(ws(), ActivityFeed, {}),
        subscribe(ws(bob.token), ActivityFeed, {}),
        subscribe(ws(agent.token), ActivityFeed, {}),
      ],
      probeThread(alice, publicSpace),
    );

    const inPublic = await createThread(t, alice, publicSpace, 'Hello all');
    const inMembers = await createThread(t, alice, membersSpace, 'Members news');
    const inStaff = await createThread(t, agent, staffSpace, 'Shift plan');
    const staffReply = await reply(t, moderator, inStaff, 'I take Monday');
    const hiddenSpace = await createSpace(t, manager, 'war-room', 'STAFF');
    const openSpace = await createSpace(t, manager, 'open-house', 'PUBLIC');
    const fence = await createThread(t, alice, publicSpace, 'fence');

    const created = {
      public: event('THREAD_CREATED', alice, { __typename: 'Thread', id: inPublic }, publicSpace, inPublic),
      members: event('THREAD_CREATED', alice, { __typename: 'Thread', id: inMembers }, membersSpace, inMembers),
      staff: event('THREAD_CREATED', agent, { __typename: 'Thread', id: inStaff }, staffSpace, inStaff),
      staffReply: event('POST_CREATED', moderator, { __typename: 'Post', id: staffReply }, staffSpace, inStaff),
      hiddenSpace: event('SPACE_CREATED', manager, { __typename: 'Space', id: hiddenSpace }, hiddenSpace, null),
      openSpace: event('SPACE_CREATED', manager, { __typename: 'Space', id: openSpace }, openSpace, null),
      fence: event('THREAD_CREATED', alice, { __typename: 'Thread', id: fence }, publicSpace, fence),
    };
    expect(await anonymous.upTo(fence)).toEqual([created.public, created.openSpace, created.fence]);
    expect(await member.upTo(fence)).toEqual([created.public, created.members, created.openSpace, created.fence]);
    const staffEvents = await staff.upTo(fence);
    expect(staffEvents).toEqual(Object.values(created));
    expectIncreasingIds(staffEvents);
  });

  it('sends sign-ups to staff only, and a role change to its user and admins only', async () => {
    const [asAdmin, asManager, asMember] = await goLive(
      [
        subscribe(ws(admin.token), ActivityFeed, { filter: { kinds: ['USER_SIGNED_UP', 'USER_ROLE_CHANGED', 'THREAD_CREATED'] } }),
        subscribe(ws(manager.token), ActivityFeed, { filter: { kinds: ['USER_SIGNED_UP', 'USER_ROLE_CHANGED', 'THREAD_CREATED'] } }),
        subscribe(ws(bob.token), ActivityFeed, { filter: { kinds: ['USER_SIGNED_UP', 'USER_ROLE_CHANGED', 'THREAD_CREATED'] } }),
      ],
      probeThread(alice, publicSpace),
    );
    const carol = await createUser(t, 'Carol');
    expect((await t.query(ActivitySetRole, { input: { userId: carol.id, role: 'MODERATOR' } }, admin.token)).setUserRole.__typename).toBe(
      'SetUserRolePayload',
    );
    expect((await t.query(ActivitySetRole, { input: { userId: bob.id, role: 'AGENT' } }, admin.token)).setUserRole.__typename).toBe(
      'SetUserRolePayload',
    );
    // Setting the role it already has is not a change.
    expect((await t.query(ActivitySetRole, { input: { userId: bob.id, role: 'AGENT' } }, admin.token)).setUserRole.__typename).toBe(
      'SetUserRolePayload',
    );
    const fence = await createThread(t, alice, publicSpace, 'fence');

    const signedUp = event('USER_SIGNED_UP', carol, { __typename: 'User', id: carol.id }, null, null);
    const carolPromoted = event('USER_ROLE_CHANGED', admin, { __typename: 'User', id: carol.id }, null, null);
    const bobPromoted = event('USER_ROLE_CHANGED', admin, { __typename: 'User', id: bob.id }, null, null);
    const fenceEvent = event('THREAD_CREATED', alice, { __typename: 'Thread', id: fence }, publicSpace, fence);
    expect(await asAdmin.upTo(fence)).toEqual([signedUp, carolPromoted, bobPromoted, fenceEvent]);
    expect(await asManager.upTo(fence)).toEqual([signedUp, fenceEvent]);
    // Bob is told about his own promotion (his subscription keeps the role it started with).
    expect(await asMember.upTo(fence)).toEqual([bobPromoted, fenceEvent]);

    expect((await t.query(ActivitySetRole, { input: { userId: bob.id, role: 'MEMBER' } }, admin.token)).setUserRole.__typename).toBe(
      'SetUserRolePayload',
    );
  });

  it('filters by kinds, by spaces, and by thread (the thread and its posts)', async () => {
    const threadA = await createThread(t, alice, publicSpace, 'Thread A');
    const threadB = await createThread(t, alice, publicSpace, 'Thread B');
    const otherSpace = await createSpace(t, manager, 'side-room');
    const client = ws(moderator.token);
    let probeCount = 0;
    // One probe that every filter below lets through: a reply in thread A (public space).
    const probe = () => reply(t, bob, threadA, `probe ${++probeCount}`);
    const [byKind, bySpace, byThread, byAll] = await goLive(
      [
        subscribe(client, ActivityFeed, { filter: { kinds: ['POST_CREATED', 'REACTION_ADDED'] } }),
        subscribe(client, ActivityFeed, { filter: { spaceIds: [publicSpace, membersSpace] } }),
        subscribe(client, ActivityFeed, { filter: { threadId: threadA } }),
        subscribe(client, ActivityFeed, { filter: { kinds: ['POST_CREATED'], spaceIds: [publicSpace], threadId: threadA } }),
      ],
      probe,
    );

    const inOther = await createThread(t, bob, otherSpace, 'Elsewhere');
    const replyB = await reply(t, bob, threadB, 'On B');
    const replyOther = await reply(t, alice, inOther, 'On other');
    const inMembers = await createThread(t, bob, membersSpace, 'Members');
    await t.query(ActivityAddReaction, { input: { subjectId: threadA, content: 'ROCKET' } }, bob.token);
    await t.query(ActivityEditThread, { input: { threadId: threadA, body: 'Edited A' } }, alice.token);
    const fence = await reply(t, alice, threadA, 'fence');

    const e = {
      inOther: event('THREAD_CREATED', bob, { __typename: 'Thread', id: inOther }, otherSpace, inOther),
      replyB: event('POST_CREATED', bob, { __typename: 'Post', id: replyB }, publicSpace, threadB),
      replyOther: event('POST_CREATED', alice, { __typename: 'Post', id: replyOther }, otherSpace, inOther),
      inMembers: event('THREAD_CREATED', bob, { __typename: 'Thread', id: inMembers }, membersSpace, inMembers),
      reactA: event('REACTION_ADDED', bob, { __typename: 'Thread', id: threadA }, publicSpace, threadA),
      editA: event('THREAD_EDITED', alice, { __typename: 'Thread', id: threadA }, publicSpace, threadA),
      fence: event('POST_CREATED', alice, { __typename: 'Post', id: fence }, publicSpace, threadA),
    };
    expect(await byKind.upTo(fence)).toEqual([e.replyB, e.replyOther, e.reactA, e.fence]);
    expect(await bySpace.upTo(fence)).toEqual([e.replyB, e.inMembers, e.reactA, e.editA, e.fence]);
    expect(await byThread.upTo(fence)).toEqual([e.reactA, e.editA, e.fence]);
    expect(await byAll.upTo(fence)).toEqual([e.fence]);
  });

  it('never publishes the events of a write that failed or rolled back', async () => {
    const [live] = await goLive([subscribe(ws(admin.token), ActivityFeed, {})], probeThread(bob, publicSpace));

    const invalid = await t.query(ActivityCreateThread, { input: { spaceId: publicSpace, title: 'x'.repeat(201), body: 'B' } }, alice.token);
    expect(invalid.createThread).toEqual({ __typename: 'ValidationError', message: 'input.title: must be at most 200 characters' });
    const hidden = await t.query(ActivityCreateThread, { input: { spaceId: staffSpace, title: 'Sneaky', body: 'B' } }, alice.token);
    expect(hidden.createThread).toEqual({ __typename: 'NotFoundError', message: `Space ${dbId(staffSpace)} was not found` });
    const anonymous = await t.query(ActivityCreateThread, { input: { spaceId: publicSpace, title: 'T', body: 'B' } });
    expect(anonymous.createThread.__typename).toBe('UnauthenticatedError');

    // A transaction that appended its activity row and then failed: the row is rolled back and
    // the event is never published.
    const created = await createThread(t, alice, publicSpace, 'Rolled back later');
    const threadDbId = dbId(created);
    const before = await prisma().activity.count();
    await expect(
      writeWithActivity(async (_tx, activity) => {
        await activity.record({
          kind: 'THREAD_EDITED',
          actorId: dbId(alice.id),
          subject: { type: 'Thread', id: threadDbId },
          space: { id: dbId(publicSpace), visibility: 'PUBLIC' },
          threadId: threadDbId,
        });
        throw new Error('the write failed after its activity was recorded');
      }),
    ).rejects.toThrow('the write failed after its activity was recorded');
    expect(await prisma().activity.count()).toBe(before);

    const fence = await createThread(t, bob, publicSpace, 'fence');
    // Only the two writes that committed; the appended-then-rolled-back row left no trace.
    expect(await live.upTo(fence)).toEqual([
      event('THREAD_CREATED', alice, { __typename: 'Thread', id: created }, publicSpace, created),
      event('THREAD_CREATED', bob, { __typename: 'Thread', id: fence }, publicSpace, fence),
    ]);
  });

  it('keeps ids increasing in delivery order under concurrent writers', async () => {
    const [live] = await goLive([subscribe(ws(admin.token), ActivityFeed, { filter: { spaceIds: [publicSpace] } })], probeThread(bob, publicSpace));
    const threads = await Promise.all([alice, bob, moderator].map((actor) => createThread(t, actor, publicSpace, 'Busy')));
    const writers = [alice, bob, moderator, agent, manager, admin];
    // Writers that share no row lock (new threads, replies to different threads), all at once.
    const written = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? createThread(t, writers[i % writers.length], publicSpace, `concurrent ${i}`)
          : reply(t, writers[i % writers.length], threads[i % threads.length], `concurrent ${i}`),
      ),
    );
    const fence = await createThread(t, alice, publicSpace, 'fence');
    const events = await live.upTo(fence);
    expect(events.map((e) => e.subject?.id).sort()).toEqual([...threads, ...written, fence].sort());
    expectIncreasingIds(events);
  });

  it('ends a subscriber that falls too far behind, and keeps serving the others', async () => {
    // 64 KiB holds about 280 of these events; 1,200 are sent.
    const maxBytes = 64 * 1024;
    const slow = subscribeActivity((m) => m.kind === 'SPACE_UPDATED', { maxBytes });
    const fast = subscribeActivity((m) => m.kind === 'SPACE_UPDATED', { maxBytes });
    const total = 1200;
    const sent: ActivityMessage[] = Array.from({ length: total }, (_, i) => ({
      id: String(1_000_000 + i),
      kind: 'SPACE_UPDATED',
      actorId: null,
      subjectType: 'Space',
      subjectId: 1_000_000 + i,
      spaceId: null,
      spaceVisibility: null,
      threadId: null,
      visibility: 'STAFF',
      occurredAt: new Date(0).toISOString(),
    }));
    const got: ActivityMessage[] = [];
    const reading = (async () => {
      for await (const message of fast) if (got.push(message) === total) break;
    })();
    // With Redis the events take a round trip; the fast reader's first one tells the bus is live.
    publishActivity(sent[0]);
    await until(() => got.length === 1, 'the first event');
    // In bursts of 100, as writes would come: the fast reader keeps up between them.
    for (let i = 1; i < total; i += 100) {
      for (const message of sent.slice(i, i + 100)) publishActivity(message);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await reading;

    expect(got).toEqual(sent);
    await expect(slow.next()).rejects.toThrow('More than 65536 bytes were waiting for this client, so its subscription was ended; subscribe again');
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    // The slow one was let go at once: it holds nothing and receives nothing more.
    publishActivity({ ...sent[0], id: '2000000' });
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    // These made-up ids are far ahead of the log; a fresh bus forgets them (with Redis, the bus
    // delivers in id order and would wait for the log to catch up).
    await closeEventBus();
    await openEventBus(process.env.REDIS_URL, `tertulia-test-${randomBytes(6).toString('hex')}:`, undefined, activityLogReader);
  });

  it('lets go of a subscription when the client completes it or disconnects', async () => {
    await until(() => activitySubscriberCount() === 0, 'the subscriptions of earlier tests to end');
    const client = ws(alice.token);
    const first = subscribe(client, ActivityFeed, {});
    const second = subscribe(client, ActivityFeed, { filter: { kinds: ['THREAD_CREATED'] } });
    await goLive([first, second], probeThread(bob, publicSpace));
    expect(activitySubscriberCount()).toBe(2);
    first.dispose();
    await until(() => activitySubscriberCount() === 1, 'the completed subscription to end');
    await client.dispose();
    await until(() => activitySubscriberCount() === 0, 'the closed connection to end its subscription');
    expect(second.completed || second.error !== undefined).toBe(true);
  });

  it('refuses a connection with an invalid, malformed or revoked token (4403)', async () => {
    const session = await createUser(t, 'Dora');
    expect((await t.query(ActivityViewer, {}, session.token)).viewer).toEqual({ id: session.id });
    expect((await t.query(ActivitySignOut, {}, session.token)).signOut).toEqual({ __typename: 'SignOutPayload', revoked: true });

    const cases: Record<string, Record<string, unknown>> = {
      unknown: { authorization: 'Bearer tta_not-a-real-token' },
      revoked: { authorization: `Bearer ${session.token}` },
      malformed: { authorization: `Token ${alice.token}` },
      'not a string': { authorization: 42 },
    };
    for (const [name, connectionParams] of Object.entries(cases)) {
      // helpers' wsClient only sends well-formed tokens; these params are raw.
      const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0, connectionParams });
      clients.push(client);
      const closed = closeEventOf(client);
      const feed = subscribe(client, ActivityFeed, {});
      expect(await closed, name).toEqual({ code: 4403, reason: 'Forbidden' });
      await until(() => feed.error !== undefined, `the subscription error (${name})`);
      expect(feed.received).toEqual([]);
      await client.dispose();
    }

    // A good token still connects, on the same server.
    const [live] = await goLive([subscribe(ws(alice.token), ActivityFeed, {})], probeThread(bob, publicSpace));
    const fence = await createThread(t, bob, publicSpace, 'fence');
    expect((await live.upTo(fence)).map((e) => e.subject?.id)).toEqual([fence]);
  });

  it('answers an invalid filter with a clear error, not a masked one', async () => {
    const threadId = await createThread(t, alice, publicSpace, 'Filter target');
    const client = ws(alice.token);
    const cases: [ActivityFilter, string][] = [
      [{ threadId: publicSpace }, 'filter.threadId: must be the id of a Thread'],
      [{ spaceIds: [publicSpace, threadId] }, 'filter.spaceIds.1: must be the id of a Space'],
      [{ threadId: 'not an id' }, 'filter.threadId: is not a valid id'],
    ];
    for (const [filter, message] of cases) {
      const feed = subscribe(client, ActivityFeed, { filter });
      await until(() => feed.completed || feed.error !== undefined, `the answer to ${JSON.stringify(filter)}`);
      const answer = feed.error ?? feed.received;
      expect(answer, JSON.stringify(filter)).toEqual([
        { errors: [{ message, locations: [{ line: 2, column: 3 }], path: ['activity'], extensions: { code: 'VALIDATION' } }] },
      ]);
    }
    // An unknown kind is refused by validation, before the resolver runs.
    const badKind = subscribe(client, ActivityFeed, { filter: { kinds: ['NOT_A_KIND' as 'THREAD_CREATED'] } });
    await until(() => badKind.completed || badKind.error !== undefined, 'the answer to a bad kind');
    expect(badKind.error ?? badKind.received).toEqual([
      {
        errors: [
          {
            message: 'Variable "$filter" got invalid value "NOT_A_KIND" at "filter.kinds[0]"; Value "NOT_A_KIND" does not exist in "ActivityKind" enum.',
            locations: [{ line: 1, column: 27 }],
            extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
          },
        ],
      },
    ]);
  });
});

describe('activity over SSE', () => {
  type SseMessage = { event: string; data: unknown };

  /**
   * Opens an SSE stream on /graphql (POST with a JSON body, or GET with the query in the URL)
   * with `Accept: text/event-stream`, and parses its messages as they come.
   */
  function openStream(options: { method: 'POST' | 'GET'; variables: Record<string, unknown>; token?: string }) {
    const controller = new AbortController();
    const messages: SseMessage[] = [];
    const query = print(SseActivity);
    const url = options.method === 'GET' ? `${t.url}?${new URLSearchParams({ query, variables: JSON.stringify(options.variables) })}` : t.url;
    const response = fetch(url, {
      method: options.method,
      signal: controller.signal,
      headers: {
        accept: 'text/event-stream',
        ...(options.method === 'POST' ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: options.method === 'POST' ? JSON.stringify({ query, variables: options.variables }) : undefined,
    });
    const done = (async () => {
      const res = await response;
      if (!res.body) return;
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        const reader = res.body.getReader();
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          buffer += decoder.decode(chunk.value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = { event: 'message', data: [] as string[] };
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) fields.event = line.slice(6).trim();
              else if (line.startsWith('data:')) fields.data.push(line.slice(5).trimStart());
            }
            // Lines starting with ':' are keep-alive comments; `event: complete` comes with an empty `data:`.
            const data = fields.data.join('\n');
            if (data || fields.event !== 'message') messages.push({ event: fields.event, data: data ? JSON.parse(data) : null });
          }
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    })();
    return { response, messages, done, abort: () => controller.abort() };
  }

  const subjectOf = (m: SseMessage) => (m.data as { data?: { activity?: { subject?: { id: string } } } }).data?.activity?.subject?.id;

  /** Like goLive, for one SSE stream: probes until it is live, then reads what follows. */
  async function streamLive(stream: ReturnType<typeof openStream>, probe: () => Promise<string>) {
    const probes: string[] = [];
    const deadline = Date.now() + 20_000;
    while (stream.messages.length === 0) {
      if (Date.now() > deadline) throw new Error('the SSE stream never went live');
      probes.push(await probe());
      const waitUntil = Date.now() + 300;
      while (Date.now() < waitUntil && stream.messages.length === 0) await sleep(10);
    }
    const last = probes.at(-1);
    await until(() => stream.messages.some((m) => subjectOf(m) === last), 'the last SSE probe');
    const start = stream.messages.findIndex((m) => subjectOf(m) === last) + 1;
    return async (fence: string): Promise<SseMessage[]> => {
      await until(() => stream.messages.slice(start).some((m) => subjectOf(m) === fence), `SSE event about ${fence}`);
      const messages = stream.messages.slice(start);
      return messages.slice(0, messages.findIndex((m) => subjectOf(m) === fence) + 1);
    };
  }

  const next = (activity: Record<string, unknown>): SseMessage => ({ event: 'next', data: { data: { activity } } });

  it('streams the exact events of mutations to a signed-in POST stream, and lets go on abort', async () => {
    const stream = openStream({ method: 'POST', variables: { filter: { spaceIds: [membersSpace] } }, token: bob.token });
    const res = await stream.response;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const upTo = await streamLive(stream, () => createThread(t, alice, membersSpace, 'probe'));

    await createThread(t, alice, publicSpace, 'Not in the filtered space');
    const threadId = await createThread(t, alice, membersSpace, 'Over SSE');
    const postId = await reply(t, agent, threadId, 'Seen live');
    expect(await upTo(postId)).toEqual([
      next({
        kind: 'THREAD_CREATED',
        actor: { id: alice.id },
        space: { id: membersSpace },
        thread: { id: threadId },
        subject: { __typename: 'Thread', id: threadId },
      }),
      next({
        kind: 'POST_CREATED',
        actor: { id: agent.id },
        space: { id: membersSpace },
        thread: { id: threadId },
        subject: { __typename: 'Post', id: postId },
      }),
    ]);

    expect(activitySubscriberCount()).toBeGreaterThanOrEqual(1);
    stream.abort();
    await stream.done;
    // The server lets go of an aborted stream, and writes go on.
    await until(() => activitySubscriberCount() === 0, 'the aborted stream to end its subscription');
    const count = stream.messages.length;
    await createThread(t, alice, membersSpace, 'After abort');
    expect(stream.messages.length).toBe(count);
  });

  it('serves an anonymous GET stream with public events only', async () => {
    const stream = openStream({ method: 'GET', variables: { filter: { kinds: ['THREAD_CREATED'] } } });
    expect((await stream.response).status).toBe(200);
    const upTo = await streamLive(stream, () => createThread(t, alice, publicSpace, 'probe'));
    await createThread(t, alice, membersSpace, 'Members only');
    await createThread(t, agent, staffSpace, 'Staff only');
    const visible = await createThread(t, bob, publicSpace, 'For everyone');
    expect(await upTo(visible)).toEqual([
      next({
        kind: 'THREAD_CREATED',
        actor: { id: bob.id },
        space: { id: publicSpace },
        thread: { id: visible },
        subject: { __typename: 'Thread', id: visible },
      }),
    ]);
    stream.abort();
    await stream.done;
  });

  it('answers a bad token with 401 and a bad filter with a clear error, then completes', async () => {
    const unauthorized = openStream({ method: 'POST', variables: {}, token: 'tta_not-a-real-token' });
    expect((await unauthorized.response).status).toBe(401);
    await unauthorized.done;
    expect(unauthorized.messages).toEqual([
      {
        event: 'next',
        data: { errors: [{ message: 'The access token is invalid, expired or revoked', extensions: { code: 'UNAUTHENTICATED' } }] },
      },
      { event: 'complete', data: null },
    ]);

    const badFilter = openStream({ method: 'POST', variables: { filter: { threadId: publicSpace } }, token: alice.token });
    await badFilter.done;
    expect(badFilter.messages).toEqual([
      {
        event: 'next',
        data: {
          errors: [
            {
              message: 'filter.threadId: must be the id of a Thread',
              locations: [{ line: 2, column: 3 }],
              path: ['activity'],
              extensions: { code: 'VALIDATION' },
            },
          ],
        },
      },
      { event: 'complete', data: null },
    ]);
  });
});

describe('the event bus', () => {
  it('reports a Redis publish that fails, instead of ending the process', async () => {
    const reported: string[] = [];
    const message: ActivityMessage = {
      id: '42',
      kind: 'SPACE_UPDATED',
      actorId: null,
      subjectType: 'Space',
      subjectId: 42,
      spaceId: null,
      spaceVisibility: null,
      threadId: null,
      visibility: 'STAFF',
      occurredAt: new Date(0).toISOString(),
    };
    // Swap this app's bus for one whose Redis refuses connections, then put a working one back.
    await closeEventBus();
    try {
      openEventBus('redis://127.0.0.1:1', 'tertulia-unreachable:', (_error, what) => reported.push(what));
      publishActivity(message);
      // Both, in either order: the PUBLISH fails at once (no offline queue), the connection error follows.
      const heard = () => reported.includes('Could not publish activity 42') && reported.includes('Redis publish connection error');
      await until(heard, 'the failed publish and the connection error to be reported', 20_000);
    } finally {
      await closeEventBus();
      await openEventBus(process.env.REDIS_URL, `tertulia-test-${randomBytes(6).toString('hex')}:`, undefined, activityLogReader);
    }
    // The app goes on: writes still reach live subscribers through the new bus.
    const [live] = await goLive([subscribe(ws(alice.token), ActivityFeed, {})], probeThread(bob, publicSpace));
    const fence = await createThread(t, bob, publicSpace, 'fence');
    expect((await live.upTo(fence)).map((e) => e.subject?.id)).toEqual([fence]);
  });
});

/** The database id inside a Relay global id ("Type:123" in base64). */
function dbId(globalId: string): number {
  return Number(Buffer.from(globalId, 'base64').toString().split(':')[1]);
}
