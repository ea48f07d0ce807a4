import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSlaJob } from '../src/jobs/sla-job.js';
import { type Actor, createCommunity, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Open = graphql(`
  mutation AssignmentOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } ... on Error { message } }
  }
`);
const OnDuty = graphql(`
  mutation AssignmentOnDuty($input: SetOnDutyInput!) {
    setOnDuty(input: $input) {
      __typename
      ... on DepartmentPayload { department { autoAssign members { user { displayName } onDuty } } }
      ... on Error { message }
    }
  }
`);
const Reply = graphql(`mutation AssignmentReply($input: ReplyToCaseInput!) { replyToCase(input: $input) { __typename } }`);
const Transfer = graphql(`mutation AssignmentTransfer($input: TransferCaseInput!) { transferCase(input: $input) { __typename } }`);
const Assignee = graphql(`
  query AssignmentOfCase($id: ID!) {
    node(id: $id) {
      ... on SupportCase {
        assignee { displayName }
        timeline(first: 20) { nodes { kind summary reason actor { id } } }
      }
    }
  }
`);

let t: TestApp;
let manager: Actor;
let ana: Actor;
let ben: Actor;
let cy: Actor;
let alice: Actor;
let desk: string;
let manual: string;
let web: string;
let manualWeb: string;
const MIN = 60_000;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0' });
  let admin: Actor;
  ({ admin, manager, alice } = await createCommunity(t));
  ana = await createUser(t, 'Ana', 'AGENT', admin);
  ben = await createUser(t, 'Ben', 'AGENT', admin);
  cy = await createUser(t, 'Cy', 'AGENT', admin);
  desk = await createDepartment(t, manager, { name: 'Desk', autoAssign: true }, [{ actor: ana }, { actor: ben }, { actor: cy }]);
  manual = await createDepartment(t, manager, { name: 'Manual' }, [{ actor: ana }]);
  web = await createChannel(t, manager, { name: 'Web', defaultDepartmentId: desk });
  manualWeb = await createChannel(t, manager, { name: 'Manual web', defaultDepartmentId: manual });
});
afterAll(async () => {
  await t?.stop();
});

async function open(channelId = web) {
  const { openCase } = await t.query(Open, { input: { channelId, subject: 'Help', body: 'Please' } }, alice.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase.id;
}
const assignee = async (id: string) => {
  const { node } = await t.query(Assignee, { id }, manager.token);
  return node && 'assignee' in node ? node.assignee?.displayName ?? null : 'invisible';
};

describe('round-robin assignment', () => {
  it('goes on and off duty: members for themselves, managers for anyone', async () => {
    const mine = await t.query(OnDuty, { input: { departmentId: desk, onDuty: true } }, ana.token);
    expect(mine.setOnDuty).toMatchObject({ department: { autoAssign: true, members: [{ onDuty: true }, { onDuty: false }, { onDuty: false }] } });
    const others = await t.query(OnDuty, { input: { departmentId: desk, userId: ben.id, onDuty: true } }, ana.token);
    expect(others.setOnDuty).toEqual({ __typename: 'ForbiddenError', message: 'Only a COMMUNITY_MANAGER or ADMIN can set the duty of others' });
    await t.query(OnDuty, { input: { departmentId: desk, userId: ben.id, onDuty: true } }, manager.token);
    const stranger = await t.query(OnDuty, { input: { departmentId: manual, onDuty: true } }, ben.token);
    expect(stranger.setOnDuty.__typename).toBe('NotFoundError');
  });

  it('hands new cases in turn to the on-duty agents, least recently assigned first', async () => {
    const assigned = [];
    for (let i = 0; i < 4; i++) assigned.push(await assignee(await open()));
    expect(assigned).toEqual(['Ana', 'Ben', 'Ana', 'Ben']);
    await t.query(OnDuty, { input: { departmentId: desk, onDuty: false } }, ben.token);
    expect(await assignee(await open())).toBe('Ana');
    expect(await assignee(await open())).toBe('Ana');
    // A department without auto-assignment leaves its cases to be picked.
    expect(await assignee(await open(manualWeb))).toBeNull();
  });

  it('explains the automatic assignment to staff, not the requester', async () => {
    const id = await open();
    const staff = await t.query(Assignee, { id }, ana.token);
    const staffEntries = staff.node && 'timeline' in staff.node ? staff.node.timeline.nodes : [];
    expect(staffEntries.find((e) => e.kind === 'ASSIGNED')).toEqual({
      kind: 'ASSIGNED',
      summary: 'Ana is handling this case',
      reason: 'Assigned automatically: round robin among the on-duty agents',
      actor: null,
    });
    const requester = await t.query(Assignee, { id }, alice.token);
    const requesterEntries = requester.node && 'timeline' in requester.node ? requester.node.timeline.nodes : [];
    expect(requesterEntries.find((e) => e.kind === 'ASSIGNED')).toEqual({ kind: 'ASSIGNED', summary: 'Ana is handling this case', reason: null, actor: null });
  });

  it('assigns a case transferred into an auto-assigning department', async () => {
    const id = await open(manualWeb);
    await t.query(Transfer, { input: { caseId: id, departmentId: desk, reason: 'Wrong desk' } }, ana.token);
    expect(await assignee(id)).toBe('Ana');
  });
});

describe('re-assignment of unanswered cases', () => {
  it('moves a case whose assignee did not answer in time to the next on-duty agent, once, and says why', async () => {
    await t.query(OnDuty, { input: { departmentId: desk, userId: cy.id, onDuty: true } }, manager.token);
    const waiting = await open();
    expect(await assignee(waiting)).toBe('Cy');
    const answered = await open();
    expect(await assignee(answered)).toBe('Ana');
    await t.query(Reply, { input: { caseId: answered, body: 'Looking' } }, ana.token);

    const now = Date.now();
    const early = await runSlaJob(new Date(now + 29 * MIN), { reassignAfterMinutes: 30 });
    expect(early.reassigned).toBe(0);
    const racing = await Promise.all([
      runSlaJob(new Date(now + 31 * MIN), { reassignAfterMinutes: 30 }),
      runSlaJob(new Date(now + 31 * MIN), { reassignAfterMinutes: 30 }),
    ]);
    // Every case assigned more than 30 minutes "ago" without an answer moves; Cy's moves once.
    const moved = racing[0].reassigned + racing[1].reassigned;
    expect(await assignee(answered)).toBe('Ana');
    const cyCase = await t.query(Assignee, { id: waiting }, manager.token);
    const entries = cyCase.node && 'timeline' in cyCase.node ? cyCase.node.timeline.nodes : [];
    const assignments = entries.filter((e) => e.kind === 'ASSIGNED');
    expect(assignments).toHaveLength(2);
    expect(assignments[1]).toMatchObject({ reason: 'Re-assigned: Cy had not answered within 30 minutes', actor: null });
    expect(assignments[1].summary).not.toBe('Cy is handling this case');
    // Each unanswered auto-assigned case moved exactly once, whichever runner took it.
    expect(moved).toBe(9);
    const again = await runSlaJob(new Date(now + 32 * MIN), { reassignAfterMinutes: 30 });
    expect(again.reassigned).toBe(0);
  });
});
