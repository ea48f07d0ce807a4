import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { type Actor, createCommunity, createSpace, createThread, createUser, reply, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { currentScope } from '../src/observability/probes.js';

const ThreadLevel = graphql(`
  query ThreadLevel($id: ID!) {
    node(id: $id) { ... on Thread { id viewerSubscription { level reason explanation } } }
  }
`);
const SpaceLevel = graphql(`
  query SpaceLevel($id: ID!) { node(id: $id) { ... on Space { id viewerSubscription { level reason explanation } } } }
`);
const SetThread = graphql(`
  mutation SetThread($input: SetThreadSubscriptionInput!) {
    setThreadSubscription(input: $input) {
      __typename
      ... on SetThreadSubscriptionPayload { thread { id viewerSubscription { level reason } } }
      ... on Error { message }
    }
  }
`);
const SetSpace = graphql(`
  mutation SetSpace($input: SetSpaceSubscriptionInput!) {
    setSpaceSubscription(input: $input) {
      __typename
      ... on SetSpaceSubscriptionPayload { space { id viewerSubscription { level reason } } }
      ... on Error { message }
    }
  }
`);
const Remove = graphql(`
  mutation RemoveF($input: ContentActionInput!) { removeContent(input: $input) { __typename } }
`);
const ThreadsWithLevels = graphql(`
  query ThreadsWithLevels($spaceId: ID!, $first: Int!) {
    threads(spaceId: $spaceId, first: $first) { nodes { id viewerSubscription { level reason } space { viewerSubscription { level } } } }
  }
`);

let t: TestApp;
let c: Community;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

async function level(actor: Actor | null, threadId: string) {
  const { node } = await t.query(ThreadLevel, { id: threadId }, actor?.token);
  return (node as { viewerSubscription: { level: string; reason: string; explanation: string } | null }).viewerSubscription;
}

/** Polls until `threadId`'s level for `actor` is `expected` (creating and replying set it after commit). */
async function levelBecomes(actor: Actor, threadId: string, expected: object) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await level(actor, threadId);
    if (JSON.stringify(now && { ...now, ...expected }) === JSON.stringify(now)) return now;
    if (Date.now() > deadline) throw new Error(`level stayed ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the fan-out has read the whole log (creating and replying set levels after commit). */
async function settled(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await prisma().$queryRaw<{ behind: boolean }[]>`
      SELECT (SELECT COALESCE(max("id"), 0) FROM "Activity") > c."activityId" OR c."afterUserId" > 0 AS "behind" FROM "NotificationCursor" c`;
    if (!row.behind) return;
    if (Date.now() > deadline) throw new Error('the fan-out never caught up');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('follow levels', () => {
  it('authors watch, repliers track, others are NORMAL; signed out, none', async () => {
    const [ana, bob, cy] = [await createUser(t, 'Ana'), await createUser(t, 'Bob'), await createUser(t, 'Cy')];
    const threadId = await createThread(t, ana, c.publicSpace);
    await reply(t, bob, threadId);
    expect(await levelBecomes(ana, threadId, { level: 'WATCHING' })).toEqual({ level: 'WATCHING', reason: 'CREATED', explanation: 'You created this thread' });
    expect(await levelBecomes(bob, threadId, { level: 'TRACKING' })).toEqual({ level: 'TRACKING', reason: 'REPLIED', explanation: 'You replied to this thread' });
    expect(await level(cy, threadId)).toEqual({ level: 'NORMAL', reason: 'DEFAULT', explanation: 'You have not followed it' });
    expect(await level(null, threadId)).toBeNull();
    // The author replying does not lower their level.
    await reply(t, ana, threadId);
    await reply(t, bob, threadId, 'a later reply');
    expect(await level(ana, threadId)).toMatchObject({ level: 'WATCHING', reason: 'CREATED' });
  });

  it('a chosen level stays when the member replies, and a thread without one takes its space\'s', async () => {
    const [ana, bob] = [await createUser(t, 'Ana'), await createUser(t, 'Bob')];
    const space = await createSpace(t, c.manager, `follow-${Date.now()}`);
    const threadId = await createThread(t, ana, space);
    const chosen = await t.query(SetThread, { input: { threadId, level: 'NORMAL' } }, bob.token);
    expect(chosen.setThreadSubscription).toEqual({
      __typename: 'SetThreadSubscriptionPayload',
      thread: { id: threadId, viewerSubscription: { level: 'NORMAL', reason: 'CHOSE' } },
    });
    await reply(t, bob, threadId);
    const other = await createThread(t, ana, space, 'Another');
    // Once the fan-out has read past Bob's reply (Ana watches her new thread), his choice stands.
    await levelBecomes(ana, other, { level: 'WATCHING' });
    expect(await level(bob, threadId)).toMatchObject({ level: 'NORMAL', reason: 'CHOSE' });

    const spaceSet = await t.query(SetSpace, { input: { spaceId: space, level: 'WATCHING' } }, bob.token);
    expect(spaceSet.setSpaceSubscription).toEqual({
      __typename: 'SetSpaceSubscriptionPayload',
      space: { id: space, viewerSubscription: { level: 'WATCHING', reason: 'CHOSE' } },
    });
    expect(await level(bob, other)).toEqual({ level: 'WATCHING', reason: 'SPACE', explanation: "You chose this level for the thread's space" });
    expect(await level(bob, threadId)).toMatchObject({ level: 'NORMAL', reason: 'CHOSE' });
    const { node } = await t.query(SpaceLevel, { id: space }, ana.token);
    expect(node).toEqual({ id: space, viewerSubscription: { level: 'NORMAL', reason: 'DEFAULT', explanation: 'You have not followed it' } });
  });

  it('only on what the member can read, signed in, with exact errors', async () => {
    const [ana, bob] = [await createUser(t, 'Ana'), await createUser(t, 'Bob')];
    const staffThread = await createThread(t, c.moderator, c.staffSpace);
    const hidden = await t.query(SetThread, { input: { threadId: staffThread, level: 'WATCHING' } }, ana.token);
    expect(hidden.setThreadSubscription.__typename).toBe('NotFoundError');
    const staffSpace = await t.query(SetSpace, { input: { spaceId: c.staffSpace, level: 'WATCHING' } }, ana.token);
    expect(staffSpace.setSpaceSubscription.__typename).toBe('NotFoundError');
    const removedThread = await createThread(t, bob, c.publicSpace);
    await t.query(Remove, { input: { subjectId: removedThread, reason: 'spam' } }, c.moderator.token);
    const removed = await t.query(SetThread, { input: { threadId: removedThread, level: 'WATCHING' } }, ana.token);
    expect(removed.setThreadSubscription.__typename).toBe('NotFoundError');
    // Its author still sees it, and may still set a level.
    expect((await t.query(SetThread, { input: { threadId: removedThread, level: 'MUTED' } }, bob.token)).setThreadSubscription.__typename).toBe(
      'SetThreadSubscriptionPayload',
    );
    const anonymous = await t.query(SetThread, { input: { threadId: removedThread, level: 'WATCHING' } }, null);
    expect(anonymous.setThreadSubscription.__typename).toBe('UnauthenticatedError');
    const wrongId = await t.query(SetThread, { input: { threadId: c.publicSpace, level: 'WATCHING' } }, ana.token);
    expect(wrongId.setThreadSubscription.__typename).toBe('ValidationError');
  });

  it('reads the levels of a page of threads in a fixed number of statements', async () => {
    const ana = await createUser(t, 'Ana');
    const space = await createSpace(t, c.manager, `many-${Date.now()}`);
    const count = async () => {
      const statements: string[] = [];
      // The jobs' statements (a polling pass may run meanwhile) are not the read's.
      const stop = onQuery(
        (sql) => currentScope()?.source === 'job' || /NotificationCursor|"Activity"|^(BEGIN|COMMIT|ROLLBACK)|Implicit/.test(sql) || statements.push(sql),
      );
      try {
        await settled();
        await t.query(ThreadsWithLevels, { spaceId: space, first: 50 }, ana.token);
      } finally {
        stop();
      }
      return statements.length;
    };
    await createThread(t, ana, space);
    const one = await count();
    for (let i = 0; i < 5; i++) {
      const threadId = await createThread(t, c.alice, space, `T${i}`);
      if (i % 2) await t.query(SetThread, { input: { threadId, level: 'MUTED' } }, ana.token);
    }
    expect(await count()).toBe(one);
  });
});
