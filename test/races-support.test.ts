import type { FormattedExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.js';
import { runSlaJob } from '../src/jobs/sla-job.js';
import { evaluateAlerts } from '../src/modules/listening/alerts.js';
import { createCommunity, createUser, type Actor, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

// Concurrent support and listening writes through the public API, as in races.test.ts: on
// PostgreSQL (`npm run test:pg`) the requests really interleave; PGlite runs them one after
// another. Each probe asserts what must hold whoever wins: one consistent state, a typed answer
// for every caller, no duplicate rows, exactly one timeline entry and event per applied change.

const ROUNDS = 3;
const MIN = 60_000;

const RsOpen = graphql(`
  mutation RsOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id createdAt } } ... on Error { message } }
  }
`);
const RsAssign = graphql(`
  mutation RsAssign($input: AssignCaseInput!) {
    assignCase(input: $input) { __typename ... on Error { message } }
  }
`);
const RsTransfer = graphql(`
  mutation RsTransfer($input: TransferCaseInput!) {
    transferCase(input: $input) { __typename ... on Error { message } }
  }
`);
const RsEscalate = graphql(`
  mutation RsEscalate($input: EscalateCaseInput!) {
    escalateCase(input: $input) { __typename ... on Error { message } }
  }
`);
const RsReply = graphql(`
  mutation RsReply($input: ReplyToCaseInput!) {
    replyToCase(input: $input) { __typename ... on Error { message } }
  }
`);
const RsSetStatus = graphql(`
  mutation RsSetStatus($input: SetCaseStatusInput!) {
    setCaseStatus(input: $input) { __typename ... on Error { message } }
  }
`);
const RsRate = graphql(`
  mutation RsRate($input: RateCaseInput!) {
    rateCase(input: $input) { __typename ... on SupportCasePayload { supportCase { rating } } ... on Error { message } }
  }
`);
const RsCreateBrand = graphql(`
  mutation RsCreateBrand($input: CreateTrackedBrandInput!) {
    createTrackedBrand(input: $input) { __typename ... on Error { message } }
  }
`);
const RsCreateSource = graphql(`
  mutation RsCreateSource($input: CreateListeningSourceInput!) {
    createListeningSource(input: $input) { __typename ... on CreateListeningSourcePayload { source { id } } ... on Error { message } }
  }
`);
const RsIngest = graphql(`
  mutation RsIngest($input: IngestMentionsInput!) {
    ingestMentions(input: $input) { __typename ... on IngestMentionsPayload { accepted } ... on Error { message } }
  }
`);
const RsToThread = graphql(`
  mutation RsToThread($input: ConvertMentionToThreadInput!) {
    convertMentionToThread(input: $input) { __typename ... on ConvertMentionToThreadPayload { thread { id } } ... on Error { message } }
  }
`);
const RsToCase = graphql(`
  mutation RsToCase($input: ConvertMentionToCaseInput!) {
    convertMentionToCase(input: $input) { __typename ... on ConvertMentionToCasePayload { supportCase { id } } ... on Error { message } }
  }
`);
const RsCreateRule = graphql(`
  mutation RsCreateRule($input: CreateListeningAlertRuleInput!) {
    createListeningAlertRule(input: $input) { __typename ... on ListeningAlertRulePayload { rule { id } } ... on Error { message } }
  }
`);
const RsAcknowledge = graphql(`
  mutation RsAcknowledge($input: AcknowledgeListeningAlertInput!) {
    acknowledgeListeningAlert(input: $input) {
      __typename
      ... on ListeningAlertPayload { alert { acknowledgedAt acknowledgedBy { id } } }
      ... on Error { message }
    }
  }
`);

const dbId = (globalId: string) => Number(Buffer.from(globalId, 'base64').toString().split(':')[1]);
const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');

/** Every answer is a typed payload or error (no GraphQL error); returns their typenames. */
function typenames(results: readonly FormattedExecutionResult<object>[]): string[] {
  return results.map((result) => {
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    const [field] = Object.values(result.data!) as { __typename: string }[];
    return field.__typename;
  });
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

const timeline = (caseId: number) => prisma().caseEvent.findMany({ where: { caseId }, orderBy: { id: 'asc' } });

/** Each timeline entry of the case has exactly one activity event, and there are no others. */
async function expectOneEventPerEntry(caseId: number): Promise<void> {
  const entries = await timeline(caseId);
  const activity = await prisma().activity.findMany({ where: { caseId, subjectType: 'CaseTimelineEntry' }, select: { subjectId: true } });
  expect(activity.map((a) => a.subjectId).sort((a, b) => a - b)).toEqual(entries.map((e) => e.id));
}

let t: TestApp;
let c: Community;
let both: Actor; // a member of both departments
let first: Actor; // of the first department only
let second: string;
let channel: string;

beforeAll(async () => {
  // The background jobs stay out of the way: the probes run their passes themselves.
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0', LISTENING_JOB_INTERVAL_MS: '3600000' });
  c = await createCommunity(t);
  both = await createUser(t, 'Both', 'AGENT', c.admin);
  first = await createUser(t, 'First', 'AGENT', c.admin);
  const department = await createDepartment(t, c.manager, { name: 'Front desk' }, [{ actor: both, lead: true }, { actor: first }, { actor: c.agent }]);
  second = await createDepartment(t, c.manager, { name: 'Back office' }, [{ actor: both }]);
  channel = await createChannel(t, c.manager, {
    name: 'Web',
    defaultDepartmentId: department,
    slaPolicy: [{ priority: 'NORMAL', firstResponseMinutes: 60, nextResponseMinutes: 30, periodicUpdateMinutes: 120, resolutionMinutes: 480 }],
  });
});
afterAll(() => t?.stop());

async function open(subject: string): Promise<{ id: string; caseId: number; createdAt: number }> {
  const { openCase } = await t.query(RsOpen, { input: { channelId: channel, subject, body: 'Help' } }, c.alice.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return { id: openCase.supportCase.id, caseId: dbId(openCase.supportCase.id), createdAt: Date.parse(openCase.supportCase.createdAt) };
}

describe('support races', () => {
  it('assignments, a transfer and an escalation at once leave one consistent case, one entry per change', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const kase = await open(`Juggled ${round}`);
      const results = await Promise.all([
        t.request(RsAssign, { input: { caseId: kase.id, assigneeId: both.id } }, c.manager.token),
        t.request(RsAssign, { input: { caseId: kase.id, assigneeId: first.id } }, c.agent.token),
        t.request(RsTransfer, { input: { caseId: kase.id, departmentId: second, reason: 'Billing question' } }, c.manager.token),
        t.request(RsEscalate, { input: { caseId: kase.id, reason: 'Angry customer' } }, c.agent.token),
      ]);
      const [toBoth, toFirst, transfer, escalate] = typenames(results);
      expect([toBoth, transfer]).toEqual(['SupportCasePayload', 'SupportCasePayload']);
      // Escalating needs the agent in the case's department: refused once the transfer went first.
      const entries = await timeline(kase.caseId);
      const transferredAt = entries.find((e) => e.kind === 'TRANSFERRED')!.id;
      const escalated = entries.filter((e) => e.kind === 'ESCALATED');
      expect(escalate).toBe(escalated.length === 1 ? 'SupportCasePayload' : 'NotFoundError');
      if (escalated.length) expect(escalated[0].id).toBeLessThan(transferredAt);
      // Assigning `first` succeeds only before the transfer (they are not in the new department).
      const assigned = entries.filter((e) => e.kind === 'ASSIGNED');
      expect(toFirst).toBe(assigned.some((e) => e.summary === 'First is handling this case') ? 'SupportCasePayload' : 'NotFoundError');
      expect(entries.filter((e) => e.kind === 'TRANSFERRED')).toHaveLength(1);
      expect(assigned.filter((e) => e.summary === 'Both is handling this case')).toHaveLength(1);

      const final = await prisma().supportCase.findUniqueOrThrow({ where: { id: kase.caseId } });
      expect(final.departmentId).toBe(dbId(second));
      expect(final.priority).toBe(escalated.length ? 'HIGH' : 'NORMAL');
      // Whoever holds it belongs to its department: `both` if assigned last (kept by a later
      // transfer), nobody if `first` was (the transfer let them go).
      const lastAssigned = assigned.at(-1)!;
      expect(final.assigneeId).toBe(lastAssigned.summary === 'Both is handling this case' ? dbId(both.id) : null);
      await expectOneEventPerEntry(kase.caseId);
    }
  });

  it('replies racing a close are recorded before it or refused, never after', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const kase = await open(`Closing ${round}`);
      const results = await Promise.all([
        t.request(RsReply, { input: { caseId: kase.id, body: 'From the team' } }, c.agent.token),
        t.request(RsReply, { input: { caseId: kase.id, body: 'From the requester' } }, c.alice.token),
        t.request(RsSetStatus, { input: { caseId: kase.id, status: 'CLOSED' } }, c.manager.token),
        t.request(RsReply, { input: { caseId: kase.id, body: 'A note', internal: true } }, first.token),
      ]);
      const [team, requester, close, note] = typenames(results);
      expect(close).toBe('SupportCasePayload');
      const entries = await timeline(kase.caseId);
      const closedAt = entries.find((e) => e.kind === 'STATUS_CHANGED' && e.summary.endsWith('to closed'))!.id;
      const written = entries.filter((e) => e.kind === 'REPLY' || e.kind === 'NOTE');
      for (const entry of written) expect(entry.id).toBeLessThan(closedAt);
      const answers = [team, requester, note];
      for (const answer of answers) expect(['ReplyToCasePayload', 'ConflictError']).toContain(answer);
      expect(written).toHaveLength(count(answers, 'ReplyToCasePayload'));
      // The opening message and one per reply that went in.
      expect(await prisma().caseMessage.count({ where: { caseId: kase.caseId } })).toBe(1 + written.length);
      expect((await prisma().supportCase.findUniqueOrThrow({ where: { id: kase.caseId } })).status).toBe('CLOSED');
      expect(entries.filter((e) => e.id > closedAt)).toEqual([]);
      await expectOneEventPerEntry(kase.caseId);
    }
  });

  it('rating a case several times at once keeps one rating and one CASE_RATED', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const kase = await open(`Rated ${round}`);
      expect(typenames([await t.request(RsSetStatus, { input: { caseId: kase.id, status: 'RESOLVED' } }, c.agent.token)])).toEqual(['SupportCasePayload']);
      const ratings = ['GOOD', 'BAD', 'GOOD', 'BAD'] as const;
      const results = await Promise.all(ratings.map((rating) => t.request(RsRate, { input: { caseId: kase.id, rating } }, c.alice.token)));
      const names = typenames(results);
      expect(names.sort()).toEqual(['ConflictError', 'ConflictError', 'ConflictError', 'SupportCasePayload']);
      const winner = results.map((r) => r.data!.rateCase).find((r) => r.__typename === 'SupportCasePayload')!;
      const final = await prisma().supportCase.findUniqueOrThrow({ where: { id: kase.caseId } });
      expect(winner).toEqual({ __typename: 'SupportCasePayload', supportCase: { rating: final.rating } });
      for (const loser of results.map((r) => r.data!.rateCase).filter((r) => r.__typename === 'ConflictError')) {
        expect(loser).toMatchObject({ message: expect.stringMatching(/^Case [0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4} was already rated$/) });
      }
      expect((await timeline(kase.caseId)).filter((e) => e.kind === 'RATED')).toHaveLength(1);
      expect(await prisma().activity.count({ where: { caseId: kase.caseId, kind: 'CASE_RATED' } })).toBe(1);
      await expectOneEventPerEntry(kase.caseId);
    }
  });

  it('the SLA job racing first replies raises a breach only for a clock still running when it was seen', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const cases = [];
      for (let i = 0; i < 4; i++) cases.push(await open(`Clocked ${round}.${i}`));
      // The pass runs after every first response was due; the replies land around it.
      const passAt = new Date(Math.max(...cases.map((k) => k.createdAt)) + 61 * MIN);
      const [, ...results] = await Promise.all([
        runSlaJob(passAt),
        ...cases.map((kase) => t.request(RsReply, { input: { caseId: kase.id, body: 'On it' } }, c.agent.token)),
      ]);
      expect(typenames(results)).toEqual(cases.map(() => 'ReplyToCasePayload'));
      for (const kase of cases) {
        const [clock] = await prisma().slaClock.findMany({ where: { caseId: kase.caseId, metric: 'FIRST_RESPONSE' } });
        expect(clock.stoppedAt).not.toBeNull();
        const alerts = await prisma().slaAlert.count({ where: { caseId: kase.caseId, metric: 'FIRST_RESPONSE', kind: 'BREACHED' } });
        const entries = await timeline(kase.caseId);
        const breaches = entries.filter((e) => e.kind === 'SLA_BREACHED');
        const reply = entries.find((e) => e.kind === 'REPLY')!;
        // A breach is raised at most once, the clock says so too, and it was seen before the answer.
        expect(breaches).toHaveLength(alerts);
        expect(alerts).toBeLessThanOrEqual(1);
        expect(clock.breached).toBe(alerts === 1);
        for (const breach of breaches) expect(breach.id).toBeLessThan(reply.id);
        await expectOneEventPerEntry(kase.caseId);
      }
    }
  });
});

describe('listening races', () => {
  let source: string;

  beforeAll(async () => {
    const { createTrackedBrand } = await t.query(RsCreateBrand, { input: { name: 'Tertulia', kind: 'OWN', keywords: ['tertulia'] } }, c.manager.token);
    expect(createTrackedBrand.__typename).toBe('TrackedBrandPayload');
    const { createListeningSource } = await t.query(RsCreateSource, { input: { name: 'Pushed', kind: 'WEBHOOK' } }, c.manager.token);
    if (createListeningSource.__typename !== 'CreateListeningSourcePayload') throw new Error(JSON.stringify(createListeningSource));
    source = createListeningSource.source.id;
  });

  async function mention(externalId: string, body: string, publishedAt?: string): Promise<number> {
    const { ingestMentions } = await t.query(RsIngest, { input: { sourceId: source, mentions: [{ externalId, body, publishedAt }] } }, c.manager.token);
    expect(ingestMentions).toEqual({ __typename: 'IngestMentionsPayload', accepted: 1 });
    return (await prisma().mention.findFirstOrThrow({ where: { externalId } })).id;
  }

  it('converting a mention to a thread several times at once makes one thread', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const title = `Tertulia race thread ${round}`;
      const id = await mention(`to-thread-${round}`, 'Tertulia keeps crashing on login');
      const results = await Promise.all(
        [c.agent, c.moderator, c.manager].map((who) => t.request(RsToThread, { input: { mentionId: globalId('Mention', id), spaceId: c.publicSpace, title } }, who.token)),
      );
      expect(typenames(results).sort()).toEqual(['ConflictError', 'ConflictError', 'ConvertMentionToThreadPayload']);
      const threads = await prisma().thread.findMany({ where: { title } });
      expect(threads).toHaveLength(1);
      expect((await prisma().mention.findUniqueOrThrow({ where: { id } })).threadId).toBe(threads[0].id);
      expect(await prisma().activity.count({ where: { kind: 'THREAD_CREATED', subjectType: 'Thread', subjectId: threads[0].id } })).toBe(1);
    }
  });

  it('converting a mention to a case several times at once opens one case', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const body = `Tertulia charged me twice, round ${round}`;
      const id = await mention(`to-case-${round}`, body);
      const results = await Promise.all(
        [c.agent, first, c.manager].map((who) => t.request(RsToCase, { input: { mentionId: globalId('Mention', id), channelId: channel } }, who.token)),
      );
      expect(typenames(results).sort()).toEqual(['ConflictError', 'ConflictError', 'ConvertMentionToCasePayload']);
      const cases = await prisma().supportCase.findMany({ where: { subject: body } });
      expect(cases).toHaveLength(1);
      expect((await prisma().mention.findUniqueOrThrow({ where: { id } })).caseId).toBe(cases[0].id);
      expect(await prisma().activity.count({ where: { caseId: cases[0].id, kind: 'CASE_OPENED' } })).toBe(1);
      await expectOneEventPerEntry(cases[0].id);
    }
  });

  it('acknowledging an alert several times at once records one acknowledgement', async () => {
    const { createListeningAlertRule } = await t.query(
      RsCreateRule,
      { input: { name: 'Outages', kind: 'KEYWORD', keyword: 'outage', windowMinutes: 60 } },
      c.manager.token,
    );
    if (createListeningAlertRule.__typename !== 'ListeningAlertRulePayload') throw new Error(JSON.stringify(createListeningAlertRule));
    const ruleId = dbId(createListeningAlertRule.rule.id);
    for (let round = 0; round < ROUNDS; round++) {
      const hour = `2026-05-0${round + 1}T10`;
      await mention(`outage-${round}`, 'Tertulia outage again', `${hour}:05:00Z`);
      expect(await evaluateAlerts(new Date(`${hour}:30:00Z`))).toBe(1);
      const alert = await prisma().listeningAlert.findFirstOrThrow({ where: { ruleId }, orderBy: { id: 'desc' } });
      const results = await Promise.all(
        [c.manager, c.admin, c.manager, c.admin].map((who) => t.request(RsAcknowledge, { input: { alertId: globalId('ListeningAlert', alert.id) } }, who.token)),
      );
      expect(typenames(results)).toEqual(results.map(() => 'ListeningAlertPayload'));
      const stored = await prisma().listeningAlert.findUniqueOrThrow({ where: { id: alert.id } });
      // Every caller sees the one acknowledgement that stands (an idempotent success).
      for (const result of results) {
        expect(result.data!.acknowledgeListeningAlert).toEqual({
          __typename: 'ListeningAlertPayload',
          alert: { acknowledgedAt: stored.acknowledgedAt!.toISOString(), acknowledgedBy: { id: globalId('User', stored.acknowledgedById!) } },
        });
      }
      const events = await prisma().activity.findMany({ where: { kind: 'LISTENING_ALERT_ACKNOWLEDGED', subjectId: alert.id } });
      expect(events).toHaveLength(1);
      expect(events[0].actorId).toBe(stored.acknowledgedById);
    }
  });
});
