import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { prisma } from '../src/db/client.js';
import { pruneActivity } from '../src/jobs/activity-retention.js';
import { pendingTokenExpiries } from '../src/modules/activity/activity.service.js';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';
import { latestEmail, linkToken } from './mailbox.js';

const Log = graphql(`
  query Log($filter: ActivityFilter, $first: Int, $after: String, $last: Int, $before: String) {
    activityLog(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id kind subject { id } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

const Resume = graphql(`
  subscription Resume($after: String, $filter: ActivityFilter) {
    activity(after: $after, filter: $filter) { id kind subject { id } }
  }
`);

const SetRole = graphql(`
  mutation ReplaySetRole($input: SetUserRoleInput!) { setUserRole(input: $input) { __typename } }
`);

let t: TestApp;
let admin: Actor;
let agent: Actor;
let alice: Actor;
let publicSpace: string;
let staffSpace: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await createUser(t, 'Admin');
  agent = await createUser(t, 'Agent', 'AGENT', admin);
  alice = await createUser(t, 'Alice');
  publicSpace = await createSpace(t, admin, 'replay-public');
  staffSpace = await createSpace(t, admin, 'replay-staff', 'STAFF');
});
afterAll(async () => {
  await t?.stop();
});

type LogPage = Awaited<ReturnType<typeof logPage>>;
const logPage = (token?: string) => t.query(Log, { first: 1 }, token).then((r) => r.activityLog);

/** The whole log as a viewer sees it, paged forwards 7 at a time. */
async function fullLog(token?: string, filter?: Record<string, unknown>) {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const { activityLog }: { activityLog: LogPage } = await t.query(Log, { first: 7, after, filter }, token);
    ids.push(...activityLog.edges.map((e) => e.node.id));
    expect(activityLog.edges.map((e) => e.cursor)).toEqual(activityLog.edges.map((e) => e.node.id));
    if (!activityLog.pageInfo.hasNextPage) return ids;
    after = activityLog.pageInfo.endCursor;
  }
}

describe('activityLog', () => {
  it('pages the log forwards and backwards, showing each viewer only what it may see', async () => {
    const staffThread = await createThread(t, agent, staffSpace, 'Rota');
    const publicThread = await createThread(t, alice, publicSpace, 'Hello');
    await t.query(SetRole, { input: { userId: alice.id, role: 'MEMBER' } }, admin.token); // no change, no event
    const adminIds = await fullLog(admin.token);
    const aliceIds = await fullLog(alice.token);
    const anonymousIds = await fullLog();
    expect([...adminIds].sort()).toEqual(adminIds); // ordered, ids sort as strings
    expect(aliceIds.every((id) => adminIds.includes(id))).toBe(true);
    expect(anonymousIds.every((id) => aliceIds.includes(id))).toBe(true);

    const { activityLog: all } = await t.query(Log, { first: 100 }, admin.token);
    const subjects = (token?: string) =>
      t.query(Log, { first: 100 }, token).then((r) => r.activityLog.edges.map((e) => `${e.node.kind}:${e.node.subject?.id}`));
    expect(all.edges.map((e) => `${e.node.kind}:${e.node.subject?.id}`)).toContain(`THREAD_CREATED:${staffThread}`);
    expect(await subjects(alice.token)).not.toContain(`THREAD_CREATED:${staffThread}`);
    expect(await subjects(alice.token)).toContain(`THREAD_CREATED:${publicThread}`);
    expect(await subjects()).not.toContain(`USER_SIGNED_UP:${alice.id}`); // staff only
    expect(await subjects(agent.token)).toContain(`USER_SIGNED_UP:${alice.id}`);

    const { activityLog: tail } = await t.query(Log, { last: 2 }, admin.token);
    expect(tail.edges.map((e) => e.node.id)).toEqual(adminIds.slice(-2));
    expect(tail.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const { activityLog: before } = await t.query(Log, { last: 3, before: tail.pageInfo.startCursor }, admin.token);
    expect(before.edges.map((e) => e.node.id)).toEqual(adminIds.slice(-5, -2));

    const filtered = await fullLog(admin.token, { kinds: ['THREAD_CREATED'], spaceIds: [staffSpace] });
    expect(filtered).toHaveLength(1);
  });

  it('rejects a malformed cursor with a typed error', async () => {
    const result = await t.request(Log, { first: 5, after: 'garbage' }, admin.token);
    expect(result.errors?.[0]).toMatchObject({
      message: 'after: is not an activity cursor (an ActivityEvent id)',
      extensions: { code: 'VALIDATION' },
    });
  });
});

describe('activity(after:) replays what was missed, then goes live', () => {
  it('sends the missed events in order, then live ones, with no gap and no duplicate', async () => {
    const threadId = await createThread(t, alice, publicSpace, 'Catch me up');
    const { activityLog } = await t.query(Log, { last: 1 }, alice.token);
    const cursor = activityLog.edges[0].node.id;
    const missed = [await reply(t, alice, threadId, 'one'), await reply(t, alice, threadId, 'two')];

    const client = t.wsClient(alice.token);
    const sub = subscribe(client, Resume, { after: cursor, filter: { threadId } });
    const replayed = await sub.next(2);
    expect(replayed.map((r) => r.data?.activity.subject?.id)).toEqual(missed);
    const live = await reply(t, alice, threadId, 'three');
    const all = await sub.next(3);
    expect(all[2].data?.activity).toMatchObject({ kind: 'POST_CREATED', subject: { id: live } });
    const ids = all.map((r) => r.data!.activity.id);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0] > cursor).toBe(true);
    sub.dispose();
  });

  it('loses nothing and repeats nothing when writes land while the replay runs', async () => {
    const threadId = await createThread(t, alice, publicSpace, 'Busy thread');
    const { activityLog } = await t.query(Log, { last: 1 }, alice.token);
    const cursor = activityLog.edges[0].node.id;
    for (let i = 0; i < 30; i++) await reply(t, alice, threadId, `before ${i}`);

    const client = t.wsClient(alice.token);
    const sub = subscribe(client, Resume, { after: cursor, filter: { threadId } });
    // Concurrent writers from several users while the subscriber is replaying.
    const writers = [alice, agent, admin].map((actor, w) =>
      Promise.all(Array.from({ length: 10 }, (_, i) => reply(t, actor, threadId, `during ${w}.${i}`))),
    );
    await Promise.all(writers);
    const received = await sub.next(60, 20_000);
    const expected = await fullLog(alice.token, { threadId });
    const afterCursor = expected.filter((id) => id > cursor);
    expect(afterCursor).toHaveLength(60);
    expect(received.map((r) => r.data!.activity.id)).toEqual(afterCursor);
    sub.dispose();
  });

  it('refuses an unknown or malformed cursor instead of silently starting from now', async () => {
    const client = t.wsClient(alice.token);
    const unknown = subscribe(client, Resume, { after: 'act_00000000ffffffff' });
    expect((await unknown.next(1))[0].errors?.[0]).toMatchObject({
      message: 'ActivityEvent act_00000000ffffffff was not found',
      extensions: { code: 'NOT_FOUND' },
    });
    const malformed = subscribe(client, Resume, { after: 'nonsense' });
    expect((await malformed.next(1))[0].errors?.[0]).toMatchObject({
      message: 'after: is not an activity cursor (an ActivityEvent id)',
      extensions: { code: 'VALIDATION' },
    });
  });
});

const Live = graphql(`
  subscription LiveAccess { activity { id kind subject { id } } }
`);
const SignInAgain = graphql(`
  mutation ReplaySignIn($input: SignInInput!) { signIn(input: $input) { __typename ... on AuthPayload { token } } }
`);
const SignOutNow = graphql(`mutation ReplaySignOut { signOut { __typename } }`);

describe('rights are checked per event, as they are when it is delivered', () => {
  it("ends a signed-out token's subscriptions, and only that token's", async () => {
    const email = `leaver-${Date.now()}@example.com`;
    const leaver = await createUserWithEmail(email);
    const second = await t.query(SignInAgain, { input: { email, password: 'a long enough password' } });
    if (second.signIn.__typename !== 'AuthPayload') throw new Error('sign-in failed');

    const revoked = subscribe(t.wsClient(leaver.token), Live);
    const kept = subscribe(t.wsClient(second.signIn.token), Live);
    const [revokedSeen, keptSeen] = await waitUntilLive([revoked, kept]);
    expect((await t.query(SignOutNow, undefined, leaver.token)).signOut.__typename).toBe('SignOutPayload');
    await expect(revoked.next(revokedSeen + 1)).rejects.toThrow(/This access token was revoked; sign in again and resubscribe/);

    const after = await createThread(t, alice, publicSpace, 'Still here?');
    const events = await kept.next(keptSeen + 2); // the USER_SIGNED_OUT of the other session, then the thread
    expect(events.slice(keptSeen).map((e) => e.data?.activity.kind)).toEqual(['USER_SIGNED_OUT', 'THREAD_CREATED']);
    expect(events[keptSeen + 1].data?.activity.subject?.id).toBe(after);
  });

  it('ends a subscription when its token expires', async () => {
    const email = `expiring-${Date.now()}@example.com`;
    const user = await createUserWithEmail(email);
    // Tokens live for hours (TOKEN_TTL_HOURS); bring this one's end to a few seconds from now.
    await prisma().session.updateMany({ where: { user: { email } }, data: { expiresAt: new Date(Date.now() + 6000) } });
    const sub = subscribe(t.wsClient(user.token), Live);
    const [seen] = await waitUntilLive([sub]);
    await expect(sub.next(seen + 1, 15_000)).rejects.toThrow(/This access token has expired; sign in again and resubscribe/);
  });

  it('ends each subscription at its own token expiry, a later-opened earlier one first', async () => {
    const lateEmail = `expiring-late-${Date.now()}@example.com`;
    const earlyEmail = `expiring-early-${Date.now()}@example.com`;
    const late = await createUserWithEmail(lateEmail);
    const early = await createUserWithEmail(earlyEmail);
    const expireIn = (email: string, ms: number) =>
      prisma().session.updateMany({ where: { user: { email } }, data: { expiresAt: new Date(Date.now() + ms) } });
    // The later expiry is scheduled first; the earlier one, opened after it, must still come first.
    await expireIn(lateEmail, 5000);
    const lateSub = subscribe(t.wsClient(late.token), Live);
    await waitUntilLive([lateSub]);
    await expireIn(earlyEmail, 2500);
    const earlySub = subscribe(t.wsClient(early.token), Live);
    const [earlySeen] = await waitUntilLive([earlySub]);
    await expect(earlySub.next(earlySeen + 1, 10_000)).rejects.toThrow(/This access token has expired; sign in again and resubscribe/);
    // The later one is still live: it gets the next event, then ends at its own time.
    const lateSeen = lateSub.received.length;
    const thread = await createThread(t, admin, publicSpace, 'After the first expiry');
    expect((await lateSub.next(lateSeen + 1)).at(-1)?.data?.activity).toMatchObject({ kind: 'THREAD_CREATED', subject: { id: thread } });
    await expect(lateSub.next(lateSeen + 2, 10_000)).rejects.toThrow(/This access token has expired; sign in again and resubscribe/);
  });

  it('lets go of the token expiry of every subscription that ends, however it ends', async () => {
    // Expiries wait on one shared timer; an ended subscription must leave nothing there.
    const before = pendingTokenExpiries();
    const clients = [t.wsClient(alice.token), t.wsClient(alice.token), t.wsClient(agent.token)];
    const subs = clients.map((client) => subscribe(client, Live));
    const anonymous = subscribe(t.wsClient(), Live);
    await waitUntilLive([...subs, anonymous]);
    // One per signed-in subscription; none for the anonymous one.
    expect(pendingTokenExpiries()).toBe(before + 3);

    subs[0].dispose(); // completed by the client
    await clients[1].dispose(); // its connection closed
    await until(() => pendingTokenExpiries() === before + 1, 'two expiries to be dropped');

    // Churn on one connection: subscribe, go live, complete, many times over.
    for (let i = 0; i < 10; i++) {
      const sub = subscribe(clients[2], Live);
      await waitUntilLive([sub]);
      expect(pendingTokenExpiries()).toBe(before + 2);
      sub.dispose();
      await until(() => pendingTokenExpiries() === before + 1, 'the churned expiry to be dropped');
    }
    subs[2].dispose();
    anonymous.dispose();
    await until(() => pendingTokenExpiries() === before, 'every expiry to be dropped');
  });

  it('applies a role change from the next event on: a promoted member starts seeing staff events', async () => {
    const bob = await createUser(t, 'Bob');
    const sub = subscribe(t.wsClient(bob.token), Resume, { filter: { kinds: ['THREAD_CREATED', 'USER_ROLE_CHANGED'] } });
    const [probe] = await waitUntilLive([sub]);
    await createThread(t, agent, staffSpace, 'Hidden from Bob');
    await t.query(SetRole, { input: { userId: bob.id, role: 'AGENT' } }, admin.token);
    const visible = await createThread(t, agent, staffSpace, 'Bob may see this');
    await t.query(SetRole, { input: { userId: bob.id, role: 'MEMBER' } }, admin.token);
    await createThread(t, agent, staffSpace, 'Hidden again');
    const fence = await createThread(t, agent, publicSpace, 'Fence');
    const events = (await sub.next(probe + 4)).slice(probe).map((e) => `${e.data?.activity.kind}:${e.data?.activity.subject?.id}`);
    expect(events).toEqual([
      `USER_ROLE_CHANGED:${bob.id}`,
      `THREAD_CREATED:${visible}`,
      `USER_ROLE_CHANGED:${bob.id}`,
      `THREAD_CREATED:${fence}`,
    ]);
  });
});

// Last in this file: it deletes the log that the tests above wrote.
describe('retention', () => {
  const dbId = (cursor: string) => BigInt(`0x${cursor.slice('act_'.length)}`);
  const newestCursor = async () => (await t.query(Log, { last: 1 }, admin.token)).activityLog.edges[0].cursor;

  it('prunes what is older than ACTIVITY_RETENTION_DAYS and refuses cursors from before it with CURSOR_EXPIRED', async () => {
    const before = await newestCursor();
    await createThread(t, alice, publicSpace, 'Old news');
    const pruneUpTo = await newestCursor();
    const fresh = await createThread(t, alice, publicSpace, 'Fresh news');
    await prisma().$executeRaw`UPDATE "Activity" SET "occurredAt" = now() - interval '91 days' WHERE "id" <= ${dbId(pruneUpTo)}`;

    const doomed = await countUpTo(pruneUpTo);
    expect(doomed).toBeGreaterThan(2);

    // Two instances' jobs at once: the rows go once, and a later pass finds nothing.
    const pruned = await Promise.all([pruneActivity(90), pruneActivity(90)]);
    expect(pruned[0] + pruned[1]).toBe(doomed);
    expect(await countUpTo(pruneUpTo)).toBe(0);
    expect(await pruneActivity(90)).toBe(0);

    const client = t.wsClient(alice.token);
    const expired = subscribe(client, Resume, { after: before });
    expect((await expired.next(1))[0].errors).toEqual([
      expect.objectContaining({
        message: `Activity cursor ${before} is older than the retained activity log; load the current state and subscribe without \`after\``,
        extensions: { code: 'CURSOR_EXPIRED' },
      }),
    ]);
    const logged = await t.request(Log, { first: 5, after: before }, alice.token);
    expect(logged.errors?.[0]).toMatchObject({ extensions: { code: 'CURSOR_EXPIRED' } });

    // The newest pruned event's cursor still resumes: nothing after it is gone.
    const resumed = subscribe(client, Resume, { after: pruneUpTo });
    const [first] = await resumed.next(1);
    expect(first.data?.activity).toMatchObject({ kind: 'THREAD_CREATED', subject: { id: fresh } });
    resumed.dispose();
  });

  it('always keeps the newest event, so the end of the log stays known', async () => {
    const newest = await newestCursor();
    await prisma().$executeRaw`UPDATE "Activity" SET "occurredAt" = now() - interval '400 days'`;
    await pruneActivity(90);
    const { activityLog } = await t.query(Log, { last: 5 }, admin.token);
    expect(activityLog.edges.map((e) => e.cursor)).toEqual([newest]);
    // A cursor from the future is still unknown, not expired.
    const future = subscribe(t.wsClient(alice.token), Resume, { after: 'act_00000000ffffffff' });
    expect((await future.next(1))[0].errors?.[0]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
  });

  const countUpTo = async (cursor: string) =>
    (await prisma().$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Activity" WHERE "id" <= ${dbId(cursor)}`)[0].n;
});

async function createUserWithEmail(email: string): Promise<Actor> {
  const { signUp } = await t.query(
    graphql(`mutation ReplaySignUp($input: SignUpInput!) { signUp(input: $input) { __typename } }`),
    { input: { email, password: 'a long enough password', displayName: 'Leaver' } },
  );
  if (signUp.__typename !== 'AccountEmailPayload') throw new Error('sign-up failed');
  const { verifyEmail } = await t.query(
    graphql(`mutation ReplayVerifyEmail($input: VerifyEmailInput!) { verifyEmail(input: $input) { __typename ... on AuthPayload { token user { id } } } }`),
    { input: { token: linkToken(await latestEmail(email, 'EMAIL_VERIFICATION'), '/verify-email') } },
  );
  if (verifyEmail.__typename !== 'AuthPayload') throw new Error('verification failed');
  return { token: verifyEmail.token, id: verifyEmail.user.id };
}

/**
 * Writes public probe threads until every subscription has received one (so each is attached on
 * the server), then a fence; returns, per subscription, how many events it had seen up to and
 * including the fence (they attach at different moments, so the counts may differ): later
 * assertions look only past those.
 */
async function waitUntilLive(subs: ReturnType<typeof subscribe>[]): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await createThread(t, admin, publicSpace, 'probe');
    await new Promise((r) => setTimeout(r, 100));
    if (subs.every((s) => s.received.length > 0)) break;
  }
  const fence = await createThread(t, admin, publicSpace, 'probe fence');
  await Promise.all(subs.map(async (s) => {
    for (let i = 0; i < 100 && !s.received.some((e) => (e.data as { activity?: { subject?: { id: string } } })?.activity?.subject?.id === fence); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }));
  return subs.map((sub) => {
    const index = sub.received.findIndex((e) => (e.data as { activity?: { subject?: { id: string } } })?.activity?.subject?.id === fence);
    if (index < 0) throw new Error('a subscription never saw the fence');
    return index + 1;
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
