import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { prisma } from '../src/db/client.js';
import { catchUpSignals } from '../src/modules/participation/signals.js';
import { demoteLapsedRegulars, evaluatePromotions } from '../src/modules/participation/trust.js';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import type { UpdateTrustLevelRulesInput } from './gql/graphql.js';
import { graphql } from './gql/index.js';
import { connected, startTestApp, subscribe, type TestApp } from './helpers.js';

const TrustOf = graphql(`
  query TrustOf($id: ID!) {
    node(id: $id) {
      ... on User {
        trustLevel
        trustLevelLocked
        engagement { nextLevel { level missing { signal have need atMost } } }
        trustLevelChanges(first: 10) { totalCount nodes { from to reason automatic locked by { id } } }
      }
    }
  }
`);
const UpdateRules = graphql(`
  mutation TrustUpdateRules($input: UpdateTrustLevelRulesInput!) {
    updateTrustLevelRules(input: $input) {
      __typename
      ... on UpdateTrustLevelRulesPayload { rules { wikiEditLevel demotionGraceDays levels { level window requirements { signal atLeast atMost } } } }
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
    }
  }
`);
const Rules = graphql(`
  query TrustRules { trustLevelRules { wikiEditLevel demotionGraceDays levels { level window requirements { signal atLeast atMost } } } }
`);
const SetLevel = graphql(`
  mutation TrustSetLevel($input: SetTrustLevelInput!) {
    setTrustLevel(input: $input) {
      __typename
      ... on SetTrustLevelPayload { user { id trustLevel trustLevelLocked } }
      ... on Error { message }
    }
  }
`);
const Notifications = graphql(`
  query TrustNotifications {
    viewer { notifications(first: 20, filter: { kinds: [TRUST_LEVEL_CHANGED] }) { totalCount nodes { kind text subject { __typename ... on User { id } } } } }
  }
`);
const MentionNotifications = graphql(`
  query TrustMentionNotifications { viewer { notifications(first: 20, filter: { kinds: [MENTIONED] }) { totalCount } } }
`);
const Handle = graphql(`query TrustHandle { viewer { handle } }`);
const TrustFeed = graphql(`
  subscription TrustFeed($filter: ActivityFilter) { activity(filter: $filter) { kind actor { id } subject { id } } }
`);
const CreateRule = graphql(`
  mutation TrustCreateAutomodRule($input: CreateAutomodRuleInput!) {
    createAutomodRule(input: $input) { __typename ... on AutomodRulePayload { rule { id belowTrustLevel } } ... on Error { message } }
  }
`);
const DeleteRule = graphql(`
  mutation TrustDeleteAutomodRule($input: DeleteAutomodRuleInput!) { deleteAutomodRule(input: $input) { __typename } }
`);
const CreateThread = graphql(`
  mutation TrustCreateThread($input: CreateThreadInput!) {
    createThread(input: $input) { __typename ... on ThreadPayload { thread { id moderation { status } } } ... on Error { message } }
  }
`);
const SetWiki = graphql(`
  mutation TrustSetWiki($input: SetThreadWikiInput!) {
    setThreadWiki(input: $input) { __typename ... on ThreadPayload { thread { id wiki } } ... on Error { message } }
  }
`);
const EditThread = graphql(`
  mutation TrustEditThread($input: EditThreadInput!) {
    editThread(input: $input) { __typename ... on ThreadPayload { thread { id body } } ... on Error { message } }
  }
`);
const Report = graphql(`
  mutation TrustReport($input: ReportContentInput!) { reportContent(input: $input) { __typename ... on Error { message } } }
`);
const ThreadState = graphql(`
  query TrustThreadState($id: ID!) { node(id: $id) { ... on Thread { moderation { status classifier } } } }
`);
const Queue = graphql(`
  query TrustQueue($spaceId: ID!) { moderationQueue(first: 10, filter: { spaceId: $spaceId }) { nodes { status priority subject { ... on Node { id } } } } }
`);

const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);
const DAY = 86_400_000;

let t: TestApp;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let agent: Actor;
let n = 0;

beforeAll(async () => {
  t = await startTestApp({ SIGNALS_POLL_MS: '1000' });
  admin = await createUser(t, 'Admin');
  manager = await createUser(t, 'Manager', 'COMMUNITY_MANAGER', admin);
  moderator = await createUser(t, 'Moderator', 'MODERATOR', admin);
  agent = await createUser(t, 'Agent', 'AGENT', admin);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

/**
 * Runs signal passes (and so the promotion listener) until the log is read to its end. The app's
 * job may have taken the last pass, its listener still running: the listener is idempotent, so
 * it is run once more here for `users` (racing the job's, as a second instance would).
 */
async function settle(...users: Actor[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await catchUpSignals();
    const [cursor, newest, dirty] = await Promise.all([
      prisma().signalCursor.findUnique({ where: { id: 1 } }),
      prisma().activity.findFirst({ where: { kind: { not: 'TRUST_LEVEL_CHANGED' } }, orderBy: { id: 'desc' }, select: { id: true } }),
      prisma().signalDirtyUser.count(),
    ]);
    if (cursor && newest && cursor.activityId >= newest.id && dirty === 0) {
      await evaluatePromotions(users.map((user) => rowId(user.id)));
      return;
    }
    if (Date.now() > deadline) throw new Error('signals did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const newSpace = () => createSpace(t, admin, `trust-${++n}-${Date.now() % 100000}`);

async function trustOf(viewer: Actor, user: Actor) {
  const { node } = await t.query(TrustOf, { id: user.id }, viewer.token);
  return node as {
    trustLevel: string;
    trustLevelLocked: boolean | null;
    engagement: { nextLevel: { level: string; missing: { signal: string; have: number; need: number; atMost: boolean }[] } | null } | null;
    trustLevelChanges: { totalCount: number; nodes: { from: string; to: string; reason: string; automatic: boolean; locked: boolean; by: { id: string } | null }[] } | null;
  };
}

async function setRules(input: UpdateTrustLevelRulesInput) {
  const { updateTrustLevelRules } = await t.query(UpdateRules, { input }, manager.token);
  expect(updateTrustLevelRules.__typename).toBe('UpdateTrustLevelRulesPayload');
}

/** Only threads count: TL1 at `tl1` threads, TL2 at `tl2`, TL3 at `tl3` over 90 days with no moderation action. */
const threadRules = (tl1: number, tl2: number, tl3: number) => ({
  levels: [
    { level: 'TL1_BASIC' as const, window: 'ALL' as const, requirements: [{ signal: 'threads' as const, atLeast: tl1 }] },
    { level: 'TL2_MEMBER' as const, window: 'ALL' as const, requirements: [{ signal: 'threads' as const, atLeast: tl2 }] },
    {
      level: 'TL3_REGULAR' as const,
      window: 'DAYS_90' as const,
      requirements: [{ signal: 'threads' as const, atLeast: tl3 }, { signal: 'moderationActions' as const, atMost: 0 }],
    },
  ],
});

async function setLevel(user: Actor, level: 'TL0_NEW' | 'TL1_BASIC' | 'TL2_MEMBER' | 'TL3_REGULAR' | 'TL4_LEADER', locked = false) {
  const { setTrustLevel } = await t.query(SetLevel, { input: { userId: user.id, level, reason: 'test', locked } }, manager.token);
  expect(setTrustLevel.__typename).toBe('SetTrustLevelPayload');
}

const trustEvents = (user: Actor) => prisma().activity.count({ where: { kind: 'TRUST_LEVEL_CHANGED', subjectType: 'User', subjectId: rowId(user.id) } });

describe('trust levels', () => {
  it('promotes exactly at the thresholds: one event, one notification, live to managers only; nextLevel says what is missing', async () => {
    await setRules({ ...threadRules(2, 50, 50), demotionGraceDays: 14 });
    const ana = await createUser(t, 'Ana');
    const space = await newSpace();
    const managerClient = t.wsClient(manager.token);
    const managerFeed = subscribe(managerClient, TrustFeed, { filter: { kinds: ['TRUST_LEVEL_CHANGED'] } });
    await connected(managerClient);
    const anaClient = t.wsClient(ana.token);
    const anaFeed = subscribe(anaClient, TrustFeed, { filter: { kinds: ['TRUST_LEVEL_CHANGED'] } });
    await connected(anaClient);

    await createThread(t, ana, space);
    await settle(ana);
    // One short: still TL0, and nextLevel says exactly what TL1 lacks.
    expect(await trustOf(ana, ana)).toMatchObject({
      trustLevel: 'TL0_NEW',
      trustLevelLocked: false,
      engagement: { nextLevel: { level: 'TL1_BASIC', missing: [{ signal: 'threads', have: 1, need: 2, atMost: false }] } },
      trustLevelChanges: { totalCount: 0, nodes: [] },
    });

    await createThread(t, ana, space);
    await settle(ana);
    // Two evaluators racing after the fact change nothing more.
    await Promise.all([evaluatePromotions([rowId(ana.id)]), evaluatePromotions([rowId(ana.id)])]);
    expect(await trustOf(ana, ana)).toEqual({
      trustLevel: 'TL1_BASIC',
      trustLevelLocked: false,
      engagement: { nextLevel: { level: 'TL2_MEMBER', missing: [{ signal: 'threads', have: 2, need: 50, atMost: false }] } },
      trustLevelChanges: { totalCount: 1, nodes: [{ from: 'TL0_NEW', to: 'TL1_BASIC', reason: 'Automatic: met the requirements of TL1', automatic: true, locked: false, by: null }] },
    });
    expect(await trustEvents(ana)).toBe(1);
    await vi.waitFor(async () => {
      expect((await t.query(Notifications, {}, ana.token)).viewer?.notifications).toEqual({
        totalCount: 1,
        nodes: [{ kind: 'TRUST_LEVEL_CHANGED', text: 'Your trust level is now TL1 (basic) (was TL0 (new))', subject: { __typename: 'User', id: ana.id } }],
      });
    }, { timeout: 10_000 });
    // Live: the manager receives it (automatic: no actor); the member's own stream does not (MANAGERS).
    await vi.waitFor(() => {
      expect(managerFeed.received.map((r) => r.data?.activity).filter((e) => e?.subject?.id === ana.id)).toEqual([
        { kind: 'TRUST_LEVEL_CHANGED', actor: null, subject: { id: ana.id } },
      ]);
    }, { timeout: 10_000 });
    expect(anaFeed.received).toEqual([]);
    // Others see the level (public), not the lock, the log or the engagement.
    const ben = await createUser(t, 'Ben');
    expect(await trustOf(ben, ana)).toEqual({ trustLevel: 'TL1_BASIC', trustLevelLocked: null, engagement: null, trustLevelChanges: null });
    managerFeed.dispose();
    anaFeed.dispose();
  });

  it('demotes TL3 when its 90-day requirements lapse, after the grace; locked levels never move automatically', async () => {
    await setRules({ ...threadRules(1, 1, 1), demotionGraceDays: 14 });
    const [cy, dee, eve] = [await createUser(t, 'Cy'), await createUser(t, 'Dee'), await createUser(t, 'Eve')];
    // Eve is locked at TL0 before she does anything.
    await setLevel(eve, 'TL0_NEW', true);
    const space = await newSpace();
    for (const user of [cy, dee, eve]) await createThread(t, user, space);
    await settle(cy, dee, eve);
    expect((await trustOf(cy, cy)).trustLevel).toBe('TL3_REGULAR');
    expect((await trustOf(dee, dee)).trustLevel).toBe('TL3_REGULAR');
    expect(await trustOf(eve, eve)).toMatchObject({ trustLevel: 'TL0_NEW', trustLevelLocked: true, engagement: { nextLevel: null } });
    // A jump of several levels is one change and one event.
    expect(await trustEvents(cy)).toBe(1);
    // Dee's TL3 is locked by hand.
    await setLevel(dee, 'TL3_REGULAR', true);
    expect(await trustOf(dee, dee)).toMatchObject({ trustLevel: 'TL3_REGULAR', engagement: { nextLevel: null } });

    // Still within the window and the grace: nothing moves.
    await demoteLapsedRegulars(new Date(Date.now() + 10 * DAY));
    expect((await trustOf(cy, cy)).trustLevel).toBe('TL3_REGULAR');
    // 100 days on: the 90-day window is empty. Cy goes back to TL2 (once, however often the pass runs); Dee stays.
    const later = new Date(Date.now() + 100 * DAY);
    await Promise.all([demoteLapsedRegulars(later, 1), demoteLapsedRegulars(later, 2)]);
    expect((await trustOf(cy, cy)).trustLevelChanges?.nodes[0]).toEqual({
      from: 'TL3_REGULAR', to: 'TL2_MEMBER', reason: 'Automatic: the TL3 requirements are no longer met', automatic: true, locked: false, by: null,
    });
    expect((await trustOf(cy, cy)).trustLevel).toBe('TL2_MEMBER');
    expect(await trustEvents(cy)).toBe(2);
    expect((await trustOf(dee, dee)).trustLevel).toBe('TL3_REGULAR');
    // Eve, locked at TL0, stays there whatever she does.
    await createThread(t, eve, space);
    await settle(eve);
    expect((await trustOf(eve, eve)).trustLevel).toBe('TL0_NEW');
    expect(await trustEvents(eve)).toBe(0);
  });

  it('does not demote within the grace after promotion, even when TL3 lapsed', async () => {
    await setRules({ ...threadRules(1, 1, 1), demotionGraceDays: 14 });
    const fay = await createUser(t, 'Fay');
    const space = await newSpace();
    const thread = await createThread(t, fay, space);
    await settle(fay);
    expect((await trustOf(fay, fay)).trustLevel).toBe('TL3_REGULAR');
    // A moderation action against her: TL3's "moderationActions at most 0" no longer holds.
    const { hideContent } = await t.query(
      graphql(`mutation TrustHide($input: HideContentInput!) { hideContent(input: $input) { __typename } }`),
      { input: { subjectId: thread, classifier: 'OFF_TOPIC', reason: 'off topic' } },
      moderator.token,
    );
    expect(hideContent.__typename).toBe('ModerationActionPayload');
    await settle(fay);
    await demoteLapsedRegulars(new Date());
    expect((await trustOf(fay, fay)).trustLevel).toBe('TL3_REGULAR');
    await demoteLapsedRegulars(new Date(Date.now() + 15 * DAY));
    expect((await trustOf(fay, fay)).trustLevel).toBe('TL2_MEMBER');
  });

  it('setTrustLevel: managers and admins only, logged, typed errors', async () => {
    const gus = await createUser(t, 'Gus');
    const input = { userId: gus.id, level: 'TL4_LEADER' as const, reason: 'Runs the meetups', locked: true };
    for (const actor of [gus, moderator, agent]) {
      expect((await t.query(SetLevel, { input }, actor.token)).setTrustLevel).toEqual({ __typename: 'ForbiddenError', message: 'Only a COMMUNITY_MANAGER or ADMIN can set trust levels' });
    }
    expect((await t.query(SetLevel, { input })).setTrustLevel.__typename).toBe('UnauthenticatedError');
    expect((await t.query(SetLevel, { input: { ...input, reason: '  ' } }, manager.token)).setTrustLevel).toEqual({
      __typename: 'ValidationError', message: 'input.reason: must not be empty',
    });
    const { setTrustLevel: notFound } = await t.query(SetLevel, { input: { ...input, userId: Buffer.from('User:999999').toString('base64') } }, manager.token);
    expect(notFound).toEqual({ __typename: 'NotFoundError', message: 'User 999999 was not found' });
    expect(await trustEvents(gus)).toBe(0);

    expect((await t.query(SetLevel, { input }, manager.token)).setTrustLevel).toEqual({
      __typename: 'SetTrustLevelPayload', user: { id: gus.id, trustLevel: 'TL4_LEADER', trustLevelLocked: true },
    });
    expect((await t.query(SetLevel, { input: { ...input, level: 'TL2_MEMBER', reason: 'Stepped back', locked: false } }, admin.token)).setTrustLevel.__typename).toBe('SetTrustLevelPayload');
    expect((await trustOf(manager, gus)).trustLevelChanges).toEqual({
      totalCount: 2,
      nodes: [
        { from: 'TL4_LEADER', to: 'TL2_MEMBER', reason: 'Stepped back', automatic: false, locked: false, by: { id: admin.id } },
        { from: 'TL0_NEW', to: 'TL4_LEADER', reason: 'Runs the meetups', automatic: false, locked: true, by: { id: manager.id } },
      ],
    });
    expect(await trustEvents(gus)).toBe(2);
  });

  it('trust level rules: readable by anyone, changed by managers and admins only, validated', async () => {
    const hal = await createUser(t, 'Hal');
    const input = { levels: [{ level: 'TL1_BASIC' as const, window: 'ALL' as const, requirements: [{ signal: 'repliesRead' as const, atLeast: 30 }, { signal: 'daysActive' as const, atLeast: 1 }] }] };
    for (const actor of [hal, moderator, agent]) {
      expect((await t.query(UpdateRules, { input }, actor.token)).updateTrustLevelRules).toMatchObject({ __typename: 'ForbiddenError', message: 'Only a COMMUNITY_MANAGER or ADMIN can change the trust level rules' });
    }
    expect((await t.query(UpdateRules, { input: { levels: [{ level: 'TL4_LEADER', window: 'ALL', requirements: [{ signal: 'threads', atLeast: 1 }] }] } }, admin.token)).updateTrustLevelRules).toMatchObject({
      __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'levels', '0', 'level'], message: 'must be 1, 2 or 3 (TL4 is only given by hand)' }],
    });
    expect((await t.query(UpdateRules, { input: { levels: [{ level: 'TL1_BASIC', window: 'ALL', requirements: [{ signal: 'threads', atLeast: 1, atMost: 2 }] }] } }, admin.token)).updateTrustLevelRules).toMatchObject({
      __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'levels', '0', 'requirements', '0', 'atLeast'], message: 'give atLeast or atMost (one of them)' }],
    });
    await setRules({ ...input, wikiEditLevel: 'TL2_MEMBER' });
    const { trustLevelRules } = await t.query(Rules, {}, hal.token);
    expect(trustLevelRules.wikiEditLevel).toBe('TL2_MEMBER');
    expect(trustLevelRules.levels[0]).toEqual({
      level: 'TL1_BASIC', window: 'ALL', requirements: [{ signal: 'repliesRead', atLeast: 30, atMost: null }, { signal: 'daysActive', atLeast: 1, atMost: null }],
    });
    expect(trustLevelRules.levels.map((l) => l.level)).toEqual(['TL1_BASIC', 'TL2_MEMBER', 'TL3_REGULAR']);
  });
});

describe('trust level privileges', () => {
  it("automod's LINK and MENTION_SPAM rules with belowTrustLevel screen TL0 writers only", async () => {
    const [ivy, jo] = [await createUser(t, 'Ivy'), await createUser(t, 'Jo')];
    await setLevel(jo, 'TL1_BASIC');
    const space = await newSpace();
    const link = await t.query(CreateRule, { input: { name: `tl0-links-${n}`, trigger: 'LINK', action: 'HOLD', belowTrustLevel: 1 } }, manager.token);
    const mentions = await t.query(CreateRule, { input: { name: `tl0-mentions-${n}`, trigger: 'MENTION_SPAM', action: 'HOLD', maxMentions: 1, belowTrustLevel: 1 } }, manager.token);
    expect(link.createAutomodRule).toMatchObject({ __typename: 'AutomodRulePayload', rule: { belowTrustLevel: 1 } });
    expect(mentions.createAutomodRule).toMatchObject({ __typename: 'AutomodRulePayload', rule: { belowTrustLevel: 1 } });
    try {
      const post = async (user: Actor, body: string) => {
        const { createThread } = await t.query(CreateThread, { input: { spaceId: space, title: 'Hi', body } }, user.token);
        return createThread.__typename === 'ThreadPayload' ? createThread.thread.moderation.status : createThread.__typename;
      };
      expect(await post(ivy, 'see https://example.org/deal')).toBe('HELD');
      expect(await post(jo, 'see https://example.org/deal')).toBe('VISIBLE');
      expect(await post(ivy, 'hey @aa and @bb')).toBe('HELD');
      expect(await post(jo, 'hey @aa and @bb')).toBe('VISIBLE');
      expect(await post(ivy, 'no links here')).toBe('VISIBLE');
    } finally {
      for (const rule of [link, mentions]) {
        if (rule.createAutomodRule.__typename === 'AutomodRulePayload') await t.query(DeleteRule, { input: { ruleId: rule.createAutomodRule.rule.id } }, manager.token);
      }
    }
  });

  it("@mentions of a TL0 writer notify at most TL0_MAX_MENTIONS (2) people; a TL1 writer's all", async () => {
    const [kim, lee, max, ned, ola] = await Promise.all(['Kim', 'Lee', 'Max', 'Ned', 'Ola'].map((name) => createUser(t, name)));
    await setLevel(lee, 'TL1_BASIC');
    const handles = await Promise.all([max, ned, ola].map(async (u) => (await t.query(Handle, {}, u.token)).viewer!.handle));
    const space = await newSpace();
    const body = handles.map((h) => `@${h}`).join(' ');
    await createThread(t, kim, space, 'From a new member', body);
    await createThread(t, lee, space, 'From a basic member', body);
    const mentioned = async (u: Actor) => (await t.query(MentionNotifications, {}, u.token)).viewer!.notifications!.totalCount;
    await vi.waitFor(async () => expect(await Promise.all([max, ned, ola].map(mentioned))).toEqual([2, 2, 1]), { timeout: 10_000 });
  });

  it("wiki threads: the author or a moderator sets it; TL2+ members may edit its body (not its title), revisions kept", async () => {
    await setRules({ wikiEditLevel: 'TL2_MEMBER' });
    const [pam, quin, rae] = [await createUser(t, 'Pam'), await createUser(t, 'Quin'), await createUser(t, 'Rae')];
    await setLevel(quin, 'TL2_MEMBER');
    await setLevel(rae, 'TL1_BASIC');
    const space = await newSpace();
    const thread = await createThread(t, pam, space, 'How to', 'Step one');
    const edit = (user: Actor, changes: { body?: string; title?: string }) => t.query(EditThread, { input: { threadId: thread, ...changes } }, user.token);
    // Not a wiki yet: only the author or a moderator.
    expect((await edit(quin, { body: 'Step one, two' })).editThread).toEqual({ __typename: 'ForbiddenError', message: 'Only the author or a moderator can edit this thread' });
    expect((await t.query(SetWiki, { input: { threadId: thread, wiki: true } }, quin.token)).setThreadWiki).toEqual({
      __typename: 'ForbiddenError', message: 'Only the author or a moderator can make this thread a wiki or not',
    });
    expect((await t.query(SetWiki, { input: { threadId: thread, wiki: true } }, pam.token)).setThreadWiki).toEqual({ __typename: 'ThreadPayload', thread: { id: thread, wiki: true } });
    expect((await edit(quin, { body: 'Step one, two' })).editThread).toEqual({ __typename: 'ThreadPayload', thread: { id: thread, body: 'Step one, two' } });
    const wikiRefused = { __typename: 'ForbiddenError', message: "Only the author or a moderator can edit this wiki thread's title, and only members of the wiki edit trust level and above its body" };
    expect((await edit(quin, { title: 'Mine now' })).editThread).toEqual(wikiRefused);
    expect((await edit(rae, { body: 'Vandalised' })).editThread).toEqual(wikiRefused);
    expect(await prisma().revision.count({ where: { threadId: rowId(thread) } })).toBe(1);
    // Back to a normal thread: TL2 no longer helps.
    expect((await t.query(SetWiki, { input: { threadId: thread, wiki: false } }, moderator.token)).setThreadWiki.__typename).toBe('ThreadPayload');
    expect((await edit(quin, { body: 'Again' })).editThread.__typename).toBe('ForbiddenError');
  });

  it('flags weigh by trust level in the queue, and a TL3+ SPAM report hides the content at once pending review', async () => {
    const [sam, tia, uma, vic] = [await createUser(t, 'Sam'), await createUser(t, 'Tia'), await createUser(t, 'Uma'), await createUser(t, 'Vic')];
    await setLevel(uma, 'TL4_LEADER');
    await setLevel(vic, 'TL2_MEMBER');
    const space = await newSpace();
    const first = await createThread(t, sam, space, 'Cheap watches');
    const second = await createThread(t, sam, space, 'Cheaper watches');
    // TL0 (0.5) and TL2 (1.25) reporters: the content stays visible.
    expect((await t.query(Report, { input: { subjectId: first, reason: 'SPAM' } }, tia.token)).reportContent.__typename).toBe('ReportPayload');
    expect((await t.query(Report, { input: { subjectId: first, reason: 'SPAM' } }, vic.token)).reportContent.__typename).toBe('ReportPayload');
    expect((await t.query(ThreadState, { id: first }, moderator.token)).node).toEqual({ moderation: { status: 'VISIBLE', classifier: null } });
    // A TL4 reporter (2): hidden as spam at once, by the system; the item stays open for a moderator.
    expect((await t.query(Report, { input: { subjectId: second, reason: 'SPAM' } }, uma.token)).reportContent.__typename).toBe('ReportPayload');
    expect((await t.query(ThreadState, { id: second }, moderator.token)).node).toEqual({ moderation: { status: 'HIDDEN', classifier: 'SPAM' } });
    const action = await prisma().moderationAction.findFirstOrThrow({ where: { subjectType: 'Thread', subjectId: rowId(second) } });
    expect(action).toMatchObject({ kind: 'HIDE', actorId: null, classifier: 'SPAM', reason: 'Hidden as spam on the report of a trusted member (TL3+), pending review by a moderator' });
    const { moderationQueue } = await t.query(Queue, { spaceId: space }, moderator.token);
    const byThread = new Map(moderationQueue.nodes.map((item) => [item.subject && 'id' in item.subject ? item.subject.id : null, item]));
    expect(byThread.get(first)).toMatchObject({ status: 'OPEN', priority: expect.closeTo(1.75, 2) });
    expect(byThread.get(second)).toMatchObject({ status: 'OPEN', priority: expect.closeTo(2, 2) });
    // A TL0 member's SPAM report does not hide.
    const third = await createThread(t, sam, space, 'Watches again');
    await t.query(Report, { input: { subjectId: third, reason: 'SPAM' } }, tia.token);
    expect((await t.query(ThreadState, { id: third }, moderator.token)).node).toEqual({ moderation: { status: 'VISIBLE', classifier: null } });
    // Reply-level content too: a TL3 member's report of a spam reply.
    await setLevel(vic, 'TL3_REGULAR');
    const spamReply = await reply(t, sam, third, 'buy buy buy');
    expect((await t.query(Report, { input: { subjectId: spamReply, reason: 'SPAM' } }, vic.token)).reportContent.__typename).toBe('ReportPayload');
    expect(await prisma().post.findUniqueOrThrow({ where: { id: rowId(spamReply) }, select: { moderationStatus: true, moderationClassifier: true } })).toEqual({
      moderationStatus: 'HIDDEN', moderationClassifier: 'SPAM',
    });
  });
});
