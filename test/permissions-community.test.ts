import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, type Community, createCommunity, createThread, createUser, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';

// Permission probes of identity, community, search and activity, as a member, an anonymous
// visitor and a suspended member would try them through the public API.

const PermNode = graphql(`
  query PermNode($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Thread { title body moderation { status } author { id email suspendedUntil } answer { id body } revisions(first: 5) { totalCount nodes { title body } } }
      ... on Post { body author { id email suspendedUntil } thread { id title body } revisions(first: 5) { totalCount nodes { body } } }
      ... on Space { slug }
      ... on User { displayName role email suspendedUntil }
    }
  }
`);
const PermNodes = graphql(`query PermNodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`);
const PermSearch = graphql(`
  query PermSearch($query: String!) {
    search(query: $query, first: 20) {
      totalCount
      nodes { __typename ... on Thread { id title body } ... on Post { id body thread { id title body } } }
    }
  }
`);
const PermThreads = graphql(`
  query PermThreads($spaceId: ID) { threads(spaceId: $spaceId, first: 50) { totalCount nodes { id title } } }
`);
const PermLog = graphql(`
  query PermLog($filter: ActivityFilter) {
    activityLog(last: 100, filter: $filter) { nodes { kind actor { id email } space { id } thread { id } subject { __typename id } } }
  }
`);
const PermActivity = graphql(`
  subscription PermActivity($filter: ActivityFilter) {
    activity(filter: $filter) {
      kind
      actor { id email suspendedUntil }
      thread { id title body }
      subject { __typename id ... on Thread { title body } ... on Post { body thread { id } } }
    }
  }
`);
const PermEditThread = graphql(`
  mutation PermEditThread($input: EditThreadInput!) {
    editThread(input: $input) { __typename ... on ThreadPayload { thread { title } } ... on Error { message } }
  }
`);
const PermEditPost = graphql(`
  mutation PermEditPost($input: EditPostInput!) {
    editPost(input: $input) { __typename ... on PostPayload { post { body } } ... on Error { message } }
  }
`);
const PermMarkAnswer = graphql(`
  mutation PermMarkAnswer($input: MarkAsAnswerInput!) {
    markAsAnswer(input: $input) { __typename ... on Error { message } }
  }
`);
const PermReply = graphql(`
  mutation PermReply($input: ReplyToThreadInput!) {
    replyToThread(input: $input) { __typename ... on PostPayload { post { id } } ... on Error { message } }
  }
`);
const PermAddReaction = graphql(`
  mutation PermAddReaction($input: ReactionInput!) {
    addReaction(input: $input) { __typename ... on Error { message } }
  }
`);
const PermRemoveReaction = graphql(`
  mutation PermRemoveReaction($input: ReactionInput!) {
    removeReaction(input: $input) {
      __typename
      ... on ReactionPayload { subject { reactionGroups { content count viewerHasReacted } } }
      ... on Error { message }
    }
  }
`);
const PermSetRole = graphql(`
  mutation PermSetRole($input: SetUserRoleInput!) {
    setUserRole(input: $input) { __typename ... on Error { message } }
  }
`);
const PermUpdateSpace = graphql(`
  mutation PermUpdateSpace($input: UpdateSpaceInput!) {
    updateSpace(input: $input) { __typename ... on Error { message } }
  }
`);
const PermHide = graphql(`
  mutation PermHide($input: HideContentInput!) { hideContent(input: $input) { __typename ... on Error { message } } }
`);
const PermRemove = graphql(`
  mutation PermRemove($input: ContentActionInput!) { removeContent(input: $input) { __typename ... on Error { message } } }
`);
const PermSuspend = graphql(`
  mutation PermSuspend($input: SuspendUserInput!) { suspendUser(input: $input) { __typename ... on Error { message } } }
`);

let t: TestApp;
let c: Community;
let admin: Actor;
let moderator: Actor;
let alice: Actor;
let bob: Actor;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
  ({ admin, moderator, alice, bob } = c);
});
afterAll(async () => {
  await t?.stop();
});

const node = async (id: string, token?: string) => {
  const result = await t.request(PermNode, { id }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.node;
};
const nodesOf = async (ids: string[], token?: string) => (await t.query(PermNodes, { ids }, token)).nodes;
const search = async (query: string, token?: string) => (await t.query(PermSearch, { query }, token)).search;
const log = async (filter: Record<string, unknown>, token?: string) => (await t.query(PermLog, { filter }, token)).activityLog.nodes;
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
/** A global id of `typename` with a database id nothing has yet. */
const missing = (typename: string) => Buffer.from(`${typename}:999999`).toString('base64');

describe('user fields of other people, on every path', () => {
  it('shows an email only to its owner and admins, and a suspension only to its user and moderators', async () => {
    const sam = await createUser(t, 'Sam');
    const thread = await createThread(t, sam, c.publicSpace, 'Sam asks', 'samword');
    const post = await reply(t, sam, thread, 'Sam answers himself');
    const until = inAnHour();
    expect((await t.query(PermSuspend, { input: { userId: sam.id, until, reason: 'cooling off' } }, moderator.token)).suspendUser.__typename).toBe('ModerationActionPayload');

    for (const token of [undefined, alice.token, c.agent.token]) {
      expect(await node(sam.id, token)).toEqual({ __typename: 'User', id: sam.id, displayName: 'Sam', role: 'MEMBER', email: null, suspendedUntil: null });
      expect((await node(thread, token))).toMatchObject({ author: { id: sam.id, email: null, suspendedUntil: null } });
      expect((await node(post, token))).toMatchObject({ author: { id: sam.id, email: null, suspendedUntil: null } });
      const created = (await log({ threadId: thread, kinds: ['THREAD_CREATED'] }, token))[0];
      expect(created.actor).toEqual({ id: sam.id, email: null });
    }
    expect(await node(sam.id, moderator.token)).toMatchObject({ email: null, suspendedUntil: until });
    expect(await node(sam.id, admin.token)).toMatchObject({ email: expect.stringMatching(/^sam-[0-9a-f]{8}@example\.com$/), suspendedUntil: until });
    expect(await node(sam.id, sam.token)).toMatchObject({ email: expect.stringMatching(/^sam-/), suspendedUntil: until });

    // Suspended: reads as before, every write refused with the end of the suspension, no live activity.
    const refused = { __typename: 'ForbiddenError', message: `Your account is suspended until ${until}` };
    expect(await node(thread, sam.token)).toMatchObject({ title: 'Sam asks' });
    expect((await t.query(PermReply, { input: { threadId: thread, body: 'more' } }, sam.token)).replyToThread).toEqual(refused);
    expect((await t.query(PermEditPost, { input: { postId: post, body: 'edited' } }, sam.token)).editPost).toEqual(refused);
    expect((await t.query(PermAddReaction, { input: { subjectId: thread, content: 'EYES' } }, sam.token)).addReaction).toEqual(refused);
    expect((await t.query(PermRemoveReaction, { input: { subjectId: thread, content: 'EYES' } }, sam.token)).removeReaction).toEqual(refused);
    expect((await t.query(PermMarkAnswer, { input: { postId: post } }, sam.token)).markAsAnswer).toEqual(refused);
    const feed = subscribe(t.wsClient(sam.token), PermActivity, {});
    expect((await feed.next(1))[0].errors).toEqual([expect.objectContaining({
      message: `Your account is suspended until ${until}; live activity is paused`, extensions: { code: 'FORBIDDEN' },
    })]);
  });
});

describe('content in a space you cannot see, on every path', () => {
  it('is null, empty or NotFound (as for an id that does not exist) for members and anonymous visitors', async () => {
    const staffThread = await createThread(t, c.agent, c.staffSpace, 'Staff plan', 'staffword quarterly');
    const staffPost = await reply(t, moderator, staffThread, 'staffword reply');
    const membersThread = await createThread(t, alice, c.membersSpace, 'Members chat', 'memberword');
    const membersPost = await reply(t, bob, membersThread, 'memberword reply');

    const viewers: [string | undefined, string[]][] = [
      [undefined, [staffThread, staffPost, c.staffSpace, membersThread, membersPost, c.membersSpace]],
      [alice.token, [staffThread, staffPost, c.staffSpace]],
    ];
    for (const [token, hidden] of viewers) {
      for (const id of hidden) expect(await node(id, token)).toBeNull();
      expect(await nodesOf(hidden, token)).toEqual(hidden.map(() => null));
      expect(await search(token ? 'staffword' : 'staffword or memberword', token)).toEqual({ totalCount: 0, nodes: [] });
      expect((await t.query(PermThreads, { spaceId: c.staffSpace }, token)).threads).toEqual({ totalCount: 0, nodes: [] });
      expect(await log({ spaceIds: [c.staffSpace] }, token)).toEqual([]);
      expect(await log({ threadId: staffThread }, token)).toEqual([]);
    }
    // Staff see it all, on the same paths.
    expect(await nodesOf([staffThread, staffPost], c.agent.token)).toEqual([
      { __typename: 'Thread', id: staffThread },
      { __typename: 'Post', id: staffPost },
    ]);
    expect((await search('staffword', c.agent.token)).totalCount).toBe(2);

    // Every write names an invisible thread or post exactly as one that does not exist.
    const notFound = (typename: string, id: string) => ({ __typename: 'NotFoundError', message: `${typename} ${Buffer.from(id, 'base64').toString().split(':')[1]} was not found` });
    for (const [thread, post] of [[staffThread, staffPost], [missing('Thread'), missing('Post')]]) {
      expect((await t.query(PermReply, { input: { threadId: thread, body: 'x' } }, alice.token)).replyToThread).toEqual(notFound('Thread', thread));
      expect((await t.query(PermEditThread, { input: { threadId: thread, title: 'x' } }, alice.token)).editThread).toEqual(notFound('Thread', thread));
      expect((await t.query(PermEditPost, { input: { postId: post, body: 'x' } }, alice.token)).editPost).toEqual(notFound('Post', post));
      expect((await t.query(PermMarkAnswer, { input: { postId: post } }, alice.token)).markAsAnswer).toEqual(notFound('Post', post));
      expect((await t.query(PermAddReaction, { input: { subjectId: thread, content: 'EYES' } }, alice.token)).addReaction).toEqual(notFound('Thread', thread));
      expect((await t.query(PermRemoveReaction, { input: { subjectId: post, content: 'EYES' } }, alice.token)).removeReaction).toEqual(notFound('Post', post));
    }
    // A member is refused space management before the space is looked up: no existence check.
    for (const spaceId of [c.staffSpace, missing('Space')]) {
      expect((await t.query(PermUpdateSpace, { input: { spaceId, name: 'mine' } }, alice.token)).updateSpace).toEqual({
        __typename: 'ForbiddenError', message: 'Only a COMMUNITY_MANAGER or ADMIN can manage spaces',
      });
    }
  });
});

describe('hidden and removed content, through nested paths', () => {
  it('collapses hidden words everywhere (revisions, a post\'s thread, search) and drops removed content', async () => {
    const hidden = await createThread(t, bob, c.publicSpace, 'Original hushword title', 'hushword body');
    expect((await t.query(PermEditThread, { input: { threadId: hidden, title: 'Edited hushword title' } }, bob.token)).editThread.__typename).toBe('ThreadPayload');
    const replyInHidden = await reply(t, alice, hidden, 'a visible reply');
    expect((await t.query(PermHide, { input: { subjectId: hidden, classifier: 'OFF_TOPIC', reason: 'off topic' } }, moderator.token)).hideContent.__typename).toBe('ModerationActionPayload');

    for (const token of [undefined, alice.token]) {
      expect(await node(hidden, token)).toMatchObject({
        title: '', body: '', moderation: { status: 'HIDDEN' },
        revisions: { totalCount: 1, nodes: [{ title: '', body: '' }] },
      });
      expect(await node(replyInHidden, token)).toMatchObject({ body: 'a visible reply', thread: { id: hidden, title: '', body: '' } });
      expect(await search('hushword', token)).toEqual({ totalCount: 0, nodes: [] });
    }
    expect(await search('hushword', bob.token)).toEqual({ totalCount: 1, nodes: [{ __typename: 'Thread', id: hidden, title: 'Edited hushword title', body: 'hushword body' }] });
    expect(await node(hidden, moderator.token)).toMatchObject({ revisions: { nodes: [{ title: 'Original hushword title', body: 'hushword body' }] } });

    // A removed answer and a removed thread: gone for everyone but their authors and moderators.
    const question = await createThread(t, alice, c.publicSpace, 'Question', 'ask');
    const answer = await reply(t, bob, question, 'zapword answer');
    expect((await t.query(PermMarkAnswer, { input: { postId: answer } }, alice.token)).markAsAnswer.__typename).toBe('ThreadPayload');
    const removed = await createThread(t, bob, c.publicSpace, 'Gone', 'zapword gone');
    const aliceInRemoved = await reply(t, alice, removed, 'my zapword words');
    for (const subjectId of [answer, removed]) {
      expect((await t.query(PermRemove, { input: { subjectId, reason: 'rule 3' } }, moderator.token)).removeContent.__typename).toBe('ModerationActionPayload');
    }
    expect(await node(question, alice.token)).toMatchObject({ answer: null });
    expect(await node(question, bob.token)).toMatchObject({ answer: { id: answer, body: 'zapword answer' } });
    // Alice's own reply goes with the thread she cannot see any more.
    expect(await nodesOf([removed, aliceInRemoved, answer], alice.token)).toEqual([null, null, null]);
    expect(await search('zapword', alice.token)).toEqual({ totalCount: 0, nodes: [] });
    expect(await search('zapword')).toEqual({ totalCount: 0, nodes: [] });
    // The author of the removed thread still reads it, Alice's reply in it included.
    for (const token of [bob.token, moderator.token]) {
      expect(await nodesOf([removed, aliceInRemoved, answer], token)).toEqual([
        { __typename: 'Thread', id: removed },
        { __typename: 'Post', id: aliceInRemoved },
        { __typename: 'Post', id: answer },
      ]);
      expect((await search('zapword', token)).totalCount).toBe(3);
    }
    expect((await t.query(PermReply, { input: { threadId: removed, body: 'x' } }, alice.token)).replyToThread).toMatchObject({ __typename: 'NotFoundError' });
  });
});

describe("writes on other people's things", () => {
  it('refuses editing, choosing answers and role changes, removes only your own reaction, and rejects ids of another type', async () => {
    const thread = await createThread(t, bob, c.publicSpace, "Bob's", 'body');
    const post = await reply(t, bob, thread, "Bob's reply");
    expect((await t.query(PermEditThread, { input: { threadId: thread, title: 'mine now' } }, alice.token)).editThread).toEqual({
      __typename: 'ForbiddenError', message: 'Only the author or a moderator can edit this thread',
    });
    expect((await t.query(PermEditPost, { input: { postId: post, body: 'mine now' } }, alice.token)).editPost).toEqual({
      __typename: 'ForbiddenError', message: 'Only the author or a moderator can edit this post',
    });
    expect((await t.query(PermMarkAnswer, { input: { postId: post } }, alice.token)).markAsAnswer).toEqual({
      __typename: 'ForbiddenError', message: 'Only the author or a moderator can choose the answer of this thread',
    });
    expect((await t.query(PermSetRole, { input: { userId: alice.id, role: 'ADMIN' } }, alice.token)).setUserRole).toEqual({
      __typename: 'ForbiddenError', message: 'Only an ADMIN can change roles',
    });
    expect((await t.query(PermSetRole, { input: { userId: alice.id, role: 'ADMIN' } })).setUserRole).toEqual({
      __typename: 'UnauthenticatedError', message: 'Sign in to do this',
    });

    expect((await t.query(PermAddReaction, { input: { subjectId: post, content: 'HEART' } }, bob.token)).addReaction.__typename).toBe('ReactionPayload');
    const removal = (await t.query(PermRemoveReaction, { input: { subjectId: post, content: 'HEART' } }, alice.token)).removeReaction;
    expect(removal).toMatchObject({ subject: { reactionGroups: expect.arrayContaining([{ content: 'HEART', count: 1, viewerHasReacted: false }]) } });

    const wrongType = (path: string, typenames: string) => ({ __typename: 'ValidationError', message: `${path}: must be the id of a ${typenames}` });
    expect((await t.query(PermEditThread, { input: { threadId: post, title: 'x' } }, bob.token)).editThread).toEqual(wrongType('input.threadId', 'Thread'));
    expect((await t.query(PermEditPost, { input: { postId: thread, body: 'x' } }, bob.token)).editPost).toEqual(wrongType('input.postId', 'Post'));
    expect((await t.query(PermMarkAnswer, { input: { postId: thread } }, bob.token)).markAsAnswer).toEqual(wrongType('input.postId', 'Post'));
    expect((await t.query(PermRemoveReaction, { input: { subjectId: bob.id, content: 'HEART' } }, bob.token)).removeReaction).toEqual(wrongType('input.subjectId', 'Thread or Post'));
    expect((await t.query(PermSetRole, { input: { userId: thread, role: 'MEMBER' } }, admin.token)).setUserRole).toEqual(wrongType('input.userId', 'User'));
  });
});

type Feed = ReturnType<typeof subscribe<ResultOf<typeof PermActivity>, unknown>>;

/** Subscribes `token` to PermActivity in the public space and waits until it is live. */
async function liveActivity(token: string): Promise<Feed> {
  const feed = subscribe(t.wsClient(token), PermActivity, { filter: { spaceIds: [c.publicSpace] } });
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await createThread(t, alice, c.publicSpace, 'probe');
    await sleep(100);
    if (feed.received.some((e) => e.data?.activity.subject?.id === probe)) return feed;
  }
  throw new Error('the subscription never went live');
}

/** The event of `kind` about `subjectId` the feed receives (waits for it), as delivered. */
async function eventOf(feed: Feed, kind: string, subjectId: string, occurrence = 1) {
  for (let i = 0; i < 100; i++) {
    const found = feed.received.filter((e) => e.data?.activity.kind === kind && e.data.activity.subject?.id === subjectId);
    if (found.length >= occurrence) return found[occurrence - 1].data!.activity;
    await sleep(50);
  }
  throw new Error(`no ${kind} about ${subjectId}: ${JSON.stringify(feed.received.slice(-5))}`);
}

describe('a live subscription after a role change', () => {
  it('resolves each event with the rights the viewer has then: a demoted admin reads no emails, a demoted moderator no hidden words', async () => {
    const formerAdmin = await createUser(t, 'Former admin', 'ADMIN', admin);
    const formerModerator = await createUser(t, 'Former moderator', 'MODERATOR', admin);
    const hushed = await createThread(t, bob, c.publicSpace, 'Hushed title', 'hushed body');
    expect((await t.query(PermHide, { input: { subjectId: hushed, classifier: 'SPAM', reason: 'spam' } }, moderator.token)).hideContent.__typename).toBe('ModerationActionPayload');
    const adminFeed = await liveActivity(formerAdmin.token);
    const moderatorFeed = await liveActivity(formerModerator.token);

    // While they hold their roles: the email, the hidden words.
    const before = await createThread(t, bob, c.publicSpace, 'Before');
    await t.query(PermAddReaction, { input: { subjectId: hushed, content: 'EYES' } }, alice.token);
    expect((await eventOf(adminFeed, 'THREAD_CREATED', before)).actor).toEqual({ id: bob.id, email: expect.stringMatching(/^bob-/), suspendedUntil: null });
    expect(await eventOf(moderatorFeed, 'REACTION_ADDED', hushed)).toMatchObject({
      subject: { title: 'Hushed title', body: 'hushed body' }, thread: { title: 'Hushed title', body: 'hushed body' },
    });

    for (const demoted of [formerAdmin, formerModerator]) {
      expect((await t.query(PermSetRole, { input: { userId: demoted.id, role: 'MEMBER' } }, admin.token)).setUserRole.__typename).toBe('SetUserRolePayload');
    }
    const after = await createThread(t, bob, c.publicSpace, 'After');
    await t.query(PermAddReaction, { input: { subjectId: hushed, content: 'HEART' } }, alice.token);
    expect((await eventOf(adminFeed, 'THREAD_CREATED', after)).actor).toEqual({ id: bob.id, email: null, suspendedUntil: null });
    expect(await eventOf(moderatorFeed, 'REACTION_ADDED', hushed, 2)).toMatchObject({
      subject: { title: '', body: '' }, thread: { title: '', body: '' },
    });
  });
});

describe('activity about removed content', () => {
  it('goes to moderators only when its author keeps writing in it: the space does not hear of it', async () => {
    const removedThread = await createThread(t, bob, c.publicSpace, 'Removed thread', 'body');
    const open = await createThread(t, alice, c.publicSpace, 'Open thread', 'body');
    const removedPost = await reply(t, bob, open, 'Removed reply');
    for (const subjectId of [removedThread, removedPost]) {
      expect((await t.query(PermRemove, { input: { subjectId, reason: 'rule 3' } }, moderator.token)).removeContent.__typename).toBe('ModerationActionPayload');
    }
    const memberFeed = await liveActivity(alice.token);
    const moderatorFeed = await liveActivity(moderator.token);

    // Bob still reads his removed content, and writes in it.
    const post = await reply(t, bob, removedThread, 'still talking');
    for (const subjectId of [removedThread, post, removedPost]) {
      expect((await t.query(PermAddReaction, { input: { subjectId, content: 'EYES' } }, bob.token)).addReaction.__typename).toBe('ReactionPayload');
      expect((await t.query(PermRemoveReaction, { input: { subjectId, content: 'EYES' } }, bob.token)).removeReaction.__typename).toBe('ReactionPayload');
    }
    expect((await t.query(PermMarkAnswer, { input: { postId: post } }, bob.token)).markAsAnswer.__typename).toBe('ThreadPayload');
    const fence = await createThread(t, bob, c.publicSpace, 'Fence');

    // What the moderator heard from Bob's reply on, and what Alice heard of it all: only the fence.
    await eventOf(moderatorFeed, 'THREAD_CREATED', fence);
    const start = moderatorFeed.received.findIndex((e) => e.data?.activity.kind === 'POST_CREATED' && e.data.activity.subject?.id === post);
    expect(moderatorFeed.received.slice(start).map((e) => `${e.data?.activity.kind}:${e.data?.activity.subject?.id}`)).toEqual([
      `POST_CREATED:${post}`,
      ...[removedThread, post, removedPost].flatMap((id) => [`REACTION_ADDED:${id}`, `REACTION_REMOVED:${id}`]),
      `THREAD_ANSWERED:${removedThread}`,
      `THREAD_CREATED:${fence}`,
    ]);
    await eventOf(memberFeed, 'THREAD_CREATED', fence);
    const kinds = memberFeed.received.map((e) => e.data?.activity.kind);
    expect(kinds.filter((kind) => kind !== 'THREAD_CREATED')).toEqual([]);
    // Nor does the log.
    expect(await log({ threadId: open, kinds: ['REACTION_ADDED', 'REACTION_REMOVED'] }, alice.token)).toEqual([]);
    expect(await log({ threadId: open, kinds: ['REACTION_ADDED', 'REACTION_REMOVED'] }, moderator.token)).toHaveLength(2);
  });
});

describe('who acted in a moderation action', () => {
  it('is for moderators only in activity, as on ModerationAction.moderator', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'To be hidden');
    expect((await t.query(PermHide, { input: { subjectId: thread, classifier: 'SPAM', reason: 'spam' } }, moderator.token)).hideContent.__typename).toBe('ModerationActionPayload');
    for (const token of [undefined, alice.token, bob.token, c.agent.token]) {
      expect((await log({ threadId: thread, kinds: ['MODERATION_ACTION'] }, token)).map((e) => e.actor)).toEqual([null]);
    }
    for (const token of [moderator.token, admin.token]) {
      expect((await log({ threadId: thread, kinds: ['MODERATION_ACTION'] }, token)).map((e) => e.actor?.id)).toEqual([moderator.id]);
    }
    // The member acted on hears of it on their own stream, without the moderator's name.
    const aboutBob = await log({ kinds: ['USER_MODERATED'] }, bob.token);
    expect(aboutBob.length).toBeGreaterThan(0);
    expect(aboutBob.map((e) => e.actor)).toEqual(aboutBob.map(() => null));
    expect((await log({ kinds: ['USER_MODERATED'] }, admin.token)).map((e) => e.actor?.id)).toContain(moderator.id);
  });
});

describe('ids that cannot name anything', () => {
  it('are invalid ids, not internal errors, in node, nodes and mutations', async () => {
    const encode = (raw: string) => Buffer.from(raw).toString('base64');
    for (const raw of ['Thread:abc', 'Post:99999999999', 'User:2147483648', 'Space:-1', 'Thread:0']) {
      const id = encode(raw);
      expect(await t.request(PermNode, { id }, alice.token)).toEqual({
        data: { node: null },
        errors: [expect.objectContaining({ message: `Invalid global ID: ${id}`, path: ['node'] })],
      });
      expect((await t.request(PermNodes, { ids: [id] }, alice.token)).errors).toEqual([expect.objectContaining({ message: `Invalid global ID: ${id}` })]);
    }
    expect((await t.query(PermEditThread, { input: { threadId: encode('Thread:99999999999'), title: 'x' } }, alice.token)).editThread).toEqual({
      __typename: 'ValidationError', message: 'input.threadId: must be the id of a Thread',
    });
    expect((await t.query(PermAddReaction, { input: { subjectId: encode('Post:2147483648'), content: 'EYES' } }, alice.token)).addReaction).toEqual({
      __typename: 'ValidationError', message: 'input.subjectId: must be the id of a Thread or Post',
    });
    // The largest id a row can have is an ordinary miss.
    expect(await node(encode('Thread:2147483647'), alice.token)).toBeNull();
  });
});
