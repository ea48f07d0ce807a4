import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../src/db/client.js';
import { type Actor, createCommunity, createThread, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { LiveCaseActivitySubscription } from './gql/graphql.js';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const OpenCase = graphql(`
  mutation CasesOpenCase($input: OpenCaseInput!) {
    openCase(input: $input) {
      __typename
      ... on SupportCasePayload {
        supportCase {
          id number reference subject status priority tags
          requester { id } channel { name } department { name } assignee { id } thread { id }
          firstResponseAt resolvedAt rating viewerIsStaff
          messages(first: 10) { totalCount nodes { body internal author { id } } }
        }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const OpenFromThread = graphql(`
  mutation CasesOpenFromThread($input: OpenCaseFromThreadInput!) {
    openCaseFromThread(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { id subject requester { id } thread { id } messages(first: 5) { nodes { body author { id } } } } }
      ... on Error { message }
    }
  }
`);
const Reply = graphql(`
  mutation CasesReply($input: ReplyToCaseInput!) {
    replyToCase(input: $input) {
      __typename
      ... on ReplyToCasePayload { caseMessage { id body internal } supportCase { status firstResponseAt } }
      ... on Error { message }
    }
  }
`);
const Assign = graphql(`
  mutation CasesAssign($input: AssignCaseInput!) {
    assignCase(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { assignee { id } } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Transfer = graphql(`
  mutation CasesTransfer($input: TransferCaseInput!) {
    transferCase(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { department { name } assignee { id } } }
      ... on Error { message }
    }
  }
`);
const Escalate = graphql(`
  mutation CasesEscalate($input: EscalateCaseInput!) {
    escalateCase(input: $input) { __typename ... on SupportCasePayload { supportCase { priority } } ... on Error { message } }
  }
`);
const SetStatus = graphql(`
  mutation CasesSetStatus($input: SetCaseStatusInput!) {
    setCaseStatus(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { status resolvedAt } }
      ... on Error { message }
    }
  }
`);
const Rate = graphql(`
  mutation CasesRate($input: RateCaseInput!) {
    rateCase(input: $input) { __typename ... on SupportCasePayload { supportCase { rating ratingComment } } ... on Error { message } }
  }
`);
const CaseNode = graphql(`
  query CasesNode($id: ID!) {
    node(id: $id) {
      __typename
      ... on SupportCase { number status messages(first: 20) { totalCount nodes { id body internal } } }
      ... on CaseMessage { body internal }
      ... on CaseTimelineEntry { kind summary reason internal }
    }
  }
`);
const MyCases = graphql(`query CasesMine { myCases(first: 10) { totalCount nodes { number subject } } }`);
const StaffCases = graphql(`
  query CasesStaff($filter: SupportCaseFilter) {
    supportCases(first: 10, filter: $filter) { totalCount nodes { number } }
  }
`);
const Log = graphql(`
  query CasesLog($kinds: [ActivityKind!]) {
    activityLog(first: 100, filter: { kinds: $kinds }) {
      nodes {
        kind
        actor { id }
        supportCase { number }
        subject { __typename id ... on CaseTimelineEntry { kind summary reason internal } }
      }
    }
  }
`);
const LiveCaseActivity = graphql(`
  subscription LiveCaseActivity {
    activity { kind supportCase { number } subject { __typename id ... on CaseTimelineEntry { summary } } }
  }
`);
const StaffPage = graphql(`
  query CasesStaffPage($first: Int!) {
    supportCases(first: $first) {
      totalCount
      nodes {
        number subject status viewerIsStaff
        requester { displayName } department { name } channel { name } assignee { displayName }
        messages(first: 3) { totalCount nodes { body author { displayName } } }
      }
    }
  }
`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let agent: Actor;
let lead: Actor;
let otherAgent: Actor;
let alice: Actor;
let bob: Actor;
let publicSpace: string;
let billing: string;
let tech: string;
let web: string;
let closedChannel: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ admin, manager, moderator, agent, alice, bob, publicSpace } = await createCommunity(t));
  lead = await createUser(t, 'Lead', 'AGENT', admin);
  otherAgent = await createUser(t, 'Tech agent', 'AGENT', admin);
  billing = await createDepartment(t, manager, { name: 'Billing' }, [{ actor: agent }, { actor: lead, lead: true }]);
  tech = await createDepartment(t, manager, { name: 'Tech' }, [{ actor: otherAgent, lead: true }]);
  web = await createChannel(t, manager, { name: 'Web form', defaultDepartmentId: billing });
  closedChannel = await createChannel(t, manager, { name: 'Old chat', defaultDepartmentId: billing, active: false });
});
afterAll(async () => {
  await t?.stop();
});

async function newCase(actor: Actor, subject = 'Charged twice', body = 'My card was charged twice.') {
  const { openCase } = await t.query(OpenCase, { input: { channelId: web, subject, body } }, actor.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase;
}

describe('opening a case', () => {
  it('lets any signed-in user open one on an active channel, routed to the channel department', async () => {
    const { openCase } = await t.query(
      OpenCase,
      { input: { channelId: web, subject: '  Refund please ', body: 'I was charged twice.', priority: 'HIGH' } },
      alice.token,
    );
    expect(openCase).toEqual({
      __typename: 'SupportCasePayload',
      supportCase: {
        id: expect.any(String),
        number: expect.any(Number),
        reference: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/),
        subject: 'Refund please',
        status: 'NEW',
        priority: 'HIGH',
        tags: [],
        requester: { id: alice.id },
        channel: { name: 'Web form' },
        department: { name: 'Billing' },
        assignee: null,
        thread: null,
        firstResponseAt: null,
        resolvedAt: null,
        rating: null,
        viewerIsStaff: false,
        messages: { totalCount: 1, nodes: [{ body: 'I was charged twice.', internal: false, author: { id: alice.id } }] },
      },
    });
    if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
    const second = await newCase(bob);
    expect(second.number).toBe(openCase.supportCase.number + 1);
  });

  it('rejects bad input, inactive channels and anonymous users without writing', async () => {
    const carol = await createUser(t, 'Carol');
    const bad = await t.query(OpenCase, { input: { channelId: web, subject: ' ', body: '' } }, carol.token);
    expect(bad.openCase).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'subject'], message: 'must not be empty' },
        { path: ['input', 'body'], message: 'must not be empty' },
      ],
    });
    const inactive = await t.query(OpenCase, { input: { channelId: closedChannel, subject: 'S', body: 'B' } }, carol.token);
    expect(inactive.openCase.__typename).toBe('NotFoundError');
    const anonymous = await t.query(OpenCase, { input: { channelId: web, subject: 'S', body: 'B' } });
    expect(anonymous.openCase.__typename).toBe('UnauthenticatedError');
    expect((await t.query(MyCases, {}, carol.token)).myCases).toEqual({ totalCount: 0, nodes: [] });
  });

  it('lets staff open a case from a public thread, on behalf of its author', async () => {
    const dan = await createUser(t, 'Dan');
    const threadId = await createThread(t, dan, publicSpace, 'Your app ate my invoice', 'It vanished after the update.');
    const denied = await t.query(OpenFromThread, { input: { threadId, channelId: web, reason: 'conflict' } }, alice.token);
    expect(denied.openCaseFromThread).toEqual({ __typename: 'ForbiddenError', message: 'Only staff can open a case from a thread' });
    // A moderator may open it, but is not in Billing: the case is then out of their sight.
    const byModerator = await t.query(OpenFromThread, { input: { threadId, channelId: web, reason: 'Heated thread' } }, moderator.token);
    expect(byModerator.openCaseFromThread).toEqual({ __typename: 'SupportCasePayload', supportCase: null });
    const { openCaseFromThread } = await t.query(
      OpenFromThread,
      { input: { threadId, channelId: web, reason: 'An angry public thread; better handled privately' } },
      agent.token,
    );
    expect(openCaseFromThread).toEqual({
      __typename: 'SupportCasePayload',
      supportCase: {
        id: expect.any(String),
        subject: 'Your app ate my invoice',
        requester: { id: dan.id },
        thread: { id: threadId },
        messages: { nodes: [{ body: 'It vanished after the update.', author: { id: dan.id } }] },
      },
    });
    expect((await t.query(MyCases, {}, dan.token)).myCases.nodes.map((c) => c.subject)).toEqual(['Your app ate my invoice', 'Your app ate my invoice']);
  });
});

describe('who sees a case', () => {
  it('is its requester, its department, managers and admins; not other agents, moderators or members', async () => {
    const kase = await newCase(alice, 'Who sees me');
    const sees = async (actor: Actor) => (await t.query(CaseNode, { id: kase.id }, actor.token)).node !== null;
    expect(await sees(alice)).toBe(true);
    expect(await sees(agent)).toBe(true);
    expect(await sees(lead)).toBe(true);
    expect(await sees(manager)).toBe(true);
    expect(await sees(admin)).toBe(true);
    expect(await sees(bob)).toBe(false);
    expect(await sees(otherAgent)).toBe(false);
    expect(await sees(moderator)).toBe(false);
    expect((await t.query(CaseNode, { id: kase.id })).node).toBeNull();

    const listed = async (actor: Actor) => (await t.query(StaffCases, { filter: { statuses: ['NEW'] } }, actor.token)).supportCases.nodes.map((c) => c.number);
    expect(await listed(agent)).toContain(kase.number);
    expect(await listed(otherAgent)).not.toContain(kase.number);
    expect(await listed(manager)).toContain(kase.number);
    const member = await t.request(StaffCases, {}, alice.token);
    expect(member.errors?.[0]?.message).toBe('Your role does not allow this');

    // Writes by someone who cannot see the case: NotFound, the case is not disclosed.
    const reply = await t.query(Reply, { input: { caseId: kase.id, body: 'me too' } }, bob.token);
    expect(reply.replyToCase).toEqual({ __typename: 'NotFoundError', message: `SupportCase ${Buffer.from(kase.id, 'base64').toString().split(':')[1]} was not found` });
    const assign = await t.query(Assign, { input: { caseId: kase.id, assigneeId: otherAgent.id } }, otherAgent.token);
    expect(assign.assignCase.__typename).toBe('NotFoundError');
  });
});

describe('working a case', () => {
  // Each test opens its own case for a requester of its own, in Billing; what it needs done to the
  // case first (a reply, a transfer) it does itself.
  let requesters = 0;
  async function openForNewRequester() {
    requesters += 1;
    const requester = await createUser(t, `Requester ${requesters}`);
    return { requester, kase: await newCase(requester, 'Invoice missing', 'Where is my November invoice?') };
  }

  it('counts the first public staff reply as the first response and opens the case', async () => {
    const { kase } = await openForNewRequester();
    const { replyToCase } = await t.query(Reply, { input: { caseId: kase.id, body: 'Looking into it.' } }, agent.token);
    expect(replyToCase).toMatchObject({
      __typename: 'ReplyToCasePayload',
      caseMessage: { body: 'Looking into it.', internal: false },
      supportCase: { status: 'OPEN', firstResponseAt: expect.any(String) },
    });
  });

  it('keeps internal notes from the requester on every path', async () => {
    const { requester, kase } = await openForNewRequester();
    await t.query(Reply, { input: { caseId: kase.id, body: 'Looking into it.' } }, agent.token);
    const note = await t.query(Reply, { input: { caseId: kase.id, body: 'Customer is on the legacy plan', internal: true } }, agent.token);
    expect(note.replyToCase).toMatchObject({ __typename: 'ReplyToCasePayload', caseMessage: { internal: true } });
    if (note.replyToCase.__typename !== 'ReplyToCasePayload') return;
    const noteId = note.replyToCase.caseMessage.id;
    const refused = await t.query(Reply, { input: { caseId: kase.id, body: 'psst', internal: true } }, requester.token);
    expect(refused.replyToCase).toEqual({ __typename: 'ForbiddenError', message: "Only staff of the case's department can add internal notes" });

    const asRequester = await t.query(CaseNode, { id: kase.id }, requester.token);
    expect(asRequester.node).toMatchObject({
      messages: { totalCount: 2, nodes: [{ body: 'Where is my November invoice?' }, { body: 'Looking into it.' }] },
    });
    expect((await t.query(CaseNode, { id: noteId }, requester.token)).node).toBeNull();
    const asStaff = await t.query(CaseNode, { id: kase.id }, lead.token);
    expect(asStaff.node).toMatchObject({ messages: { totalCount: 3, nodes: [{}, {}, { body: 'Customer is on the legacy plan', internal: true }] } });
    expect((await t.query(CaseNode, { id: noteId }, manager.token)).node).toEqual({ __typename: 'CaseMessage', body: 'Customer is on the legacy plan', internal: true });

    const requesterLog = (await t.query(Log, { kinds: ['CASE_NOTE_ADDED', 'CASE_REPLIED'] }, requester.token)).activityLog.nodes;
    expect(requesterLog.map((e) => e.kind)).toEqual(['CASE_REPLIED']);
    const staffLog = (await t.query(Log, { kinds: ['CASE_NOTE_ADDED'] }, agent.token)).activityLog.nodes;
    expect(staffLog).toEqual([
      {
        kind: 'CASE_NOTE_ADDED',
        actor: { id: agent.id },
        supportCase: { number: kase.number },
        subject: { __typename: 'CaseTimelineEntry', id: expect.any(String), kind: 'NOTE', summary: 'Agent added an internal note', reason: null, internal: true },
      },
    ]);
    expect((await t.query(CaseNode, { id: staffLog[0].subject!.id }, requester.token)).node).toBeNull();
    expect((await t.query(Log, { kinds: ['CASE_NOTE_ADDED', 'CASE_REPLIED'] }, otherAgent.token)).activityLog.nodes).toEqual([]);
  });

  it('streams case events live only to those allowed: no note for the requester, nothing for other agents', async () => {
    const { requester, kase } = await openForNewRequester();
    // Answered once already, so the replies below change no status.
    await t.query(Reply, { input: { caseId: kase.id, body: 'Looking into it.' } }, agent.token);
    const feeds = { alice: subscribe(t.wsClient(requester.token), LiveCaseActivity), agent: subscribe(t.wsClient(agent.token), LiveCaseActivity), other: subscribe(t.wsClient(otherAgent.token), LiveCaseActivity) };
    // A public thread reaches every feed: once each has one, all are live.
    const probes: string[] = [];
    while (Object.values(feeds).some((feed) => feed.received.length === 0)) {
      probes.push(await createThread(t, bob, publicSpace, 'probe', 'probe'));
      await sleep(100);
    }
    const kinds = (feed: (typeof feeds)['alice']) =>
      feed.received
        .map((r) => (r.data as LiveCaseActivitySubscription).activity)
        .filter((e) => e.kind.startsWith('CASE_'))
        .map((e) => `${e.kind} ${e.subject?.__typename === 'CaseTimelineEntry' ? e.subject.summary : ''}`.trim());
    await t.query(Reply, { input: { caseId: kase.id, body: 'secret', internal: true } }, lead.token);
    await t.query(Reply, { input: { caseId: kase.id, body: 'Found it, sending now.' } }, lead.token);
    const fence = await createThread(t, bob, publicSpace, 'fence', 'fence');
    for (const feed of Object.values(feeds)) {
      while (!feed.received.some((r) => (r.data as LiveCaseActivitySubscription).activity.subject?.id === fence)) await sleep(10);
    }
    expect(kinds(feeds.alice)).toEqual(['CASE_REPLIED Lead replied']);
    expect(kinds(feeds.agent)).toEqual(['CASE_NOTE_ADDED Lead added an internal note', 'CASE_REPLIED Lead replied']);
    expect(kinds(feeds.other)).toEqual([]);
    for (const feed of Object.values(feeds)) feed.dispose();
  });

  it('assigns only members of the case department, and only staff of the case may assign', async () => {
    const { requester, kase } = await openForNewRequester();
    const outsider = await t.query(Assign, { input: { caseId: kase.id, assigneeId: otherAgent.id } }, manager.token);
    expect(outsider.assignCase).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'assigneeId'], message: "must be a member of the case's department (Billing)" }],
    });
    const byRequester = await t.query(Assign, { input: { caseId: kase.id, assigneeId: agent.id } }, requester.token);
    expect(byRequester.assignCase).toEqual({ __typename: 'ForbiddenError', message: "Only staff of the case's department can assign it" });
    const ok = await t.query(Assign, { input: { caseId: kase.id, assigneeId: agent.id } }, lead.token);
    expect(ok.assignCase).toEqual({ __typename: 'SupportCasePayload', supportCase: { assignee: { id: agent.id } } });
  });

  it('escalates: priority up one step, an internal entry, and a notice to each lead only', async () => {
    const { requester, kase } = await openForNewRequester();
    const { escalateCase } = await t.query(Escalate, { input: { caseId: kase.id, reason: 'VIP customer' } }, agent.token);
    expect(escalateCase).toEqual({ __typename: 'SupportCasePayload', supportCase: { priority: 'HIGH' } });
    const notices = (actor: Actor) => t.query(Log, { kinds: ['CASE_LEAD_NOTIFIED'] }, actor.token).then((r) => r.activityLog.nodes);
    expect(await notices(lead)).toEqual([
      { kind: 'CASE_LEAD_NOTIFIED', actor: { id: agent.id }, supportCase: { number: kase.number }, subject: { __typename: 'User', id: lead.id } },
    ]);
    expect(await notices(agent)).toEqual([]);
    expect(await notices(otherAgent)).toEqual([]);
    const escalations = (await t.query(Log, { kinds: ['CASE_ESCALATED'] }, requester.token)).activityLog.nodes;
    expect(escalations).toEqual([]);
    const staffView = (await t.query(Log, { kinds: ['CASE_ESCALATED'] }, lead.token)).activityLog.nodes;
    expect(staffView[0].subject).toMatchObject({ summary: 'Agent escalated the case: priority NORMAL to HIGH', reason: 'VIP customer', internal: true });
  });

  it('transfers with a reason the requester may not see; the old department loses the case', async () => {
    const { requester, kase } = await openForNewRequester();
    const { transferCase } = await t.query(
      Transfer,
      { input: { caseId: kase.id, departmentId: tech, reason: 'Looks like a sync bug', reasonIsInternal: true } },
      agent.token,
    );
    // The agent is not in Tech: the case has left what they may see.
    expect(transferCase).toEqual({ __typename: 'SupportCasePayload', supportCase: null });
    expect((await t.query(CaseNode, { id: kase.id }, manager.token)).node).toMatchObject({ number: kase.number });
    expect((await t.query(CaseNode, { id: kase.id }, agent.token)).node).toBeNull();
    expect((await t.query(CaseNode, { id: kase.id }, otherAgent.token)).node).toMatchObject({ number: kase.number });
    const requesterView = (await t.query(Log, { kinds: ['CASE_TRANSFERRED'] }, requester.token)).activityLog.nodes;
    expect(requesterView.map((e) => e.subject)).toEqual([
      { __typename: 'CaseTimelineEntry', id: expect.any(String), kind: 'TRANSFERRED', summary: 'Transferred from Billing to Tech', reason: null, internal: false },
    ]);
    const staffView = (await t.query(Log, { kinds: ['CASE_TRANSFERRED'] }, otherAgent.token)).activityLog.nodes;
    expect(staffView.map((e) => e.subject)).toMatchObject([{ reason: 'Looks like a sync bug' }]);
  });

  it('moves through statuses: the requester reopens by replying, a resolved case is rated once, a closed case is final', async () => {
    const { requester, kase } = await openForNewRequester();
    // In Tech, worked by its agent.
    await t.query(Transfer, { input: { caseId: kase.id, departmentId: tech, reason: 'A sync bug' } }, manager.token);
    const pending = await t.query(SetStatus, { input: { caseId: kase.id, status: 'PENDING' } }, otherAgent.token);
    expect(pending.setCaseStatus).toEqual({ __typename: 'SupportCasePayload', supportCase: { status: 'PENDING', resolvedAt: null } });
    const byRequester = await t.query(SetStatus, { input: { caseId: kase.id, status: 'RESOLVED' } }, requester.token);
    expect(byRequester.setCaseStatus.__typename).toBe('ForbiddenError');
    const back = await t.query(SetStatus, { input: { caseId: kase.id, status: 'NEW' } }, otherAgent.token);
    expect(back.setCaseStatus).toMatchObject({ __typename: 'ValidationError', message: 'input.status: a case cannot go back to NEW' });
    const early = await t.query(Rate, { input: { caseId: kase.id, rating: 'GOOD' } }, requester.token);
    expect(early.rateCase).toEqual({ __typename: 'ConflictError', message: `Case ${kase.reference} can be rated once it is resolved` });

    const answer = await t.query(Reply, { input: { caseId: kase.id, body: 'Here are the details.' } }, requester.token);
    expect(answer.replyToCase).toMatchObject({ supportCase: { status: 'OPEN' } });

    const resolved = await t.query(SetStatus, { input: { caseId: kase.id, status: 'RESOLVED' } }, otherAgent.token);
    expect(resolved.setCaseStatus).toMatchObject({ supportCase: { status: 'RESOLVED', resolvedAt: expect.any(String) } });
    expect((await t.query(Rate, { input: { caseId: kase.id, rating: 'GOOD' } }, otherAgent.token)).rateCase).toEqual({
      __typename: 'ForbiddenError',
      message: 'Only the requester can rate a case',
    });
    const rated = await t.query(Rate, { input: { caseId: kase.id, rating: 'GOOD', comment: ' Quick! ' } }, requester.token);
    expect(rated.rateCase).toEqual({ __typename: 'SupportCasePayload', supportCase: { rating: 'GOOD', ratingComment: 'Quick!' } });
    const twice = await t.query(Rate, { input: { caseId: kase.id, rating: 'BAD' } }, requester.token);
    expect(twice.rateCase).toEqual({ __typename: 'ConflictError', message: `Case ${kase.reference} was already rated` });

    await t.query(SetStatus, { input: { caseId: kase.id, status: 'CLOSED' } }, manager.token);
    const late = await t.query(Reply, { input: { caseId: kase.id, body: 'One more thing' } }, requester.token);
    expect(late.replyToCase).toEqual({ __typename: 'ConflictError', message: `Case ${kase.reference} is closed; open a new case instead` });
    const reopen = await t.query(SetStatus, { input: { caseId: kase.id, status: 'OPEN' } }, manager.token);
    expect(reopen.setCaseStatus.__typename).toBe('ConflictError');
  });
});

describe('a page of cases', () => {
  it('runs the same SQL statements for 3 cases as for 30', async () => {
    for (let i = 0; i < 30; i++) {
      const kase = await newCase(i % 2 ? alice : bob, `Bulk ${i}`);
      if (i % 3 === 0) await t.query(Reply, { input: { caseId: kase.id, body: `Answer ${i}` } }, agent.token);
      if (i % 4 === 0) await t.query(Assign, { input: { caseId: kase.id, assigneeId: lead.id } }, agent.token);
    }
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const data = await t.query(StaffPage, { first }, agent.token);
        return { statements: statements.length, data };
      } finally {
        stop();
      }
    };
    const small = await count(3);
    const large = await count(30);
    expect(large.data.supportCases.nodes).toHaveLength(30);
    const bulk0 = large.data.supportCases.nodes.find((c) => c.subject === 'Bulk 0')!;
    expect(bulk0).toMatchObject({
      viewerIsStaff: true,
      requester: { displayName: 'Bob' },
      department: { name: 'Billing' },
      channel: { name: 'Web form' },
      assignee: { displayName: 'Lead' },
      messages: { totalCount: 2, nodes: [{ author: { displayName: 'Bob' } }, { body: 'Answer 0', author: { displayName: 'Agent' } }] },
    });
    expect(large.statements).toBe(small.statements);
  });
});
