import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { prisma } from '../src/db/client.js';
import { activitySubscriberCount } from '../src/events/bus.js';
import { utcDay } from '../src/modules/participation/reads.js';
import { routeUnansweredThreads } from '../src/modules/participation/routing.js';
import { catchUpSignals } from '../src/modules/participation/signals.js';
import { createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, subscribe, type TestApp } from './helpers.js';
import { decodeGlobalID } from '@pothos/plugin-relay';

const CreateSpace = graphql(`
  mutation RoutingCreateSpace($input: CreateSpaceInput!) {
    createSpace(input: $input) { __typename ... on SpacePayload { space { id peerAttentionAfterMinutes } } ... on ValidationError { message } }
  }
`);
const UpdateSpace = graphql(`
  mutation RoutingUpdateSpace($input: UpdateSpaceInput!) {
    updateSpace(input: $input) { __typename ... on SpacePayload { space { id peerAttentionAfterMinutes attentionAfterMinutes } } ... on ValidationError { message } }
  }
`);
const PeerAsks = graphql(`
  query RoutingPeerAsks($id: ID!) { node(id: $id) { ... on Thread { peerAsks { user { id } answered answeredAt } } } }
`);
const Mute = graphql(`
  mutation RoutingMute($input: MuteUserInput!) { muteUser(input: $input) { __typename } }
`);
const Suspend = graphql(`
  mutation RoutingSuspend($input: SuspendUserInput!) { suspendUser(input: $input) { __typename } }
`);
const Inbox = graphql(`
  query RoutingInbox { viewer { notifications(first: 10) { nodes { kind text subject { __typename ... on Thread { id } } } } } }
`);
const Feed = graphql(`
  subscription RoutingFeed($spaceId: ID!) {
    activity(filter: { spaceIds: [$spaceId], kinds: [THREAD_ROUTED_TO_EXPERTS] }) { kind thread { id } subject { __typename id } }
  }
`);

const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);
const DAY = 86_400_000;
const SETTINGS = { maxExperts: 3, maxAsksPerDay: 5 };
const later = () => new Date(Date.now() + 60_000);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let n = 0;
const clients: Client[] = [];

beforeAll(async () => {
  // The job is off: the tests run its passes themselves, at an explicit `now`.
  t = await startTestApp({ PEER_ROUTING_INTERVAL_MS: '0', SIGNALS_POLL_MS: '1000' });
  admin = await createUser(t, 'Admin');
  manager = await createUser(t, 'Manager', 'COMMUNITY_MANAGER', admin);
  moderator = await createUser(t, 'Moderator', 'MODERATOR', admin);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});
afterAll(async () => {
  await t?.stop();
});

async function space(peerAttentionAfterMinutes: number | null, attentionAfterMinutes: number | null = null): Promise<string> {
  const { createSpace } = await t.query(
    CreateSpace,
    { input: { name: `routing ${++n}`, slug: `routing-${n}`, peerAttentionAfterMinutes, attentionAfterMinutes } },
    manager.token,
  );
  if (createSpace.__typename !== 'SpacePayload') throw new Error(JSON.stringify(createSpace));
  expect(createSpace.space.peerAttentionAfterMinutes).toBe(peerAttentionAfterMinutes);
  return createSpace.space.id;
}

/** An expert: `accepted` accepted answers in the space, in its buckets (as the signals job writes them). */
async function expert(name: string, spaceId: string, accepted: number): Promise<Actor> {
  const user = await createUser(t, name);
  await prisma().memberActivityDay.create({
    data: { userId: rowId(user.id), spaceId: rowId(spaceId), day: new Date(`${utcDay(new Date(Date.now() - 5 * DAY))}T00:00:00Z`), acceptedAnswers: accepted },
  });
  return user;
}

/** Past asks (on made-up threads, over a day ago unless `recent`), answered or not. */
async function history(user: Actor, spaceId: string, asks: number, answered: number, recent = false): Promise<void> {
  const at = new Date(Date.now() - (recent ? 3600_000 : 3 * DAY));
  await prisma().peerAsk.createMany({
    data: Array.from({ length: asks }, (_, i) => ({
      threadId: -(1_000_000 * rowId(user.id) + i + 1),
      userId: rowId(user.id),
      spaceId: rowId(spaceId),
      askedAt: at,
      answeredAt: i < answered ? at : null,
    })),
  });
}

async function asked(threadId: string, token = manager.token) {
  const { node } = await t.query(PeerAsks, { id: threadId }, token);
  return (node as { peerAsks: { user: { id: string }; answered: boolean; answeredAt: unknown }[] | null }).peerAsks;
}

describe('routing an unanswered thread', () => {
  let spaceId: string;
  const e: Record<string, Actor> = {};
  let author: Actor;
  let threadId: string;

  beforeAll(async () => {
    spaceId = await space(0);
    author = await expert('Author', spaceId, 20);
    e.best = await expert('Best', spaceId, 5);
    e.second = await expert('Second', spaceId, 3);
    e.neverAnswers = await expert('NeverAnswers', spaceId, 2);
    e.alwaysAnswers = await expert('AlwaysAnswers', spaceId, 1);
    e.muter = await expert('Muter', spaceId, 10);
    e.suspended = await expert('Suspended', spaceId, 9);
    e.busy = await expert('Busy', spaceId, 8);
    // Learning: 2 x 1/6 for the expert who never answered 4 asks, 1 x 4/5 for the one who answered 3 of 3.
    await history(e.neverAnswers, spaceId, 4, 0);
    await history(e.alwaysAnswers, spaceId, 3, 3);
    await history(e.busy, spaceId, 5, 5, true);
    expect((await t.query(Mute, { input: { userId: author.id } }, e.muter.token)).muteUser.__typename).toBe('MutePayload');
    const until = new Date(Date.now() + 7 * DAY).toISOString();
    const { suspendUser } = await t.query(Suspend, { input: { userId: e.suspended.id, reason: 'spam', until } }, moderator.token);
    expect(suspendUser.__typename).toBe('ModerationActionPayload');
    threadId = await createThread(t, author, spaceId, 'Who knows?');
  });

  it('asks the best-ranked experts who may be asked, once, and tells staff live', async () => {
    const client = t.wsClient(manager.token);
    clients.push(client);
    const before = activitySubscriberCount();
    const feed = subscribe(client, Feed, { spaceId });
    await vi.waitFor(() => expect(activitySubscriberCount()).toBe(before + 1), { timeout: 10_000 });

    await routeUnansweredThreads(later(), SETTINGS);
    const asks = await asked(threadId);
    expect(asks?.map((a) => a.user.id)).toEqual([e.best.id, e.second.id, e.alwaysAnswers.id]);
    expect(asks?.every((a) => !a.answered && a.answeredAt === null)).toBe(true);
    expect((await feed.next(1)).map((r) => r.data)).toEqual([
      { activity: { kind: 'THREAD_ROUTED_TO_EXPERTS', thread: { id: threadId }, subject: { __typename: 'Thread', id: threadId } } },
    ]);

    // A later pass asks nobody more.
    await routeUnansweredThreads(later(), SETTINGS);
    expect((await asked(threadId))?.map((a) => a.user.id)).toEqual([e.best.id, e.second.id, e.alwaysAnswers.id]);
  });

  it('notifies each asked expert with PEER_ASK, and nobody else', async () => {
    await routeUnansweredThreads(later(), SETTINGS);
    await vi.waitFor(
      async () => {
        const { viewer } = await t.query(Inbox, {}, e.best.token);
        expect(viewer?.notifications?.nodes).toEqual([
          { kind: 'PEER_ASK', text: 'A thread you could answer is waiting for a reply', subject: { __typename: 'Thread', id: threadId } },
        ]);
      },
      { timeout: 10_000 },
    );
    for (const other of [e.muter, e.suspended, e.busy, e.neverAnswers]) {
      const { viewer } = await t.query(Inbox, {}, other.token);
      expect(viewer?.notifications?.nodes.filter((x) => x.kind === 'PEER_ASK')).toEqual([]);
    }
  });

  it('records answeredAt when an asked expert replies', async () => {
    await routeUnansweredThreads(later(), SETTINGS);
    await reply(t, e.second, threadId, 'I know');
    // The signals pass that counts the reply marks the ask (this one, or the app's own racing it).
    await catchUpSignals();
    await vi.waitFor(async () => {
      const asks = await asked(threadId);
      expect(asks?.map((a) => [a.user.id, a.answered])).toEqual([
        [e.best.id, false],
        [e.second.id, true],
        [e.alwaysAnswers.id, false],
      ]);
      expect(typeof asks?.[1].answeredAt).toBe('string');
    });
  });

  it('shows peerAsks to staff only', async () => {
    await routeUnansweredThreads(later(), SETTINGS);
    expect(await asked(threadId, e.best.token)).toBeNull();
    expect(await asked(threadId, author.token)).toBeNull();
    const agent = await createUser(t, 'Agent', 'AGENT', admin);
    expect(await asked(threadId, agent.token)).toHaveLength(3);
  });
});

describe('racing passes', () => {
  it('ask each expert exactly once', async () => {
    const spaceId = await space(0);
    const author = await createUser(t, 'Asker');
    const experts = [await expert('One', spaceId, 3), await expert('Two', spaceId, 2)];
    const threadId = await createThread(t, author, spaceId, 'Race');
    const now = later();
    await Promise.all([routeUnansweredThreads(now, SETTINGS), routeUnansweredThreads(now, SETTINGS), routeUnansweredThreads(now, SETTINGS)]);
    expect((await asked(threadId))?.map((a) => a.user.id)).toEqual(experts.map((x) => x.id));
    expect(await prisma().peerAsk.count({ where: { threadId: rowId(threadId) } })).toBe(2);
    expect(await prisma().activity.count({ where: { kind: 'THREAD_ROUTED_TO_EXPERTS', threadId: rowId(threadId) } })).toBe(1);
  });
});

describe('threads that are not routed', () => {
  it('in a space without the setting, before the wait, once answered, or once in the staff queue', async () => {
    const author = await createUser(t, 'Quiet');
    const none = await space(null);
    await expert('Idle', none, 5);
    const unset = await createThread(t, author, none, 'Nobody routes this');

    const waiting = await space(60);
    await expert('Patient', waiting, 5);
    const early = await createThread(t, author, waiting, 'Too early');

    const answeredSpace = await space(0);
    const helper = await expert('Helper', answeredSpace, 5);
    const answered = await createThread(t, author, answeredSpace, 'Answered already');
    await reply(t, helper, answered, 'Done');

    // Both thresholds passed: the staff attention queue has it, not the experts.
    const staffFirst = await space(0, 0);
    await expert('Late', staffFirst, 5);
    const queued = await createThread(t, author, staffFirst, 'For staff');

    await routeUnansweredThreads(later(), SETTINGS);
    for (const id of [unset, early, answered, queued]) expect(await asked(id)).toEqual([]);
  });
});

describe('Space.peerAttentionAfterMinutes', () => {
  it('is validated 0..525600 and can be cleared', async () => {
    const spaceId = await space(30);
    const tooBig = await t.query(UpdateSpace, { input: { spaceId, peerAttentionAfterMinutes: 525_601 } }, manager.token);
    expect(tooBig.updateSpace).toEqual({ __typename: 'ValidationError', message: 'input.peerAttentionAfterMinutes: must be at most 525600 (a year)' });
    const negative = await t.query(CreateSpace, { input: { name: 'neg', slug: `neg-${++n}`, peerAttentionAfterMinutes: -1 } }, manager.token);
    expect(negative.createSpace).toEqual({ __typename: 'ValidationError', message: 'input.peerAttentionAfterMinutes: must be at least 0' });
    const kept = await t.query(UpdateSpace, { input: { spaceId, attentionAfterMinutes: 120 } }, manager.token);
    expect(kept.updateSpace).toEqual({ __typename: 'SpacePayload', space: { id: spaceId, peerAttentionAfterMinutes: 30, attentionAfterMinutes: 120 } });
    const cleared = await t.query(UpdateSpace, { input: { spaceId, peerAttentionAfterMinutes: null } }, manager.token);
    expect(cleared.updateSpace).toEqual({ __typename: 'SpacePayload', space: { id: spaceId, peerAttentionAfterMinutes: null, attentionAfterMinutes: 120 } });
  });
});
