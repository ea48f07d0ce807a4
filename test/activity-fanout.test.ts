import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activitySubscriberCount } from '../src/events/bus.js';
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

let t: TestApp;
let alice: Actor;
let bob: Actor;
let moderator: Actor;
let membersSpace: string;
let staffSpace: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ alice, bob, moderator, membersSpace, staffSpace } = await createCommunity(t));
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
