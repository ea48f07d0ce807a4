import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createCommunity, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Open = graphql(`
  mutation SlaOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id createdAt } } ... on Error { message } }
  }
`);
const Sla = graphql(`
  query SlaOfCase($id: ID!) {
    node(id: $id) {
      ... on SupportCase {
        status firstResponseAt
        sla { firstResponseDueAt nextResponseDueAt periodicUpdateDueAt resolutionDueAt atRisk breaches paused pausedBusinessMinutes }
      }
    }
  }
`);
const SetStatus = graphql(`
  mutation SlaSetStatus($input: SetCaseStatusInput!) { setCaseStatus(input: $input) { __typename ... on Error { message } } }
`);
const Reply = graphql(`
  mutation SlaReply($input: ReplyToCaseInput!) { replyToCase(input: $input) { __typename ... on Error { message } } }
`);
const Escalate = graphql(`
  mutation SlaEscalate($input: EscalateCaseInput!) { escalateCase(input: $input) { __typename ... on Error { message } } }
`);
const Transfer = graphql(`
  mutation SlaTransfer($input: TransferCaseInput!) { transferCase(input: $input) { __typename ... on Error { message } } }
`);

let t: TestApp;
let manager: Actor;
let agent: Actor;
let alice: Actor;
let aroundTheClock: string;
let closedToday: string;
let web: string;
let holidayChannel: string;

const MIN = 60_000;
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const utcDate = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
const policy = [
  { priority: 'NORMAL' as const, firstResponseMinutes: 60, nextResponseMinutes: 30, periodicUpdateMinutes: 120, resolutionMinutes: 480 },
  { priority: 'HIGH' as const, firstResponseMinutes: 30, nextResponseMinutes: 15, periodicUpdateMinutes: 60, resolutionMinutes: 240 },
];

beforeAll(async () => {
  t = await startTestApp();
  let admin: Actor;
  ({ admin, manager, alice } = await createCommunity(t));
  agent = await createUser(t, 'Clock agent', 'AGENT', admin);
  // Open around the clock in UTC: business time is plain elapsed time, so due times are exact.
  aroundTheClock = await createDepartment(t, manager, { name: 'Always open', timeZone: 'UTC', weeklyHours: [] }, [{ actor: agent }]);
  // Closed today and tomorrow (UTC dates): the clocks start the day after tomorrow at 00:00.
  closedToday = await createDepartment(
    t,
    manager,
    { name: 'On holiday', timeZone: 'UTC', weeklyHours: [], holidays: [utcDate(0), utcDate(1)] },
    [{ actor: agent }],
  );
  web = await createChannel(t, manager, { name: 'Web', defaultDepartmentId: aroundTheClock, slaPolicy: policy });
  holidayChannel = await createChannel(t, manager, { name: 'Holiday desk', defaultDepartmentId: closedToday, slaPolicy: policy });
});
afterAll(async () => {
  await t?.stop();
});

async function open(channelId = web, priority: 'LOW' | 'NORMAL' | 'HIGH' = 'NORMAL') {
  const { openCase } = await t.query(Open, { input: { channelId, subject: 'Clock', body: 'Tick', priority } }, alice.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase;
}
const sla = async (id: string, actor = agent) => {
  const { node } = await t.query(Sla, { id }, actor.token);
  if (!node || !('sla' in node)) throw new Error('case not visible');
  return node;
};

describe('SLA clocks', () => {
  it('start when a case opens, from its channel policy for its priority', async () => {
    const kase = await open();
    expect((await sla(kase.id, alice)).sla).toEqual({
      firstResponseDueAt: plus(kase.createdAt, 60 * MIN),
      nextResponseDueAt: null,
      periodicUpdateDueAt: null,
      resolutionDueAt: plus(kase.createdAt, 480 * MIN),
      atRisk: [],
      breaches: [],
      paused: false,
      pausedBusinessMinutes: 0,
    });
    // LOW has no target on this channel: no clocks at all.
    const low = await open(web, 'LOW');
    expect((await sla(low.id)).sla).toMatchObject({ firstResponseDueAt: null, resolutionDueAt: null });
  });

  it('count only business hours: closed days push the due times out', async () => {
    const kase = await open(holidayChannel);
    const reopening = `${utcDate(2)}T00:00:00.000Z`;
    expect((await sla(kase.id)).sla).toMatchObject({
      firstResponseDueAt: plus(reopening, 60 * MIN),
      resolutionDueAt: plus(reopening, 480 * MIN),
    });
  });

  it('stop while PENDING and resume where they were, shifted by the business time paused', async () => {
    const kase = await open();
    const before = (await sla(kase.id)).sla;
    const pausedFrom = Date.now();
    await t.query(SetStatus, { input: { caseId: kase.id, status: 'PENDING' } }, agent.token);
    expect((await sla(kase.id)).sla).toEqual({ ...before, firstResponseDueAt: null, resolutionDueAt: null, paused: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await t.query(SetStatus, { input: { caseId: kase.id, status: 'OPEN' } }, agent.token);
    const pausedUntil = Date.now();
    const after = (await sla(kase.id)).sla;
    const shift = Date.parse(after.firstResponseDueAt!) - Date.parse(before.firstResponseDueAt!);
    // Around the clock, every paused millisecond is business time: the shift is the pause itself.
    expect(shift).toBeGreaterThanOrEqual(50);
    expect(shift).toBeLessThanOrEqual(pausedUntil - pausedFrom);
    expect(Date.parse(after.resolutionDueAt!) - Date.parse(before.resolutionDueAt!)).toBe(shift);
    expect(after.paused).toBe(false);
  });

  it('lose nothing to a pause outside business hours', async () => {
    const kase = await open(holidayChannel);
    const before = (await sla(kase.id)).sla;
    await t.query(SetStatus, { input: { caseId: kase.id, status: 'ON_HOLD' } }, agent.token);
    await t.query(SetStatus, { input: { caseId: kase.id, status: 'OPEN' } }, agent.token);
    expect((await sla(kase.id)).sla).toEqual({ ...before, pausedBusinessMinutes: 0 });
  });

  it('stop the first response on the first public staff reply, then owe periodic updates and next responses', async () => {
    const kase = await open();
    await t.query(Reply, { input: { caseId: kase.id, body: 'An internal note does not answer', internal: true } }, agent.token);
    expect((await sla(kase.id)).sla.firstResponseDueAt).toBe(plus(kase.createdAt, 60 * MIN));
    await t.query(Reply, { input: { caseId: kase.id, body: 'On it' } }, agent.token);
    const answered = await sla(kase.id);
    expect(answered.sla).toMatchObject({
      firstResponseDueAt: null,
      nextResponseDueAt: null,
      periodicUpdateDueAt: plus(answered.firstResponseAt!, 120 * MIN),
      resolutionDueAt: plus(kase.createdAt, 480 * MIN),
    });
    const sent = Date.now();
    await t.query(Reply, { input: { caseId: kase.id, body: 'Any news?' } }, alice.token);
    const waiting = (await sla(kase.id)).sla;
    expect(Date.parse(waiting.nextResponseDueAt!)).toBeGreaterThanOrEqual(sent + 30 * MIN);
    expect(Date.parse(waiting.nextResponseDueAt!)).toBeLessThanOrEqual(Date.now() + 30 * MIN);
    await t.query(Reply, { input: { caseId: kase.id, body: 'Fixed' } }, agent.token);
    expect((await sla(kase.id)).sla.nextResponseDueAt).toBeNull();
    await t.query(SetStatus, { input: { caseId: kase.id, status: 'RESOLVED' } }, agent.token);
    expect((await sla(kase.id)).sla).toMatchObject({ periodicUpdateDueAt: null, resolutionDueAt: null, breaches: [] });
  });

  it('move to the new targets on escalation, counting the time already used', async () => {
    const kase = await open();
    await t.query(Escalate, { input: { caseId: kase.id, reason: 'Angry' } }, agent.token);
    // HIGH: 30 min for the first response, 240 to resolve, from the moment it opened.
    expect((await sla(kase.id)).sla).toMatchObject({
      firstResponseDueAt: plus(kase.createdAt, 30 * MIN),
      resolutionDueAt: plus(kase.createdAt, 240 * MIN),
    });
  });

  it("count on in the new department's hours after a transfer", async () => {
    const kase = await open();
    const moved = Date.now();
    await t.query(Transfer, { input: { caseId: kase.id, departmentId: closedToday, reason: 'Their job' } }, agent.token);
    const due = Date.parse((await sla(kase.id)).sla.firstResponseDueAt!);
    // What was left of the hour, counted from the day after tomorrow.
    const reopening = Date.parse(`${utcDate(2)}T00:00:00.000Z`);
    expect(due).toBeGreaterThan(reopening + 60 * MIN - (Date.now() - Date.parse(kase.createdAt)) - 1);
    expect(due).toBeLessThanOrEqual(reopening + 60 * MIN - (moved - Date.parse(kase.createdAt)) + 1);
  });
});
