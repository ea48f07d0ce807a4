import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { type Actor, type Community, createCommunity, createThread, createUser, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, subscribe, type TestApp } from './helpers.js';
import { fenced, kindsAfter, liveFeed } from './moderation-helpers.js';

const ReportContent = graphql(`
  mutation ModReportContent($input: ReportContentInput!) {
    reportContent(input: $input) {
      __typename
      ... on ReportPayload { report { id reason note status subject { __typename id } } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Queue = graphql(`
  query ModQueue($filter: ModerationQueueFilter, $first: Int, $after: String) {
    moderationQueue(filter: $filter, first: $first, after: $after) {
      totalCount
      nodes {
        id status reportCount reasons priority
        subject { __typename id }
        claimedBy { id }
        space { id }
        reports(first: 10) { totalCount nodes { reason reporter { id } } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const Claim = graphql(`
  mutation ModClaim($input: ClaimQueueItemInput!) {
    claimQueueItem(input: $input) {
      __typename
      ... on QueueItemPayload { item { id status claimedBy { id } } }
      ... on Error { message }
    }
  }
`);
const Release = graphql(`
  mutation ModRelease($input: ReleaseQueueItemInput!) {
    releaseQueueItem(input: $input) {
      __typename
      ... on QueueItemPayload { item { id status claimedBy { id } claimExpiresAt } }
      ... on Error { message }
    }
  }
`);
const Resolve = graphql(`
  mutation ModResolve($input: ResolveQueueItemInput!) {
    resolveQueueItem(input: $input) {
      __typename
      ... on QueueItemPayload { item { id status resolvedBy { id } resolutionNote } }
      ... on Error { message }
    }
  }
`);
const MyReports = graphql(`
  query ModMyReports { myReports(first: 50) { totalCount nodes { id reason status subject { id } } } }
`);
// The fields every action mutation below selects; codegen inlines it into their documents.
graphql(`
  fragment ModActionFields on ModerationAction {
    id kind reason classifier lockReason until
    subject { __typename id }
    moderator { id }
    targetUser { id }
  }
`);
const Hide = graphql(`
  mutation ModHide($input: HideContentInput!) {
    hideContent(input: $input) {
      __typename
      ... on ModerationActionPayload { action { ...ModActionFields } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Remove = graphql(`
  mutation ModRemove($input: ContentActionInput!) {
    removeContent(input: $input) { __typename ... on ModerationActionPayload { action { ...ModActionFields } } ... on Error { message } }
  }
`);
const Restore = graphql(`
  mutation ModRestore($input: ContentActionInput!) {
    restoreContent(input: $input) { __typename ... on ModerationActionPayload { action { ...ModActionFields } } ... on Error { message } }
  }
`);
const Lock = graphql(`
  mutation ModLock($input: LockThreadInput!) {
    lockThread(input: $input) { __typename ... on ModerationActionPayload { action { ...ModActionFields } } ... on Error { message } }
  }
`);
const Unlock = graphql(`
  mutation ModUnlock($input: UnlockThreadInput!) {
    unlockThread(input: $input) { __typename ... on ModerationActionPayload { action { ...ModActionFields } } ... on Error { message } }
  }
`);
const Warn = graphql(`
  mutation ModWarn($input: UserActionInput!) {
    warnUser(input: $input) { __typename ... on ModerationActionPayload { action { ...ModActionFields } } ... on Error { message } }
  }
`);
const Suspend = graphql(`
  mutation ModSuspend($input: SuspendUserInput!) {
    suspendUser(input: $input) {
      __typename
      ... on ModerationActionPayload { action { ...ModActionFields } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Unsuspend = graphql(`
  mutation ModUnsuspend($input: UserActionInput!) {
    unsuspendUser(input: $input) { __typename ... on ModerationActionPayload { action { ...ModActionFields } } ... on Error { message } }
  }
`);
const Bulk = graphql(`
  mutation ModBulk($input: BulkModerateInput!) {
    bulkModerate(input: $input) {
      __typename
      ... on BulkModeratePayload { actions { kind subject { id } } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Log = graphql(`
  query ModLog($filter: ModerationLogFilter, $first: Int, $after: String) {
    moderationLog(filter: $filter, first: $first, after: $after) {
      totalCount
      nodes { ...ModActionFields appeal { id status message } decidedAppeal { id } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const AppealAction = graphql(`
  mutation ModAppeal($input: AppealModerationActionInput!) {
    appealModerationAction(input: $input) {
      __typename
      ... on AppealPayload { appeal { id status message appellant { id } action { id } } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const ResolveAppeal = graphql(`
  mutation ModResolveAppeal($input: ResolveAppealInput!) {
    resolveAppeal(input: $input) {
      __typename
      ... on AppealPayload { appeal { id status decision { kind reason moderator { id } } } }
      ... on Error { message }
    }
  }
`);
const Appeals = graphql(`
  query ModAppeals($status: AppealStatus) { moderationAppeals(status: $status, first: 20) { totalCount nodes { id status } } }
`);
const ThreadView = graphql(`
  query ModThreadView($id: ID!) {
    node(id: $id) {
      __typename
      ... on Thread {
        id title body status replyCount
        moderation { status classifier reason }
        posts(first: 10) { totalCount nodes { id body moderation { status } } }
      }
      ... on Post { id body moderation { status classifier } }
    }
  }
`);
const NodesView = graphql(`
  query ModNodesView($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Thread { answer { id } } } }
`);
const MarkAnswer = graphql(`
  mutation ModMarkAnswer($input: MarkAsAnswerInput!) { markAsAnswer(input: $input) { __typename } }
`);
const Revisions = graphql(`
  query ModRevisions($id: ID!) { node(id: $id) { ... on Thread { revisions(first: 5) { nodes { title body } } } } }
`);
const ThreadActivity = graphql(`
  query ModThreadActivity($threadId: ID!) {
    activityLog(first: 20, filter: { threadId: $threadId }) { nodes { kind subject { id } thread { id } } }
  }
`);
const SpaceThreads = graphql(`
  query ModSpaceThreads($spaceId: ID!) {
    threads(spaceId: $spaceId, first: 50) { totalCount nodes { id title moderation { status classifier } } }
  }
`);
const Search = graphql(`
  query ModSearch($query: String!) {
    search(query: $query, first: 10) { totalCount nodes { __typename ... on Thread { id title } ... on Post { id body } } }
  }
`);
const Viewer = graphql(`query ModViewer { viewer { id suspendedUntil } }`);
const CreateThreadM = graphql(`
  mutation ModCreateThread($input: CreateThreadInput!) { createThread(input: $input) { __typename ... on Error { message } } }
`);
const EditThreadM = graphql(`
  mutation ModEditThread($input: EditThreadInput!) { editThread(input: $input) { __typename ... on Error { message } } }
`);
const ReplyM = graphql(`
  mutation ModReply($input: ReplyToThreadInput!) { replyToThread(input: $input) { __typename ... on Error { message } } }
`);
const EditPostM = graphql(`
  mutation ModEditPost($input: EditPostInput!) { editPost(input: $input) { __typename ... on Error { message } } }
`);
const ReactM = graphql(`
  mutation ModReact($input: ReactionInput!) { addReaction(input: $input) { __typename ... on Error { message } } }
`);
const QueueActivity = graphql(`
  query ModQueueActivity {
    activityLog(last: 100, filter: { kinds: [QUEUE_ITEM_CLAIMED, QUEUE_ITEM_RELEASED] }) { nodes { kind actor { id } subject { id } } }
  }
`);
const LogCount = graphql(`
  query ModActivityLog { activityLog(first: 100, filter: { kinds: [REPORT_CREATED, QUEUE_ITEM_CLAIMED, QUEUE_ITEM_RELEASED, QUEUE_ITEM_RESOLVED] }) { edges { node { kind } } } }
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

const dbId = (globalId: string) => Number(Buffer.from(globalId, 'base64').toString().split(':')[1]);
const MODERATE_ONLY = 'Only a MODERATOR, COMMUNITY_MANAGER or ADMIN can moderate';

async function report(actor: Actor, subjectId: string, reason: 'SPAM' | 'ABUSE' | 'HARASSMENT' | 'OTHER' | 'OFF_TOPIC' = 'SPAM', note?: string) {
  return (await t.query(ReportContent, { input: { subjectId, reason, note } }, actor.token)).reportContent;
}

async function queueItemFor(subjectId: string, status?: 'OPEN' | 'CLAIMED' | 'RESOLVED' | 'DISMISSED') {
  const { moderationQueue } = await t.query(Queue, { first: 100, filter: status ? { status } : undefined }, moderator.token);
  return moderationQueue.nodes.find((n) => n.subject?.id === subjectId);
}

describe('reports and the queue', () => {
  it('takes one open report per reporter and subject, and groups reports of a subject in one item', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Cheap watches', 'Buy now');
    const first = await report(alice, thread, 'SPAM');
    expect(first).toMatchObject({ __typename: 'ReportPayload', report: { reason: 'SPAM', note: null, status: 'OPEN', subject: { __typename: 'Thread', id: thread } } });
    // Reporting again while the first is open returns it: no second report, no extra weight.
    const again = await report(alice, thread, 'ABUSE');
    expect(again).toEqual(first);
    // Even at the same moment: one report.
    const racing = await Promise.all([report(alice, thread, 'SPAM'), report(alice, thread, 'SPAM')]);
    expect(racing).toEqual([first, first]);
    expect(await report(manager, thread, 'ABUSE')).toMatchObject({ __typename: 'ReportPayload', report: { reason: 'ABUSE' } });

    const item = await queueItemFor(thread);
    expect(item).toMatchObject({
      status: 'OPEN',
      reportCount: 2,
      reasons: ['SPAM', 'ABUSE'],
      subject: { __typename: 'Thread', id: thread },
      claimedBy: null,
      space: { id: c.publicSpace },
      reports: { totalCount: 2, nodes: [{ reason: 'SPAM', reporter: { id: alice.id } }, { reason: 'ABUSE', reporter: { id: manager.id } }] },
    });
    // Two TL0 (new) reporters: their flags weigh 0.5 each (FLAG_WEIGHTS by trust level).
    expect(item!.priority).toBeCloseTo(1.0, 2);
  });

  it('validates reports: OTHER needs a note, not your own content, only what you can see', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Something');
    expect(await report(alice, thread, 'OTHER')).toEqual({
      __typename: 'ValidationError',
      message: 'input.note: is required when the reason is OTHER',
      fieldErrors: [{ path: ['input', 'note'], message: 'is required when the reason is OTHER' }],
    });
    expect(await report(bob, thread)).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'subjectId'], message: 'is your own; you cannot report it' }] });
    const staffOnly = await createThread(t, agent, c.staffSpace, 'Internal');
    expect(await report(alice, staffOnly)).toEqual({ __typename: 'NotFoundError', message: `Thread ${dbId(staffOnly)} was not found` });
    expect((await t.query(ReportContent, { input: { subjectId: thread, reason: 'SPAM' } })).reportContent.__typename).toBe('UnauthenticatedError');
    // Users can be reported too.
    expect(await report(alice, bob.id, 'HARASSMENT')).toMatchObject({ __typename: 'ReportPayload', report: { subject: { __typename: 'User', id: bob.id } } });
  });

  it('orders the queue by priority (reports, trust, age), then oldest first, and filters it', async () => {
    const one = await createThread(t, bob, c.membersSpace, 'Order one');
    const two = await createThread(t, bob, c.membersSpace, 'Order two');
    const three = await createThread(t, bob, c.membersSpace, 'Order three');
    await report(alice, one, 'OFF_TOPIC');
    await report(alice, two, 'OFF_TOPIC');
    await report(manager, two, 'OFF_TOPIC');
    await report(alice, three, 'OFF_TOPIC');
    const { moderationQueue } = await t.query(Queue, { first: 10, filter: { spaceId: c.membersSpace, reason: 'OFF_TOPIC' } }, moderator.token);
    expect(moderationQueue.nodes.map((n) => n.subject?.id)).toEqual([two, one, three]);
    expect(moderationQueue.totalCount).toBe(3);
    const page = await t.query(Queue, { first: 2, filter: { spaceId: c.membersSpace } }, moderator.token);
    const next = await t.query(Queue, { first: 2, after: page.moderationQueue.pageInfo.endCursor, filter: { spaceId: c.membersSpace } }, moderator.token);
    expect([...page.moderationQueue.nodes, ...next.moderationQueue.nodes].map((n) => n.subject?.id)).toEqual([two, one, three]);
  });

  it('shows the queue to moderators, managers and admins only', async () => {
    for (const actor of [moderator, manager, admin]) {
      expect((await t.request(Queue, { first: 1 }, actor.token)).errors).toBeUndefined();
    }
    for (const actor of [alice, agent]) {
      const { errors } = await t.request(Queue, { first: 1 }, actor.token);
      expect(errors?.map((e) => [e.message, e.extensions?.code])).toEqual([[MODERATE_ONLY, 'FORBIDDEN']]);
    }
    expect((await t.request(Queue, { first: 1 })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets exactly one of two moderators claim an item at once', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Race');
    await report(alice, thread);
    const item = (await queueItemFor(thread))!;
    const [a, b] = await Promise.all([
      t.query(Claim, { input: { itemId: item.id } }, moderator.token),
      t.query(Claim, { input: { itemId: item.id } }, manager.token),
    ]);
    const results = [a.claimQueueItem, b.claimQueueItem];
    const won = results.filter((r) => r.__typename === 'QueueItemPayload');
    const lost = results.filter((r) => r.__typename === 'ConflictError');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = won[0].__typename === 'QueueItemPayload' ? won[0].item.claimedBy!.id : '';
    expect([moderator.id, manager.id]).toContain(winner);
    expect(lost[0]).toMatchObject({ message: expect.stringMatching(/^This item is claimed by (Moderator|Manager) until \d{4}-\d\d-\d\dT/) });
    expect((await queueItemFor(thread, 'CLAIMED'))?.claimedBy?.id).toBe(winner);

    for (const actor of [alice, agent]) {
      expect((await t.query(Claim, { input: { itemId: item.id } }, actor.token)).claimQueueItem).toEqual({ __typename: 'ForbiddenError', message: MODERATE_ONLY });
      expect((await t.query(Resolve, { input: { itemId: item.id, resolution: 'DISMISSED' } }, actor.token)).resolveQueueItem).toEqual({ __typename: 'ForbiddenError', message: MODERATE_ONLY });
    }
    expect((await t.query(Resolve, { input: { itemId: item.id, resolution: 'DISMISSED' } })).resolveQueueItem.__typename).toBe('UnauthenticatedError');
  });

  it('lets another moderator take a claim that expired, and only the holder resolve a live claim', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Expiring claim');
    const post = await reply(t, alice, thread, 'Reported reply');
    await report(bob, post, 'ABUSE');
    await report(manager, post, 'ABUSE');
    const item = (await queueItemFor(post))!;
    expect((await t.query(Claim, { input: { itemId: item.id } }, moderator.token)).claimQueueItem.__typename).toBe('QueueItemPayload');
    expect((await t.query(Resolve, { input: { itemId: item.id, resolution: 'DISMISSED' } }, admin.token)).resolveQueueItem).toMatchObject({
      __typename: 'ConflictError',
      message: expect.stringMatching(/^This item is claimed by Moderator until /),
    });
    // The claim runs out (MODERATION_CLAIM_TTL_MINUTES): it counts as OPEN, and anyone may take it.
    await prisma().moderationQueueItem.update({ where: { id: dbId(item.id) }, data: { claimExpiresAt: new Date(Date.now() - 1000) } });
    expect(await queueItemFor(post, 'OPEN')).toMatchObject({ status: 'OPEN', claimedBy: null });
    expect((await t.query(Claim, { input: { itemId: item.id } }, admin.token)).claimQueueItem).toMatchObject({ item: { status: 'CLAIMED', claimedBy: { id: admin.id } } });
    const resolved = await t.query(Resolve, { input: { itemId: item.id, resolution: 'ACTION_TAKEN', note: 'Warned the author' } }, admin.token);
    expect(resolved.resolveQueueItem).toEqual({
      __typename: 'QueueItemPayload',
      item: { id: item.id, status: 'RESOLVED', resolvedBy: { id: admin.id }, resolutionNote: 'Warned the author' },
    });
    expect((await t.query(Claim, { input: { itemId: item.id } }, moderator.token)).claimQueueItem).toEqual({ __typename: 'ConflictError', message: 'This item is already resolved' });
    expect((await queueItemFor(post, 'RESOLVED'))?.status).toBe('RESOLVED');

    // Reporters see the outcome of their own reports, and only their own.
    const mine = (await t.query(MyReports, {}, bob.token)).myReports.nodes.find((r) => r.subject?.id === post);
    expect(mine).toMatchObject({ reason: 'ABUSE', status: 'ACTION_TAKEN' });
    expect((await t.query(MyReports, {}, alice.token)).myReports.nodes.some((r) => r.subject?.id === post)).toBe(false);
    // A new report after the resolution opens a new item.
    await report(bob, post, 'SPAM');
    expect((await queueItemFor(post))?.reportCount).toBe(1);
  });

  it("lets the holder release a claim, and a manager or admin anyone's; the item is open to others at once", async () => {
    const second = await createUser(t, 'Second moderator', 'MODERATOR', admin);
    const thread = await createThread(t, bob, c.publicSpace, 'Release me');
    await report(alice, thread, 'SPAM');
    const item = (await queueItemFor(thread))!;
    const release = async (actor?: Actor, itemId = item.id) => (await t.query(Release, { input: { itemId } }, actor?.token)).releaseQueueItem;
    const claim = async (actor: Actor) => (await t.query(Claim, { input: { itemId: item.id } }, actor.token)).claimQueueItem;

    expect(await release(moderator)).toEqual({ __typename: 'ConflictError', message: 'This item is not claimed' });
    expect(await claim(moderator)).toMatchObject({ item: { status: 'CLAIMED', claimedBy: { id: moderator.id } } });
    // Only the holder, a manager or an admin; members and agents not at all.
    expect(await release(second)).toEqual({
      __typename: 'ForbiddenError', message: 'This item is claimed by Moderator; only they, a COMMUNITY_MANAGER or an ADMIN can release it',
    });
    for (const actor of [alice, agent]) expect(await release(actor)).toEqual({ __typename: 'ForbiddenError', message: MODERATE_ONLY });
    expect((await release()).__typename).toBe('UnauthenticatedError');
    expect((await queueItemFor(thread, 'CLAIMED'))?.claimedBy?.id).toBe(moderator.id);

    expect(await release(moderator)).toEqual({ __typename: 'QueueItemPayload', item: { id: item.id, status: 'OPEN', claimedBy: null, claimExpiresAt: null } });
    expect(await queueItemFor(thread, 'OPEN')).toMatchObject({ status: 'OPEN', claimedBy: null });
    expect(await release(moderator)).toEqual({ __typename: 'ConflictError', message: 'This item is not claimed' });
    // Another moderator claims it straight away, and a manager can take that claim back.
    expect(await claim(second)).toMatchObject({ __typename: 'QueueItemPayload', item: { status: 'CLAIMED', claimedBy: { id: second.id } } });
    expect(await release(manager)).toMatchObject({ __typename: 'QueueItemPayload', item: { status: 'OPEN', claimedBy: null } });
    expect(await claim(second)).toMatchObject({ item: { claimedBy: { id: second.id } } });
    expect(await release(admin)).toMatchObject({ __typename: 'QueueItemPayload', item: { status: 'OPEN', claimedBy: null } });
    // An expired claim already counts as OPEN: nothing to release.
    expect(await claim(second)).toMatchObject({ item: { claimedBy: { id: second.id } } });
    await prisma().moderationQueueItem.update({ where: { id: dbId(item.id) }, data: { claimExpiresAt: new Date(Date.now() - 1000) } });
    expect(await release(second)).toEqual({ __typename: 'ConflictError', message: 'This item is not claimed' });
    expect(await release(manager)).toEqual({ __typename: 'ConflictError', message: 'This item is not claimed' });

    expect(await claim(moderator)).toMatchObject({ item: { claimedBy: { id: moderator.id } } });
    await t.query(Resolve, { input: { itemId: item.id, resolution: 'ACTION_TAKEN' } }, moderator.token);
    expect(await release(moderator)).toEqual({ __typename: 'ConflictError', message: 'This item is already resolved' });
    const missing = Buffer.from('ModerationQueueItem:999999').toString('base64');
    expect(await release(moderator, missing)).toEqual({ __typename: 'NotFoundError', message: 'ModerationQueueItem 999999 was not found' });

    // Claims and releases are in the activity log (not in the moderation log, like claims).
    const events = (await t.query(QueueActivity, {}, moderator.token)).activityLog.nodes.filter((n) => n.subject?.id === item.id);
    expect(events.map((e) => [e.kind, e.actor?.id])).toEqual([
      ['QUEUE_ITEM_CLAIMED', moderator.id],
      ['QUEUE_ITEM_RELEASED', moderator.id],
      ['QUEUE_ITEM_CLAIMED', second.id],
      ['QUEUE_ITEM_RELEASED', manager.id],
      ['QUEUE_ITEM_CLAIMED', second.id],
      ['QUEUE_ITEM_RELEASED', admin.id],
      ['QUEUE_ITEM_CLAIMED', second.id],
      ['QUEUE_ITEM_CLAIMED', moderator.id],
    ]);
    expect((await t.query(Log, { first: 10, filter: { subjectId: thread } }, moderator.token)).moderationLog.totalCount).toBe(0);
  });

  it("leaves one consistent state when a release and another moderator's claim race", async () => {
    const second = await createUser(t, 'Racing moderator', 'MODERATOR', admin);
    const thread = await createThread(t, bob, c.publicSpace, 'Release race');
    await report(alice, thread, 'SPAM');
    const item = (await queueItemFor(thread))!;
    for (let round = 0; round < 6; round++) {
      expect((await t.query(Claim, { input: { itemId: item.id } }, moderator.token)).claimQueueItem.__typename).toBe('QueueItemPayload');
      const [released, claimed] = await Promise.all([
        t.query(Release, { input: { itemId: item.id } }, moderator.token).then((r) => r.releaseQueueItem),
        t.query(Claim, { input: { itemId: item.id } }, second.token).then((r) => r.claimQueueItem),
      ]);
      // The holder's release always succeeds; the claim either came first (and met the live
      // claim) or after (and took the item).
      expect(released.__typename).toBe('QueueItemPayload');
      const row = await prisma().moderationQueueItem.findUniqueOrThrow({ where: { id: dbId(item.id) } });
      if (claimed.__typename === 'QueueItemPayload') {
        expect(claimed.item.claimedBy?.id).toBe(second.id);
        expect([row.status, row.claimedById]).toEqual(['CLAIMED', dbId(second.id)]);
        expect(await queueItemFor(thread, 'CLAIMED')).toMatchObject({ claimedBy: { id: second.id } });
        expect((await t.query(Release, { input: { itemId: item.id } }, second.token)).releaseQueueItem.__typename).toBe('QueueItemPayload');
      } else {
        expect(claimed).toEqual({ __typename: 'ConflictError', message: expect.stringMatching(/^This item is claimed by Moderator until /) });
        expect([row.status, row.claimedById, row.claimExpiresAt]).toEqual(['OPEN', null, null]);
      }
    }
  });

  it('streams reports, claims, releases and resolutions live to moderators only', async () => {
    const [mod, member, supportAgent] = await fenced(t, [
      await liveFeed(t, manager.token, admin, c.publicSpace),
      await liveFeed(t, alice.token, admin, c.publicSpace),
      await liveFeed(t, agent.token, admin, c.publicSpace),
    ], admin, c.publicSpace);
    const thread = await createThread(t, bob, c.publicSpace, 'Live queue');
    await report(alice, thread, 'SPAM');
    const item = (await queueItemFor(thread))!;
    await t.query(Claim, { input: { itemId: item.id } }, moderator.token);
    await t.query(Release, { input: { itemId: item.id } }, moderator.token);
    await t.query(Claim, { input: { itemId: item.id } }, moderator.token);
    await t.query(Resolve, { input: { itemId: item.id, resolution: 'DISMISSED' } }, moderator.token);
    const fence = await createThread(t, admin, c.publicSpace, 'Fence');
    const received = await mod.feed.next(mod.skip + 7);
    expect(kindsAfter(mod.feed, mod.skip)).toEqual([
      'THREAD_CREATED:Thread',
      'REPORT_CREATED:ModerationQueueItem',
      'QUEUE_ITEM_CLAIMED:ModerationQueueItem',
      'QUEUE_ITEM_RELEASED:ModerationQueueItem',
      'QUEUE_ITEM_CLAIMED:ModerationQueueItem',
      'QUEUE_ITEM_RESOLVED:ModerationQueueItem',
      'THREAD_CREATED:Thread',
    ]);
    expect(received.slice(mod.skip + 1, mod.skip + 6).map((e) => e.data?.activity.subject?.id)).toEqual([item.id, item.id, item.id, item.id, item.id]);
    expect(received[mod.skip + 3].data?.activity).toEqual({
      id: expect.any(String), kind: 'QUEUE_ITEM_RELEASED', actor: { id: moderator.id }, space: { id: c.publicSpace }, subject: { __typename: 'ModerationQueueItem', id: item.id },
    });
    // Members and agents get the public writes around it, never the queue's events.
    for (const { feed, skip } of [member, supportAgent]) {
      await feed.next(skip + 2);
      expect(kindsAfter(feed, skip)).toEqual(['THREAD_CREATED:Thread', 'THREAD_CREATED:Thread']);
      expect(feed.received[skip + 1].data?.activity.subject?.id).toBe(fence);
    }
    // The log read follows the same rule.
    const kinds = async (token: string) => (await t.query(LogCount, {}, token)).activityLog.edges.map((e) => e.node.kind);
    expect(await kinds(alice.token)).toEqual([]);
    expect(await kinds(agent.token)).toEqual([]);
    expect((await kinds(moderator.token)).filter((k) => k === 'QUEUE_ITEM_RESOLVED').length).toBeGreaterThan(0);
    for (const s of [mod, member, supportAgent]) s.feed.dispose();
  });
});

describe('actions', () => {
  it('refuses every action to members, agents and anonymous users, and takes them from moderators, managers and admins', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Permission target');
    const reason = 'Testing permissions';
    const attempts = (token?: string) => [
      t.query(Hide, { input: { subjectId: thread, classifier: 'SPAM', reason } }, token).then((r) => r.hideContent),
      t.query(Remove, { input: { subjectId: thread, reason } }, token).then((r) => r.removeContent),
      t.query(Restore, { input: { subjectId: thread, reason } }, token).then((r) => r.restoreContent),
      t.query(Lock, { input: { threadId: thread, reason: 'TOO_HEATED' } }, token).then((r) => r.lockThread),
      t.query(Unlock, { input: { threadId: thread, reason } }, token).then((r) => r.unlockThread),
      t.query(Warn, { input: { userId: bob.id, reason } }, token).then((r) => r.warnUser),
      t.query(Suspend, { input: { userId: bob.id, until: new Date(Date.now() + 3600_000).toISOString(), reason } }, token).then((r) => r.suspendUser),
      t.query(Unsuspend, { input: { userId: bob.id, reason } }, token).then((r) => r.unsuspendUser),
      t.query(Bulk, { input: { subjectIds: [thread], action: 'REMOVE', reason } }, token).then((r) => r.bulkModerate),
    ];
    for (const actor of [alice, agent]) {
      const results = await Promise.all(attempts(actor.token));
      expect(results).toEqual(results.map(() => ({ __typename: 'ForbiddenError', message: MODERATE_ONLY })));
    }
    const anonymous = await Promise.all(attempts());
    expect(anonymous.map((r) => r.__typename)).toEqual(anonymous.map(() => 'UnauthenticatedError'));
    expect((await t.query(ThreadView, { id: thread })).node).toMatchObject({ moderation: { status: 'VISIBLE' }, status: 'OPEN' });

    for (const actor of [moderator, manager, admin]) {
      const target = await createThread(t, bob, c.publicSpace, `Hide by ${actor.id}`);
      const { hideContent } = await t.query(Hide, { input: { subjectId: target, classifier: 'LOW_QUALITY', reason: '  Too short  ' } }, actor.token);
      expect(hideContent).toEqual({
        __typename: 'ModerationActionPayload',
        action: {
          id: expect.any(String), kind: 'HIDE', reason: 'Too short', classifier: 'LOW_QUALITY', lockReason: null, until: null,
          subject: { __typename: 'Thread', id: target }, moderator: { id: actor.id }, targetUser: { id: bob.id },
        },
      });
    }
    expect((await t.query(Hide, { input: { subjectId: thread, classifier: 'SPAM', reason: ' ' } }, moderator.token)).hideContent).toEqual({
      __typename: 'ValidationError',
      message: 'input.reason: must not be empty',
      fieldErrors: [{ path: ['input', 'reason'], message: 'must not be empty' }],
    });
  });

  it('collapses hidden content for everyone but its author and moderators, on node, list and search paths', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Zanzibarwatches deal', 'Zanzibarwatches are cheap');
    await t.query(EditThreadM, { input: { threadId: thread, body: 'Zanzibarwatches are very cheap' } }, bob.token);
    await t.query(Hide, { input: { subjectId: thread, classifier: 'SPAM', reason: 'Advertising' } }, moderator.token);
    const views = { anonymous: undefined, alice: alice.token, agent: agent.token, bob: bob.token, moderator: moderator.token };
    const seen: Record<string, unknown> = {};
    for (const [who, token] of Object.entries(views)) {
      const node = (await t.query(ThreadView, { id: thread }, token)).node;
      const listed = (await t.query(SpaceThreads, { spaceId: c.publicSpace }, token)).threads.nodes.find((n) => n.id === thread);
      const search = (await t.query(Search, { query: 'zanzibarwatches' }, token)).search.totalCount;
      seen[who] = { title: node?.__typename === 'Thread' ? node.title : null, moderation: node?.__typename === 'Thread' ? node.moderation : null, listedTitle: listed?.title, search };
    }
    const collapsed = { title: '', moderation: { status: 'HIDDEN', classifier: 'SPAM', reason: 'Advertising' }, listedTitle: '', search: 0 };
    const full = { title: 'Zanzibarwatches deal', moderation: { status: 'HIDDEN', classifier: 'SPAM', reason: 'Advertising' }, listedTitle: 'Zanzibarwatches deal', search: 1 };
    expect(seen).toEqual({ anonymous: collapsed, alice: collapsed, agent: collapsed, bob: full, moderator: full });
    // Earlier versions are collapsed the same way.
    const revisions = async (token?: string) => (await t.query(Revisions, { id: thread }, token)).node;
    expect(await revisions(alice.token)).toEqual({ revisions: { nodes: [{ title: '', body: '' }] } });
    expect(await revisions(bob.token)).toEqual({ revisions: { nodes: [{ title: 'Zanzibarwatches deal', body: 'Zanzibarwatches are cheap' }] } });
  });

  it('removes content from everyone but its author and moderators, and restores it', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Removal thread', 'Quokkaflavour body');
    const post = await reply(t, alice, thread, 'Quokkaflavour reply');
    await t.query(MarkAnswer, { input: { postId: post } }, bob.token);
    const { removeContent } = await t.query(Remove, { input: { subjectId: post, reason: 'Personal attack' } }, moderator.token);
    expect(removeContent).toMatchObject({ __typename: 'ModerationActionPayload', action: { kind: 'REMOVE', subject: { __typename: 'Post', id: post } } });

    const postsFor = async (token?: string) => {
      const node = (await t.query(ThreadView, { id: thread }, token)).node;
      return node?.__typename === 'Thread' ? { replyCount: node.replyCount, posts: node.posts.nodes.map((p) => p.id), total: node.posts.totalCount } : null;
    };
    expect(await postsFor()).toEqual({ replyCount: 0, posts: [], total: 0 });
    expect(await postsFor(bob.token)).toEqual({ replyCount: 0, posts: [], total: 0 });
    expect(await postsFor(alice.token)).toEqual({ replyCount: 0, posts: [post], total: 1 });
    expect(await postsFor(moderator.token)).toEqual({ replyCount: 0, posts: [post], total: 1 });
    expect((await t.query(ThreadView, { id: post }, bob.token)).node).toBeNull();
    expect((await t.query(NodesView, { ids: [post, thread] }, bob.token)).nodes).toEqual([null, { __typename: 'Thread', id: thread, answer: null }]);
    expect((await t.query(ThreadView, { id: post })).node).toBeNull();
    expect((await t.query(ThreadView, { id: post }, alice.token)).node).toMatchObject({ body: 'Quokkaflavour reply', moderation: { status: 'REMOVED' } });
    expect((await t.query(Search, { query: 'quokkaflavour' }, bob.token)).search.nodes.map((n) => n.__typename)).toEqual(['Thread']);
    expect((await t.query(Search, { query: 'quokkaflavour' }, moderator.token)).search.totalCount).toBe(2);
    // Gone for others means no replying to it or reacting to it either.
    expect((await t.query(ReactM, { input: { subjectId: post, content: 'HEART' } }, bob.token)).addReaction.__typename).toBe('NotFoundError');
    expect((await t.query(Remove, { input: { subjectId: post, reason: 'again' } }, moderator.token)).removeContent).toEqual({
      __typename: 'ConflictError', message: `Post ${dbId(post)} is already removed`,
    });

    // A removed thread takes its posts with it.
    await t.query(Remove, { input: { subjectId: thread, reason: 'Whole thread is abuse' } }, moderator.token);
    expect((await t.query(SpaceThreads, { spaceId: c.publicSpace }, alice.token)).threads.nodes.some((n) => n.id === thread)).toBe(false);
    expect((await t.query(ThreadView, { id: thread }, alice.token)).node).toBeNull();
    expect((await t.query(ThreadView, { id: thread }, bob.token)).node).toMatchObject({ moderation: { status: 'REMOVED' } });
    expect((await t.query(Search, { query: 'quokkaflavour' }, alice.token)).search.totalCount).toBe(0);
    expect((await t.query(ReplyM, { input: { threadId: thread, body: 'hello?' } }, alice.token)).replyToThread.__typename).toBe('NotFoundError');
    // Replaying the log: a removed thread takes its events with it, for all but moderators.
    const replay = async (token: string) =>
      (await t.query(ThreadActivity, { threadId: thread }, token)).activityLog.nodes.map((n) => [n.kind, n.subject?.id ?? null, n.thread?.id ?? null]);
    expect(await replay(alice.token)).toEqual([]);
    expect(await replay(bob.token)).toEqual([]);
    expect((await replay(moderator.token))[0]).toEqual(['THREAD_CREATED', thread, thread]);

    await t.query(Restore, { input: { subjectId: thread, reason: 'Mistake' } }, moderator.token);
    // Restored, its events are back.
    expect((await replay(alice.token))[0]).toEqual(['THREAD_CREATED', thread, thread]);
    const { restoreContent } = await t.query(Restore, { input: { subjectId: post, reason: 'On reflection, fine' } }, manager.token);
    expect(restoreContent).toMatchObject({ action: { kind: 'RESTORE', reason: 'On reflection, fine' } });
    expect(await postsFor(bob.token)).toEqual({ replyCount: 1, posts: [post], total: 1 });
    expect((await t.query(NodesView, { ids: [thread] }, bob.token)).nodes).toEqual([{ __typename: 'Thread', id: thread, answer: { id: post } }]);
    expect((await t.query(Restore, { input: { subjectId: post, reason: 'again' } }, manager.token)).restoreContent.__typename).toBe('ConflictError');
  });

  it('locks and unlocks threads with a reason', async () => {
    const thread = await createThread(t, bob, c.publicSpace, 'Heated');
    const { lockThread } = await t.query(Lock, { input: { threadId: thread, reason: 'TOO_HEATED', note: 'Cool down' } }, moderator.token);
    expect(lockThread).toMatchObject({ action: { kind: 'LOCK', lockReason: 'TOO_HEATED', reason: 'Cool down' } });
    expect((await t.query(ReplyM, { input: { threadId: thread, body: 'But!' } }, alice.token)).replyToThread).toEqual({ __typename: 'ForbiddenError', message: 'This thread is locked' });
    expect((await t.query(Lock, { input: { threadId: thread, reason: 'SPAM' } }, moderator.token)).lockThread).toEqual({
      __typename: 'ConflictError', message: `Thread ${dbId(thread)} is locked`,
    });
    expect((await t.query(Unlock, { input: { threadId: thread, reason: 'Calmer now' } }, manager.token)).unlockThread).toMatchObject({ action: { kind: 'UNLOCK', reason: 'Calmer now' } });
    expect((await t.query(ReplyM, { input: { threadId: thread, body: 'Thanks' } }, alice.token)).replyToThread.__typename).toBe('PostPayload');
  });
});

describe('suspensions', () => {
  it("rejects every write of a suspended user, ends their subscriptions, and lifts it on unsuspend", async () => {
    const carol = await createUser(t, 'Carol');
    const thread = await createThread(t, carol, c.publicSpace, 'Carol writes');
    const post = await reply(t, carol, thread, 'Carol replies');
    const other = await createThread(t, bob, c.publicSpace, 'Bob writes');
    const { feed, skip } = await liveFeed(t, carol.token, admin, c.publicSpace);

    const until = new Date(Date.now() + 86_400_000);
    const { suspendUser } = await t.query(Suspend, { input: { userId: carol.id, until: until.toISOString(), reason: 'Spamming links' } }, moderator.token);
    expect(suspendUser).toMatchObject({ action: { kind: 'SUSPEND', until: until.toISOString(), reason: 'Spamming links', subject: { __typename: 'User', id: carol.id } } });
    await expect(feed.next(skip + 1)).rejects.toThrow(`Your account is suspended until ${until.toISOString()}; live activity is paused`);

    const message = `Your account is suspended until ${until.toISOString()}`;
    const writes = await Promise.all([
      t.query(CreateThreadM, { input: { spaceId: c.publicSpace, title: 'x', body: 'y' } }, carol.token).then((r) => r.createThread),
      t.query(EditThreadM, { input: { threadId: thread, title: 'x' } }, carol.token).then((r) => r.editThread),
      t.query(ReplyM, { input: { threadId: other, body: 'x' } }, carol.token).then((r) => r.replyToThread),
      t.query(EditPostM, { input: { postId: post, body: 'x' } }, carol.token).then((r) => r.editPost),
      t.query(ReactM, { input: { subjectId: other, content: 'HEART' } }, carol.token).then((r) => r.addReaction),
      t.query(ReportContent, { input: { subjectId: other, reason: 'SPAM' } }, carol.token).then((r) => r.reportContent),
    ]);
    expect(writes).toEqual(writes.map(() => ({ __typename: 'ForbiddenError', message })));
    expect((await t.query(Viewer, {}, carol.token)).viewer).toEqual({ id: carol.id, suspendedUntil: until.toISOString() });
    // A new subscription is refused while suspended.
    const refused = subscribe(t.wsClient(carol.token), graphql(`subscription ModRefused { activity { kind } }`));
    expect(await refused.next(1)).toMatchObject([{ errors: [{ message: `${message}; live activity is paused`, extensions: { code: 'FORBIDDEN' } }] }]);

    expect((await t.query(Suspend, { input: { userId: moderator.id, until: until.toISOString(), reason: 'x' } }, manager.token)).suspendUser).toEqual({
      __typename: 'ForbiddenError', message: 'Only members can be suspended; an ADMIN can change a staff role instead',
    });
    expect((await t.query(Suspend, { input: { userId: bob.id, until: new Date(Date.now() - 1000).toISOString(), reason: 'x' } }, moderator.token)).suspendUser).toMatchObject({
      __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'until'], message: 'must be in the future' }],
    });

    expect((await t.query(Unsuspend, { input: { userId: carol.id, reason: 'Served' } }, manager.token)).unsuspendUser).toMatchObject({ action: { kind: 'UNSUSPEND' } });
    expect((await t.query(ReplyM, { input: { threadId: other, body: 'Back' } }, carol.token)).replyToThread.__typename).toBe('PostPayload');
    expect((await t.query(Unsuspend, { input: { userId: carol.id, reason: 'again' } }, manager.token)).unsuspendUser).toEqual({
      __typename: 'ConflictError', message: `User ${dbId(carol.id)} is not suspended`,
    });
  });
});

describe('bulk moderation', () => {
  it('applies to all or none: one missing or unsuitable subject leaves every other unchanged', async () => {
    const ids = [
      await createThread(t, bob, c.publicSpace, 'Bulk 1'),
      await createThread(t, bob, c.publicSpace, 'Bulk 2'),
      await reply(t, alice, await createThread(t, bob, c.publicSpace, 'Bulk 3'), 'Bulk reply'),
    ];
    const missing = Buffer.from('Thread:999999').toString('base64');
    const statuses = async () =>
      Promise.all(ids.map(async (id) => {
        const node = (await t.query(ThreadView, { id }, moderator.token)).node;
        return node && 'moderation' in node ? node.moderation.status : null;
      }));

    const bad = await t.query(Bulk, { input: { subjectIds: [ids[0], ids[1], missing], action: 'REMOVE', reason: 'Spam wave' } }, moderator.token);
    expect(bad.bulkModerate).toEqual({ __typename: 'NotFoundError', message: 'Thread 999999 was not found' });
    expect(await statuses()).toEqual(['VISIBLE', 'VISIBLE', 'VISIBLE']);

    await t.query(Remove, { input: { subjectId: ids[2], reason: 'First' } }, moderator.token);
    const conflict = await t.query(Bulk, { input: { subjectIds: ids, action: 'REMOVE', reason: 'Spam wave' } }, moderator.token);
    expect(conflict.bulkModerate.__typename).toBe('ConflictError');
    expect(await statuses()).toEqual(['VISIBLE', 'VISIBLE', 'REMOVED']);

    expect((await t.query(Bulk, { input: { subjectIds: ids, action: 'HIDE', reason: 'x' } }, moderator.token)).bulkModerate).toMatchObject({
      __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'classifier'], message: 'is required to hide' }],
    });
    const tooMany = Array.from({ length: 101 }, (_, i) => Buffer.from(`Thread:${i + 1}`).toString('base64'));
    // Over its cap, the list is refused before anything runs (test/limits.test.ts).
    expect((await t.request(Bulk, { input: { subjectIds: tooMany, action: 'REMOVE', reason: 'x' } }, moderator.token)).errors).toEqual([
      { message: '`bulkModerate(input).subjectIds` takes at most 100 items, got 101', extensions: { code: 'LIST_TOO_LONG' } },
    ]);

    const ok = await t.query(Bulk, { input: { subjectIds: ids, action: 'HIDE', classifier: 'DUPLICATE', reason: 'Same question' } }, moderator.token);
    expect(ok.bulkModerate).toEqual({ __typename: 'ConflictError', message: expect.stringMatching(/^Post \d+ is removed; restore it first$/) });
    const ok2 = await t.query(Bulk, { input: { subjectIds: ids.slice(0, 2), action: 'HIDE', classifier: 'DUPLICATE', reason: 'Same question' } }, moderator.token);
    expect(ok2.bulkModerate).toEqual({ __typename: 'BulkModeratePayload', actions: [{ kind: 'HIDE', subject: { id: ids[0] } }, { kind: 'HIDE', subject: { id: ids[1] } }] });
    expect(await statuses()).toEqual(['HIDDEN', 'HIDDEN', 'REMOVED']);
  });
});

describe('the moderation log and appeals', () => {
  it('shows moderators everything and members the public part of what they can see', async () => {
    const dave = await createUser(t, 'Dave');
    const visible = await createThread(t, dave, c.publicSpace, 'Log visible');
    const removed = await createThread(t, dave, c.publicSpace, 'Log removed');
    const hide = await t.query(Hide, { input: { subjectId: visible, classifier: 'OUTDATED', reason: 'Old version' } }, moderator.token);
    await t.query(Remove, { input: { subjectId: removed, reason: 'Doxxing' } }, moderator.token);
    await t.query(Warn, { input: { userId: dave.id, reason: 'Be kind' } }, moderator.token);
    const entries = async (token?: string) =>
      (await t.query(Log, { first: 10, filter: { userId: dave.id } }, token)).moderationLog.nodes.map((n) => ({ kind: n.kind, reason: n.reason, moderator: n.moderator?.id ?? null }));

    expect(await entries(moderator.token)).toEqual([
      { kind: 'WARN', reason: 'Be kind', moderator: moderator.id },
      { kind: 'REMOVE', reason: 'Doxxing', moderator: moderator.id },
      { kind: 'HIDE', reason: 'Old version', moderator: moderator.id },
    ]);
    // Dave sees everything about himself, but not who acted.
    expect(await entries(dave.token)).toEqual([
      { kind: 'WARN', reason: 'Be kind', moderator: null },
      { kind: 'REMOVE', reason: 'Doxxing', moderator: null },
      { kind: 'HIDE', reason: 'Old version', moderator: null },
    ]);
    // Others: only the action on content they can still see.
    expect(await entries(alice.token)).toEqual([{ kind: 'HIDE', reason: 'Old version', moderator: null }]);
    expect(await entries()).toEqual([{ kind: 'HIDE', reason: 'Old version', moderator: null }]);
    expect(await entries(agent.token)).toEqual([{ kind: 'HIDE', reason: 'Old version', moderator: null }]);
    const actionId = hide.hideContent.__typename === 'ModerationActionPayload' ? hide.hideContent.action.id : '';
    expect((await t.query(ThreadView, { id: actionId })).node).toEqual({ __typename: 'ModerationAction' });
    const bySubject = await t.query(Log, { first: 10, filter: { subjectId: removed } }, alice.token);
    expect(bySubject.moderationLog.totalCount).toBe(0);
  });

  it('takes one appeal per action from the user acted on; another moderator upholds or reverses it', async () => {
    const erin = await createUser(t, 'Erin');
    const thread = await createThread(t, erin, c.publicSpace, 'Appeal me');
    const hidden = await t.query(Hide, { input: { subjectId: thread, classifier: 'OFF_TOPIC', reason: 'Wrong space' } }, moderator.token);
    const actionId = hidden.hideContent.__typename === 'ModerationActionPayload' ? hidden.hideContent.action.id : '';

    expect((await t.query(AppealAction, { input: { actionId, message: 'Not mine' } }, alice.token)).appealModerationAction).toEqual({
      __typename: 'ForbiddenError', message: 'Only the user this action was taken against can appeal it',
    });
    const appealed = await t.query(AppealAction, { input: { actionId, message: ' It is on topic ' } }, erin.token);
    expect(appealed.appealModerationAction).toMatchObject({ __typename: 'AppealPayload', appeal: { status: 'PENDING', message: 'It is on topic', appellant: { id: erin.id }, action: { id: actionId } } });
    const appealId = appealed.appealModerationAction.__typename === 'AppealPayload' ? appealed.appealModerationAction.appeal.id : '';
    expect((await t.query(AppealAction, { input: { actionId, message: 'Again' } }, erin.token)).appealModerationAction).toEqual({
      __typename: 'ConflictError', message: 'This action was already appealed',
    });
    expect((await t.query(Appeals, { status: 'PENDING' }, manager.token)).moderationAppeals.nodes.map((n) => n.id)).toContain(appealId);
    expect((await t.request(Appeals, { status: 'PENDING' }, erin.token)).errors?.[0].message).toBe(MODERATE_ONLY);

    expect((await t.query(ResolveAppeal, { input: { appealId, decision: 'REVERSED', reason: 'x' } }, moderator.token)).resolveAppeal).toEqual({
      __typename: 'ForbiddenError', message: 'Another moderator must decide an appeal against your own action',
    });
    for (const actor of [erin, alice, agent]) {
      expect((await t.query(ResolveAppeal, { input: { appealId, decision: 'REVERSED', reason: 'x' } }, actor.token)).resolveAppeal).toEqual({ __typename: 'ForbiddenError', message: MODERATE_ONLY });
    }
    const reversed = await t.query(ResolveAppeal, { input: { appealId, decision: 'REVERSED', reason: 'It fits the space' } }, manager.token);
    expect(reversed.resolveAppeal).toEqual({
      __typename: 'AppealPayload',
      appeal: { id: appealId, status: 'REVERSED', decision: { kind: 'APPEAL_REVERSED', reason: 'It fits the space', moderator: { id: manager.id } } },
    });
    expect((await t.query(ThreadView, { id: thread }, alice.token)).node).toMatchObject({ title: 'Appeal me', moderation: { status: 'VISIBLE', classifier: null } });
    expect((await t.query(ResolveAppeal, { input: { appealId, decision: 'UPHELD', reason: 'x' } }, admin.token)).resolveAppeal).toEqual({
      __typename: 'ConflictError', message: 'This appeal was already decided (REVERSED)',
    });
    // Both in the log: the appealed entry carries the appeal, the decision is an entry of its own.
    const log = (await t.query(Log, { first: 10, filter: { subjectId: thread } }, erin.token)).moderationLog.nodes;
    expect(log.map((n) => [n.kind, n.appeal?.status ?? null, n.decidedAppeal?.id ?? null])).toEqual([
      ['APPEAL_REVERSED', null, appealId],
      ['HIDE', 'REVERSED', null],
    ]);
  });

  it('lets a suspended user appeal their suspension; UPHELD keeps it, REVERSED would lift it', async () => {
    const fay = await createUser(t, 'Fay');
    const gus = await createUser(t, 'Gus');
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const upheldAction = await t.query(Suspend, { input: { userId: fay.id, until, reason: 'Harassment' } }, moderator.token);
    const reversedAction = await t.query(Suspend, { input: { userId: gus.id, until, reason: 'Harassment' } }, moderator.token);
    const idOf = (r: typeof upheldAction) => (r.suspendUser.__typename === 'ModerationActionPayload' ? r.suspendUser.action.id : '');
    const fayAppeal = await t.query(AppealAction, { input: { actionId: idOf(upheldAction), message: 'Please' } }, fay.token);
    const gusAppeal = await t.query(AppealAction, { input: { actionId: idOf(reversedAction), message: 'It was not me' } }, gus.token);
    const appealIdOf = (r: typeof fayAppeal) => (r.appealModerationAction.__typename === 'AppealPayload' ? r.appealModerationAction.appeal.id : '');

    expect((await t.query(ResolveAppeal, { input: { appealId: appealIdOf(fayAppeal), decision: 'UPHELD', reason: 'Screenshots confirm it' } }, admin.token)).resolveAppeal).toMatchObject({ appeal: { status: 'UPHELD' } });
    expect((await t.query(Viewer, {}, fay.token)).viewer?.suspendedUntil).toBe(until);
    expect((await t.query(ResolveAppeal, { input: { appealId: appealIdOf(gusAppeal), decision: 'REVERSED', reason: 'Wrong account' } }, admin.token)).resolveAppeal).toMatchObject({ appeal: { status: 'REVERSED' } });
    expect((await t.query(Viewer, {}, gus.token)).viewer?.suspendedUntil).toBeNull();
    expect((await t.query(CreateThreadM, { input: { spaceId: c.publicSpace, title: 'Free', body: 'again' } }, gus.token)).createThread.__typename).toBe('ThreadPayload');
  });
});

describe('list queries stay bounded', () => {
  it('runs as many SQL statements for a page of 30 queue items and log entries as for 5', async () => {
    const space = await createSpaceForBench();
    const threads: string[] = [];
    for (let i = 0; i < 30; i++) {
      const thread = await createThread(t, bob, space, `Bounded ${i}`);
      threads.push(i % 2 === 0 ? thread : await reply(t, bob, thread, `Bounded reply ${i}`));
      await report(alice, threads[i], i % 3 === 0 ? 'ABUSE' : 'SPAM');
    }
    await report(manager, bob.id, 'HARASSMENT');
    await t.query(Bulk, { input: { subjectIds: threads, action: 'HIDE', classifier: 'SPAM', reason: 'Wave' } }, moderator.token);

    const count = async <R, V>(run: () => Promise<R>) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        return { result: await run(), statements: statements.length };
      } finally {
        stop();
      }
    };
    const queue = (first: number) => count(() => t.query(Queue, { first, filter: { spaceId: space } }, moderator.token));
    const log = (first: number) => count(() => t.query(Log, { first, filter: { spaceId: space } }, moderator.token));
    const [q5, q30, l5, l30] = [await queue(5), await queue(30), await log(5), await log(30)];
    expect(q30.result.moderationQueue.nodes).toHaveLength(30);
    expect(q30.result.moderationQueue.nodes.every((n) => n.subject !== null && n.reports.totalCount === 1)).toBe(true);
    expect(l30.result.moderationLog.nodes).toHaveLength(30);
    expect(l30.result.moderationLog.nodes.every((n) => n.subject !== null && n.moderator?.id === moderator.id)).toBe(true);
    expect(q30.statements).toBe(q5.statements);
    expect(l30.statements).toBe(l5.statements);
    // Authentication, the page (relations joined), its count, reasons, one statement per subject
    // type (threads, posts); the log: the same without reasons.
    expect(q30.statements).toBe(6);
    expect(l30.statements).toBe(5);
  });
});

async function createSpaceForBench(): Promise<string> {
  const { createSpace } = await import('./fixtures.js');
  return createSpace(t, manager, 'bounded');
}
