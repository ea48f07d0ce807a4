import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSlaJob } from '../src/jobs/sla-job.js';
import { type Actor, createCommunity, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Open = graphql(`
  mutation SlaJobOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id number createdAt } } ... on Error { message } }
  }
`);
const SetStatus = graphql(`
  mutation SlaJobSetStatus($input: SetCaseStatusInput!) { setCaseStatus(input: $input) { __typename } }
`);
const Alerts = graphql(`
  query SlaJobAlerts {
    activityLog(first: 100, filter: { kinds: [SLA_AT_RISK, SLA_BREACHED] }) {
      nodes { kind actor { id } supportCase { number } subject { ... on CaseTimelineEntry { kind summary internal } } }
    }
  }
`);
const Breaches = graphql(`query SlaJobBreaches($id: ID!) { node(id: $id) { ... on SupportCase { sla { atRisk breaches } } } }`);

let t: TestApp;
let agent: Actor;
let alice: Actor;
let web: string;
const MIN = 60_000;

beforeAll(async () => {
  // The interval job is off: each pass below runs at an explicit time.
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0' });
  const community = await createCommunity(t);
  alice = community.alice;
  agent = await createUser(t, 'Watcher', 'AGENT', community.admin);
  const department = await createDepartment(t, community.manager, { name: 'Always open', timeZone: 'UTC', weeklyHours: [] }, [{ actor: agent }]);
  web = await createChannel(t, community.manager, {
    name: 'Web',
    defaultDepartmentId: department,
    slaPolicy: [{ priority: 'NORMAL', firstResponseMinutes: 60, nextResponseMinutes: 30, periodicUpdateMinutes: 120, resolutionMinutes: 480 }],
  });
});
afterAll(async () => {
  await t?.stop();
});

async function open(subject: string) {
  const { openCase } = await t.query(Open, { input: { channelId: web, subject, body: 'Help' } }, alice.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase;
}
const alerts = async (actor: Actor) => (await t.query(Alerts, {}, actor.token)).activityLog.nodes;
/** Two runners at once, as two instances would; returns what each raised. */
const race = (now: Date) => Promise.all([runSlaJob(now), runSlaJob(now)]);
const sum = (results: { atRisk: number; breached: number }[]) => ({
  atRisk: results.reduce((n, r) => n + r.atRisk, 0),
  breached: results.reduce((n, r) => n + r.breached, 0),
});

describe('the SLA job', () => {
  const cases: { id: string; number: number; createdAt: string }[] = [];
  let paused: { id: string; number: number; createdAt: string };
  let latest = 0;

  beforeAll(async () => {
    for (let i = 0; i < 6; i++) cases.push(await open(`Case ${i}`));
    paused = await open('Waiting on the customer');
    await t.query(SetStatus, { input: { caseId: paused.id, status: 'PENDING' } }, agent.token);
    latest = Math.max(...[...cases, paused].map((c) => Date.parse(c.createdAt)));
  });

  it('raises nothing before 80% of the time is used', async () => {
    expect(sum(await race(new Date(latest + 47 * MIN)))).toEqual({ atRisk: 0, breached: 0 });
  });

  it('raises SLA_AT_RISK once per case and metric with two runners racing; paused cases are left alone', async () => {
    expect(sum(await race(new Date(latest + 50 * MIN)))).toEqual({ atRisk: 6, breached: 0 });
    expect(sum(await race(new Date(latest + 55 * MIN)))).toEqual({ atRisk: 0, breached: 0 });
    const seen = await alerts(agent);
    expect(seen).toHaveLength(6);
    expect(seen.map((e) => e.supportCase!.number).sort((a, b) => a - b)).toEqual(cases.map((c) => c.number));
    // Two runners share the cases between them, so the log's order across cases is theirs to pick.
    expect(seen.find((e) => e.supportCase!.number === cases[0].number)).toEqual({
      kind: 'SLA_AT_RISK',
      actor: null,
      supportCase: { number: cases[0].number },
      subject: {
        kind: 'SLA_AT_RISK',
        summary: `First response SLA at risk: 80% of the time is used, due at ${new Date(Date.parse(cases[0].createdAt) + 60 * MIN).toISOString()}`,
        internal: true,
      },
    });
  });

  it('raises SLA_BREACHED once when the time runs out, and the case shows the breach', async () => {
    expect(sum(await race(new Date(latest + 61 * MIN)))).toEqual({ atRisk: 0, breached: 6 });
    expect(sum(await race(new Date(latest + 62 * MIN)))).toEqual({ atRisk: 0, breached: 0 });
    const breaches = (await alerts(agent)).filter((e) => e.kind === 'SLA_BREACHED');
    expect(breaches.map((e) => e.supportCase!.number).sort((a, b) => a - b)).toEqual(cases.map((c) => c.number));
    expect((await t.query(Breaches, { id: cases[0].id }, agent.token)).node).toEqual({ sla: { atRisk: [], breaches: ['FIRST_RESPONSE'] } });
  });

  it('raises an alert straight at BREACHED when no pass ran while it was at risk, per metric', async () => {
    // Resolution: 480 minutes. No pass ran between 384 and 480: only the breach is raised.
    expect(sum(await race(new Date(latest + 481 * MIN)))).toEqual({ atRisk: 0, breached: 6 });
  });

  it('never shows SLA alerts to the requester', async () => {
    expect(await alerts(alice)).toEqual([]);
  });

  it('alerts a paused case once it runs again and its time is used', async () => {
    await t.query(SetStatus, { input: { caseId: paused.id, status: 'OPEN' } }, agent.token);
    const resumed = Date.now();
    // It had used (almost) no time before the pause: its first response is at risk 48 minutes on.
    expect(sum(await race(new Date(resumed + 47 * MIN)))).toEqual({ atRisk: 0, breached: 0 });
    expect(sum(await race(new Date(resumed + 49 * MIN)))).toEqual({ atRisk: 1, breached: 0 });
  });
});
