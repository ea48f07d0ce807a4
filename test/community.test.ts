import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createCommunity, createSpace, createThread, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';

const CreateSpace = graphql(`
  mutation CreateSpace($input: CreateSpaceInput!) {
    createSpace(input: $input) {
      __typename
      ... on SpacePayload { space { id slug name description visibility } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const UpdateSpace = graphql(`
  mutation UpdateSpace($input: UpdateSpaceInput!) {
    updateSpace(input: $input) {
      __typename
      ... on SpacePayload { space { id slug name description } }
      ... on Error { message }
    }
  }
`);
const Spaces = graphql(`
  query Spaces($first: Int, $after: String) {
    spaces(first: $first, after: $after) { totalCount edges { node { slug } } pageInfo { hasNextPage endCursor } }
  }
`);
const SpaceBySlug = graphql(`query SpaceBySlug($slug: String!) { space(slug: $slug) { id name } }`);
const CreateThread = graphql(`
  mutation CreateThread($input: CreateThreadInput!) {
    createThread(input: $input) {
      __typename
      ... on ThreadPayload {
        thread { id title body status replyCount isAnswered answer { id } author { id } space { id } viewerCanEdit }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const EditThread = graphql(`
  mutation EditThread($input: EditThreadInput!) {
    editThread(input: $input) {
      __typename
      ... on ThreadPayload { thread { id title body revisions(first: 10) { totalCount nodes { title body editor { id } } } } }
      ... on Error { message }
    }
  }
`);
const Reply = graphql(`
  mutation Reply($input: ReplyToThreadInput!) {
    replyToThread(input: $input) {
      __typename
      ... on PostPayload { post { id body author { id } thread { id replyCount } isAnswer } }
      ... on Error { message }
    }
  }
`);
const EditPost = graphql(`
  mutation EditPost($input: EditPostInput!) {
    editPost(input: $input) {
      __typename
      ... on PostPayload { post { id body revisions(first: 5) { nodes { body } } } }
      ... on Error { message }
    }
  }
`);
const MarkAsAnswer = graphql(`
  mutation MarkAsAnswer($input: MarkAsAnswerInput!) {
    markAsAnswer(input: $input) {
      __typename
      ... on ThreadPayload { thread { id isAnswered answer { id isAnswer } } }
      ... on Error { message }
    }
  }
`);
const AddReaction = graphql(`
  mutation AddReaction($input: ReactionInput!) {
    addReaction(input: $input) {
      __typename
      ... on ReactionPayload { subject { __typename reactionGroups { content count viewerHasReacted } ... on Node { id } } }
      ... on Error { message }
    }
  }
`);
const RemoveReaction = graphql(`
  mutation RemoveReaction($input: ReactionInput!) {
    removeReaction(input: $input) {
      __typename
      ... on ReactionPayload { subject { reactionGroups { content count viewerHasReacted } } }
      ... on Error { message }
    }
  }
`);
const ThreadPosts = graphql(`
  query ThreadPosts($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    node(id: $id) {
      ... on Thread {
        replyCount
        posts(first: $first, after: $after, last: $last, before: $before) {
          totalCount
          edges { cursor node { body } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        }
      }
    }
  }
`);
const Threads = graphql(`
  query Threads($spaceId: ID, $first: Int, $after: String, $filter: ThreadFilter, $orderBy: ThreadOrder) {
    threads(spaceId: $spaceId, first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      nodes { id title isAnswered }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const SpaceCount = graphql(`query SpaceCount($first: Int) { spaces(first: $first) { totalCount } }`);
const RevisionCount = graphql(`
  query RevisionCount($id: ID!, $first: Int) { node(id: $id) { ... on Thread { ...RevisionTotal } } }
  fragment RevisionTotal on Thread { revisions(first: $first) { totalCount } }
`);
const Node = graphql(`query Node($id: ID!) { node(id: $id) { __typename id } }`);
const Nodes = graphql(`query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`);

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
  ({ admin, manager, moderator, agent, alice, bob, publicSpace, membersSpace, staffSpace } = await createCommunity(t));
});
afterAll(async () => {
  await t?.stop();
});

describe('spaces', () => {
  it('lets managers create spaces, with validation and unique slugs', async () => {
    const created = await t.query(
      CreateSpace,
      { input: { name: ' Product help ', slug: 'product-help', description: 'Ask anything' } },
      manager.token,
    );
    expect(created.createSpace).toMatchObject({
      __typename: 'SpacePayload',
      space: { slug: 'product-help', name: 'Product help', description: 'Ask anything', visibility: 'PUBLIC' },
    });
    const duplicate = await t.query(CreateSpace, { input: { name: 'Again', slug: 'product-help' } }, admin.token);
    expect(duplicate.createSpace).toEqual({ __typename: 'ConflictError', message: 'The slug "product-help" is already taken' });
    const invalid = await t.query(CreateSpace, { input: { name: '', slug: 'Bad Slug!' } }, admin.token);
    expect(invalid.createSpace).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'name'], message: 'must not be empty' },
        { path: ['input', 'slug'], message: 'must be lower-case letters, digits and single hyphens, e.g. "product-help"' },
      ],
    });
  });

  it('refuses space management to members, moderators and agents', async () => {
    for (const actor of [alice, moderator, agent]) {
      const { createSpace } = await t.query(CreateSpace, { input: { name: 'X', slug: 'nope' } }, actor.token);
      expect(createSpace).toEqual({ __typename: 'ForbiddenError', message: 'Only a COMMUNITY_MANAGER or ADMIN can manage spaces' });
    }
    const { updateSpace } = await t.query(UpdateSpace, { input: { spaceId: publicSpace, name: 'Hijacked' } }, alice.token);
    expect(updateSpace.__typename).toBe('ForbiddenError');
    expect((await t.query(SpaceBySlug, { slug: 'general' })).space?.name).toBe('general');
    expect((await t.query(CreateSpace, { input: { name: 'X', slug: 'nope' } })).createSpace.__typename).toBe('UnauthenticatedError');
  });

  it('updates only the given fields', async () => {
    const spaceId = await createSpace(t, manager, 'to-describe');
    const { updateSpace } = await t.query(UpdateSpace, { input: { spaceId, description: 'Everything else' } }, manager.token);
    expect(updateSpace).toMatchObject({ space: { slug: 'to-describe', name: 'to-describe', description: 'Everything else' } });
    const missing = await t.query(UpdateSpace, { input: { spaceId: 'U3BhY2U6OTk5OTk=', name: 'Ghost' } }, manager.token);
    expect(missing.updateSpace).toEqual({ __typename: 'NotFoundError', message: 'Space 99999 was not found' });
  });

  it('lists only the spaces each viewer may see', async () => {
    await createSpace(t, manager, 'open-help');
    // Other tests of this file add public spaces of their own: look at the four this one knows.
    const known = ['general', 'members-lounge', 'open-help', 'staff-room'];
    const slugs = async (token?: string) =>
      (await t.query(Spaces, { first: 50 }, token)).spaces.edges.map((e) => e.node.slug).filter((slug) => known.includes(slug)).sort();
    expect(await slugs()).toEqual(['general', 'open-help']);
    expect(await slugs(alice.token)).toEqual(['general', 'members-lounge', 'open-help']);
    expect(await slugs(agent.token)).toEqual(['general', 'members-lounge', 'open-help', 'staff-room']);
    expect((await t.query(SpaceBySlug, { slug: 'staff-room' }, alice.token)).space).toBeNull();
  });
});

describe('threads and posts', () => {
  // Alice's question, as the first test creates it; every other test asks its own.
  const question = () => createThread(t, alice, publicSpace, 'How do I export data?', 'I need a CSV.');

  it('creates a thread in a visible space and rejects bad input without writing', async () => {
    const { createThread } = await t.query(
      CreateThread,
      { input: { spaceId: publicSpace, title: '  How do I export data?  ', body: 'I need a CSV.' } },
      alice.token,
    );
    expect(createThread).toEqual({
      __typename: 'ThreadPayload',
      thread: {
        id: expect.any(String),
        title: 'How do I export data?',
        body: 'I need a CSV.',
        status: 'OPEN',
        replyCount: 0,
        isAnswered: false,
        answer: null,
        author: { id: alice.id },
        space: { id: publicSpace },
        viewerCanEdit: true,
      },
    });
    if (createThread.__typename !== 'ThreadPayload') return;
    const threadId = createThread.thread.id;

    const before = (await t.query(Threads, { spaceId: publicSpace, first: 100 })).threads.totalCount;
    const bad = await t.query(CreateThread, { input: { spaceId: publicSpace, title: 'x'.repeat(201), body: '   ' } }, alice.token);
    expect(bad.createThread).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'title'], message: 'must be at most 200 characters' },
        { path: ['input', 'body'], message: 'must not be empty' },
      ],
    });
    const wrongType = await t.query(CreateThread, { input: { spaceId: threadId, title: 'T', body: 'B' } }, alice.token);
    expect(wrongType.createThread).toMatchObject({ __typename: 'ValidationError', message: 'input.spaceId: must be the id of a Space' });
    const anonymous = await t.query(CreateThread, { input: { spaceId: publicSpace, title: 'T', body: 'B' } });
    expect(anonymous.createThread.__typename).toBe('UnauthenticatedError');
    expect((await t.query(Threads, { spaceId: publicSpace, first: 100 })).threads.totalCount).toBe(before);
  });

  it('hides a staff space from members: creating a thread there is NotFound', async () => {
    const { createThread } = await t.query(CreateThread, { input: { spaceId: staffSpace, title: 'T', body: 'B' } }, alice.token);
    expect(createThread.__typename).toBe('NotFoundError');
    const ok = await t.query(CreateThread, { input: { spaceId: staffSpace, title: 'Shift plan', body: 'B' } }, agent.token);
    expect(ok.createThread.__typename).toBe('ThreadPayload');
  });

  it('lets the author and moderators edit, keeping the history; others are forbidden', async () => {
    const threadId = await question();
    const denied = await t.query(EditThread, { input: { threadId, title: 'Mine now' } }, bob.token);
    expect(denied.editThread).toEqual({ __typename: 'ForbiddenError', message: 'Only the author or a moderator can edit this thread' });
    const agentDenied = await t.query(EditThread, { input: { threadId, title: 'Mine now' } }, agent.token);
    expect(agentDenied.editThread.__typename).toBe('ForbiddenError');
    const empty = await t.query(EditThread, { input: { threadId } }, alice.token);
    expect(empty.editThread).toMatchObject({ __typename: 'ValidationError', message: 'input: give a new title or body' });

    await t.query(EditThread, { input: { threadId, title: 'How do I export my data?' } }, alice.token);
    const { editThread } = await t.query(EditThread, { input: { threadId, body: 'I need a CSV file.' } }, moderator.token);
    expect(editThread).toEqual({
      __typename: 'ThreadPayload',
      thread: {
        id: threadId,
        title: 'How do I export my data?',
        body: 'I need a CSV file.',
        revisions: {
          totalCount: 2,
          nodes: [
            { title: 'How do I export my data?', body: 'I need a CSV.', editor: { id: moderator.id } },
            { title: 'How do I export data?', body: 'I need a CSV.', editor: { id: alice.id } },
          ],
        },
      },
    });
  });

  it('replies, counts replies, and pages posts forwards and backwards', async () => {
    const threadId = await question();
    const first = await t.query(Reply, { input: { threadId, body: 'Settings, then Export.' } }, bob.token);
    expect(first.replyToThread).toMatchObject({
      __typename: 'PostPayload',
      post: { body: 'Settings, then Export.', author: { id: bob.id }, thread: { id: threadId, replyCount: 1 }, isAnswer: false },
    });
    for (let i = 2; i <= 5; i++) await reply(t, alice, threadId, `reply ${i}`);

    const page1 = await t.query(ThreadPosts, { id: threadId, first: 2 });
    if (!page1.node || !('posts' in page1.node)) throw new Error('no thread');
    expect(page1.node.replyCount).toBe(5);
    expect(page1.node.posts.totalCount).toBe(5);
    expect(page1.node.posts.edges.map((e) => e.node.body)).toEqual(['Settings, then Export.', 'reply 2']);
    expect(page1.node.posts.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

    const page2 = await t.query(ThreadPosts, { id: threadId, first: 2, after: page1.node.posts.pageInfo.endCursor });
    if (!page2.node || !('posts' in page2.node)) throw new Error('no thread');
    expect(page2.node.posts.edges.map((e) => e.node.body)).toEqual(['reply 3', 'reply 4']);

    const last = await t.query(ThreadPosts, { id: threadId, last: 2 });
    if (!last.node || !('posts' in last.node)) throw new Error('no thread');
    expect(last.node.posts.edges.map((e) => e.node.body)).toEqual(['reply 4', 'reply 5']);
    expect(last.node.posts.pageInfo.hasPreviousPage).toBe(true);
  });

  it('requires a page size of at most 100 on every connection', async () => {
    const threadId = await question();
    const missing = await t.request(ThreadPosts, { id: threadId });
    expect(missing.errors?.[0]).toMatchObject({
      message: 'Pass `first` (or `last`) to say how many items you want, at most 100',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const tooMany = await t.request(Threads, { first: 101 });
    expect(tooMany.errors?.[0]?.message).toBe('`first` must be between 0 and 100, got 101');
    // Also when no row is fetched (only totalCount), and inside fragments: checked before anything runs.
    expect(await t.request(SpaceCount, { first: 101 })).toEqual({
      errors: [{ message: '`first` must be between 0 and 100, got 101', locations: [{ line: 2, column: 3 }], extensions: { code: 'BAD_USER_INPUT' } }],
    });
    expect((await t.request(SpaceCount, {})).errors?.[0]).toMatchObject({ message: 'Pass `first` (or `last`) to say how many items you want, at most 100' });
    expect((await t.request(RevisionCount, { id: threadId, first: -1 })).errors?.[0]).toMatchObject({
      message: '`first` must be between 0 and 100, got -1',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect((await t.request(SpaceCount, { first: 0 })).data?.spaces.totalCount).toBeGreaterThan(0);
  });

  it('edits posts by author or moderator only', async () => {
    const threadId = await question();
    const postId = await reply(t, bob, threadId, 'Typo hre');
    const denied = await t.query(EditPost, { input: { postId, body: 'vandalised' } }, alice.token);
    expect(denied.editPost.__typename).toBe('ForbiddenError');
    const { editPost } = await t.query(EditPost, { input: { postId, body: 'Typo here' } }, bob.token);
    expect(editPost).toEqual({ __typename: 'PostPayload', post: { id: postId, body: 'Typo here', revisions: { nodes: [{ body: 'Typo hre' }] } } });
  });

  it("marks an answer by the thread's author or a moderator", async () => {
    const threadId = await question();
    const postId = await reply(t, bob, threadId, 'Use the export API.');
    const denied = await t.query(MarkAsAnswer, { input: { postId } }, bob.token);
    expect(denied.markAsAnswer).toEqual({ __typename: 'ForbiddenError', message: 'Only the author or a moderator can choose the answer of this thread' });
    const { markAsAnswer } = await t.query(MarkAsAnswer, { input: { postId } }, alice.token);
    expect(markAsAnswer).toEqual({ __typename: 'ThreadPayload', thread: { id: threadId, isAnswered: true, answer: { id: postId, isAnswer: true } } });
  });

  it('filters and orders thread lists', async () => {
    const spaceId = await createSpace(t, manager, 'ordering');
    const ids: string[] = [];
    for (const title of ['one', 'two', 'three']) ids.push(await createThread(t, bob, spaceId, title));
    const answerId = await reply(t, alice, ids[0]); // bumps "one" to most recently active
    const byActivity = await t.query(Threads, { spaceId, first: 10 });
    expect(byActivity.threads.nodes.map((n) => n.title)).toEqual(['one', 'three', 'two']);
    const byCreation = await t.query(Threads, { spaceId, first: 10, orderBy: { field: 'CREATED_AT', direction: 'ASC' } });
    expect(byCreation.threads.nodes.map((n) => n.title)).toEqual(['one', 'two', 'three']);
    const page = await t.query(Threads, { spaceId, first: 2, orderBy: { field: 'CREATED_AT', direction: 'ASC' } });
    const rest = await t.query(Threads, { spaceId, first: 2, after: page.threads.pageInfo.endCursor, orderBy: { field: 'CREATED_AT', direction: 'ASC' } });
    expect(rest.threads.nodes.map((n) => n.title)).toEqual(['three']);
    expect(rest.threads.pageInfo.hasNextPage).toBe(false);

    expect((await t.query(MarkAsAnswer, { input: { postId: answerId } }, bob.token)).markAsAnswer.__typename).toBe('ThreadPayload');
    const answered = await t.query(Threads, { spaceId, first: 10, filter: { answered: true } });
    expect(answered.threads.nodes.map((n) => n.id)).toEqual([ids[0]]);
    const byAuthor = await t.query(Threads, { spaceId, first: 10, filter: { authorId: alice.id } });
    expect(byAuthor.threads.totalCount).toBe(0);
    expect((await t.query(Threads, { spaceId, first: 10, filter: { authorId: bob.id } })).threads.totalCount).toBe(3);
  });
});

describe('reactions', () => {
  it('adds idempotently, counts per content, and removes', async () => {
    const threadId = await createThread(t, alice, publicSpace, 'React to me');
    const add = (actor: Actor, content: 'HEART' | 'ROCKET') =>
      t.query(AddReaction, { input: { subjectId: threadId, content } }, actor.token);
    await add(alice, 'HEART');
    await add(alice, 'HEART');
    const { addReaction } = await add(bob, 'HEART');
    if (addReaction.__typename !== 'ReactionPayload') throw new Error(JSON.stringify(addReaction));
    expect(addReaction.subject).toMatchObject({ __typename: 'Thread', id: threadId });
    const groups = addReaction.subject.reactionGroups;
    expect(groups.map((g) => g.content)).toEqual(['THUMBS_UP', 'THUMBS_DOWN', 'LAUGH', 'HOORAY', 'CONFUSED', 'HEART', 'ROCKET', 'EYES']);
    expect(groups.find((g) => g.content === 'HEART')).toEqual({ content: 'HEART', count: 2, viewerHasReacted: true });
    expect(groups.filter((g) => g.count > 0)).toHaveLength(1);

    const { removeReaction } = await t.query(RemoveReaction, { input: { subjectId: threadId, content: 'HEART' } }, alice.token);
    if (removeReaction.__typename !== 'ReactionPayload') throw new Error(JSON.stringify(removeReaction));
    expect(removeReaction.subject.reactionGroups.find((g) => g.content === 'HEART')).toEqual({ content: 'HEART', count: 1, viewerHasReacted: false });
  });

  it('reacts to posts, needs sign-in, and rejects ids of other types', async () => {
    const threadId = await createThread(t, alice, publicSpace, 'Posts too');
    const postId = await reply(t, bob, threadId);
    const { addReaction } = await t.query(AddReaction, { input: { subjectId: postId, content: 'ROCKET' } }, alice.token);
    expect(addReaction).toMatchObject({ __typename: 'ReactionPayload', subject: { __typename: 'Post', id: postId } });
    const anon = await t.query(AddReaction, { input: { subjectId: postId, content: 'ROCKET' } });
    expect(anon.addReaction.__typename).toBe('UnauthenticatedError');
    const wrong = await t.query(AddReaction, { input: { subjectId: publicSpace, content: 'ROCKET' } }, alice.token);
    expect(wrong.addReaction).toMatchObject({ __typename: 'ValidationError', message: 'input.subjectId: must be the id of a Thread or Post' });
  });
});

describe('visibility through node and nodes', () => {
  it('returns nothing a viewer may not see', async () => {
    const staffThread = await createThread(t, agent, staffSpace, 'Staff only');
    const staffPost = await reply(t, moderator, staffThread, 'internal');
    const membersThread = await createThread(t, alice, membersSpace, 'Members only');

    for (const id of [staffThread, staffPost, staffSpace]) {
      expect((await t.query(Node, { id }, alice.token)).node).toBeNull();
      expect((await t.query(Node, { id })).node).toBeNull();
      expect((await t.query(Node, { id }, agent.token)).node?.id).toBe(id);
    }
    expect((await t.query(Node, { id: membersThread })).node).toBeNull();
    expect((await t.query(Node, { id: membersThread }, bob.token)).node).toEqual({ __typename: 'Thread', id: membersThread });

    const { nodes } = await t.query(Nodes, { ids: [membersThread, staffThread, publicSpace] }, bob.token);
    expect(nodes).toEqual([{ __typename: 'Thread', id: membersThread }, null, { __typename: 'Space', id: publicSpace }]);

    const sneaky = await t.query(Reply, { input: { threadId: staffThread, body: 'sneaky' } }, alice.token);
    expect(sneaky.replyToThread).toEqual({ __typename: 'NotFoundError', message: expect.stringMatching(/^Thread \d+ was not found$/) });
    const react = await t.query(AddReaction, { input: { subjectId: staffPost, content: 'EYES' } }, alice.token);
    expect(react.addReaction.__typename).toBe('NotFoundError');
    const listed = await t.query(Threads, { spaceId: staffSpace, first: 10 }, alice.token);
    expect(listed.threads).toMatchObject({ totalCount: 0, nodes: [] });
  });
});
