import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createCommunity, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { CaseUpdatesSubscription } from './gql/graphql.js';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Open = graphql(`
  mutation TimelineOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id number reference } } ... on Error { message } }
  }
`);
const Reply = graphql(`
  mutation TimelineReply($input: ReplyToCaseInput!) {
    replyToCase(input: $input) { __typename ... on ReplyToCasePayload { caseMessage { id } } ... on Error { message } }
  }
`);
const Assign = graphql(`mutation TimelineAssign($input: AssignCaseInput!) { assignCase(input: $input) { __typename } }`);
const Transfer = graphql(`mutation TimelineTransfer($input: TransferCaseInput!) { transferCase(input: $input) { __typename } }`);
const Escalate = graphql(`mutation TimelineEscalate($input: EscalateCaseInput!) { escalateCase(input: $input) { __typename } }`);
const SetStatus = graphql(`mutation TimelineSetStatus($input: SetCaseStatusInput!) { setCaseStatus(input: $input) { __typename } }`);
const AddMember = graphql(`mutation TimelineAddMember($input: AddDepartmentMemberInput!) { addDepartmentMember(input: $input) { __typename } }`);
const RemoveMember = graphql(`mutation TimelineRemoveMember($input: RemoveDepartmentMemberInput!) { removeDepartmentMember(input: $input) { __typename } }`);
const Timeline = graphql(`
  query CaseTimeline($id: ID!) {
    node(id: $id) {
      ... on SupportCase {
        assignee { id }
        timeline(first: 50) { totalCount nodes { __typename kind summary reason internal actor { displayName } message { body } } }
      }
    }
  }
`);
const CaseUpdates = graphql(`
  subscription CaseUpdates($caseId: ID!) {
    caseUpdated(caseId: $caseId) { __typename kind summary reason internal message { body } }
  }
`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let agent: Actor;
let outsider: Actor;
let alice: Actor;
let bob: Actor;
let billing: string;
let tech: string;
let web: string;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0' });
  ({ admin, manager, alice, bob } = await createCommunity(t));
  agent = await createUser(t, 'Ana', 'AGENT', admin);
  outsider = await createUser(t, 'Omar', 'AGENT', admin);
  billing = await createDepartment(t, manager, { name: 'Billing' }, [{ actor: agent }]);
  tech = await createDepartment(t, manager, { name: 'Tech' }, [{ actor: agent }]);
  web = await createChannel(t, manager, { name: 'Web', defaultDepartmentId: billing });
});
afterAll(async () => {
  await t?.stop();
});

async function open(subject = 'My invoice') {
  const { openCase } = await t.query(Open, { input: { channelId: web, subject, body: 'It is wrong.' } }, alice.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase;
}

const databaseIdOf = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1];

type Entry = CaseUpdatesSubscription['caseUpdated'];
type Feed = ReturnType<typeof subscribe<CaseUpdatesSubscription, { caseId: string }>>;
const entries = (feed: Feed): Entry[] => feed.received.map((r) => (r.data as CaseUpdatesSubscription).caseUpdated);

/** Waits until every feed is attached: the requester writes until each feed has an entry. */
async function goLive(caseId: string, feeds: Feed[]): Promise<number[]> {
  const deadline = Date.now() + 20_000;
  while (feeds.some((feed) => feed.received.length === 0)) {
    for (const feed of feeds) if (feed.error) throw new Error(JSON.stringify(feed.error));
    if (Date.now() > deadline) throw new Error('never went live');
    await t.query(Reply, { input: { caseId, body: 'probe' } }, alice.token);
    await sleep(100);
  }
  const fence = await t.query(Reply, { input: { caseId, body: 'fence' } }, alice.token);
  expect(fence.replyToCase.__typename).toBe('ReplyToCasePayload');
  for (const feed of feeds) while (!entries(feed).some((e) => e.message?.body === 'fence')) await sleep(10);
  return feeds.map((feed) => entries(feed).findIndex((e) => e.message?.body === 'fence') + 1);
}

describe('the case timeline', () => {
  it('tells the requester every change that concerns them in plain words, and staff everything', async () => {
    const kase = await open();
    await t.query(Reply, { input: { caseId: kase.id, body: 'We are on it.' } }, agent.token);
    await t.query(Reply, { input: { caseId: kase.id, body: 'Customer seems confused', internal: true } }, agent.token);
    await t.query(Assign, { input: { caseId: kase.id, assigneeId: agent.id } }, agent.token);
    await t.query(Escalate, { input: { caseId: kase.id, reason: 'Big account' } }, agent.token);
    await t.query(Transfer, { input: { caseId: kase.id, departmentId: tech, reason: 'It is a bug in the export' } }, agent.token);
    await t.query(Transfer, { input: { caseId: kase.id, departmentId: billing, reason: 'Back to billing, tech is swamped', reasonIsInternal: true } }, agent.token);
    await t.query(SetStatus, { input: { caseId: kase.id, status: 'PENDING' } }, agent.token);
    await t.query(Reply, { input: { caseId: kase.id, body: 'Here is the file.' } }, alice.token);
    await t.query(SetStatus, { input: { caseId: kase.id, status: 'RESOLVED' } }, agent.token);

    const requester = await t.query(Timeline, { id: kase.id }, alice.token);
    const entry = (kind: string, summary: string, actor: string | null, extra: { reason?: string | null; message?: string } = {}) => ({
      __typename: 'CaseTimelineEntry',
      kind,
      summary,
      reason: extra.reason ?? null,
      internal: false,
      actor: actor ? { displayName: actor } : null,
      message: extra.message ? { body: extra.message } : null,
    });
    const publicEntries = [
      entry('OPENED', `Case ${kase.reference} opened: "My invoice"`, 'Alice', { message: 'It is wrong.' }),
      entry('REPLY', 'Ana replied', 'Ana', { message: 'We are on it.' }),
      entry('STATUS_CHANGED', 'Status changed from new to open', 'Ana'),
      entry('ASSIGNED', 'Ana is handling this case', 'Ana'),
      entry('TRANSFERRED', 'Transferred from Billing to Tech', 'Ana', { reason: 'It is a bug in the export' }),
      // Back in Billing, where Ana is also a member, so she is still assigned.
      entry('TRANSFERRED', 'Transferred from Tech to Billing', 'Ana'),
      entry('STATUS_CHANGED', 'Status changed from open to waiting for the requester', 'Ana'),
      entry('REPLY', 'Alice replied', 'Alice', { message: 'Here is the file.' }),
      entry('STATUS_CHANGED', 'Status changed from waiting for the requester to open', 'Alice'),
      entry('STATUS_CHANGED', 'Status changed from open to resolved', 'Ana'),
    ];
    expect(requester.node).toEqual({ assignee: { id: agent.id }, timeline: { totalCount: publicEntries.length, nodes: publicEntries } });

    const staff = await t.query(Timeline, { id: kase.id }, agent.token);
    const staffNodes = staff.node && 'timeline' in staff.node ? staff.node.timeline.nodes : [];
    expect(staffNodes.map((e) => `${e.kind}${e.internal ? ' (internal)' : ''}`)).toEqual([
      'OPENED',
      'REPLY',
      'STATUS_CHANGED',
      'NOTE (internal)',
      'ASSIGNED',
      'ESCALATED (internal)',
      'TRANSFERRED',
      'TRANSFERRED',
      'STATUS_CHANGED',
      'REPLY',
      'STATUS_CHANGED',
      'STATUS_CHANGED',
    ]);
    expect(staffNodes[3]).toMatchObject({ summary: 'Ana added an internal note', message: { body: 'Customer seems confused' } });
    expect(staffNodes[7]).toMatchObject({ reason: 'Back to billing, tech is swamped' });
  });

  it('streams each entry live to the requester (public only) and to staff (all), in order', async () => {
    const kase = await open('Live one');
    const requester = subscribe(t.wsClient(alice.token), CaseUpdates, { caseId: kase.id });
    const staff = subscribe(t.wsClient(agent.token), CaseUpdates, { caseId: kase.id });
    const [requesterStart, staffStart] = await goLive(kase.id, [requester, staff]);

    await t.query(Reply, { input: { caseId: kase.id, body: 'Secret plan', internal: true } }, agent.token);
    await t.query(Escalate, { input: { caseId: kase.id, reason: 'Loud customer' } }, agent.token);
    await t.query(Reply, { input: { caseId: kase.id, body: 'Fixed, please check' } }, agent.token);
    await t.query(Transfer, { input: { caseId: kase.id, departmentId: tech, reason: 'Internal politics', reasonIsInternal: true } }, agent.token);
    await t.query(Reply, { input: { caseId: kase.id, body: 'last' } }, alice.token);
    for (const feed of [requester, staff]) while (!entries(feed).some((e) => e.message?.body === 'last')) await sleep(10);

    expect(entries(requester).slice(requesterStart)).toEqual([
      { __typename: 'CaseTimelineEntry', kind: 'REPLY', summary: 'Ana replied', reason: null, internal: false, message: { body: 'Fixed, please check' } },
      { __typename: 'CaseTimelineEntry', kind: 'STATUS_CHANGED', summary: 'Status changed from new to open', reason: null, internal: false, message: null },
      { __typename: 'CaseTimelineEntry', kind: 'TRANSFERRED', summary: 'Transferred from Billing to Tech', reason: null, internal: false, message: null },
      { __typename: 'CaseTimelineEntry', kind: 'REPLY', summary: 'Alice replied', reason: null, internal: false, message: { body: 'last' } },
    ]);
    expect(entries(staff).slice(staffStart).map((e) => [e.kind, e.internal, e.reason])).toEqual([
      ['NOTE', true, null],
      ['ESCALATED', true, 'Loud customer'],
      ['REPLY', false, null],
      ['STATUS_CHANGED', false, null],
      ['TRANSFERRED', false, 'Internal politics'],
      ['REPLY', false, null],
    ]);
  });

  it('refuses the subscription to whoever may not see the case', async () => {
    const kase = await open('Private');
    for (const actor of [bob, outsider]) {
      const feed = subscribe(t.wsClient(actor.token), CaseUpdates, { caseId: kase.id });
      const [result] = await feed.next(1);
      expect(result).toEqual({
        errors: [expect.objectContaining({ message: `SupportCase ${databaseIdOf(kase.id)} was not found`, extensions: { code: 'NOT_FOUND' } })],
      });
    }
  });

  it('follows the rights of each moment: leaving the department stops the stream', async () => {
    const kase = await open('Membership');
    const joiner = await createUser(t, 'Jo', 'AGENT', admin);
    await t.query(AddMember, { input: { departmentId: billing, userId: joiner.id } }, manager.token);
    const feed = subscribe(t.wsClient(joiner.token), CaseUpdates, { caseId: kase.id });
    const [start] = await goLive(kase.id, [feed]);
    await t.query(Reply, { input: { caseId: kase.id, body: 'seen', internal: true } }, agent.token);
    await t.query(RemoveMember, { input: { departmentId: billing, userId: joiner.id } }, manager.token);
    await t.query(Reply, { input: { caseId: kase.id, body: 'not seen', internal: true } }, agent.token);
    await t.query(Reply, { input: { caseId: kase.id, body: 'not seen either' } }, alice.token);
    // A second feed of someone still allowed, to know the last entry has been delivered.
    const witness = subscribe(t.wsClient(agent.token), CaseUpdates, { caseId: kase.id });
    await goLive(kase.id, [witness]);
    await sleep(100);
    expect(entries(feed).slice(start).map((e) => e.summary)).toEqual(['Ana added an internal note']);
  });
});

