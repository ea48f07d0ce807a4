import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runSlaJob } from '../src/jobs/sla-job.js';
import { type Actor, createCommunity, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { sleep, startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Open = graphql(`
  mutation MetricsOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id createdAt } } ... on Error { message } }
  }
`);
const Reply = graphql(`mutation MetricsReply($input: ReplyToCaseInput!) { replyToCase(input: $input) { __typename } }`);
const Assign = graphql(`mutation MetricsAssign($input: AssignCaseInput!) { assignCase(input: $input) { __typename } }`);
const SetStatus = graphql(`mutation MetricsSetStatus($input: SetCaseStatusInput!) { setCaseStatus(input: $input) { __typename } }`);
const Rate = graphql(`mutation MetricsRate($input: RateCaseInput!) { rateCase(input: $input) { __typename } }`);
const Times = graphql(`query MetricsTimes($id: ID!) { node(id: $id) { ... on SupportCase { createdAt firstResponseAt resolvedAt } } }`);
const Metrics = graphql(`
  query SupportMetrics($from: DateTime!, $to: DateTime!, $departmentId: ID) {
    supportMetrics(from: $from, to: $to, departmentId: $departmentId) {
      department { name }
      firstResponse { count medianMinutes p90Minutes }
      resolution { count medianMinutes p90Minutes }
      slaCompliance { metric met breached ratio }
      backlog { status count }
      reassignments
      csat { good bad ratio }
    }
  }
`);

let t: TestApp;
let manager: Actor;
let agent: Actor;
let lead: Actor;
let outsider: Actor;
let alice: Actor;
let billing: string;
let tech: string;
const MIN = 60_000;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0' });
  let admin: Actor;
  ({ admin, manager, alice } = await createCommunity(t));
  agent = await createUser(t, 'Ana', 'AGENT', admin);
  lead = await createUser(t, 'Lea', 'AGENT', admin);
  outsider = await createUser(t, 'Omar', 'AGENT', admin);
  billing = await createDepartment(t, manager, { name: 'Billing' }, [{ actor: agent }, { actor: lead }]);
  tech = await createDepartment(t, manager, { name: 'Tech' }, [{ actor: outsider }]);
});
afterAll(async () => {
  await t?.stop();
});

/** percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  return sorted[low] + (sorted[Math.ceil(rank)] - sorted[low]) * (rank - low);
}

describe('support metrics', () => {
  const ids: string[] = [];
  let from: string;
  let firstCreated: number;

  beforeAll(async () => {
    const channel = await createChannel(t, manager, {
      name: 'Web',
      defaultDepartmentId: billing,
      slaPolicy: [{ priority: 'NORMAL', firstResponseMinutes: 60, nextResponseMinutes: 30, periodicUpdateMinutes: 120, resolutionMinutes: 480 }],
    });
    const techChannel = await createChannel(t, manager, { name: 'Tech web', defaultDepartmentId: tech });
    from = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 5; i++) {
      const { openCase } = await t.query(Open, { input: { channelId: channel, subject: `Case ${i}`, body: 'Help' } }, alice.token);
      if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error('open failed');
      ids.push(openCase.supportCase.id);
    }
    firstCreated = Date.parse((await t.query(Times, { id: ids[0] }, manager.token)).node!.createdAt as string);
    await t.query(Open, { input: { channelId: techChannel, subject: 'Elsewhere', body: 'Other department' } }, alice.token);
    // Answers after different waits, so the durations differ.
    for (const [i, wait] of [[0, 10], [1, 60], [2, 30]] as const) {
      await sleep(wait);
      await t.query(Reply, { input: { caseId: ids[i], body: 'Answer' } }, agent.token);
    }
    await t.query(SetStatus, { input: { caseId: ids[0], status: 'RESOLVED' } }, agent.token);
    await t.query(SetStatus, { input: { caseId: ids[1], status: 'RESOLVED' } }, agent.token);
    await t.query(Rate, { input: { caseId: ids[0], rating: 'GOOD' } }, alice.token);
    await t.query(Rate, { input: { caseId: ids[1], rating: 'BAD' } }, alice.token);
    await t.query(SetStatus, { input: { caseId: ids[2], status: 'PENDING' } }, agent.token);
    // Assigned, then handed to someone else: one re-assignment.
    await t.query(Assign, { input: { caseId: ids[3], assigneeId: agent.id } }, agent.token);
    await t.query(Assign, { input: { caseId: ids[3], assigneeId: lead.id } }, agent.token);
    await t.query(Assign, { input: { caseId: ids[4], assigneeId: lead.id } }, agent.token);
    // Cases 3 and 4 were never answered: their first response breaches an hour after opening.
    // On a shared database another test file's SLA runner may hold one of these cases for a moment
    // (the job skips locked rows and leaves them to its next tick), so pass until both are raised.
    await vi.waitFor(
      async () => {
        await runSlaJob(new Date(firstCreated + 70 * MIN));
        const to = new Date(Date.now() + 1000).toISOString();
        const { supportMetrics } = await t.query(Metrics, { from, to, departmentId: billing }, manager.token);
        expect(supportMetrics.slaCompliance.find((c) => c.metric === 'FIRST_RESPONSE')?.breached).toBe(2);
      },
      { timeout: 20_000, interval: 100 },
    );
  });

  it('measures response and resolution times in SQL, SLA compliance, backlog, re-assignments and CSAT', async () => {
    const times = await Promise.all(ids.map(async (id) => (await t.query(Times, { id }, manager.token)).node!));
    const minutes = (start: unknown, end: unknown) => (Date.parse(end as string) - Date.parse(start as string)) / MIN;
    const firstResponses = times.filter((c) => c.firstResponseAt).map((c) => minutes(c.createdAt, c.firstResponseAt));
    const resolutions = times.filter((c) => c.resolvedAt).map((c) => minutes(c.createdAt, c.resolvedAt));
    expect(firstResponses).toHaveLength(3);

    const to = new Date(Date.now() + 1000).toISOString();
    const { supportMetrics } = await t.query(Metrics, { from, to, departmentId: billing }, manager.token);
    expect(supportMetrics).toEqual({
      department: { name: 'Billing' },
      firstResponse: { count: 3, medianMinutes: expect.any(Number), p90Minutes: expect.any(Number) },
      resolution: { count: 2, medianMinutes: expect.any(Number), p90Minutes: expect.any(Number) },
      slaCompliance: [
        { metric: 'FIRST_RESPONSE', met: 3, breached: 2, ratio: 0.6 },
        { metric: 'NEXT_RESPONSE', met: 0, breached: 0, ratio: null },
        // Stopped by resolution; case 2's periodic update is paused (PENDING), undecided.
        { metric: 'PERIODIC_UPDATE', met: 2, breached: 0, ratio: 1 },
        { metric: 'RESOLUTION', met: 2, breached: 0, ratio: 1 },
      ],
      backlog: [
        { status: 'NEW', count: 2 },
        { status: 'OPEN', count: 0 },
        { status: 'PENDING', count: 1 },
        { status: 'ON_HOLD', count: 0 },
        { status: 'RESOLVED', count: 2 },
        { status: 'CLOSED', count: 0 },
      ],
      reassignments: 1,
      csat: { good: 1, bad: 1, ratio: 0.5 },
    });
    expect(supportMetrics.firstResponse.medianMinutes).toBeCloseTo(percentile(firstResponses, 0.5), 6);
    expect(supportMetrics.firstResponse.p90Minutes).toBeCloseTo(percentile(firstResponses, 0.9), 6);
    expect(supportMetrics.resolution.medianMinutes).toBeCloseTo(percentile(resolutions, 0.5), 6);
    expect(supportMetrics.resolution.p90Minutes).toBeCloseTo(percentile(resolutions, 0.9), 6);

    const everything = (await t.query(Metrics, { from, to }, manager.token)).supportMetrics;
    expect(everything.department).toBeNull();
    expect(everything.backlog.find((b) => b.status === 'NEW')).toEqual({ status: 'NEW', count: 3 });
    const before = (await t.query(Metrics, { from: '2020-01-01T00:00:00.000Z', to: from, departmentId: billing }, manager.token)).supportMetrics;
    expect(before.firstResponse).toEqual({ count: 0, medianMinutes: null, p90Minutes: null });
    expect(before.csat).toEqual({ good: 0, bad: 0, ratio: null });
  });

  it('lets agents measure only their own departments', async () => {
    const to = new Date(Date.now() + 1000).toISOString();
    expect((await t.query(Metrics, { from, to, departmentId: billing }, agent.token)).supportMetrics.reassignments).toBe(1);
    for (const [actor, departmentId] of [[outsider, billing], [agent, undefined]] as const) {
      const refused = await t.request(Metrics, { from, to, departmentId }, actor.token);
      expect(refused.errors?.[0]?.message).toBe('Agents see the metrics of their own departments: pass one of them as departmentId');
    }
    expect((await t.request(Metrics, { from, to }, alice.token)).errors?.[0]?.message).toBe('Your role does not allow this');
  });

  it('refuses a department that does not exist rather than measuring nothing', async () => {
    const to = new Date(Date.now() + 1000).toISOString();
    const missing = Buffer.from('Department:999999').toString('base64');
    const result = await t.request(Metrics, { from, to, departmentId: missing }, manager.token);
    expect(result.errors).toEqual([
      expect.objectContaining({ message: 'Department 999999 was not found', extensions: { code: 'NOT_FOUND' }, path: ['supportMetrics'] }),
    ]);
  });
});
