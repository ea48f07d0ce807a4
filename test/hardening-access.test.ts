import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createCommunity, createThread, createUser, reply as replyTo } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { HardActivitySubscription, HardCaseUpdatesSubscription } from './gql/graphql.js';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

// Access that ends with the role, and the other staff-only facts requesters and members must not
// see (issue 11, items 2, 6, 12, 13 and 15). Every check goes through the public API.

const SetRole = graphql(`
  mutation HardSetRole($input: SetUserRoleInput!) {
    setUserRole(input: $input) { __typename ... on SetUserRolePayload { user { role } } ... on Error { message } }
  }
`);
const OpenCase = graphql(`
  mutation HardOpenCase($input: OpenCaseInput!) {
    openCase(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { id number reference priority tags assignee { id } } }
      ... on Error { message }
    }
  }
`);
const ReplyToCase = graphql(`
  mutation HardReplyToCase($input: ReplyToCaseInput!) {
    replyToCase(input: $input) {
      __typename
      ... on ReplyToCasePayload { caseMessage { id } supportCase { id } }
      ... on Error { message }
    }
  }
`);
const AssignCase = graphql(`
  mutation HardAssignCase($input: AssignCaseInput!) {
    assignCase(input: $input) { __typename ... on SupportCasePayload { supportCase { assignee { id } } } ... on Error { message } }
  }
`);
const EscalateCase = graphql(`
  mutation HardEscalateCase($input: EscalateCaseInput!) {
    escalateCase(input: $input) { __typename ... on SupportCasePayload { supportCase { priority } } ... on Error { message } }
  }
`);
const SetOnDuty = graphql(`
  mutation HardSetOnDuty($input: SetOnDutyInput!) { setOnDuty(input: $input) { __typename ... on Error { message } } }
`);
const CaseNode = graphql(`
  query HardCaseNode($id: ID!) {
    node(id: $id) {
      __typename
      ... on SupportCase {
        id priority tags assignee { id }
        timeline(first: 50) { nodes { id kind summary reason internal message { body } } }
      }
    }
  }
`);
const AnyNode = graphql(`query HardAnyNode($id: ID!) { node(id: $id) { __typename id } }`);
const Members = graphql(`
  query HardMembers($id: ID!) { node(id: $id) { ... on Department { members { user { id } } } } }
`);
const CaseLists = graphql(`
  query HardCaseLists {
    myCases(first: 20) { totalCount nodes { id priority tags } }
  }
`);
const StaffCases = graphql(`query HardStaffCases { supportCases(first: 20) { totalCount nodes { id } } }`);
const ActivityLog = graphql(`
  query HardActivityLog($filter: ActivityFilter, $after: String) {
    activityLog(first: 100, filter: $filter, after: $after) {
      nodes { id kind supportCase { id priority tags } subject { __typename id } }
    }
  }
`);
const Activity = graphql(`
  subscription HardActivity($after: String, $filter: ActivityFilter) {
    activity(after: $after, filter: $filter) {
      id kind supportCase { id priority tags } subject { __typename id ... on CaseTimelineEntry { summary reason } }
    }
  }
`);
const CaseUpdates = graphql(`
  subscription HardCaseUpdates($caseId: ID!) {
    caseUpdated(caseId: $caseId) { kind summary reason message { body } supportCase { priority tags } }
  }
`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let alice: Actor;
let publicSpace: string;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0' });
  ({ admin, manager, alice, publicSpace } = await createCommunity(t));
});
afterAll(async () => {
  await t?.stop();
});

async function openCase(requester: Actor, channelId: string, subject: string, priority?: 'LOW' | 'NORMAL' | 'HIGH' | 'URGENT') {
  const { openCase } = await t.query(OpenCase, { input: { channelId, subject, body: 'Please help.', priority } }, requester.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase;
}

async function reply(actor: Actor, caseId: string, body: string, internal = false) {
  const { replyToCase } = await t.query(ReplyToCase, { input: { caseId, body, internal } }, actor.token);
  if (replyToCase.__typename !== 'ReplyToCasePayload') throw new Error(JSON.stringify(replyToCase));
  return replyToCase.caseMessage.id;
}

async function setRole(userId: string, role: 'MEMBER' | 'AGENT' | 'MODERATOR') {
  const { setUserRole } = await t.query(SetRole, { input: { userId, role } }, admin.token);
  expect(setUserRole).toEqual({ __typename: 'SetUserRolePayload', user: { role } });
}

/** Polls until `ready` holds (a live event arrived), failing after a deadline. */
async function until(what: string, ready: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

type ActivityEvent = HardActivitySubscription['activity'];

/** The `activity` subscription over SSE, as a browser's EventSource would read it. */
function sseActivity(token: string) {
  const controller = new AbortController();
  let text = '';
  const query = print(Activity);
  const reading = fetch(`${t.url}?${new URLSearchParams({ query })}`, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    signal: controller.signal,
  })
    .then(async (response) => {
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    })
    .catch(() => undefined);
  return {
    events: (): ActivityEvent[] =>
      text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => (JSON.parse(line.slice(5)) as { data?: HardActivitySubscription }).data?.activity)
        .filter((event): event is ActivityEvent => !!event),
    async close() {
      controller.abort();
      await reading;
    },
  };
}

const wsEvents = (feed: { received: { data?: unknown }[] }): ActivityEvent[] =>
  feed.received.map((r) => (r.data as HardActivitySubscription | undefined)?.activity).filter((e): e is ActivityEvent => !!e);

/**
 * A public thread of Alice's as a fence: once every stream has it, each has been offered every
 * event written before it (one process hands each event to all subscribers before the next).
 */
async function fence(title: string, streams: (() => ActivityEvent[])[]): Promise<string> {
  // Again until every stream has one: a subscription just opened may not be listening yet.
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const id = await createThread(t, alice, publicSpace, title);
    const seen = () => streams.every((events) => events().some((e) => e.subject?.id === id));
    await until(title, seen, 2_000).catch(() => undefined);
    if (seen()) return id;
  }
  throw new Error(`timed out waiting for ${title}`);
}

/** The events of a stream strictly between two fences. */
function between(events: ActivityEvent[], from: string, to: string): ActivityEvent[] {
  const start = events.findIndex((e) => e.subject?.id === from);
  const end = events.findIndex((e) => e.subject?.id === to);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return events.slice(start + 1, end);
}

describe('access that ends with the role (item 2)', () => {
  it('a demoted agent loses the cases on every path at once, live streams included; the cases held go back to the team', async () => {
    const dana = await createUser(t, 'Dana', 'AGENT', admin);
    const eve = await createUser(t, 'Eve', 'AGENT', admin);
    const billing = await createDepartment(t, manager, { name: 'Demotion billing' }, [{ actor: dana }]);
    const returns = await createDepartment(t, manager, { name: 'Demotion returns', autoAssign: true }, [{ actor: dana }, { actor: eve }]);
    expect((await t.query(SetOnDuty, { input: { departmentId: returns, userId: eve.id, onDuty: true } }, manager.token)).setOnDuty.__typename).toBe('DepartmentPayload');
    const billingWeb = await createChannel(t, manager, { name: 'Demotion billing web', defaultDepartmentId: billing });
    const returnsWeb = await createChannel(t, manager, { name: 'Demotion returns web', defaultDepartmentId: returns });

    const held = await openCase(alice, billingWeb, 'Charged twice');
    await t.query(AssignCase, { input: { caseId: held.id, assigneeId: dana.id } }, dana.token);
    const noteId = await reply(dana, held.id, 'Chargeback risk', true);
    await t.query(EscalateCase, { input: { caseId: held.id, reason: 'Big account' } }, dana.token);
    const returned = await openCase(alice, returnsWeb, 'Wrong size');
    expect(returned.assignee).toEqual({ id: eve.id });
    expect((await t.query(AssignCase, { input: { caseId: returned.id, assigneeId: dana.id } }, dana.token)).assignCase).toEqual({
      __typename: 'SupportCasePayload', supportCase: { assignee: { id: dana.id } },
    });

    // While an agent, Dana reads the case, its note and the escalation's reason.
    const before = await t.query(CaseNode, { id: held.id }, dana.token);
    const staffTimeline = before.node?.__typename === 'SupportCase' ? before.node.timeline.nodes : [];
    expect(staffTimeline.map((e) => [e.kind, e.reason])).toContainEqual(['ESCALATED', 'Big account']);
    const noteEntry = staffTimeline.find((e) => e.kind === 'NOTE')!;
    expect(noteEntry.message).toEqual({ body: 'Chargeback risk' });
    const [firstSeen] = (await t.query(ActivityLog, { filter: { kinds: ['CASE_NOTE_ADDED'] } }, dana.token)).activityLog.nodes;
    expect(firstSeen.supportCase?.id).toBe(held.id);

    // Her live streams: graphql-ws (activity and the case's updates, on one socket) and SSE.
    const client = t.wsClient(dana.token);
    const ws = subscribe(client, Activity, {});
    const caseFeed = subscribe(client, CaseUpdates, { caseId: held.id });
    const sse = sseActivity(dana.token);
    const streams = [() => wsEvents(ws), () => sse.events()];
    for (const deadline = Date.now() + 15_000; caseFeed.received.length === 0; await sleep(100)) {
      if (Date.now() > deadline) throw new Error('the case feed never went live');
      await reply(alice, held.id, 'probe');
    }
    const start = await fence('Demotion fence 1', streams);
    const caseEntriesBefore = caseFeed.received.length;

    await setRole(dana.id, 'MEMBER');
    await reply(manager, held.id, 'Staff-only after the demotion', true);
    await t.query(EscalateCase, { input: { caseId: held.id, reason: 'Even bigger account' } }, manager.token);
    await reply(alice, held.id, 'Any news?');
    await fence('Demotion fence 2', streams);
    const end = await fence('Demotion fence 3', streams);

    // Live: nothing of the cases after the demotion, on either transport.
    for (const events of [wsEvents(ws), sse.events()]) {
      expect(between(events, start, end).map((e) => e.kind)).toEqual(['DEPARTMENT_MEMBER_REMOVED', 'DEPARTMENT_MEMBER_REMOVED', 'USER_ROLE_CHANGED', 'THREAD_CREATED']);
    }
    expect(caseFeed.received.slice(caseEntriesBefore)).toEqual([]);
    await sse.close();

    // Queries: the case, its note (entry and message), the lists and the log are gone.
    expect((await t.query(CaseNode, { id: held.id }, dana.token)).node).toBeNull();
    expect((await t.query(AnyNode, { id: noteEntry.id }, dana.token)).node).toBeNull();
    expect((await t.query(AnyNode, { id: noteId }, dana.token)).node).toBeNull();
    expect((await t.query(CaseLists, {}, dana.token)).myCases).toEqual({ totalCount: 0, nodes: [] });
    expect((await t.request(StaffCases, {}, dana.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.query(ActivityLog, { filter: { kinds: ['CASE_NOTE_ADDED', 'CASE_ESCALATED', 'CASE_OPENED'] } }, dana.token)).activityLog.nodes).toEqual([]);
    // Replay from a cursor she was handed as an agent: none of the case events come back.
    const replay = subscribe(t.wsClient(dana.token), Activity, { after: firstSeen.id, filter: { kinds: ['CASE_NOTE_ADDED', 'CASE_ESCALATED', 'CASE_REPLIED', 'THREAD_CREATED'] } });
    const last = await fence('Demotion fence 4', [() => wsEvents(replay)]);
    expect(wsEvents(replay).filter((e) => e.kind !== 'THREAD_CREATED')).toEqual([]);
    expect(wsEvents(replay).at(-1)?.subject?.id).toBe(last);

    // Writes: an internal note is refused by role, a public reply finds no case.
    expect((await t.query(ReplyToCase, { input: { caseId: held.id, body: 'Still here', internal: true } }, dana.token)).replyToCase).toEqual({
      __typename: 'ForbiddenError', message: "Only staff of the case's department can add internal notes",
    });
    expect((await t.query(ReplyToCase, { input: { caseId: held.id, body: 'Still here' } }, dana.token)).replyToCase.__typename).toBe('NotFoundError');

    // The cases she held: unassigned where nobody auto-assigns, the next on-duty agent elsewhere.
    const heldNow = await t.query(CaseNode, { id: held.id }, manager.token);
    expect(heldNow.node).toMatchObject({ assignee: null });
    const heldEntries = heldNow.node?.__typename === 'SupportCase' ? heldNow.node.timeline.nodes : [];
    expect(heldEntries.filter((e) => e.kind === 'UNASSIGNED').map((e) => [e.summary, e.reason])).toEqual([
      ['No one is handling this case at the moment', 'The assignee left the support staff'],
    ]);
    expect((await t.query(CaseNode, { id: returned.id }, manager.token)).node).toMatchObject({ assignee: { id: eve.id } });
    for (const department of [billing, returns]) {
      const { node } = await t.query(Members, { id: department }, manager.token);
      expect(node && 'members' in node ? node.members?.map((m) => m.user.id) : null).not.toContain(dana.id);
    }

    // Promoted again, she is an agent without departments: a manager adds her back where needed.
    await setRole(dana.id, 'AGENT');
    expect((await t.query(CaseNode, { id: held.id }, dana.token)).node).toBeNull();
    expect((await t.query(StaffCases, {}, dana.token)).supportCases).toEqual({ totalCount: 0, nodes: [] });
  });
});

const Suspend = graphql(`
  mutation HardSuspend($input: SuspendUserInput!) {
    suspendUser(input: $input) { __typename ... on Error { message } }
  }
`);
const CreateThread = graphql(`
  mutation HardCreateThread($input: CreateThreadInput!) { createThread(input: $input) { __typename ... on Error { message } } }
`);
const AddReaction = graphql(`
  mutation HardAddReaction($input: ReactionInput!) { addReaction(input: $input) { __typename ... on Error { message } } }
`);
const ReportContent = graphql(`
  mutation HardReportContent($input: ReportContentInput!) { reportContent(input: $input) { __typename ... on Error { message } } }
`);

/** An agent, their department and a web channel into it. */
async function supportDesk(name: string, options: { autoAssign?: boolean } = {}) {
  const agent = await createUser(t, `${name} agent`, 'AGENT', admin);
  const department = await createDepartment(t, manager, { name, ...options }, [{ actor: agent }]);
  const channel = await createChannel(t, manager, { name: `${name} web`, defaultDepartmentId: department });
  return { agent, department, channel };
}

describe('a suspended member and support (item 6)', () => {
  it('may still open cases, write on them and follow them live, while every other write stays refused', async () => {
    const { agent, channel } = await supportDesk('Suspension desk');
    const moderator = await createUser(t, 'Mod', 'MODERATOR', admin);
    const carol = await createUser(t, 'Carol');
    const thread = await createThread(t, alice, publicSpace, 'A thread Carol could react to');
    const earlier = await openCase(carol, channel, 'My order');
    const feed = subscribe(t.wsClient(carol.token), CaseUpdates, { caseId: earlier.id });
    for (const deadline = Date.now() + 15_000; feed.received.length === 0; await sleep(100)) {
      if (Date.now() > deadline) throw new Error('the case feed never went live');
      await reply(carol, earlier.id, 'probe');
    }

    const suspendedUntil = new Date(Date.now() + 86_400_000).toISOString();
    expect((await t.query(Suspend, { input: { userId: carol.id, until: suspendedUntil, reason: 'Spam' } }, moderator.token)).suspendUser.__typename).toBe('ModerationActionPayload');

    // Support stays open: a new case, a message on it, and the live feed of the earlier one.
    const about = await openCase(carol, channel, 'Why was I suspended?');
    await reply(carol, about.id, 'I only posted once.');
    await reply(agent, earlier.id, 'Your order has shipped.');
    const bodies = (f: typeof feed) => f.received.map((r) => (r.data as HardCaseUpdatesSubscription | undefined)?.caseUpdated.message?.body);
    await until('the reply on the earlier case', () => bodies(feed).includes('Your order has shipped.') || !!feed.error || feed.completed);
    expect(feed.error).toBeUndefined();
    expect(feed.received.every((r) => r.errors === undefined)).toBe(true);
    const fresh = subscribe(t.wsClient(carol.token), CaseUpdates, { caseId: about.id });
    for (const deadline = Date.now() + 15_000; fresh.received.length === 0 && !fresh.error; await sleep(100)) {
      if (Date.now() > deadline) throw new Error('the new case feed never went live');
      await reply(agent, about.id, 'Let me check.');
    }
    expect(fresh.received[0]).toEqual({ data: { caseUpdated: expect.objectContaining({ kind: 'REPLY', message: { body: 'Let me check.' } }) } });

    // Everything else stays refused, with the end of the suspension named.
    const message = `Your account is suspended until ${suspendedUntil}`;
    expect((await t.query(CreateThread, { input: { spaceId: publicSpace, title: 'x', body: 'y' } }, carol.token)).createThread).toEqual({ __typename: 'ForbiddenError', message });
    expect((await t.query(AddReaction, { input: { subjectId: thread, content: 'HEART' } }, carol.token)).addReaction).toEqual({ __typename: 'ForbiddenError', message });
    expect((await t.query(ReportContent, { input: { subjectId: thread, reason: 'SPAM' } }, carol.token)).reportContent).toEqual({ __typename: 'ForbiddenError', message });
    const activity = subscribe(t.wsClient(carol.token), Activity, {});
    expect(await activity.next(1)).toMatchObject([{ errors: [{ message: `${message}; live activity is paused`, extensions: { code: 'FORBIDDEN' } }] }]);
  });
});

const Warn = graphql(`
  mutation HardWarn($input: UserActionInput!) {
    warnUser(input: $input) { __typename ... on ModerationActionPayload { action { kind } } ... on Error { message } }
  }
`);

describe('moderation against staff (item 15)', () => {
  it('refuses a warning or a suspension of someone of equal or higher rank, as it refuses suspending staff', async () => {
    const moderator = await createUser(t, 'Rank mod', 'MODERATOR', admin);
    const otherModerator = await createUser(t, 'Rank mod 2', 'MODERATOR', admin);
    const agent = await createUser(t, 'Rank agent', 'AGENT', admin);
    const member = await createUser(t, 'Rank member');
    const warn = async (actor: Actor, target: Actor) =>
      (await t.query(Warn, { input: { userId: target.id, reason: 'Rude in the staff room' } }, actor.token)).warnUser;
    const refused = (role: string) => ({ __typename: 'ForbiddenError', message: `You cannot warn a user of your rank or above (${role})` });

    expect(await warn(moderator, admin)).toEqual(refused('ADMIN'));
    expect(await warn(moderator, manager)).toEqual(refused('COMMUNITY_MANAGER'));
    expect(await warn(moderator, otherModerator)).toEqual(refused('MODERATOR'));
    expect(await warn(moderator, agent)).toEqual(refused('AGENT'));
    expect(await warn(manager, admin)).toEqual(refused('ADMIN'));
    const until = new Date(Date.now() + 86_400_000).toISOString();
    expect((await t.query(Suspend, { input: { userId: admin.id, until, reason: 'x' } }, moderator.token)).suspendUser).toEqual({
      __typename: 'ForbiddenError', message: 'You cannot suspend a user of your rank or above (ADMIN)',
    });
    // Below one's rank it is accepted.
    expect(await warn(moderator, member)).toEqual({ __typename: 'ModerationActionPayload', action: { kind: 'WARN' } });
    expect(await warn(manager, moderator)).toEqual({ __typename: 'ModerationActionPayload', action: { kind: 'WARN' } });
    expect(await warn(admin, manager)).toEqual({ __typename: 'ModerationActionPayload', action: { kind: 'WARN' } });
  });
});

const CreateRule = graphql(`
  mutation HardCreateRule($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) { __typename ... on Error { message } } }
`);
const Decisions = graphql(`
  query HardDecisions($id: ID!) {
    node(id: $id) { ... on SupportCase { priority requestedPriority tags } }
  }
`);

describe("staff-only decisions stay with the staff (item 12)", () => {
  it('the requester sees the priority they asked for and no tags, on node, lists, the log and live payloads, whatever routing and escalation set', async () => {
    const { agent, department, channel } = await supportDesk('Priority desk');
    const rule = await t.query(CreateRule, { input: { name: 'Outages', keywords: ['outage'], channelIds: [channel], departmentId: department, priority: 'URGENT', tags: ['vip'] } }, manager.token);
    expect(rule.createRoutingRule.__typename).toBe('RoutingRulePayload');
    const requester = await createUser(t, 'Priya');

    const routed = await openCase(requester, channel, 'Total outage', 'LOW');
    expect(routed).toMatchObject({ priority: 'LOW', tags: [] });
    expect((await t.query(Decisions, { id: routed.id }, agent.token)).node).toEqual({ priority: 'URGENT', requestedPriority: 'LOW', tags: ['vip'] });
    const escalated = await openCase(requester, channel, 'Slow export');

    // Live, with the same document for both, so a shared execution would show one answer to both.
    const mine = subscribe(t.wsClient(requester.token), Activity, { filter: { kinds: ['CASE_REPLIED'] } });
    const staffs = subscribe(t.wsClient(agent.token), Activity, { filter: { kinds: ['CASE_REPLIED'] } });
    const caseFeed = subscribe(t.wsClient(requester.token), CaseUpdates, { caseId: escalated.id });
    for (const deadline = Date.now() + 15_000; !(mine.received.length && staffs.received.length && caseFeed.received.length); await sleep(100)) {
      if (Date.now() > deadline) throw new Error('the feeds never went live');
      await reply(requester, escalated.id, 'probe');
    }
    expect((await t.query(EscalateCase, { input: { caseId: escalated.id, reason: 'Angry customer' } }, agent.token)).escalateCase).toEqual({
      __typename: 'SupportCasePayload', supportCase: { priority: 'HIGH' },
    });
    const before = [mine.received.length, staffs.received.length, caseFeed.received.length];
    await reply(agent, escalated.id, 'We are looking into it.');
    const entries = () => caseFeed.received.map((r) => (r.data as HardCaseUpdatesSubscription).caseUpdated);
    const answered = () => entries().find((e) => e.message?.body === 'We are looking into it.');
    await until('the reply', () => mine.received.length > before[0] && staffs.received.length > before[1] && !!answered());
    const lastOf = (feed: typeof mine) => (feed.received.at(-1)?.data as HardActivitySubscription).activity.supportCase;
    expect(lastOf(mine)).toEqual({ id: escalated.id, priority: 'NORMAL', tags: [] });
    expect(lastOf(staffs)).toEqual({ id: escalated.id, priority: 'HIGH', tags: [] });
    expect(answered()).toMatchObject({ kind: 'REPLY', supportCase: { priority: 'NORMAL', tags: [] } });
    expect(entries().map((e) => e.kind)).not.toContain('ESCALATED');

    // Queries: node, their list and the activity log.
    const node = await t.query(CaseNode, { id: routed.id }, requester.token);
    expect(node.node).toMatchObject({ priority: 'LOW', tags: [] });
    expect((await t.query(CaseNode, { id: escalated.id }, requester.token)).node).toMatchObject({ priority: 'NORMAL', tags: [] });
    const timeline = node.node?.__typename === 'SupportCase' ? node.node.timeline.nodes : [];
    expect(timeline.map((e) => e.kind)).toEqual(['OPENED']);
    expect((await t.query(CaseLists, {}, requester.token)).myCases.nodes).toEqual([
      { id: escalated.id, priority: 'NORMAL', tags: [] },
      { id: routed.id, priority: 'LOW', tags: [] },
    ]);
    const log = (await t.query(ActivityLog, { filter: { kinds: ['CASE_OPENED', 'CASE_ESCALATED', 'CASE_ROUTED'] } }, requester.token)).activityLog.nodes;
    expect(log.filter((e) => e.supportCase?.id === routed.id || e.supportCase?.id === escalated.id).map((e) => [e.kind, e.supportCase])).toEqual([
      ['CASE_OPENED', { id: routed.id, priority: 'LOW', tags: [] }],
      ['CASE_OPENED', { id: escalated.id, priority: 'NORMAL', tags: [] }],
    ]);
  });
});

const Timeline = graphql(`
  query HardTimeline($id: ID!) { node(id: $id) { ... on SupportCase { number reference timeline(first: 5) { nodes { kind summary } } } } }
`);

describe('public case references (item 15)', () => {
  it('gives each case a random reference that the requester is told, not the sequential number', async () => {
    const { channel } = await supportDesk('Reference desk');
    const first = await openCase(alice, channel, 'First');
    const second = await openCase(alice, channel, 'Second');
    const shape = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
    expect(first.reference).toMatch(shape);
    expect(second.reference).toMatch(shape);
    expect(second.reference).not.toBe(first.reference);
    expect(second.number).toBe(first.number + 1);
    const { node } = await t.query(Timeline, { id: second.id }, alice.token);
    expect(node).toEqual({
      number: second.number,
      reference: second.reference,
      timeline: { nodes: [{ kind: 'OPENED', summary: `Case ${second.reference} opened: "Second"` }] },
    });
  });
});

const RemoveContent = graphql(`
  mutation HardRemove($input: ContentActionInput!) { removeContent(input: $input) { __typename ... on Error { message } } }
`);
const RestoreContent = graphql(`
  mutation HardRestore($input: ContentActionInput!) { restoreContent(input: $input) { __typename ... on Error { message } } }
`);
const EditThread = graphql(`
  mutation HardEditThread($input: EditThreadInput!) { editThread(input: $input) { __typename ... on Error { message } } }
`);

describe('a removed thread leaves the activity of members (item 13)', () => {
  it('is gone from activityLog, from a replay and from the live stream for members, kept for moderators, and back once restored', async () => {
    const moderator = await createUser(t, 'Removal mod', 'MODERATOR', admin);
    const bob = await createUser(t, 'Removal Bob');
    const marker = await createThread(t, alice, publicSpace, 'Before the removed one');
    const cursor = (await t.query(ActivityLog, { filter: { kinds: ['THREAD_CREATED'] } }, alice.token)).activityLog.nodes.find((e) => e.subject?.id === marker)!.id;
    const removed = await createThread(t, bob, publicSpace, 'Buy cheap watches');
    const createdIn = (token: string) =>
      t.query(ActivityLog, { filter: { kinds: ['THREAD_CREATED'] }, after: cursor }, token).then((r) => r.activityLog.nodes.map((e) => e.subject?.id ?? null));

    const live = { alice: subscribe(t.wsClient(alice.token), Activity, {}), moderator: subscribe(t.wsClient(moderator.token), Activity, {}) };
    const start = await fence('Removal fence 1', [() => wsEvents(live.alice), () => wsEvents(live.moderator)]);
    expect((await t.query(RemoveContent, { input: { subjectId: removed, reason: 'Spam' } }, moderator.token)).removeContent.__typename).toBe('ModerationActionPayload');
    // The author edits it while removed: moderators hear it, members do not.
    expect((await t.query(EditThread, { input: { threadId: removed, title: 'Buy cheaper watches' } }, bob.token)).editThread.__typename).toBe('ThreadPayload');
    const end = await fence('Removal fence 2', [() => wsEvents(live.alice), () => wsEvents(live.moderator)]);
    expect(between(wsEvents(live.alice), start, end)).toEqual([]);
    expect(between(wsEvents(live.moderator), start, end).map((e) => [e.kind, e.subject?.__typename])).toEqual([
      ['MODERATION_ACTION', 'ModerationAction'],
      ['THREAD_EDITED', 'Thread'],
    ]);

    // The log and a replay from a cursor before it: members (its author too) no longer get its events.
    const aliceSees = await createdIn(alice.token);
    expect(aliceSees).toContain(end);
    expect(aliceSees).not.toContain(removed);
    expect(await createdIn(bob.token)).not.toContain(removed);
    expect((await createdIn(moderator.token))[0]).toBe(removed);
    expect((await t.query(ActivityLog, { filter: { threadId: removed } }, alice.token)).activityLog.nodes).toEqual([]);
    const replay = subscribe(t.wsClient(alice.token), Activity, { after: cursor, filter: { kinds: ['THREAD_CREATED'] } });
    const last = await fence('Removal fence 3', [() => wsEvents(replay)]);
    expect(wsEvents(replay).map((e) => e.subject?.id)).toEqual([...aliceSees, ...wsEvents(replay).slice(aliceSees.length).map((e) => e.subject?.id)]);
    expect(wsEvents(replay).map((e) => e.subject?.id)).not.toContain(removed);
    expect(wsEvents(replay).at(-1)?.subject?.id).toBe(last);

    // Restored, its events are back.
    expect((await t.query(RestoreContent, { input: { subjectId: removed, reason: 'Not spam after all' } }, moderator.token)).restoreContent.__typename).toBe('ModerationActionPayload');
    expect(await createdIn(alice.token)).toEqual([removed, ...aliceSees, ...(await createdIn(alice.token)).slice(aliceSees.length + 1)]);
  });
});

const CreateAutomodRule = graphql(`
  mutation HardCreateAutomodRule($input: CreateAutomodRuleInput!) {
    createAutomodRule(input: $input) { __typename ... on AutomodRulePayload { rule { id } } ... on Error { message } }
  }
`);
const DeleteAutomodRule = graphql(`
  mutation HardDeleteAutomodRule($input: DeleteAutomodRuleInput!) { deleteAutomodRule(input: $input) { __typename ... on Error { message } } }
`);
const PostNode = graphql(`query HardPostNode($id: ID!) { node(id: $id) { ... on Post { moderation { status } } } }`);

describe('a removed or held post leaves the activity of members (item 13)', () => {
  it('its events are gone from activityLog and a replay for members, kept for moderators, and back once restored', async () => {
    const moderator = await createUser(t, 'Post removal mod', 'MODERATOR', admin);
    const bob = await createUser(t, 'Post removal Bob');
    const thread = await createThread(t, alice, publicSpace, 'A thread with a spam reply');
    const cursor = (await t.query(ActivityLog, { filter: { threadId: thread } }, alice.token)).activityLog.nodes[0].id;
    const kept = await replyTo(t, alice, thread, 'A fine reply');
    const removed = await replyTo(t, bob, thread, 'Buy cheap watches');
    expect((await t.query(AddReaction, { input: { subjectId: removed, content: 'LAUGH' } }, alice.token)).addReaction.__typename).toBe('ReactionPayload');
    const eventsIn = (token: string) =>
      t.query(ActivityLog, { filter: { threadId: thread, kinds: ['POST_CREATED', 'REACTION_ADDED'] }, after: cursor }, token).then((r) => r.activityLog.nodes.map((e) => [e.kind, e.subject?.id ?? null]));
    const published = [['POST_CREATED', kept], ['POST_CREATED', removed], ['REACTION_ADDED', removed]];
    expect(await eventsIn(alice.token)).toEqual(published);

    expect((await t.query(RemoveContent, { input: { subjectId: removed, reason: 'Spam' } }, moderator.token)).removeContent.__typename).toBe('ModerationActionPayload');
    // The log and a replay from a cursor before it: members (its author too) no longer get its events.
    expect(await eventsIn(alice.token)).toEqual([['POST_CREATED', kept]]);
    expect(await eventsIn(bob.token)).toEqual([['POST_CREATED', kept]]);
    expect(await eventsIn(moderator.token)).toEqual([['POST_CREATED', kept], ['POST_CREATED', removed], ['REACTION_ADDED', removed]]);
    const replay = subscribe(t.wsClient(alice.token), Activity, { after: cursor, filter: { kinds: ['POST_CREATED', 'REACTION_ADDED', 'THREAD_CREATED'] } });
    const last = await fence('Post removal fence', [() => wsEvents(replay)]);
    const replayed = wsEvents(replay).map((e) => [e.kind, e.subject?.id ?? null]);
    expect(replayed.slice(0, 1)).toEqual([['POST_CREATED', kept]]);
    expect(replayed.filter(([, id]) => id === removed || id === null)).toEqual([]);
    expect(replayed.at(-1)).toEqual(['THREAD_CREATED', last]);

    // Restored, its events are back; so are they after its thread is removed and restored.
    expect((await t.query(RestoreContent, { input: { subjectId: removed, reason: 'Not spam' } }, moderator.token)).restoreContent.__typename).toBe('ModerationActionPayload');
    expect(await eventsIn(alice.token)).toEqual(published);
    // A thread coming back leaves the events of a reply that is still removed out.
    await t.query(RemoveContent, { input: { subjectId: removed, reason: 'Spam after all' } }, moderator.token);
    await t.query(RemoveContent, { input: { subjectId: thread, reason: 'Off topic' } }, moderator.token);
    expect(await eventsIn(alice.token)).toEqual([]);
    await t.query(RestoreContent, { input: { subjectId: thread, reason: 'On topic' } }, moderator.token);
    expect(await eventsIn(alice.token)).toEqual([['POST_CREATED', kept]]);
  });

  it('a held reply is absent for members until a moderator approves it', async () => {
    const moderator = await createUser(t, 'Hold mod', 'MODERATOR', admin);
    const { createAutomodRule } = await t.query(CreateAutomodRule, { input: { name: 'Hold watches', trigger: 'KEYWORD', action: 'HOLD', keywords: ['wristwatches'] } }, admin.token);
    if (createAutomodRule.__typename !== 'AutomodRulePayload') throw new Error(JSON.stringify(createAutomodRule));
    try {
      const thread = await createThread(t, alice, publicSpace, 'A thread with a held reply');
      const cursor = (await t.query(ActivityLog, { filter: { threadId: thread } }, alice.token)).activityLog.nodes[0].id;
      const bob = await createUser(t, 'Hold Bob');
      const held = await replyTo(t, bob, thread, 'Cheap wristwatches here');
      expect((await t.query(PostNode, { id: held }, moderator.token)).node).toEqual({ moderation: { status: 'HELD' } });
      const createdIn = (token: string) =>
        t.query(ActivityLog, { filter: { threadId: thread, kinds: ['POST_CREATED'] }, after: cursor }, token).then((r) => r.activityLog.nodes.map((e) => e.subject?.id ?? null));
      expect(await createdIn(alice.token)).toEqual([]);
      expect(await createdIn(moderator.token)).toEqual([held]);
      const replay = subscribe(t.wsClient(alice.token), Activity, { after: cursor, filter: { kinds: ['POST_CREATED', 'THREAD_CREATED'] } });
      const last = await fence('Held post fence', [() => wsEvents(replay)]);
      expect(wsEvents(replay).map((e) => [e.kind, e.subject?.id ?? null])).toEqual([['THREAD_CREATED', last]]);

      expect((await t.query(RestoreContent, { input: { subjectId: held, reason: 'Fine' } }, moderator.token)).restoreContent.__typename).toBe('ModerationActionPayload');
      expect(await createdIn(alice.token)).toEqual([held]);
    } finally {
      await t.query(DeleteAutomodRule, { input: { ruleId: createAutomodRule.rule.id } }, admin.token);
    }
  });
});
