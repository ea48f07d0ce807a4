import { createHmac } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateAlerts } from '../src/modules/listening/alerts.js';
import { type Actor, createCommunity, createSpace, createThread, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

// A permission audit of moderation, support and listening as an attacker probes them through the
// public API: node(id)/nodes(ids), nested fields, activity, mutations on what is not yours, and
// the signed webhooks. Each viewer gets null (never an error that tells the record exists) for
// what it may not see.

const Nodes = graphql(`query StaffPermNodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`);
const NodeOne = graphql(`query StaffPermNode($id: ID!) { node(id: $id) { __typename id } }`);

const Report = graphql(`
  mutation PermReport($input: ReportContentInput!) {
    reportContent(input: $input) { __typename ... on ReportPayload { report { id } } ... on Error { message } }
  }
`);
const Queue = graphql(`query PermQueue { moderationQueue(first: 50) { nodes { id subject { id } } } }`);
const Warn = graphql(`
  mutation PermWarn($input: UserActionInput!) {
    warnUser(input: $input) { __typename ... on ModerationActionPayload { action { id } } ... on Error { message } }
  }
`);
const Hide = graphql(`
  mutation StaffPermHide($input: HideContentInput!) {
    hideContent(input: $input) { __typename ... on ModerationActionPayload { action { id } } ... on Error { message } }
  }
`);
const Remove = graphql(`
  mutation StaffPermRemove($input: ContentActionInput!) {
    removeContent(input: $input) { __typename ... on ModerationActionPayload { action { id } } ... on Error { message } }
  }
`);
const Appeal = graphql(`
  mutation PermAppeal($input: AppealModerationActionInput!) {
    appealModerationAction(input: $input) { __typename ... on AppealPayload { appeal { id } } ... on Error { message } }
  }
`);
const CreateAutomod = graphql(`
  mutation PermAutomod($input: CreateAutomodRuleInput!) {
    createAutomodRule(input: $input) { __typename ... on AutomodRulePayload { rule { id } } ... on Error { message } }
  }
`);
const ModerationEvents = graphql(`
  query PermModerationEvents {
    activityLog(last: 100, filter: { kinds: [MODERATION_ACTION, USER_MODERATED] }) {
      nodes { kind actor { id } subject { __typename id ... on ModerationAction { kind reason moderator { id } } } }
    }
  }
`);

const OpenCase = graphql(`
  mutation PermOpenCase($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id number } } ... on Error { message } }
  }
`);
const OpenFromThread = graphql(`
  mutation PermOpenFromThread($input: OpenCaseFromThreadInput!) {
    openCaseFromThread(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } ... on Error { message } }
  }
`);
const ReplyToCase = graphql(`
  mutation PermReplyToCase($input: ReplyToCaseInput!) {
    replyToCase(input: $input) { __typename ... on ReplyToCasePayload { caseMessage { id } } ... on Error { message } }
  }
`);
const Transfer = graphql(`
  mutation PermTransfer($input: TransferCaseInput!) {
    transferCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } ... on Error { message } }
  }
`);
const Assign = graphql(`
  mutation PermAssign($input: AssignCaseInput!) {
    assignCase(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { id } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const SetStatus = graphql(`
  mutation PermSetStatus($input: SetCaseStatusInput!) {
    setCaseStatus(input: $input) { __typename ... on SupportCasePayload { supportCase { status } } ... on Error { message } }
  }
`);
const Rate = graphql(`
  mutation PermRate($input: RateCaseInput!) {
    rateCase(input: $input) { __typename ... on SupportCasePayload { supportCase { rating } } ... on Error { message } }
  }
`);
const CaseTimeline = graphql(`
  query PermCaseTimeline($id: ID!) {
    node(id: $id) { ... on SupportCase { timeline(first: 50) { nodes { id kind internal } } } }
  }
`);
const CaseThread = graphql(`
  query PermCaseThread($id: ID!) { node(id: $id) { ... on SupportCase { thread { id title body } } } }
`);
const CaseEvents = graphql(`
  query PermCaseEvents {
    activityLog(last: 100, filter: { kinds: [CASE_OPENED, CASE_NOTE_ADDED, CASE_REPLIED] }) {
      nodes {
        kind
        supportCase { id }
        subject { __typename ... on CaseTimelineEntry { kind summary message { body internal } } }
      }
    }
  }
`);
const CreateRouting = graphql(`
  mutation PermRouting($input: CreateRoutingRuleInput!) {
    createRoutingRule(input: $input) { __typename ... on RoutingRulePayload { rule { id } } ... on Error { message } }
  }
`);
const Metrics = graphql(`
  query PermMetrics($departmentId: ID) {
    supportMetrics(from: "2020-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", departmentId: $departmentId) { backlog { status count } }
  }
`);
const WatchSpace = graphql(`
  mutation PermWatchSpace($input: UpdateSpaceInput!) {
    updateSpace(input: $input) { __typename ... on Error { message } }
  }
`);
const Attention = graphql(`
  query PermAttention($filter: AttentionFilter) {
    attentionQueue(first: 50, filter: $filter) { nodes { kind thread { id title body } } }
  }
`);
const RotateSecret = graphql(`
  mutation PermRotate($input: RotateSupportChannelIngestSecretInput!) {
    rotateSupportChannelIngestSecret(input: $input) { __typename ... on RotateSupportChannelIngestSecretPayload { secret } ... on Error { message } }
  }
`);

const CreateSource = graphql(`
  mutation PermSource($input: CreateListeningSourceInput!) {
    createListeningSource(input: $input) {
      __typename
      ... on CreateListeningSourcePayload { webhookSecret source { id } }
      ... on Error { message }
    }
  }
`);
const UpdateSource = graphql(`
  mutation PermUpdateSource($input: UpdateListeningSourceInput!) {
    updateListeningSource(input: $input) { __typename ... on Error { message } }
  }
`);
const CreateBrand = graphql(`
  mutation PermBrand($input: CreateTrackedBrandInput!) {
    createTrackedBrand(input: $input) { __typename ... on TrackedBrandPayload { brand { id } } ... on Error { message } }
  }
`);
const IngestMentions = graphql(`
  mutation PermIngest($input: IngestMentionsInput!) {
    ingestMentions(input: $input) { __typename ... on IngestMentionsPayload { accepted } ... on Error { message } }
  }
`);
const MentionIds = graphql(`query PermMentionIds { mentions(first: 50, filter: { includeUnmatched: true }) { nodes { id externalId } } }`);
const MentionSource = graphql(`
  query PermMentionSource($id: ID!) { node(id: $id) { ... on Mention { externalId source { id name url lastError } } } }
`);
const MentionThread = graphql(`
  query PermMentionThread($id: ID!) { node(id: $id) { ... on Mention { thread { id title body } } } }
`);
const CreateAlertRule = graphql(`
  mutation PermAlertRule($input: CreateListeningAlertRuleInput!) {
    createListeningAlertRule(input: $input) { __typename ... on ListeningAlertRulePayload { rule { id } } ... on Error { message } }
  }
`);
const AlertIds = graphql(`query PermAlertIds { listeningAlerts(first: 20) { nodes { id } } }`);
const ToThread = graphql(`
  mutation PermToThread($input: ConvertMentionToThreadInput!) {
    convertMentionToThread(input: $input) { __typename ... on ConvertMentionToThreadPayload { thread { id } } ... on Error { message } }
  }
`);
const ToCase = graphql(`
  mutation PermToCase($input: ConvertMentionToCaseInput!) {
    convertMentionToCase(input: $input) { __typename ... on ConvertMentionToCasePayload { supportCase { id } } ... on Error { message } }
  }
`);
const SetMentionStatus = graphql(`
  mutation PermMentionStatus($input: SetMentionStatusInput!) {
    setMentionStatus(input: $input) { __typename ... on Error { message } }
  }
`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let agent: Actor;
let otherAgent: Actor;
let alice: Actor;
let bob: Actor;
let publicSpace: string;
let billing: string;
let tech: string;
let billingChannel: string;
let techChannel: string;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0', LISTENING_JOB_INTERVAL_MS: '3600000' });
  ({ admin, manager, moderator, agent, alice, bob, publicSpace } = await createCommunity(t));
  otherAgent = await createUser(t, 'Tech agent', 'AGENT', admin);
  billing = await createDepartment(t, manager, { name: 'Billing' }, [{ actor: agent }]);
  tech = await createDepartment(t, manager, { name: 'Tech' }, [{ actor: otherAgent }]);
  billingChannel = await createChannel(t, manager, { name: 'Billing form', defaultDepartmentId: billing });
  techChannel = await createChannel(t, manager, { name: 'Tech form', defaultDepartmentId: tech });
});
afterAll(async () => {
  await t?.stop();
});

const idOf = (type: string, dbId: number | string) => Buffer.from(`${type}:${dbId}`).toString('base64');
const dbIdOf = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];

async function openCase(requester: Actor, channelId = billingChannel, subject = 'Charged twice') {
  const { openCase } = await t.query(OpenCase, { input: { channelId, subject, body: 'My card was charged twice.' } }, requester.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase;
}

async function replyToCase(actor: Actor, caseId: string, body: string, internal = false) {
  const { replyToCase } = await t.query(ReplyToCase, { input: { caseId, body, internal } }, actor.token);
  if (replyToCase.__typename !== 'ReplyToCasePayload') throw new Error(JSON.stringify(replyToCase));
  return replyToCase.caseMessage.id;
}

async function removeThread(threadId: string) {
  const { removeContent } = await t.query(Remove, { input: { subjectId: threadId, reason: 'Doxxing' } }, moderator.token);
  if (removeContent.__typename !== 'ModerationActionPayload') throw new Error(JSON.stringify(removeContent));
}

async function webhookSource(name: string) {
  const { createListeningSource } = await t.query(CreateSource, { input: { name, kind: 'WEBHOOK' } }, manager.token);
  if (createListeningSource.__typename !== 'CreateListeningSourcePayload') throw new Error(JSON.stringify(createListeningSource));
  return { id: createListeningSource.source.id, secret: createListeningSource.webhookSecret! };
}

async function mention(sourceId: string, externalId: string, body: string, publishedAt = '2026-07-01T10:10:00Z') {
  const { ingestMentions } = await t.query(IngestMentions, { input: { sourceId, mentions: [{ externalId, body, publishedAt }] } }, manager.token);
  if (ingestMentions.__typename !== 'IngestMentionsPayload') throw new Error(JSON.stringify(ingestMentions));
  const { mentions } = await t.query(MentionIds, {}, manager.token);
  return mentions.nodes.find((m) => m.externalId === externalId)!.id;
}

describe('node(id) and nodes(ids) answer null for what the viewer may not see', () => {
  it('for every node type of moderation, support and listening, whoever probes', async () => {
    // Moderation: a report by Alice on Bob's thread, its queue item, a warning to Bob, his appeal, an automod rule.
    const bobsThread = await createThread(t, bob, publicSpace, 'Bob on billing');
    const { reportContent } = await t.query(Report, { input: { subjectId: bobsThread, reason: 'SPAM' } }, alice.token);
    if (reportContent.__typename !== 'ReportPayload') throw new Error(JSON.stringify(reportContent));
    const report = reportContent.report.id;
    const queueItem = (await t.query(Queue, {}, moderator.token)).moderationQueue.nodes.find((i) => i.subject?.id === bobsThread)!.id;
    const { warnUser } = await t.query(Warn, { input: { userId: bob.id, reason: 'Spamming the forum' } }, moderator.token);
    if (warnUser.__typename !== 'ModerationActionPayload') throw new Error(JSON.stringify(warnUser));
    const warning = warnUser.action.id;
    const { appealModerationAction } = await t.query(Appeal, { input: { actionId: warning, message: 'It was not spam' } }, bob.token);
    if (appealModerationAction.__typename !== 'AppealPayload') throw new Error(JSON.stringify(appealModerationAction));
    const appeal = appealModerationAction.appeal.id;
    const { createAutomodRule } = await t.query(CreateAutomod, { input: { name: 'Casino', trigger: 'KEYWORD', action: 'FLAG', keywords: ['casino'] } }, manager.token);
    if (createAutomodRule.__typename !== 'AutomodRulePayload') throw new Error(JSON.stringify(createAutomodRule));
    const automodRule = createAutomodRule.rule.id;

    // Support: Alice's Billing case, with a public reply and an internal note; a routing rule.
    const kase = await openCase(alice);
    const publicReply = await replyToCase(agent, kase.id, 'We are looking into it.');
    const note = await replyToCase(agent, kase.id, 'Card flagged for fraud; do not tell her yet.', true);
    const timeline = (await t.query(CaseTimeline, { id: kase.id }, agent.token)).node;
    if (!timeline || !('timeline' in timeline)) throw new Error('no timeline');
    const internalEntry = timeline.timeline.nodes.find((e) => e.kind === 'NOTE')!;
    expect(internalEntry.internal).toBe(true);
    const { createRoutingRule } = await t.query(CreateRouting, { input: { name: 'Refunds', keywords: ['refund'], departmentId: billing } }, manager.token);
    if (createRoutingRule.__typename !== 'RoutingRulePayload') throw new Error(JSON.stringify(createRoutingRule));
    const routingRule = createRoutingRule.rule.id;

    // Listening: a brand, a webhook source, a mention, an alert rule and the alert it raised.
    const { createTrackedBrand } = await t.query(CreateBrand, { input: { name: 'Tertulia', kind: 'OWN', keywords: ['tertulia'] } }, manager.token);
    if (createTrackedBrand.__typename !== 'TrackedBrandPayload') throw new Error(JSON.stringify(createTrackedBrand));
    const brand = createTrackedBrand.brand.id;
    const source = await webhookSource('Probe source');
    const { createListeningAlertRule } = await t.query(CreateAlertRule, { input: { name: 'Zarzuela', kind: 'KEYWORD', keyword: 'zarzuela', windowMinutes: 30 } }, manager.token);
    if (createListeningAlertRule.__typename !== 'ListeningAlertRulePayload') throw new Error(JSON.stringify(createListeningAlertRule));
    const alertRule = createListeningAlertRule.rule.id;
    const mentionId = await mention(source.id, 'probe-1', 'Tertulia and the zarzuela crowd.');
    expect(await evaluateAlerts(new Date('2026-07-01T10:20:00Z'))).toBe(1);
    const alert = (await t.query(AlertIds, {}, manager.token)).listeningAlerts.nodes[0].id;

    const probes: [Actor | null, string[]][] = [
      [null, [report, queueItem, warning, appeal, automodRule, kase.id, publicReply, note, internalEntry.id, routingRule, brand, source.id, mentionId, alertRule, alert]],
      // The reported user: not the report about them, nor the queue.
      [bob, [report, queueItem, automodRule, kase.id, publicReply, note, internalEntry.id, routingRule, brand, source.id, mentionId, alertRule, alert]],
      // A member who filed a report and a case: not the queue, nor someone else's warning or appeal, nor the internal note.
      [alice, [queueItem, warning, appeal, automodRule, note, internalEntry.id, routingRule, brand, source.id, mentionId, alertRule, alert]],
      // An agent of another department.
      [otherAgent, [report, queueItem, warning, appeal, automodRule, kase.id, publicReply, note, internalEntry.id, source.id, alertRule, alert]],
      // A moderator: support cases and listening configuration are not theirs.
      [moderator, [kase.id, publicReply, note, internalEntry.id, source.id, alertRule, alert]],
    ];
    for (const [viewer, ids] of probes) {
      const result = await t.request(Nodes, { ids }, viewer?.token);
      expect({ viewer: viewer?.id ?? null, ...result }).toEqual({ viewer: viewer?.id ?? null, data: { nodes: ids.map(() => null) } });
      for (const id of ids) {
        expect(await t.request(NodeOne, { id }, viewer?.token)).toEqual({ data: { node: null } });
      }
    }
    // And the ones who may, do see them (the probe ids are right).
    expect((await t.query(Nodes, { ids: [report, kase.id, publicReply] }, alice.token)).nodes.map((n) => n?.__typename)).toEqual([
      'Report',
      'SupportCase',
      'CaseMessage',
    ]);
    expect((await t.query(Nodes, { ids: [warning, appeal] }, bob.token)).nodes.map((n) => n?.__typename)).toEqual(['ModerationAction', 'Appeal']);
    expect((await t.query(Nodes, { ids: [source.id, alertRule, alert] }, manager.token)).nodes.map((n) => n?.__typename)).toEqual([
      'ListeningSource',
      'ListeningAlertRule',
      'ListeningAlert',
    ]);
  });
});

describe('moderation through other paths', () => {
  it('never tells members who moderated: not through the activity log of a public action, nor of their own warning', async () => {
    const thread = await createThread(t, bob, publicSpace, 'Buy cheap watches');
    const { hideContent } = await t.query(Hide, { input: { subjectId: thread, classifier: 'SPAM', reason: 'Affiliate links' } }, moderator.token);
    if (hideContent.__typename !== 'ModerationActionPayload') throw new Error(JSON.stringify(hideContent));
    const { warnUser } = await t.query(Warn, { input: { userId: bob.id, reason: 'Second spam thread' } }, moderator.token);
    if (warnUser.__typename !== 'ModerationActionPayload') throw new Error(JSON.stringify(warnUser));

    const hideEvent = (events: { kind: string; subject: { id?: string } | null }[]) =>
      events.find((e) => e.kind === 'MODERATION_ACTION' && e.subject?.id === hideContent.action.id);
    // A member who sees the space reads what was done and why, not who did it.
    for (const viewer of [alice, bob, agent]) {
      expect(hideEvent((await t.query(ModerationEvents, {}, viewer.token)).activityLog.nodes)).toEqual({
        kind: 'MODERATION_ACTION',
        actor: null,
        subject: { __typename: 'ModerationAction', id: hideContent.action.id, kind: 'HIDE', reason: 'Affiliate links', moderator: null },
      });
    }
    // Bob hears of his warning on his own stream, without the moderator's name.
    const bobsNotices = (await t.query(ModerationEvents, {}, bob.token)).activityLog.nodes.filter((e) => e.kind === 'USER_MODERATED');
    expect(bobsNotices.length).toBeGreaterThan(0);
    expect(bobsNotices.every((e) => e.actor === null && e.subject?.id === bob.id)).toBe(true);
    // Moderators see who acted.
    expect(hideEvent((await t.query(ModerationEvents, {}, moderator.token)).activityLog.nodes)).toMatchObject({
      actor: { id: moderator.id },
      subject: { moderator: { id: moderator.id } },
    });
  });

  it("answers an appeal of someone else's action as not found unless the viewer can see that action", async () => {
    const thread = await createThread(t, bob, publicSpace, 'Off-topic rant');
    const { hideContent } = await t.query(Hide, { input: { subjectId: thread, classifier: 'OFF_TOPIC', reason: 'Not about the product' } }, moderator.token);
    if (hideContent.__typename !== 'ModerationActionPayload') throw new Error(JSON.stringify(hideContent));
    const { warnUser } = await t.query(Warn, { input: { userId: bob.id, reason: 'Rude to Alice' } }, moderator.token);
    if (warnUser.__typename !== 'ModerationActionPayload') throw new Error(JSON.stringify(warnUser));

    // Bob's warning is his alone: to Alice it does not exist, like an id that was never used.
    expect((await t.query(Appeal, { input: { actionId: warnUser.action.id, message: 'Unfair' } }, alice.token)).appealModerationAction).toEqual({
      __typename: 'NotFoundError',
      message: `ModerationAction ${dbIdOf(warnUser.action.id)} was not found`,
    });
    expect((await t.query(Appeal, { input: { actionId: idOf('ModerationAction', 999999), message: 'Unfair' } }, alice.token)).appealModerationAction).toEqual({
      __typename: 'NotFoundError',
      message: 'ModerationAction 999999 was not found',
    });
    // A public action she can read is not hers to appeal.
    expect((await t.query(Appeal, { input: { actionId: hideContent.action.id, message: 'Unfair' } }, alice.token)).appealModerationAction).toEqual({
      __typename: 'ForbiddenError',
      message: 'Only the user this action was taken against can appeal it',
    });
  });
});

describe('support through nested paths and mutations', () => {
  it('shows the forum thread of a case only if the viewer may still see that thread', async () => {
    const thread = await createThread(t, bob, publicSpace, 'Cannot export', 'My phone number is 555-0100, call me');
    const { openCaseFromThread } = await t.query(OpenFromThread, { input: { threadId: thread, channelId: billingChannel, reason: 'Needs account access' } }, agent.token);
    if (openCaseFromThread.__typename !== 'SupportCasePayload' || !openCaseFromThread.supportCase) throw new Error(JSON.stringify(openCaseFromThread));
    const kase = openCaseFromThread.supportCase.id;
    await removeThread(thread);

    // The agent handles the case but does not moderate: removed content is not theirs to read.
    expect((await t.query(CaseThread, { id: kase }, agent.token)).node).toEqual({ thread: null });
    // Its author (the requester) and a manager (who moderates) still see it.
    const full = { thread: { id: thread, title: 'Cannot export', body: 'My phone number is 555-0100, call me' } };
    expect((await t.query(CaseThread, { id: kase }, bob.token)).node).toEqual(full);
    expect((await t.query(CaseThread, { id: kase }, manager.token)).node).toEqual(full);
  });

  it('keeps removed threads out of the attention queue of agents', async () => {
    const watched = await createSpace(t, manager, 'watched-help');
    const { updateSpace } = await t.query(WatchSpace, { input: { spaceId: watched, attentionAfterMinutes: 0 } }, manager.token);
    expect(updateSpace.__typename).toBe('SpacePayload');
    const kept = await createThread(t, alice, watched, 'Waiting for help', 'Still waiting');
    const removed = await createThread(t, bob, watched, 'Scam link', 'Visit my scam');
    await removeThread(removed);

    const threads = async (viewer: Actor) =>
      (await t.query(Attention, { filter: { kinds: ['THREAD'], spaceId: watched } }, viewer.token)).attentionQueue.nodes.map((n) => n.thread);
    expect(await threads(agent)).toEqual([{ id: kept, title: 'Waiting for help', body: 'Still waiting' }]);
    // Removed content waits on no one: moderators do not get it as work for the support team either.
    expect(await threads(moderator)).toEqual([{ id: kept, title: 'Waiting for help', body: 'Still waiting' }]);
  });

  it("refuses changes to another department's case as if it did not exist, and to the requester what is staff's", async () => {
    const kase = await openCase(alice, billingChannel, 'Refund please');
    const notFound = { __typename: 'NotFoundError', message: `SupportCase ${dbIdOf(kase.id)} was not found` };
    expect((await t.query(ReplyToCase, { input: { caseId: kase.id, body: 'Tech here' } }, otherAgent.token)).replyToCase).toEqual(notFound);
    expect((await t.query(Transfer, { input: { caseId: kase.id, departmentId: tech, reason: 'Mine now' } }, otherAgent.token)).transferCase).toEqual(notFound);
    expect((await t.query(Assign, { input: { caseId: kase.id, assigneeId: otherAgent.id } }, otherAgent.token)).assignCase).toEqual(notFound);
    expect((await t.query(SetStatus, { input: { caseId: kase.id, status: 'CLOSED' } }, moderator.token)).setCaseStatus).toEqual(notFound);
    expect((await t.query(Rate, { input: { caseId: kase.id, rating: 'BAD' } }, bob.token)).rateCase).toEqual(notFound);

    // Staff of the case cannot hand it to someone outside its department.
    expect((await t.query(Assign, { input: { caseId: kase.id, assigneeId: otherAgent.id } }, agent.token)).assignCase).toEqual({
      __typename: 'ValidationError',
      message: "input.assigneeId: must be a member of the case's department (Billing)",
      fieldErrors: [{ path: ['input', 'assigneeId'], message: "must be a member of the case's department (Billing)" }],
    });
    expect((await t.query(Assign, { input: { caseId: kase.id, assigneeId: alice.id } }, agent.token)).assignCase.__typename).toBe('ValidationError');
    // The requester neither writes internal notes nor works the case; staff do not rate it.
    expect((await t.query(ReplyToCase, { input: { caseId: kase.id, body: 'psst', internal: true } }, alice.token)).replyToCase).toEqual({
      __typename: 'ForbiddenError',
      message: "Only staff of the case's department can add internal notes",
    });
    expect((await t.query(SetStatus, { input: { caseId: kase.id, status: 'RESOLVED' } }, alice.token)).setCaseStatus).toEqual({
      __typename: 'ForbiddenError',
      message: "Only staff of the case's department can change its status",
    });
    expect((await t.query(SetStatus, { input: { caseId: kase.id, status: 'RESOLVED' } }, agent.token)).setCaseStatus.__typename).toBe('SupportCasePayload');
    expect((await t.query(Rate, { input: { caseId: kase.id, rating: 'GOOD' } }, agent.token)).rateCase).toEqual({
      __typename: 'ForbiddenError',
      message: 'Only the requester can rate a case',
    });
  });

  it('refuses metrics and channel secrets to moderators and agents outside their remit', async () => {
    for (const viewer of [moderator, otherAgent]) {
      const { data, errors } = await t.request(Metrics, { departmentId: billing }, viewer.token);
      expect({ data, messages: errors?.map((e) => e.message) }).toEqual({
        data: null,
        messages: ['Agents see the metrics of their own departments: pass one of them as departmentId'],
      });
    }
    const { errors } = await t.request(Metrics, {}, alice.token);
    expect(errors?.map((e) => e.message)).toEqual(['Your role does not allow this']);
    for (const viewer of [agent, moderator, alice]) {
      const { rotateSupportChannelIngestSecret } = await t.query(RotateSecret, { input: { channelId: billingChannel } }, viewer.token);
      expect(rotateSupportChannelIngestSecret.__typename).toBe('ForbiddenError');
    }
  });

  it("hands a case's history over on transfer: the old department no longer reads its notes in the activity log", async () => {
    const kase = await openCase(bob, billingChannel, 'Locked out of billing');
    await replyToCase(agent, kase.id, 'Billing note: suspicious logins from abroad', true);
    const notesOf = async (viewer: Actor) =>
      (await t.query(CaseEvents, {}, viewer.token)).activityLog.nodes.filter(
        (e) => e.kind === 'CASE_NOTE_ADDED' && e.subject?.__typename === 'CaseTimelineEntry' && e.subject.message?.body === 'Billing note: suspicious logins from abroad',
      );
    expect(await notesOf(agent)).toHaveLength(1);
    const { transferCase } = await t.query(Transfer, { input: { caseId: kase.id, departmentId: tech, reason: 'Security issue' } }, agent.token);
    expect(transferCase).toEqual({ __typename: 'SupportCasePayload', supportCase: null });

    // Tech, who has the case now, reads its history; Billing no longer does, on any path.
    expect(await notesOf(otherAgent)).toHaveLength(1);
    expect(await notesOf(agent)).toEqual([]);
    // The requester never did.
    expect(await notesOf(bob)).toEqual([]);
  });
});

describe('listening through nested paths and mutations', () => {
  it('shows where a mention came from only to those who may see listening sources', async () => {
    const source = await webhookSource('Private partner feed');
    await t.query(UpdateSource, { input: { sourceId: source.id, name: 'Partner feed (token inside)' } }, manager.token);
    const mentionId = await mention(source.id, 'nested-source', 'Tertulia is down again');
    // Staff who read mentions but do not configure listening: the source is null, like node(source).
    for (const viewer of [agent, moderator]) {
      expect((await t.query(MentionSource, { id: mentionId }, viewer.token)).node).toEqual({ externalId: 'nested-source', source: null });
    }
    expect((await t.query(MentionSource, { id: mentionId }, manager.token)).node).toEqual({
      externalId: 'nested-source',
      source: { id: source.id, name: 'Partner feed (token inside)', url: null, lastError: null },
    });
  });

  it("shows a converted mention's thread only if the viewer may still see that thread", async () => {
    const source = await webhookSource('Thread source');
    const mentionId = await mention(source.id, 'nested-thread', 'Tertulia leaked my address: 1 Main St');
    // Started by a moderator (staff too): the agent is not its author.
    const { convertMentionToThread } = await t.query(ToThread, { input: { mentionId, spaceId: publicSpace } }, moderator.token);
    if (convertMentionToThread.__typename !== 'ConvertMentionToThreadPayload') throw new Error(JSON.stringify(convertMentionToThread));
    const thread = convertMentionToThread.thread.id;
    await removeThread(thread);

    // The agent reads mentions but does not moderate: the removed thread is gone for them.
    expect((await t.query(MentionThread, { id: mentionId }, agent.token)).node).toEqual({ thread: null });
    const full = { thread: { id: thread, title: 'Tertulia leaked my address: 1 Main St', body: 'Tertulia leaked my address: 1 Main St' } };
    expect((await t.query(MentionThread, { id: mentionId }, moderator.token)).node).toEqual(full);
    expect((await t.query(MentionThread, { id: mentionId }, manager.token)).node).toEqual(full);
  });

  it('refuses triage and conversion to members, and conversion into what the converter may not use', async () => {
    const source = await webhookSource('Triage source');
    const mentionId = await mention(source.id, 'triage-1', 'Tertulia ate my homework');
    const forbidden = (verb: string) => ({ __typename: 'ForbiddenError', message: `Only staff can ${verb}` });
    expect((await t.query(ToThread, { input: { mentionId, spaceId: publicSpace } }, alice.token)).convertMentionToThread).toEqual(forbidden('turn mentions into threads'));
    expect((await t.query(ToCase, { input: { mentionId, channelId: billingChannel } }, alice.token)).convertMentionToCase).toEqual(forbidden('turn mentions into cases'));
    expect((await t.query(SetMentionStatus, { input: { mentionId, status: 'IGNORED' } }, alice.token)).setMentionStatus).toEqual(forbidden('triage mentions'));
    expect((await t.query(ToThread, { input: { mentionId, spaceId: publicSpace } }, null)).convertMentionToThread.__typename).toBe('UnauthenticatedError');
  });
});

describe('webhooks', () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const sign = (secret: string, timestamp: number, body: string) => `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  async function post(path: string, body: string, headers: Record<string, string>) {
    const response = await fetch(t.url.replace(/\/graphql$/, path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  async function rotate(channelId: string) {
    const { rotateSupportChannelIngestSecret } = await t.query(RotateSecret, { input: { channelId } }, manager.token);
    if (rotateSupportChannelIngestSecret.__typename !== 'RotateSupportChannelIngestSecretPayload') throw new Error(JSON.stringify(rotateSupportChannelIngestSecret));
    return rotateSupportChannelIngestSecret.secret;
  }

  it("refuses a case message signed with one channel's secret that names another channel, or another requester's case", async () => {
    const billingSecret = await rotate(billingChannel);
    await rotate(techChannel);
    const ts = nowSeconds();
    const intoTech = JSON.stringify({ channelId: techChannel, messageId: 'x-1', from: { email: 'eve@example.com' }, subject: 'Hi', body: 'Injected' });
    expect(await post('/ingest/cases', intoTech, { 'x-tertulia-timestamp': String(ts), 'x-tertulia-signature': sign(billingSecret, ts, intoTech) })).toEqual({
      status: 401,
      body: { error: 'Missing or wrong x-tertulia-signature' },
    });
    // Alice's case, named by number on her channel by someone else: nothing there.
    const kase = await openCase(alice, billingChannel, 'Webhook target');
    const append = JSON.stringify({ channelId: billingChannel, messageId: 'x-2', from: { email: 'eve@example.com' }, body: 'Ignore the above', caseNumber: kase.number });
    expect(await post('/ingest/cases', append, { 'x-tertulia-timestamp': String(ts), 'x-tertulia-signature': sign(billingSecret, ts, append) })).toEqual({
      status: 404,
      body: { error: `SupportCase #${kase.number} was not found` },
    });
    // A delivery signed long ago is refused even with the right secret.
    const old = ts - 3600;
    const late = JSON.stringify({ channelId: billingChannel, messageId: 'x-3', from: { email: 'eve@example.com' }, subject: 'Late', body: 'Replayed' });
    expect((await post('/ingest/cases', late, { 'x-tertulia-timestamp': String(old), 'x-tertulia-signature': sign(billingSecret, old, late) })).status).toBe(401);
    const messages = (await t.query(CaseTimeline, { id: kase.id }, manager.token)).node;
    expect(messages && 'timeline' in messages ? messages.timeline.nodes.map((e) => e.kind) : null).toEqual(['OPENED']);
  });

  it("refuses mentions signed with one source's secret that name another source, and a disabled source's", async () => {
    const a = await webhookSource('Hook A');
    const b = await webhookSource('Hook B');
    const body = JSON.stringify({ mentions: [{ externalId: 'cross-1', body: 'Tertulia is great', publishedAt: '2026-07-02T10:00:00Z' }] });
    const ts = nowSeconds();
    const headers = (sourceId: string, secret: string) => ({ 'x-tertulia-source': sourceId, 'x-tertulia-timestamp': String(ts), 'x-tertulia-signature': sign(secret, ts, body) });
    expect(await post('/ingest/mentions', body, headers(b.id, a.secret))).toEqual({ status: 401, body: { error: 'Unknown source or bad signature' } });
    await t.query(UpdateSource, { input: { sourceId: b.id, enabled: false } }, manager.token);
    expect(await post('/ingest/mentions', body, headers(b.id, b.secret))).toEqual({ status: 401, body: { error: 'Unknown source or bad signature' } });
    expect((await t.query(MentionIds, {}, manager.token)).mentions.nodes.some((m) => m.externalId === 'cross-1')).toBe(false);
  });
});

describe('live and SSE paths', () => {
  it("streams a requester's case activity over SSE without internal notes", async () => {
    const kase = await openCase(alice, billingChannel, 'SSE case');
    await replyToCase(agent, kase.id, 'We are on it');
    const query = print(graphql(`subscription PermSse { activity { kind supportCase { id } subject { id } } }`));
    const controller = new AbortController();
    const response = await fetch(`${t.url}?${new URLSearchParams({ query })}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${alice.token}` },
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    type Activity = { kind: string; supportCase: { id: string } | null; subject: { id: string } | null };
    const received = () =>
      text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => (JSON.parse(line.slice(5)) as { data?: { activity: Activity } }).data?.activity);
    const reading = (async () => {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    })().catch(() => undefined);
    // Threads of her own as fences: once one arrives, so has everything written before it.
    const fenceSeen = async (title: string) => {
      const id = await createThread(t, alice, publicSpace, title);
      const deadline = Date.now() + 10_000;
      while (!received().some((a) => a?.subject?.id === id)) {
        if (Date.now() > deadline) throw new Error(`${title} never arrived: ${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return id;
    };
    const before = await fenceSeen('SSE fence before');
    await replyToCase(agent, kase.id, 'SSE internal: chargeback pending', true);
    await replyToCase(agent, kase.id, 'SSE public: your refund is on its way');
    const after = await fenceSeen('SSE fence after');
    controller.abort();
    await reading;
    const events = received();
    const between = events.slice(events.findIndex((a) => a?.subject?.id === before) + 1, events.findIndex((a) => a?.subject?.id === after));
    const kinds = between.filter((activity) => activity?.supportCase?.id === kase.id).map((activity) => activity!.kind);
    expect(kinds).toEqual(['CASE_REPLIED']);
  });
});
