import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activitySubscriberCount, subscribeActivity } from '../src/events/bus.js';
import { type Actor, createCommunity, createThread, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';

// One event, many subscribers: the records an event refers to are loaded once and shared by all
// its deliveries (activity.schema.ts), so each subscriber must still get exactly its own answer.

const FanoutFeed = graphql(`
  subscription FanoutFeed($spaceId: ID!) {
    activity(filter: { spaceIds: [$spaceId], kinds: [POST_CREATED] }) {
      kind
      actor { id displayName }
      space { id }
      thread { id }
      subject { __typename id ... on Post { body viewerCanEdit author { id } } }
    }
  }
`);

const EditFeed = graphql(`
  subscription EditFeed($spaceId: ID!) {
    activity(filter: { spaceIds: [$spaceId], kinds: [POST_EDITED] }) {
      kind
      subject { __typename id ... on Post { body moderation { status } } }
    }
  }
`);

const HidePost = graphql(`
  mutation FanoutHidePost($input: HideContentInput!) {
    hideContent(input: $input) { __typename }
  }
`);

const EditReply = graphql(`
  mutation FanoutEditReply($input: EditPostInput!) {
    editPost(input: $input) { __typename }
  }
`);

let t: TestApp;
let alice: Actor;
let bob: Actor;
let moderator: Actor;
let membersSpace: string;
let publicSpace: string;
let staffSpace: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ alice, bob, moderator, membersSpace, publicSpace, staffSpace } = await createCommunity(t));
});
afterAll(async () => {
  await t?.stop();
});

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

function feed(token: string | null, spaceId: string) {
  const client = t.wsClient(token);
  clients.push(client);
  return subscribe(client, FanoutFeed, { spaceId });
}

async function untilSubscribed(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (activitySubscriberCount() !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} subscriptions, have ${activitySubscriberCount()}`);
    await sleep(10);
  }
}

describe('one event delivered to many subscribers', () => {
  it('gives every subscriber the event with its own viewer-dependent fields', async () => {
    const threadId = await createThread(t, alice, membersSpace, 'Shared', 'Seen by many');
    const viewers = [alice, alice, bob, bob, bob, moderator, moderator];
    const feeds = viewers.map((viewer) => feed(viewer.token, membersSpace));
    const anonymous = feed(null, membersSpace);
    await untilSubscribed(viewers.length + 1);

    const postId = await reply(t, alice, threadId, 'Hello, everyone');

    const expected = (viewerCanEdit: boolean) => ({
      kind: 'POST_CREATED',
      actor: { id: alice.id, displayName: 'Alice' },
      space: { id: membersSpace },
      thread: { id: threadId },
      subject: { __typename: 'Post', id: postId, body: 'Hello, everyone', viewerCanEdit, author: { id: alice.id } },
    });
    for (const [i, viewer] of viewers.entries()) {
      const [result] = await feeds[i].next(1);
      // The author and staff may edit; the other member may not: per viewer, on a shared record.
      expect(result).toEqual({ data: { activity: expected(viewer !== bob) } });
    }
    // A MEMBERS space is not shown to anonymous viewers, live or otherwise.
    await sleep(200);
    expect(anonymous.received).toEqual([]);
  });

  it('shares one answer only among viewers it reads the same: a hidden post, to its author, moderators, members and anonymous', async () => {
    // Subscribers with the same document execute an event's selection once per group of viewers
    // who read alike (shared-subscription-results.ts). A hidden post reads the viewer (role, id)
    // and so splits them: full for the author and moderators, collapsed for everyone else.
    const threadId = await createThread(t, bob, publicSpace, 'Public thread');
    const postId = await reply(t, alice, threadId, 'Before the edit');
    expect(await t.query(HidePost, { input: { subjectId: postId, classifier: 'SPAM', reason: 'Looks like spam' } }, moderator.token)).toEqual({
      hideContent: { __typename: 'ModerationActionPayload' },
    });
    // Subscribed one after the other, so the event reaches them in this order: the moderator's
    // execution comes first and reads only the role; the author's, found by that role among
    // members, reads her id too, so Bob must not get her answer though his role is the same.
    const viewers = [moderator, alice, bob, null, moderator, alice, bob, null];
    const feeds = [];
    for (const viewer of viewers) {
      const client = t.wsClient(viewer?.token ?? null);
      clients.push(client);
      feeds.push(subscribe(client, EditFeed, { spaceId: publicSpace }));
      await untilSubscribed(feeds.length);
    }

    expect(await t.query(EditReply, { input: { postId, body: 'After the edit' } }, alice.token)).toEqual({ editPost: { __typename: 'PostPayload' } });

    const seenBy = (body: string) => ({
      data: { activity: { kind: 'POST_EDITED', subject: { __typename: 'Post', id: postId, body, moderation: { status: 'HIDDEN' } } } },
    });
    const answers = await Promise.all(feeds.map((f) => f.next(1).then(([result]) => result)));
    expect(answers).toEqual(
      viewers.map((viewer) => (viewer === alice || viewer === moderator ? seenBy('After the edit') : seenBy(''))),
    );
  });

  it('still applies each viewer\'s visibility rule to an event that others receive', async () => {
    const threadId = await createThread(t, moderator, staffSpace, 'Staff only', 'Not for members');
    const staffFeed = feed(moderator.token, staffSpace);
    const memberFeeds = [feed(alice.token, staffSpace), feed(bob.token, staffSpace)];
    await untilSubscribed(3);

    const postId = await reply(t, moderator, threadId, 'Internal note');

    const [result] = await staffFeed.next(1);
    expect(result.data?.activity.subject).toEqual({ __typename: 'Post', id: postId, body: 'Internal note', viewerCanEdit: true, author: { id: moderator.id } });
    await sleep(200);
    for (const memberFeed of memberFeeds) expect(memberFeed.received).toEqual([]);
  });
});

describe('a large fan-out shares the event loop', () => {
  it('hands an event to 1,000 subscribers in turns, letting other work run between them, in order for each', async () => {
    const SUBSCRIBERS = 1000;
    // Bus-level subscribers of this process: each notes which events reach it, in order.
    const seen: string[][] = Array.from({ length: SUBSCRIBERS }, () => []);
    let otherWorkRanAfter = -1;
    let deliveries = 0;
    const subscriptions = seen.map((events, index) =>
      subscribeActivity((event) => {
        if (event.kind !== 'POST_CREATED') return false;
        deliveries++;
        // Work queued by the first delivery of the first event (a stand-in for a query's answer).
        if (index === 0 && events.length === 0) setImmediate(() => (otherWorkRanAfter = deliveries));
        events.push(event.id);
        return false;
      }),
    );
    try {
      const threadId = await createThread(t, alice, membersSpace, 'Busy thread');
      await reply(t, alice, threadId, 'one');
      await reply(t, bob, threadId, 'two');
      for (let i = 0; i < 200 && deliveries < 2 * SUBSCRIBERS; i++) await sleep(25);
      expect(deliveries).toBe(2 * SUBSCRIBERS);
      // Every subscriber got both events, in log order.
      const [first, second] = seen[0];
      expect(BigInt(first) < BigInt(second)).toBe(true);
      expect(seen.every((events) => events.length === 2 && events[0] === first && events[1] === second)).toBe(true);
      // The other work ran after the first turn (at most 200 deliveries, fewer of ours when other
      // subscriptions of this process came first), long before the fan-out ended.
      expect(otherWorkRanAfter).toBeGreaterThan(0);
      expect(otherWorkRanAfter).toBeLessThanOrEqual(200);
    } finally {
      await Promise.all(subscriptions.map((s) => s.return?.()));
    }
  });
});
