import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { type Actor, createCommunity, createSpace, createThread, createUser, reply, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { NotificationKind } from './gql/graphql.js';
import { connected, startTestApp, subscribe, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Inbox = graphql(`
  query Inbox($first: Int!, $after: String, $filter: NotificationFilter) {
    viewer {
      unreadNotificationCount
      notifications(first: $first, after: $after, filter: $filter) {
        edges { cursor }
        nodes {
          id kind text actorCount readAt createdAt updatedAt
          actors { id displayName }
          subject { __typename ... on Post { id body } ... on Thread { id title } ... on SupportCase { id } ... on Report { id status } ... on Appeal { id appealStatus: status } ... on ModerationAction { id kind } }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);
const UserInbox = graphql(`
  query UserInbox($id: ID!) {
    node(id: $id) { ... on User { id unreadNotificationCount notifications(first: 10) { nodes { id } } } }
  }
`);
const NotificationNode = graphql(`query NotificationNode($id: ID!) { node(id: $id) { __typename ... on Notification { id kind } } }`);
const MarkRead = graphql(`
  mutation MarkRead($input: MarkNotificationsReadInput!) {
    markNotificationsRead(input: $input) {
      __typename
      ... on MarkNotificationsReadPayload { markedCount unreadCount }
      ... on NotFoundError { id }
      ... on Error { message }
    }
  }
`);
const SetThreadLevel = graphql(`
  mutation SetThreadLevelN($input: SetThreadSubscriptionInput!) { setThreadSubscription(input: $input) { __typename } }
`);
const SetSpaceLevel = graphql(`
  mutation SetSpaceLevelN($input: SetSpaceSubscriptionInput!) { setSpaceSubscription(input: $input) { __typename } }
`);
const AddReaction = graphql(`mutation ReactN($input: ReactionInput!) { addReaction(input: $input) { __typename } }`);
const MarkAnswer = graphql(`mutation MarkAnswerN($input: MarkAsAnswerInput!) { markAsAnswer(input: $input) { __typename } }`);
const Remove = graphql(`
  mutation RemoveN($input: ContentActionInput!) { removeContent(input: $input) { __typename ... on ModerationActionPayload { action { id } } ... on Error { message } } }
`);
const Restore = graphql(`
  mutation RestoreN($input: ContentActionInput!) { restoreContent(input: $input) { __typename ... on Error { message } } }
`);
const UpdateSpace = graphql(`mutation UpdateSpaceN($input: UpdateSpaceInput!) { updateSpace(input: $input) { __typename } }`);
const Report = graphql(`
  mutation ReportN($input: ReportContentInput!) { reportContent(input: $input) { __typename ... on Error { message } } }
`);
const Queue = graphql(`
  query QueueN($first: Int!) { moderationQueue(first: $first) { nodes { id subject { id } } } }
`);
const ResolveItem = graphql(`
  mutation ResolveItemN($input: ResolveQueueItemInput!) { resolveQueueItem(input: $input) { __typename ... on Error { message } } }
`);
const Appeal = graphql(`
  mutation AppealN($input: AppealModerationActionInput!) { appealModerationAction(input: $input) { __typename ... on AppealPayload { appeal { id } } ... on Error { message } } }
`);
const ResolveAppeal = graphql(`
  mutation ResolveAppealN($input: ResolveAppealInput!) { resolveAppeal(input: $input) { __typename ... on Error { message } } }
`);
const OpenCase = graphql(`
  mutation OpenCaseN($input: OpenCaseInput!) { openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } ... on Error { message } } }
`);
const ReplyToCase = graphql(`
  mutation ReplyToCaseN($input: ReplyToCaseInput!) { replyToCase(input: $input) { __typename ... on Error { message } } }
`);
const SignOut = graphql(`mutation SignOutN { signOut { __typename } }`);
const Added = graphql(`
  subscription Added { notificationAdded { unreadCount notification { id kind text actorCount } } }
`);

let t: TestApp;
let c: Community;

beforeAll(async () => {
  t = await startTestApp({ NOTIFICATION_BATCH_SIZE: '3' });
  c = await createCommunity(t);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

type Inbox = Awaited<ReturnType<typeof inbox>>;
async function inbox(actor: Actor, filter?: { unread?: boolean; kinds?: NotificationKind[] }) {
  const { viewer } = await t.query(Inbox, { first: 50, filter }, actor.token);
  return { count: viewer!.unreadNotificationCount!, items: viewer!.notifications!.nodes };
}

/** Polls the inbox until `ok` holds (the fan-out runs after commit). */
async function until(actor: Actor, ok: (box: Inbox) => boolean, timeoutMs = 10_000): Promise<Inbox> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const box = await inbox(actor);
    // The count and the list are two reads: once the fan-out is done they agree.
    if (ok(box)) return settled().then(() => inbox(actor));
    if (Date.now() > deadline) throw new Error(`inbox never matched: ${JSON.stringify(box)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the fan-out has read the whole log (so "nothing arrived" means nothing will). */
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

const member = (name: string) => createUser(t, name);

describe('REPLIED and follow levels', () => {
  it('tells the watching author of each reply, grouped while unread, never the writer', async () => {
    const [ana, bob, cy] = [await member('Ana'), await member('Bob'), await member('Cy')];
    const threadId = await createThread(t, ana, c.publicSpace, 'Ana asks');
    const first = await reply(t, bob, threadId, 'Bob answers');
    let box = await until(ana, (b) => b.items.length === 1);
    expect(box.count).toBe(1);
    expect(box.items[0]).toMatchObject({ kind: 'REPLIED', actorCount: 1, text: 'Bob replied in a thread you watch', readAt: null });
    expect(box.items[0].subject).toEqual({ __typename: 'Post', id: first, body: 'Bob answers' });

    const second = await reply(t, cy, threadId, 'Cy too');
    box = await until(ana, (b) => b.items[0]?.actorCount === 2);
    expect(box.items).toHaveLength(1);
    expect(box.count).toBe(1);
    expect(box.items[0]).toMatchObject({ text: 'Cy and 1 other replied in a thread you watch' });
    expect(box.items[0].actors.map((a) => a.id)).toEqual([cy.id, bob.id]);
    expect(box.items[0].subject).toMatchObject({ id: second });
    // The same writer again is not another person.
    await reply(t, cy, threadId, 'Cy once more');
    box = await until(ana, (b) => b.items[0]?.subject?.__typename === 'Post' && b.items[0].subject.body === 'Cy once more');
    expect(box.items[0].actorCount).toBe(2);
    // Writers are not told of their own replies; repliers only track.
    await settled();
    expect((await inbox(bob)).items).toEqual([]);

    // Read, a group closes: the next reply starts a new notification.
    const read = await t.query(MarkRead, { input: { ids: [box.items[0].id] } }, ana.token);
    expect(read.markNotificationsRead).toEqual({ __typename: 'MarkNotificationsReadPayload', markedCount: 1, unreadCount: 0 });
    await reply(t, bob, threadId, 'Bob again');
    box = await until(ana, (b) => b.items.length === 2);
    expect(box.count).toBe(1);
    expect(box.items[0]).toMatchObject({ actorCount: 1, readAt: null, text: 'Bob replied in a thread you watch' });
    expect(box.items[1].readAt).not.toBeNull();
  });

  it('follows the effective level: a space watched, a thread muted, a thread watched by choice', async () => {
    const [ana, bob, watcher] = [await member('Ana'), await member('Bob'), await member('Wendy')];
    const space = await createSpace(t, c.manager, `levels-${Date.now()}`);
    await t.query(SetSpaceLevel, { input: { spaceId: space, level: 'WATCHING' } }, watcher.token);
    const loud = await createThread(t, ana, space, 'Loud');
    const quiet = await createThread(t, ana, space, 'Quiet');
    await t.query(SetThreadLevel, { input: { threadId: quiet, level: 'MUTED' } }, watcher.token);
    await reply(t, bob, quiet, 'muted for Wendy');
    await reply(t, bob, loud, 'watched by Wendy');
    const box = await until(watcher, (b) => b.items.length >= 1);
    await settled();
    const items = (await inbox(watcher)).items;
    expect(items).toHaveLength(1);
    expect(items[0].subject).toMatchObject({ body: 'watched by Wendy' });
    expect(box.count).toBe(1);
    // The author muting their own thread hears nothing more of it.
    await t.query(SetThreadLevel, { input: { threadId: loud, level: 'MUTED' } }, ana.token);
    const before = (await inbox(ana)).items.length;
    await reply(t, bob, loud, 'after muting');
    await settled();
    expect((await inbox(ana)).items.length).toBe(before);
  });

  it('a thread watched by more members than one batch: each watcher gets exactly one notification', async () => {
    const author = await member('Author');
    const watchers = await Promise.all(Array.from({ length: 8 }, (_, i) => member(`W${i}`)));
    const threadId = await createThread(t, author, c.publicSpace, 'Popular');
    for (const w of watchers) await t.query(SetThreadLevel, { input: { threadId, level: 'WATCHING' } }, w.token);
    const writer = watchers[3];
    await reply(t, writer, threadId, 'to everyone');
    await settled();
    for (const w of watchers) {
      const box = await inbox(w);
      expect(box.items.map((i) => i.kind)).toEqual(w === writer ? [] : ['REPLIED']);
    }
    expect((await inbox(author)).items).toHaveLength(1);
  });

  it('is written once however often the log is read again', async () => {
    const [ana, bob] = [await member('Ana'), await member('Bob')];
    const threadId = await createThread(t, ana, c.publicSpace);
    const postId = await reply(t, bob, threadId);
    await t.query(AddReaction, { input: { subjectId: postId, content: 'HEART' } }, ana.token);
    await t.query(MarkAnswer, { input: { postId } }, ana.token);
    await until(bob, (b) => b.items.length === 2);
    await until(ana, (b) => b.items.length === 1);
    await settled();
    const before = await prisma().notification.count();
    // Back to the start of the log: a second run (or a second instance) writes nothing new.
    await prisma().$executeRaw`UPDATE "NotificationCursor" SET "activityId" = 0, "afterUserId" = 0`;
    await createThread(t, ana, c.publicSpace, 'wakes the fan-out');
    await settled();
    expect(await prisma().notification.count()).toBe(before);
    expect((await inbox(bob)).items).toHaveLength(2);
  });
});

describe('what concerns you', () => {
  it('REACTED groups per post; ANSWER_ACCEPTED tells the answer author', async () => {
    const [ana, bob, cy] = [await member('Ana'), await member('Bob'), await member('Cy')];
    const threadId = await createThread(t, ana, c.publicSpace);
    const postId = await reply(t, bob, threadId, 'the answer');
    await t.query(AddReaction, { input: { subjectId: postId, content: 'HEART' } }, ana.token);
    await t.query(AddReaction, { input: { subjectId: postId, content: 'ROCKET' } }, ana.token);
    await t.query(AddReaction, { input: { subjectId: postId, content: 'HEART' } }, cy.token);
    await t.query(AddReaction, { input: { subjectId: postId, content: 'HEART' } }, bob.token); // their own: no one is told
    await t.query(MarkAnswer, { input: { postId } }, ana.token);
    await until(bob, (b) => b.items.length === 2 && b.items.some((i) => i.kind === 'REACTED' && i.actorCount === 2));
    await settled();
    const box = await inbox(bob);
    expect(box.items.map((i) => i.kind)).toEqual(['ANSWER_ACCEPTED', 'REACTED']);
    expect(box.items[0]).toMatchObject({ text: 'Ana accepted your post as the answer', subject: { __typename: 'Post', id: postId } });
    expect(box.items[1]).toMatchObject({ text: 'Cy and 1 other reacted to your post', subject: { __typename: 'Post', id: postId } });
    expect(box.count).toBe(2);
    const only = await t.query(Inbox, { first: 10, filter: { kinds: ['REACTED'] } }, bob.token);
    expect(only.viewer!.notifications!.nodes.map((n) => n.kind)).toEqual(['REACTED']);
  });

  it('moderation: CONTENT_MODERATED with the public reason, REPORT_RESOLVED, APPEAL_DECIDED; no moderator is named', async () => {
    const [ana, bob] = [await member('Ana'), await member('Bob')];
    const threadId = await createThread(t, ana, c.publicSpace);
    const postId = await reply(t, bob, threadId, 'buy my stuff');
    const reported = await t.query(Report, { input: { subjectId: postId, reason: 'SPAM' } }, ana.token);
    expect(reported.reportContent.__typename).toBe('ReportPayload');
    const { moderationQueue } = await t.query(Queue, { first: 100 }, c.moderator.token);
    const item = moderationQueue.nodes.find((n) => n.subject?.id === postId)!;
    const removed = await t.query(Remove, { input: { subjectId: postId, reason: 'Advertising is not allowed' } }, c.moderator.token);
    if (removed.removeContent.__typename !== 'ModerationActionPayload') throw new Error(JSON.stringify(removed));
    await t.query(ResolveItem, { input: { itemId: item.id, resolution: 'ACTION_TAKEN' } }, c.moderator.token);
    const appeal = await t.query(Appeal, { input: { actionId: removed.removeContent.action.id, message: 'It was a joke' } }, bob.token);
    if (appeal.appealModerationAction.__typename !== 'AppealPayload') throw new Error(JSON.stringify(appeal));
    const decided = await t.query(ResolveAppeal, { input: { appealId: appeal.appealModerationAction.appeal.id, decision: 'UPHELD', reason: 'Still spam' } }, c.manager.token);
    expect(decided.resolveAppeal.__typename).toBe('AppealPayload');

    const bobs = await until(bob, (b) => b.items.some((i) => i.kind === 'APPEAL_DECIDED'));
    const moderated = bobs.items.find((i) => i.kind === 'CONTENT_MODERATED')!;
    expect(moderated).toMatchObject({ text: 'A moderator removed your post: Advertising is not allowed', actors: [], actorCount: 0 });
    expect(moderated.subject).toMatchObject({ __typename: 'ModerationAction', kind: 'REMOVE' });
    expect(bobs.items.find((i) => i.kind === 'APPEAL_DECIDED')).toMatchObject({ text: 'Your appeal was turned down: the decision stands', actors: [] });
    const anas = await until(ana, (b) => b.items.some((i) => i.kind === 'REPORT_RESOLVED'));
    expect(anas.items.find((i) => i.kind === 'REPORT_RESOLVED')).toMatchObject({ text: 'Moderators reviewed your report', actors: [], subject: { __typename: 'Report', status: 'ACTION_TAKEN' } });
    // Ana is told of no reply she cannot read any more (Bob's post is removed).
    expect(anas.items.some((i) => i.kind === 'REPLIED')).toBe(false);
  });

  it('CASE_UPDATED: public entries of your own case only, never internal notes', async () => {
    const [requester, agent] = [await member('Requester'), await createUser(t, 'Agent', 'AGENT', c.admin)];
    const department = await createDepartment(t, c.manager, { name: `Help ${Date.now()}` }, [{ actor: agent }]);
    const channelId = await createChannel(t, c.manager, { name: `Form ${Date.now()}`, defaultDepartmentId: department });
    const opened = await t.query(OpenCase, { input: { channelId, subject: 'Broken', body: 'It broke' } }, requester.token);
    if (opened.openCase.__typename !== 'SupportCasePayload') throw new Error(JSON.stringify(opened));
    const caseId = opened.openCase.supportCase!.id;
    await t.query(ReplyToCase, { input: { caseId, body: 'Internal: looks like user error', internal: true } }, agent.token);
    await settled();
    expect((await inbox(requester)).items).toEqual([]);
    await t.query(ReplyToCase, { input: { caseId, body: 'We are on it' } }, agent.token);
    // The reply (and the status change it makes) are news on one case: one notification while unread.
    const box = await until(requester, (b) => b.items.length === 1);
    await settled();
    expect((await inbox(requester)).items).toHaveLength(1);
    expect(box.items[0]).toMatchObject({ kind: 'CASE_UPDATED', text: 'There is news on your support case', subject: { __typename: 'SupportCase', id: caseId } });
    // The agent is not told of their own entries, nor the requester of their own reply.
    await t.query(ReplyToCase, { input: { caseId, body: 'Thanks' } }, requester.token);
    await settled();
    expect((await inbox(requester)).items).toHaveLength(1);
  });
});

describe('what the recipient can no longer read', () => {
  it('leaves out (and does not count) a reply removed, and brings it back restored', async () => {
    const [ana, bob] = [await member('Ana'), await member('Bob')];
    const threadId = await createThread(t, ana, c.publicSpace);
    const postId = await reply(t, bob, threadId, 'soon removed');
    await until(ana, (b) => b.count === 1);
    const removed = await t.query(Remove, { input: { subjectId: postId, reason: 'off topic' } }, c.moderator.token);
    expect(removed.removeContent.__typename).toBe('ModerationActionPayload');
    expect(await inbox(ana)).toEqual({ count: 0, items: [] });
    await t.query(Restore, { input: { subjectId: postId, reason: 'fine after all' } }, c.moderator.token);
    const back = await inbox(ana);
    expect(back.count).toBe(1);
    expect(back.items[0].subject).toMatchObject({ id: postId });
  });

  it('leaves out a thread whose space became closed to the recipient', async () => {
    const [ana, bob] = [await member('Ana'), await member('Bob')];
    const space = await createSpace(t, c.manager, `closing-${Date.now()}`);
    const threadId = await createThread(t, ana, space);
    await reply(t, bob, threadId);
    await until(ana, (b) => b.count === 1);
    await t.query(UpdateSpace, { input: { spaceId: space, visibility: 'STAFF' } }, c.manager.token);
    expect(await inbox(ana)).toEqual({ count: 0, items: [] });
    await t.query(UpdateSpace, { input: { spaceId: space, visibility: 'PUBLIC' } }, c.manager.token);
    expect((await inbox(ana)).count).toBe(1);
  });
});

describe('only the owner', () => {
  it('reads, counts and marks their own notifications, on every path', async () => {
    const [ana, bob] = [await member('Ana'), await member('Bob')];
    const threadId = await createThread(t, ana, c.publicSpace);
    await reply(t, bob, threadId);
    const box = await until(ana, (b) => b.items.length === 1);
    const id = box.items[0].id;
    // Another member (and an admin) see no inbox on Ana's User, and no notification of hers.
    for (const other of [bob, c.admin]) {
      const user = await t.query(UserInbox, { id: ana.id }, other.token);
      expect(user.node).toEqual({ id: ana.id, unreadNotificationCount: null, notifications: null });
      expect((await t.query(NotificationNode, { id }, other.token)).node).toBeNull();
    }
    expect((await t.query(NotificationNode, { id }, ana.token)).node).toEqual({ __typename: 'Notification', id, kind: 'REPLIED' });
    expect((await t.query(Inbox, { first: 5 }, null)).viewer).toBeNull();
    // Marking another's notification is NotFoundError, and marks nothing.
    const theirs = await t.query(MarkRead, { input: { ids: [id] } }, bob.token);
    expect(theirs.markNotificationsRead).toMatchObject({ __typename: 'NotFoundError' });
    expect((await inbox(ana)).count).toBe(1);
    const anonymous = await t.query(MarkRead, { input: { before: new Date().toISOString() } }, null);
    expect(anonymous.markNotificationsRead.__typename).toBe('UnauthenticatedError');
    // @oneOf: both, or neither, is refused before anything runs.
    // (Typed documents refuse it too: sent as a plain object.)
    const both = await t.request(MarkRead, { input: { ids: [id], before: new Date().toISOString() } as never }, ana.token);
    expect(both.errors?.[0].message).toMatch(/exactly one/i);
    const wrongId = await t.query(MarkRead, { input: { ids: [threadId] } }, ana.token);
    expect(wrongId.markNotificationsRead.__typename).toBe('ValidationError');
    const mine = await t.query(MarkRead, { input: { before: new Date(Date.now() + 1000).toISOString() } }, ana.token);
    expect(mine.markNotificationsRead).toEqual({ __typename: 'MarkNotificationsReadPayload', markedCount: 1, unreadCount: 0 });
    const unread = await t.query(Inbox, { first: 5, filter: { unread: true } }, ana.token);
    expect(unread.viewer!.notifications!.nodes).toEqual([]);
  });

  it('pages newest first with cursors', async () => {
    const [ana, bob] = [await member('Ana'), await member('Bob')];
    for (let i = 0; i < 3; i++) {
      const threadId = await createThread(t, ana, c.publicSpace, `T${i}`);
      await reply(t, bob, threadId, `R${i}`);
    }
    await until(ana, (b) => b.items.length === 3);
    const first = await t.query(Inbox, { first: 2 }, ana.token);
    const page1 = first.viewer!.notifications!;
    expect(page1.nodes.map((n) => (n.subject as { body: string }).body)).toEqual(['R2', 'R1']);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await t.query(Inbox, { first: 2, after: page1.pageInfo.endCursor }, ana.token);
    expect(second.viewer!.notifications!.nodes.map((n) => (n.subject as { body: string }).body)).toEqual(['R0']);
    expect(second.viewer!.notifications!.pageInfo.hasNextPage).toBe(false);
  });

  it('reads a page of notifications in a fixed number of statements, however many there are', async () => {
    const ana = await member('Ana');
    const repliers = await Promise.all(Array.from({ length: 4 }, (_, i) => member(`R${i}`)));
    const count = async () => {
      const statements: string[] = [];
      // The fan-out job's statements (a polling pass may run meanwhile) are not the read's.
      const stop = onQuery((sql) => /NotificationCursor|"Activity"|^(BEGIN|COMMIT|ROLLBACK)|Implicit/.test(sql) || statements.push(sql));
      try {
        await settled();
        await t.query(Inbox, { first: 50 }, ana.token);
      } finally {
        stop();
      }
      if (process.env.SHOW_SQL) console.log(statements.map((s) => s.slice(0, 150)).join('\n'));
      return statements.length;
    };
    const threadId = await createThread(t, ana, c.publicSpace);
    await reply(t, repliers[0], threadId);
    const postId = await reply(t, repliers[1], await createThread(t, ana, c.publicSpace));
    await until(ana, (b) => b.items.length === 2);
    const few = await count();
    for (let i = 0; i < 6; i++) {
      const other = await createThread(t, ana, c.publicSpace);
      await reply(t, repliers[i % 4], other);
      await t.query(AddReaction, { input: { subjectId: other, content: 'HEART' } }, repliers[(i + 1) % 4].token);
    }
    await t.query(AddReaction, { input: { subjectId: postId, content: 'HEART' } }, repliers[2].token);
    await until(ana, (b) => b.items.length === 14);
    expect(await count()).toBe(few + 1); // one more subject type (Thread), nothing per row
  });
});

describe('live: notificationAdded', () => {
  it('streams the owner\'s notifications with the unread count, to no one else, and ends on sign-out', async () => {
    const [ana, bob] = [await member('Ana'), await member('Bob')];
    const threadId = await createThread(t, ana, c.publicSpace);
    await settled();
    const anaClient = t.wsClient(ana.token);
    const bobClient = t.wsClient(bob.token);
    const anas = subscribe(anaClient, Added);
    const bobs = subscribe(bobClient, Added);
    await Promise.all([connected(anaClient), connected(bobClient)]);
    // Attached once a notification arrives: Bob replies until one does (grouped: still one).
    for (let i = 0; i < 40 && anas.received.length === 0; i++) {
      await reply(t, bob, threadId, 'first');
      await anas.next(1, 250).catch(() => undefined);
    }
    const first = anas.received[0];
    expect(first.data!.notificationAdded).toMatchObject({ unreadCount: 1, notification: { kind: 'REPLIED', actorCount: 1 } });
    const cy = await member('Cy');
    await reply(t, cy, threadId, 'second');
    const second = (await anas.next(anas.received.length + 1)).at(-1)!;
    expect(second.data!.notificationAdded).toMatchObject({ unreadCount: 1, notification: { id: first.data!.notificationAdded.notification.id, actorCount: 2 } });
    expect(bobs.received).toEqual([]);

    const stillBob = await t.query(SignOut, {}, bob.token);
    expect(stillBob.signOut.__typename).toBe('SignOutPayload');
    await expect(bobs.next(1)).rejects.toThrow(/revoked|sign in/i);
    anas.dispose();
  });

  it('refuses a signed-out subscriber and works over SSE', async () => {
    const anonymous = subscribe(t.wsClient(null), Added);
    const outcome = await anonymous.next(1).then(
      (results) => JSON.stringify(results[0].errors),
      (error: Error) => error.message,
    );
    expect(outcome).toMatch(/UNAUTHENTICATED.*|Sign in to receive/);

    const [ana, bob] = [await member('Ana'), await member('Bob')];
    const threadId = await createThread(t, ana, c.publicSpace);
    await settled();
    const controller = new AbortController();
    const response = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ana.token}` },
      body: JSON.stringify({ query: 'subscription { notificationAdded { unreadCount notification { kind } } }' }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let text = '';
    const deadline = Date.now() + 10_000;
    // Replies until the stream (attached at some point after the response started) carries one.
    while (!text.includes('notificationAdded') && Date.now() < deadline) {
      await reply(t, bob, threadId, 'over SSE');
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
      if (chunk && chunk.value) text += new TextDecoder().decode(chunk.value);
    }
    controller.abort();
    expect(text).toMatch(/"notificationAdded":\{"unreadCount":1,"notification":\{"kind":"REPLIED"\}\}/);
  });
});
