import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../src/db/client.js';
import { createCommunity, createSpace, createThread, createUser, reply, type Actor, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, subscribe, type TestApp } from './helpers.js';

const ReadState = graphql(`
  query ReadStateOfThread($id: ID!) {
    node(id: $id) {
      ... on Thread { id replyCount viewerUnreadCount viewerLastReadAt viewerLastReadPost { id body } }
    }
  }
`);
const MarkRead = graphql(`
  mutation ReadStateMarkRead($input: MarkThreadReadInput!) {
    markThreadRead(input: $input) {
      __typename
      ... on MarkThreadReadPayload { thread { id viewerUnreadCount viewerLastReadPost { id } } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const UnreadThreads = graphql(`
  query ReadStateUnreadThreads($spaceId: ID!, $unread: Boolean!, $first: Int!) {
    threads(spaceId: $spaceId, filter: { unread: $unread }, first: $first) {
      totalCount
      nodes { id title viewerUnreadCount }
    }
  }
`);
const ThreadPage = graphql(`
  query ReadStateThreadPage($spaceId: ID!, $first: Int!) {
    threads(spaceId: $spaceId, first: $first) {
      nodes { id title viewerUnreadCount viewerLastReadAt viewerLastReadPost { id body author { displayName } } }
    }
  }
`);
const Remove = graphql(`
  mutation ReadStateRemove($input: ContentActionInput!) { removeContent(input: $input) { __typename ... on Error { message } } }
`);
const CreateRule = graphql(`
  mutation ReadStateCreateRule($input: CreateAutomodRuleInput!) { createAutomodRule(input: $input) { __typename ... on Error { message } } }
`);

let t: TestApp;
let c: Community;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

async function readState(threadId: string, actor: Actor | null) {
  const { node } = await t.query(ReadState, { id: threadId }, actor?.token);
  if (!node || !('viewerUnreadCount' in node)) throw new Error(`thread ${threadId} not visible`);
  return node;
}

async function markRead(actor: Actor | null, threadId: string, upToPostId?: string) {
  return (await t.query(MarkRead, { input: { threadId, upToPostId } }, actor?.token)).markThreadRead;
}

describe('Thread.viewerUnreadCount and viewerLastReadPost', () => {
  it('count every published reply by others until the thread is marked read, then those after the mark', async () => {
    const thread = await createThread(t, c.alice, c.publicSpace, 'Counting');
    const first = await reply(t, c.bob, thread, 'one');
    await reply(t, c.alice, thread, 'mine');
    const third = await reply(t, c.bob, thread, 'three');

    // Never opened: everything by others is unread; the author's own reply is not.
    expect(await readState(thread, c.alice)).toMatchObject({ replyCount: 3, viewerUnreadCount: 2, viewerLastReadAt: null, viewerLastReadPost: null });
    expect(await readState(thread, null)).toMatchObject({ viewerUnreadCount: null, viewerLastReadAt: null, viewerLastReadPost: null });

    const marked = await markRead(c.alice, thread, first);
    expect(marked).toEqual({ __typename: 'MarkThreadReadPayload', thread: { id: thread, viewerUnreadCount: 1, viewerLastReadPost: { id: first } } });
    const state = await readState(thread, c.alice);
    expect(state.viewerLastReadPost).toEqual({ id: first, body: 'one' });
    expect(Date.parse(state.viewerLastReadAt!)).toBeGreaterThan(Date.now() - 60_000);

    await reply(t, c.bob, thread, 'four');
    expect((await readState(thread, c.alice)).viewerUnreadCount).toBe(2);

    // Omitted upToPostId: the latest reply the reader can see.
    const latest = await markRead(c.alice, thread);
    expect(latest.__typename === 'MarkThreadReadPayload' && latest.thread.viewerUnreadCount).toBe(0);

    // Only forward: an earlier mark keeps the later one.
    const back = await markRead(c.alice, thread, third);
    expect(back.__typename === 'MarkThreadReadPayload' && back.thread.viewerUnreadCount).toBe(0);
    expect((await readState(thread, c.alice)).viewerLastReadPost?.body).toBe('four');
  });

  it('a thread with no reply can be marked read: it is no longer new, and later replies are unread', async () => {
    const thread = await createThread(t, c.alice, c.publicSpace, 'Quiet');
    const marked = await markRead(c.bob, thread);
    expect(marked).toMatchObject({ __typename: 'MarkThreadReadPayload', thread: { viewerUnreadCount: 0, viewerLastReadPost: null } });
    expect((await readState(thread, c.bob)).viewerLastReadAt).not.toBeNull();
    await reply(t, c.alice, thread, 'news');
    expect((await readState(thread, c.bob)).viewerUnreadCount).toBe(1);
  });

  it('removed and held replies are not unread, for members and moderators alike', async () => {
    const thread = await createThread(t, c.alice, c.publicSpace, 'Moderated replies');
    await reply(t, c.bob, thread, 'kept');
    const removed = await reply(t, c.bob, thread, 'to be removed');
    const remove = await t.query(Remove, { input: { subjectId: removed, reason: 'spam' } }, c.moderator.token);
    expect(remove.removeContent.__typename).toBe('ModerationActionPayload');
    const rule = await t.query(CreateRule, { input: { name: 'Hold holdme', trigger: 'KEYWORD', action: 'HOLD', keywords: ['holdme'] } }, c.admin.token);
    expect(rule.createAutomodRule.__typename).toBe('AutomodRulePayload');
    const held = await reply(t, c.bob, thread, 'please holdme');

    expect((await readState(thread, c.alice)).viewerUnreadCount).toBe(1);
    expect((await readState(thread, c.moderator)).viewerUnreadCount).toBe(1);

    // A member cannot mark read up to a reply they may not see (no hint that it exists) ...
    expect(await markRead(c.alice, thread, held)).toMatchObject({ __typename: 'NotFoundError' });
    expect(await markRead(c.alice, thread, removed)).toMatchObject({ __typename: 'NotFoundError' });
    // ... a moderator can, and a mark on a reply removed later reads as no post for members.
    expect(await markRead(c.moderator, thread, removed)).toMatchObject({ __typename: 'MarkThreadReadPayload', thread: { viewerLastReadPost: { id: removed } } });
    await reply(t, c.bob, thread, 'after');
    expect((await readState(thread, c.moderator)).viewerUnreadCount).toBe(1);
    const later = await reply(t, c.alice, thread, 'will be removed');
    expect(await markRead(c.bob, thread, later)).toMatchObject({ __typename: 'MarkThreadReadPayload' });
    expect((await t.query(Remove, { input: { subjectId: later, reason: 'spam' } }, c.moderator.token)).removeContent.__typename).toBe('ModerationActionPayload');
    expect(await readState(thread, c.bob)).toMatchObject({ viewerLastReadPost: null, viewerUnreadCount: 0 });
  });

  it('markThreadRead refuses what is not the viewer\'s to mark, with exact error types', async () => {
    const thread = await createThread(t, c.alice, c.publicSpace, 'Errors');
    const other = await createThread(t, c.alice, c.publicSpace, 'Other');
    const otherReply = await reply(t, c.bob, other, 'elsewhere');
    const staffThread = await createThread(t, c.moderator, c.staffSpace, 'Staff only');

    expect(await markRead(null, thread)).toMatchObject({ __typename: 'UnauthenticatedError' });
    expect(await markRead(c.alice, staffThread)).toMatchObject({ __typename: 'NotFoundError' });
    const wrongThread = await markRead(c.alice, thread, otherReply);
    expect(wrongThread).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'upToPostId'] }] });
    expect(await markRead(c.alice, otherReply)).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'threadId'] }] });
    // Nothing was recorded by the refusals.
    expect((await readState(thread, c.alice)).viewerLastReadAt).toBeNull();
  });
});

describe('read state is the viewer\'s own, on HTTP and graphql-ws', () => {
  it('one member\'s marks are invisible to another, and a mark over graphql-ws changes only its sender\'s state', async () => {
    const thread = await createThread(t, c.alice, c.publicSpace, 'Private marks');
    const r1 = await reply(t, c.alice, thread, 'r1');
    await reply(t, c.alice, thread, 'r2');
    expect(await markRead(c.bob, thread, r1)).toMatchObject({ __typename: 'MarkThreadReadPayload' });

    // HTTP: Bob sees his mark, a third member sees none of it.
    const carol = await createUser(t, 'Carol');
    expect(await readState(thread, c.bob)).toMatchObject({ viewerUnreadCount: 1, viewerLastReadPost: { id: r1 } });
    expect(await readState(thread, carol)).toMatchObject({ viewerUnreadCount: 2, viewerLastReadPost: null, viewerLastReadAt: null });

    // graphql-ws: the same answers per socket's user; Carol's mark there leaves Bob's alone.
    const carolWs = subscribe(t.wsClient(carol.token), ReadState, { id: thread });
    const [carolView] = await carolWs.next(1);
    expect(carolView.data?.node).toMatchObject({ viewerUnreadCount: 2, viewerLastReadPost: null });
    const carolMark = subscribe(t.wsClient(carol.token), MarkRead, { input: { threadId: thread } });
    const [marked] = await carolMark.next(1);
    expect(marked.data?.markThreadRead).toMatchObject({ __typename: 'MarkThreadReadPayload', thread: { viewerUnreadCount: 0 } });
    const bobWs = subscribe(t.wsClient(c.bob.token), ReadState, { id: thread });
    const [bobView] = await bobWs.next(1);
    expect(bobView.data?.node).toMatchObject({ viewerUnreadCount: 1, viewerLastReadPost: { id: r1 } });
    const anonWs = subscribe(t.wsClient(null), ReadState, { id: thread });
    const [anonView] = await anonWs.next(1);
    expect(anonView.data?.node).toMatchObject({ viewerUnreadCount: null, viewerLastReadPost: null, viewerLastReadAt: null });
    const anonMark = subscribe(t.wsClient(null), MarkRead, { input: { threadId: thread } });
    expect((await anonMark.next(1))[0].data?.markThreadRead).toMatchObject({ __typename: 'UnauthenticatedError' });
  });
});

describe('threads(filter: {unread})', () => {
  it('lists the threads opened before that have replies by others since; never-opened threads are new, not unread', async () => {
    const space = await createSpace(t, c.manager, 'unread-filter');
    const caughtUp = await createThread(t, c.alice, space, 'Caught up');
    await reply(t, c.bob, caughtUp, 'seen');
    const behind = await createThread(t, c.alice, space, 'Behind');
    const seen = await reply(t, c.bob, behind, 'seen');
    const ownOnly = await createThread(t, c.alice, space, 'Own reply only');
    const neverOpened = await createThread(t, c.bob, space, 'Never opened');
    await reply(t, c.bob, neverOpened, 'unseen');

    await markRead(c.alice, caughtUp);
    await markRead(c.alice, behind, seen);
    await reply(t, c.bob, behind, 'new one');
    await reply(t, c.bob, behind, 'new two');
    await markRead(c.alice, ownOnly);
    await reply(t, c.alice, ownOnly, 'my own words');

    const unread = (await t.query(UnreadThreads, { spaceId: space, unread: true, first: 10 }, c.alice.token)).threads;
    expect(unread).toEqual({ totalCount: 1, nodes: [{ id: behind, title: 'Behind', viewerUnreadCount: 2 }] });
    const rest = (await t.query(UnreadThreads, { spaceId: space, unread: false, first: 10 }, c.alice.token)).threads;
    expect(rest.totalCount).toBe(3);
    expect(rest.nodes.map((n) => n.title).sort()).toEqual(['Caught up', 'Never opened', 'Own reply only']);
    expect(rest.nodes.find((n) => n.title === 'Never opened')?.viewerUnreadCount).toBe(1);

    // Another member's read state does not leak into the filter; signed out nothing is unread.
    expect((await t.query(UnreadThreads, { spaceId: space, unread: true, first: 10 }, c.bob.token)).threads.totalCount).toBe(0);
    expect((await t.query(UnreadThreads, { spaceId: space, unread: true, first: 10 }, null)).threads).toEqual({ totalCount: 0, nodes: [] });
    expect((await t.query(UnreadThreads, { spaceId: space, unread: false, first: 10 }, null)).threads.totalCount).toBe(4);

    // Reading to the end takes the thread off the list.
    await markRead(c.alice, behind);
    expect((await t.query(UnreadThreads, { spaceId: space, unread: true, first: 10 }, c.alice.token)).threads.totalCount).toBe(0);
  });
});

describe('a page of threads with read state', () => {
  it('costs the same bounded number of SQL statements for 5 threads as for 20', async () => {
    const space = await createSpace(t, c.manager, 'read-state-page');
    const reader = await createUser(t, 'Reader');
    for (let i = 0; i < 20; i++) {
      const thread = await createThread(t, c.alice, space, `Paged ${i}`);
      const r = await reply(t, c.bob, thread, `reply ${i}`);
      if (i % 2 === 0) {
        await markRead(reader, thread, r);
        await reply(t, c.bob, thread, `later ${i}`);
      }
    }
    async function page(first: number) {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const data = await t.query(ThreadPage, { spaceId: space, first }, reader.token);
        return { statements, nodes: data.threads.nodes };
      } finally {
        stop();
      }
    }
    const small = await page(5);
    const large = await page(20);
    expect(small.nodes).toHaveLength(5);
    expect(large.nodes).toHaveLength(20);
    const even = large.nodes.find((n) => n.title === 'Paged 0')!;
    expect(even).toMatchObject({ viewerUnreadCount: 1, viewerLastReadPost: { body: 'reply 0', author: { displayName: 'Bob' } } });
    expect(even.viewerLastReadAt).not.toBeNull();
    expect(large.nodes.find((n) => n.title === 'Paged 1')).toMatchObject({ viewerUnreadCount: 1, viewerLastReadPost: null, viewerLastReadAt: null });
    expect(large.statements.length).toBe(small.statements.length);
    // The session; threads joined with each one's read mark, its post and author; the read
    // states with their unread counts: three, whatever the page size.
    expect(large.statements.length).toBe(3);
  });
});
