import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.js';
import { type Actor, type Community, createCommunity, createSpace, createThread, createUser, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { CreateAutomodRuleInput } from './gql/graphql.js';
import { startTestApp, type TestApp } from './helpers.js';
import { fenced, kindsAfter, liveFeed } from './moderation-helpers.js';

const CreateRule = graphql(`
  mutation AutoCreateRule($input: CreateAutomodRuleInput!) {
    createAutomodRule(input: $input) {
      __typename
      ... on AutomodRulePayload {
        rule { id name enabled trigger action keywords pattern minAccountAgeDays minPosts maxMentions maxPosts windowMinutes exemptRoles exemptSpaceIds }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const UpdateRule = graphql(`
  mutation AutoUpdateRule($input: UpdateAutomodRuleInput!) {
    updateAutomodRule(input: $input) {
      __typename
      ... on AutomodRulePayload { rule { id name enabled trigger action keywords } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const DeleteRule = graphql(`
  mutation AutoDeleteRule($input: DeleteAutomodRuleInput!) {
    deleteAutomodRule(input: $input) { __typename ... on DeleteAutomodRulePayload { deletedRuleId } ... on Error { message } }
  }
`);
const Rules = graphql(`
  query AutoRules {
    automodRules(first: 20) {
      totalCount
      nodes { name hits(first: 10) { totalCount nodes { ruleName action matched user { id } subject { __typename id } } } }
    }
  }
`);
const Create = graphql(`
  mutation AutoCreateThread($input: CreateThreadInput!) {
    createThread(input: $input) {
      __typename
      ... on ThreadPayload { thread { id title moderation { status } } }
      ... on AutomodBlockedError { message ruleName }
      ... on Error { message }
    }
  }
`);
const Edit = graphql(`
  mutation AutoEditThread($input: EditThreadInput!) {
    editThread(input: $input) {
      __typename
      ... on ThreadPayload { thread { id title moderation { status } } }
      ... on AutomodBlockedError { message ruleName }
      ... on Error { message }
    }
  }
`);
const Reply = graphql(`
  mutation AutoReply($input: ReplyToThreadInput!) {
    replyToThread(input: $input) {
      __typename
      ... on PostPayload { post { id body moderation { status } } }
      ... on AutomodBlockedError { message ruleName }
      ... on Error { message }
    }
  }
`);
const EditPost = graphql(`
  mutation AutoEditPost($input: EditPostInput!) {
    editPost(input: $input) {
      __typename
      ... on PostPayload { post { id body moderation { status } } }
      ... on AutomodBlockedError { message ruleName }
      ... on Error { message }
    }
  }
`);
const ThreadPosts = graphql(`
  query AutoThreadPosts($id: ID!) {
    node(id: $id) { ... on Thread { replyCount moderation { status } posts(first: 20) { nodes { id moderation { status } } } } }
  }
`);
const Queue = graphql(`
  query AutoQueue {
    moderationQueue(first: 100) { nodes { id status reportCount subject { __typename id } automodRule { name } } }
  }
`);
const ResolveItem = graphql(`
  mutation AutoResolve($input: ResolveQueueItemInput!) {
    resolveQueueItem(input: $input) { __typename ... on QueueItemPayload { item { status } } ... on Error { message } }
  }
`);
const Restore = graphql(`
  mutation AutoRestore($input: ContentActionInput!) {
    restoreContent(input: $input) { __typename ... on ModerationActionPayload { action { kind reason } } ... on Error { message } }
  }
`);
const ThreadActivity = graphql(`
  query AutoThreadActivity($id: ID!) { node(id: $id) { ... on Thread { lastActivityAt replyCount } } }
`);
const SpaceByActivity = graphql(`
  query AutoSpaceByActivity($spaceId: ID!, $orderBy: ThreadOrder) {
    threads(spaceId: $spaceId, first: 10, orderBy: $orderBy) { nodes { id lastActivityAt } }
  }
`);
const ApprovalLog = graphql(`
  query AutoApprovalLog($subjectId: ID!) { moderationLog(first: 5, filter: { subjectId: $subjectId }) { nodes { kind createdAt } } }
`);
const PostCreatedAt = graphql(`
  query AutoPostCreatedAt($id: ID!) { node(id: $id) { ... on Post { createdAt } } }
`);
const RuleEvents = graphql(`
  query AutoRuleEvents { activityLog(last: 3, filter: { kinds: [AUTOMOD_RULES_CHANGED] }) { nodes { kind actor { id } subject { __typename id } } } }
`);
const ThreadList = graphql(`
  query AutoThreadList($spaceId: ID!) { threads(spaceId: $spaceId, first: 100) { nodes { id } } }
`);

let t: TestApp;
let c: Community;
let admin: Actor, manager: Actor, moderator: Actor, agent: Actor, alice: Actor, bob: Actor;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
  ({ admin, manager, moderator, agent, alice, bob } = c);
});
afterAll(async () => {
  await t?.stop();
});
// Rules apply to every write: each test starts with none.
afterEach(async () => {
  await prisma().automodRule.deleteMany();
});

async function rule(input: CreateAutomodRuleInput, actor: Actor = manager) {
  const { createAutomodRule } = await t.query(CreateRule, { input }, actor.token);
  if (createAutomodRule.__typename !== 'AutomodRulePayload') throw new Error(JSON.stringify(createAutomodRule));
  return createAutomodRule.rule;
}
const post = (actor: Actor, title: string, body = 'Body', spaceId = c.publicSpace) =>
  t.query(Create, { input: { spaceId, title, body } }, actor.token).then((r) => r.createThread);
const threadCount = async () => prisma().thread.count();
const hitsOf = async (name: string) => (await t.query(Rules, {}, moderator.token)).automodRules.nodes.find((n) => n.name === name)!.hits;

describe('automod rules', () => {
  it('are managed by community managers and admins only, and read by moderators', async () => {
    const input = { name: 'No spam words', trigger: 'KEYWORD' as const, action: 'FLAG' as const, keywords: ['spam'] };
    for (const actor of [alice, moderator, agent]) {
      expect((await t.query(CreateRule, { input }, actor.token)).createAutomodRule).toEqual({
        __typename: 'ForbiddenError', message: 'Only a COMMUNITY_MANAGER or ADMIN can manage automod rules',
      });
    }
    expect((await t.query(CreateRule, { input })).createAutomodRule.__typename).toBe('UnauthenticatedError');
    const created = await rule(input, manager);
    expect(created).toEqual({
      id: expect.any(String), name: 'No spam words', enabled: true, trigger: 'KEYWORD', action: 'FLAG', keywords: ['spam'],
      pattern: null, minAccountAgeDays: null, minPosts: null, maxMentions: null, maxPosts: null, windowMinutes: null, exemptRoles: [], exemptSpaceIds: [],
    });
    expect((await t.query(CreateRule, { input }, admin.token)).createAutomodRule).toEqual({
      __typename: 'ConflictError', message: 'An automod rule named "No spam words" already exists',
    });
    for (const actor of [alice, moderator, agent]) {
      expect((await t.query(UpdateRule, { input: { ruleId: created.id, enabled: false } }, actor.token)).updateAutomodRule.__typename).toBe('ForbiddenError');
      expect((await t.query(DeleteRule, { input: { ruleId: created.id } }, actor.token)).deleteAutomodRule.__typename).toBe('ForbiddenError');
    }
    expect((await t.query(UpdateRule, { input: { ruleId: created.id, keywords: ['Ofertón', 'gratis YA'] } }, admin.token)).updateAutomodRule).toEqual({
      __typename: 'AutomodRulePayload',
      rule: { id: created.id, name: 'No spam words', enabled: true, trigger: 'KEYWORD', action: 'FLAG', keywords: ['oferton', 'gratis ya'] },
    });
    expect((await t.query(Rules, {}, moderator.token)).automodRules.totalCount).toBe(1);
    expect((await t.request(Rules, {}, alice.token)).errors?.[0].message).toBe('Only a MODERATOR, COMMUNITY_MANAGER or ADMIN can moderate');
    expect((await t.query(DeleteRule, { input: { ruleId: created.id } }, manager.token)).deleteAutomodRule).toEqual({ __typename: 'DeleteAutomodRulePayload', deletedRuleId: created.id });
    expect((await t.query(DeleteRule, { input: { ruleId: created.id } }, manager.token)).deleteAutomodRule.__typename).toBe('NotFoundError');
  });

  it('records every change of a rule in the activity log, streamed to moderators and managers only', async () => {
    const [mod, managerFeed, member, supportAgent] = await fenced(t, [
      await liveFeed(t, moderator.token, admin, c.publicSpace),
      await liveFeed(t, manager.token, admin, c.publicSpace),
      await liveFeed(t, bob.token, admin, c.publicSpace),
      await liveFeed(t, agent.token, admin, c.publicSpace),
    ], admin, c.publicSpace);
    const created = await rule({ name: 'Recorded', trigger: 'KEYWORD', action: 'FLAG', keywords: ['recorded'] });
    // Wait for each event before the next change, so its rule is still there to resolve.
    await mod.feed.next(mod.skip + 1);
    expect((await t.query(UpdateRule, { input: { ruleId: created.id, action: 'HOLD' } }, admin.token)).updateAutomodRule.__typename).toBe('AutomodRulePayload');
    await mod.feed.next(mod.skip + 2);
    // Refused or failed changes write nothing.
    expect((await t.query(UpdateRule, { input: { ruleId: created.id, enabled: false } }, moderator.token)).updateAutomodRule.__typename).toBe('ForbiddenError');
    expect((await t.query(CreateRule, { input: { name: 'Recorded', trigger: 'KEYWORD', action: 'FLAG', keywords: ['x'] } }, manager.token)).createAutomodRule.__typename).toBe('ConflictError');
    expect((await t.query(UpdateRule, { input: { ruleId: created.id, trigger: 'RATE' } }, manager.token)).updateAutomodRule.__typename).toBe('ValidationError');
    expect((await t.query(DeleteRule, { input: { ruleId: created.id } }, manager.token)).deleteAutomodRule.__typename).toBe('DeleteAutomodRulePayload');
    const fence = await createThread(t, admin, c.publicSpace, 'Fence');

    const changed = (actor: Actor, subject: { __typename: string; id: string } | null) => ({
      id: expect.any(String), kind: 'AUTOMOD_RULES_CHANGED', actor: { id: actor.id }, space: null, subject,
    });
    const expected = [
      changed(manager, { __typename: 'AutomodRule', id: created.id }),
      changed(admin, { __typename: 'AutomodRule', id: created.id }),
      // Deleted: the event stays, its subject is gone.
      changed(manager, null),
    ];
    for (const { feed, skip } of [mod, managerFeed]) {
      const received = await feed.next(skip + 4);
      expect(received.slice(skip, skip + 3).map((e) => e.data?.activity)).toEqual(expected);
      expect(kindsAfter(feed, skip)).toEqual(['AUTOMOD_RULES_CHANGED:AutomodRule', 'AUTOMOD_RULES_CHANGED:AutomodRule', 'AUTOMOD_RULES_CHANGED:null', 'THREAD_CREATED:Thread']);
    }
    for (const { feed, skip } of [member, supportAgent]) {
      await feed.next(skip + 1);
      expect(kindsAfter(feed, skip)).toEqual(['THREAD_CREATED:Thread']);
      expect(feed.received[skip].data?.activity.subject?.id).toBe(fence);
    }
    // Reading the log follows the same rule.
    const events = async (token: string) => (await t.query(RuleEvents, {}, token)).activityLog.nodes;
    expect(await events(moderator.token)).toEqual([
      { kind: 'AUTOMOD_RULES_CHANGED', actor: { id: manager.id }, subject: null },
      { kind: 'AUTOMOD_RULES_CHANGED', actor: { id: admin.id }, subject: null },
      { kind: 'AUTOMOD_RULES_CHANGED', actor: { id: manager.id }, subject: null },
    ]);
    expect(await events(bob.token)).toEqual([]);
    expect(await events(agent.token)).toEqual([]);
    for (const s of [mod, managerFeed, member, supportAgent]) s.feed.dispose();
  });

  it('validates each trigger, and patterns before they are saved', async () => {
    const invalid = async (input: CreateAutomodRuleInput) => (await t.query(CreateRule, { input: { name: 'x', action: 'BLOCK', ...input } }, manager.token)).createAutomodRule;
    expect(await invalid({ trigger: 'KEYWORD', keywords: ['  ', '!!'] })).toMatchObject({ fieldErrors: [{ path: ['input', 'keywords'], message: 'is required for a KEYWORD rule' }] });
    expect(await invalid({ trigger: 'PATTERN' })).toMatchObject({ fieldErrors: [{ path: ['input', 'pattern'], message: 'is required for a PATTERN rule' }] });
    expect(await invalid({ trigger: 'PATTERN', pattern: '(unclosed' })).toEqual({
      __typename: 'ValidationError',
      message: 'input.pattern: is not a valid regular expression: error parsing regexp: missing closing ): `(unclosed`',
      fieldErrors: [{ path: ['input', 'pattern'], message: 'is not a valid regular expression: error parsing regexp: missing closing ): `(unclosed`' }],
    });
    // Backreferences and lookaround need backtracking: RE2 refuses them.
    expect(await invalid({ trigger: 'PATTERN', pattern: '(a)\\1' })).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'pattern'] }] });
    expect(await invalid({ trigger: 'PATTERN', pattern: '(?=a)' })).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'pattern'] }] });
    expect(await invalid({ trigger: 'PATTERN', pattern: 'a'.repeat(501) })).toMatchObject({ fieldErrors: [{ path: ['input', 'pattern'], message: 'must be 1 to 500 characters' }] });
    expect(await invalid({ trigger: 'LINK' })).toMatchObject({ fieldErrors: [{ path: ['input', 'minAccountAgeDays'], message: 'give minAccountAgeDays, minPosts or belowTrustLevel (or several) for a LINK rule' }] });
    expect(await invalid({ trigger: 'MENTION_SPAM' })).toMatchObject({ fieldErrors: [{ path: ['input', 'maxMentions'], message: 'is required for a MENTION_SPAM rule' }] });
    expect(await invalid({ trigger: 'RATE', maxPosts: 3 })).toMatchObject({ fieldErrors: [{ path: ['input', 'windowMinutes'], message: 'is required for a RATE rule' }] });
    expect(await invalid({ trigger: 'RATE', maxPosts: -1, windowMinutes: 0 })).toMatchObject({
      fieldErrors: [{ path: ['input', 'maxPosts'], message: 'must be 0 or more' }, { path: ['input', 'windowMinutes'], message: 'must be at least 1' }],
    });
    // Another trigger's settings are refused, not silently dropped.
    expect(await invalid({ trigger: 'KEYWORD', keywords: ['spam'], pattern: 'spam.*', maxPosts: 3 })).toEqual({
      __typename: 'ValidationError',
      message: 'input.pattern: is a PATTERN setting, not used by a KEYWORD rule; input.maxPosts: is a RATE setting, not used by a KEYWORD rule',
      fieldErrors: [
        { path: ['input', 'pattern'], message: 'is a PATTERN setting, not used by a KEYWORD rule' },
        { path: ['input', 'maxPosts'], message: 'is a RATE setting, not used by a KEYWORD rule' },
      ],
    });
    expect(await prisma().automodRule.count()).toBe(0);
  });

  it("changes a rule's trigger, dropping the old trigger's settings; refuses an update that sets another trigger's", async () => {
    const created = await rule({ name: 'Shouting', trigger: 'KEYWORD', action: 'HOLD', keywords: ['urgent'] });
    const update = async (input: Record<string, unknown>) => (await t.query(UpdateRule, { input: { ruleId: created.id, ...input } }, manager.token)).updateAutomodRule;
    expect(await update({ pattern: '!!!+' })).toEqual({
      __typename: 'ValidationError',
      message: 'input.pattern: is a PATTERN setting, not used by a KEYWORD rule',
      fieldErrors: [{ path: ['input', 'pattern'], message: 'is a PATTERN setting, not used by a KEYWORD rule' }],
    });
    expect(await update({ trigger: 'PATTERN', pattern: '!!!+' })).toEqual({
      __typename: 'AutomodRulePayload',
      rule: { id: created.id, name: 'Shouting', enabled: true, trigger: 'PATTERN', action: 'HOLD', keywords: [] },
    });
    expect(await prisma().automodRule.findUniqueOrThrow({ where: { name: 'Shouting' }, select: { pattern: true, keywords: true } })).toEqual({ pattern: '!!!+', keywords: [] });
  });
});

describe('triggers and actions', () => {
  it('KEYWORD + BLOCK: whole words, any case or accents; the write fails naming the rule, nothing is written, the hit is kept', async () => {
    await rule({ name: 'Free coffee', trigger: 'KEYWORD', action: 'BLOCK', keywords: ['Café gratis'] });
    const before = await threadCount();
    expect(await post(alice, 'Get CAFÉ GRATIS today', 'Now')).toEqual({
      __typename: 'AutomodBlockedError', message: 'Blocked by the auto-moderation rule "Free coffee"', ruleName: 'Free coffee',
    });
    expect(await post(alice, 'Hi', 'get your cafe, gratis!')).toMatchObject({ __typename: 'AutomodBlockedError' });
    expect(await threadCount()).toBe(before);
    // Not a whole-word match: passes.
    expect(await post(alice, 'Cafeteria gratisima', 'fine')).toMatchObject({ __typename: 'ThreadPayload', thread: { moderation: { status: 'VISIBLE' } } });
    const hits = await hitsOf('Free coffee');
    expect(hits.totalCount).toBe(2);
    expect(hits.nodes).toEqual([
      { ruleName: 'Free coffee', action: 'BLOCK', matched: 'cafe gratis', user: { id: alice.id }, subject: null },
      { ruleName: 'Free coffee', action: 'BLOCK', matched: 'cafe gratis', user: { id: alice.id }, subject: null },
    ]);
    // Edits and replies are screened too.
    const thread = await createThread(t, alice, c.publicSpace, 'Clean');
    const postId = await reply(t, alice, thread, 'Clean reply');
    expect((await t.query(Edit, { input: { threadId: thread, body: 'now café gratis' } }, alice.token)).editThread).toMatchObject({ __typename: 'AutomodBlockedError', ruleName: 'Free coffee' });
    expect((await t.query(Reply, { input: { threadId: thread, body: 'Café Gratis' } }, alice.token)).replyToThread).toMatchObject({ __typename: 'AutomodBlockedError' });
    expect((await t.query(EditPost, { input: { postId, body: 'cafe gratis' } }, alice.token)).editPost).toMatchObject({ __typename: 'AutomodBlockedError' });
    expect((await t.query(ThreadPosts, { id: thread }, alice.token)).node).toMatchObject({ replyCount: 1, posts: { nodes: [{ id: postId }] } });
  });

  it('PATTERN + HOLD: held content is invisible to others until a moderator approves it from the queue', async () => {
    await rule({ name: 'Phone numbers', trigger: 'PATTERN', action: 'HOLD', pattern: '\\b\\d{3}-\\d{4}\\b' });
    const thread = await createThread(t, bob, c.publicSpace, 'Contact');
    const held = (await t.query(Reply, { input: { threadId: thread, body: 'Call me at 555-1234' } }, alice.token)).replyToThread;
    expect(held).toMatchObject({ __typename: 'PostPayload', post: { body: 'Call me at 555-1234', moderation: { status: 'HELD' } } });
    const heldId = held.__typename === 'PostPayload' ? held.post.id : '';
    expect((await t.query(ThreadPosts, { id: thread }, bob.token)).node).toEqual({ replyCount: 0, moderation: { status: 'VISIBLE' }, posts: { nodes: [] } });
    expect((await t.query(ThreadPosts, { id: thread }, alice.token)).node).toMatchObject({ posts: { nodes: [{ id: heldId, moderation: { status: 'HELD' } }] } });
    const item = (await t.query(Queue, {}, moderator.token)).moderationQueue.nodes.find((n) => n.subject?.id === heldId);
    expect(item).toMatchObject({ status: 'OPEN', reportCount: 0, automodRule: { name: 'Phone numbers' }, subject: { __typename: 'Post' } });
    // Dismissing the item publishes the held post (an APPROVE entry in the log).
    expect((await t.query(ResolveItem, { input: { itemId: item!.id, resolution: 'DISMISSED', note: 'A business number' } }, moderator.token)).resolveQueueItem).toEqual({
      __typename: 'QueueItemPayload', item: { status: 'DISMISSED' },
    });
    expect((await t.query(ThreadPosts, { id: thread }, bob.token)).node).toEqual({
      replyCount: 1, moderation: { status: 'VISIBLE' }, posts: { nodes: [{ id: heldId, moderation: { status: 'VISIBLE' } }] },
    });
    // A held thread: restoreContent approves it.
    const heldThread = await post(alice, 'Ring 555-9876', 'please');
    const heldThreadId = heldThread.__typename === 'ThreadPayload' ? heldThread.thread.id : '';
    expect(heldThread).toMatchObject({ thread: { moderation: { status: 'HELD' } } });
    expect((await t.query(ThreadList, { spaceId: c.publicSpace }, bob.token)).threads.nodes.some((n) => n.id === heldThreadId)).toBe(false);
    expect((await t.query(Restore, { input: { subjectId: heldThreadId, reason: 'Fine' } }, moderator.token)).restoreContent).toEqual({
      __typename: 'ModerationActionPayload', action: { kind: 'APPROVE', reason: 'Fine' },
    });
    expect((await t.query(ThreadList, { spaceId: c.publicSpace }, bob.token)).threads.nodes.some((n) => n.id === heldThreadId)).toBe(true);
    // An edit that trips a HOLD rule takes published content back out until approved.
    const edited = (await t.query(EditPost, { input: { postId: heldId, body: 'New number: 555-0000' } }, alice.token)).editPost;
    expect(edited).toMatchObject({ __typename: 'PostPayload', post: { moderation: { status: 'HELD' } } });
    expect((await t.query(ThreadPosts, { id: thread }, bob.token)).node).toEqual({ replyCount: 0, moderation: { status: 'VISIBLE' }, posts: { nodes: [] } });
  });

  it('approving a held reply bumps its thread as a reply written at approval time would', async () => {
    await rule({ name: 'Hold numbers', trigger: 'PATTERN', action: 'HOLD', pattern: '\\b\\d{3}-\\d{4}\\b' });
    const space = await createSpace(t, manager, 'held-activity');
    const starter = await createUser(t, 'Starter');
    const quiet = await createThread(t, starter, space, 'Quiet thread');
    const busy = await createThread(t, starter, space, 'Busy thread');
    const activity = async (id: string) => (await t.query(ThreadActivity, { id }, bob.token)).node;
    const byActivity = async () => (await t.query(SpaceByActivity, { spaceId: space }, bob.token)).threads.nodes.map((n) => n.id);
    const before = (await activity(quiet))!;
    expect(before.replyCount).toBe(0);
    expect(await byActivity()).toEqual([busy, quiet]);

    // Held: counted nowhere and bumping nothing.
    const held = (await t.query(Reply, { input: { threadId: quiet, body: 'Call 555-1234' } }, alice.token)).replyToThread;
    const heldId = held.__typename === 'PostPayload' ? held.post.id : '';
    expect(held).toMatchObject({ post: { moderation: { status: 'HELD' } } });
    expect(await activity(quiet)).toEqual(before);
    expect(await byActivity()).toEqual([busy, quiet]);
    // Newer activity elsewhere, after the held reply was written.
    await reply(t, alice, busy, 'A normal reply');
    const busyAfterReply = (await activity(busy))!;
    expect(busyAfterReply.replyCount).toBe(1);

    const item = (await t.query(Queue, {}, moderator.token)).moderationQueue.nodes.find((n) => n.subject?.id === heldId)!;
    await t.query(ResolveItem, { input: { itemId: item.id, resolution: 'DISMISSED' } }, moderator.token);
    const approvedAt = async (subjectId: string) => {
      const [entry] = (await t.query(ApprovalLog, { subjectId }, moderator.token)).moderationLog.nodes;
      expect(entry.kind).toBe('APPROVE');
      return entry.createdAt;
    };
    // Active at the approval (its log entry's time), not when the reply was written; counted once.
    const approval = await approvedAt(heldId);
    expect(await activity(quiet)).toEqual({ lastActivityAt: approval, replyCount: 1 });
    const written = (await t.query(PostCreatedAt, { id: heldId }, moderator.token)).node;
    expect(written && 'createdAt' in written && written.createdAt < busyAfterReply.lastActivityAt).toBe(true);
    expect(busyAfterReply.lastActivityAt < approval).toBe(true);
    expect(await activity(busy)).toEqual(busyAfterReply);
    expect(await byActivity()).toEqual([quiet, busy]);
    expect((await t.query(SpaceByActivity, { spaceId: space, orderBy: { field: 'LAST_ACTIVITY_AT', direction: 'ASC' } }, bob.token)).threads.nodes.map((n) => n.id)).toEqual([busy, quiet]);

    // restoreContent approves too; a held thread is published at approval time as well.
    const heldAgain = (await t.query(Reply, { input: { threadId: busy, body: 'Or 555-9999' } }, alice.token)).replyToThread;
    const heldAgainId = heldAgain.__typename === 'PostPayload' ? heldAgain.post.id : '';
    const heldThread = await post(alice, 'Ring 555-0101', 'please', space);
    const heldThreadId = heldThread.__typename === 'ThreadPayload' ? heldThread.thread.id : '';
    expect(await byActivity()).toEqual([quiet, busy]);
    await t.query(Restore, { input: { subjectId: heldAgainId, reason: 'Fine' } }, moderator.token);
    expect(await activity(busy)).toEqual({ lastActivityAt: await approvedAt(heldAgainId), replyCount: 2 });
    expect(await byActivity()).toEqual([busy, quiet]);
    await t.query(Restore, { input: { subjectId: heldThreadId, reason: 'Fine' } }, moderator.token);
    expect(await activity(heldThreadId)).toEqual({ lastActivityAt: await approvedAt(heldThreadId), replyCount: 0 });
    expect(await byActivity()).toEqual([heldThreadId, busy, quiet]);
  });

  it('PATTERN matching is linear: a pattern that backtracks catastrophically elsewhere is harmless', async () => {
    await rule({ name: 'Nested', trigger: 'PATTERN', action: 'FLAG', pattern: '(a+)+$' });
    // With a backtracking engine this input takes longer than the age of the universe.
    const body = `${'a'.repeat(30_000)}!`;
    expect(await post(alice, 'Long', body)).toMatchObject({ __typename: 'ThreadPayload', thread: { moderation: { status: 'VISIBLE' } } });
    expect((await hitsOf('Nested')).totalCount).toBe(0);
  });

  it('LINK + FLAG: links from young or quiet accounts are flagged and stay visible; exempt roles are not screened', async () => {
    await rule({ name: 'New links', trigger: 'LINK', action: 'FLAG', minAccountAgeDays: 2, minPosts: 1, exemptRoles: ['MODERATOR'] });
    const newcomer = await createUser(t, 'Newcomer');
    const flagged = await post(newcomer, 'Look', 'see https://spam.example/offer now');
    expect(flagged).toMatchObject({ __typename: 'ThreadPayload', thread: { moderation: { status: 'VISIBLE' } } });
    const flaggedId = flagged.__typename === 'ThreadPayload' ? flagged.thread.id : '';
    expect((await t.query(Queue, {}, moderator.token)).moderationQueue.nodes.find((n) => n.subject?.id === flaggedId)).toMatchObject({
      automodRule: { name: 'New links' }, status: 'OPEN',
    });
    expect((await t.query(ThreadList, { spaceId: c.publicSpace })).threads.nodes.some((n) => n.id === flaggedId)).toBe(true);
    expect(await post(newcomer, 'No link', 'just words')).toMatchObject({ __typename: 'ThreadPayload' });
    expect(await post(moderator, 'Mod link', 'https://docs.example')).toMatchObject({ __typename: 'ThreadPayload' });
    expect((await hitsOf('New links')).nodes.map((h) => [h.matched, h.user.id, h.subject?.id])).toEqual([['https://spam.example/offer', newcomer.id, flaggedId]]);
  });

  it('MENTION_SPAM: more than the allowed @mentions', async () => {
    await rule({ name: 'Mentions', trigger: 'MENTION_SPAM', action: 'BLOCK', maxMentions: 2 });
    expect(await post(alice, 'Hey', '@ana @ben hello')).toMatchObject({ __typename: 'ThreadPayload' });
    expect(await post(alice, 'Hey', '@ana @ben @cy hello, mail me at cy@example.com')).toMatchObject({ __typename: 'AutomodBlockedError', ruleName: 'Mentions' });
    expect((await hitsOf('Mentions')).nodes[0].matched).toBe('3 mentions');
  });

  it('RATE: more than N new posts in M minutes; edits do not count', async () => {
    await rule({ name: 'Slow down', trigger: 'RATE', action: 'BLOCK', maxPosts: 2, windowMinutes: 10 });
    const writer = await createUser(t, 'Writer');
    const first = await post(writer, 'One');
    const threadId = first.__typename === 'ThreadPayload' ? first.thread.id : '';
    expect((await t.query(Reply, { input: { threadId, body: 'Two' } }, writer.token)).replyToThread.__typename).toBe('PostPayload');
    expect((await t.query(Reply, { input: { threadId, body: 'Three' } }, writer.token)).replyToThread).toMatchObject({ __typename: 'AutomodBlockedError', ruleName: 'Slow down' });
    expect((await t.query(Edit, { input: { threadId, title: 'One, edited' } }, writer.token)).editThread.__typename).toBe('ThreadPayload');
    expect((await hitsOf('Slow down')).nodes[0].matched).toBe('3 posts in 10 minutes');
    // Others are not slowed down by the writer's pace.
    expect(await post(bob, 'Unrelated')).toMatchObject({ __typename: 'ThreadPayload' });
  });

  it('exempt spaces, disabled rules, and the strongest action when several rules match', async () => {
    const flag = await rule({ name: 'Flag word', trigger: 'KEYWORD', action: 'FLAG', keywords: ['crypto'] });
    await rule({ name: 'Hold word', trigger: 'KEYWORD', action: 'HOLD', keywords: ['crypto'], exemptSpaceIds: [c.membersSpace] });
    expect(await post(alice, 'crypto news')).toMatchObject({ thread: { moderation: { status: 'HELD' } } });
    expect(await post(alice, 'crypto news', 'Body', c.membersSpace)).toMatchObject({ thread: { moderation: { status: 'VISIBLE' } } });
    await t.query(UpdateRule, { input: { ruleId: flag.id, enabled: false } }, manager.token);
    expect((await hitsOf('Flag word')).totalCount).toBe(2);
    expect(await post(alice, 'crypto again', 'Body', c.membersSpace)).toMatchObject({ thread: { moderation: { status: 'VISIBLE' } } });
    expect((await hitsOf('Flag word')).totalCount).toBe(2);
    expect((await hitsOf('Hold word')).totalCount).toBe(1);
  });

  it('tells moderators live when automod flags or holds something, and nobody else', async () => {
    await rule({ name: 'Live flag', trigger: 'KEYWORD', action: 'FLAG', keywords: ['scam'] });
    await rule({ name: 'Live hold', trigger: 'KEYWORD', action: 'HOLD', keywords: ['fraud'] });
    const [mod, member] = await fenced(t, [
      await liveFeed(t, moderator.token, admin, c.publicSpace),
      await liveFeed(t, bob.token, admin, c.publicSpace),
    ], admin, c.publicSpace);
    await post(alice, 'is this a scam');
    await post(alice, 'pure fraud');
    await createThread(t, admin, c.publicSpace, 'Fence');
    await mod.feed.next(mod.skip + 5);
    expect(kindsAfter(mod.feed, mod.skip)).toEqual([
      'AUTOMOD_FLAGGED:ModerationQueueItem',
      'THREAD_CREATED:Thread',
      'AUTOMOD_FLAGGED:ModerationQueueItem',
      'THREAD_CREATED:Thread',
      'THREAD_CREATED:Thread',
    ]);
    // Bob sees the flagged (visible) thread's creation and the fence; the held one not at all.
    await member.feed.next(member.skip + 2);
    expect(kindsAfter(member.feed, member.skip)).toEqual(['THREAD_CREATED:Thread', 'THREAD_CREATED:Thread']);
    mod.feed.dispose();
    member.feed.dispose();
  });
});
