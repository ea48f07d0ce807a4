import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { awardBuiltInBadges, THRESHOLDS } from '../src/modules/participation/badges.js';
import { catchUpSignals, refreshStats } from '../src/modules/participation/signals.js';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { sleep, startTestApp, subscribe, type TestApp } from './helpers.js';

const UserBadges = graphql(`
  query UserBadges($id: ID!) {
    node(id: $id) { ... on User { badges(first: 20) { totalCount nodes { id reason awardedBy { id } badge { key name kind } } } } }
  }
`);
const MarkAnswer = graphql(`
  mutation BadgesMarkAnswer($input: MarkAsAnswerInput!) { markAsAnswer(input: $input) { __typename } }
`);
const CreateBadge = graphql(`
  mutation BadgesCreate($input: CreateBadgeInput!) {
    createBadge(input: $input) {
      __typename
      ... on BadgePayload { badge { id name description icon kind repeatable archivedAt holderCount } }
      ... on ValidationError { fieldErrors { path message } }
    }
  }
`);
const UpdateBadge = graphql(`
  mutation BadgesUpdate($input: UpdateBadgeInput!) {
    updateBadge(input: $input) { __typename ... on BadgePayload { badge { id name description icon } } }
  }
`);
const ArchiveBadge = graphql(`
  mutation BadgesArchive($input: ArchiveBadgeInput!) {
    archiveBadge(input: $input) { __typename ... on BadgePayload { badge { id archivedAt } } }
  }
`);
const AwardBadge = graphql(`
  mutation BadgesAward($input: AwardBadgeInput!) {
    awardBadge(input: $input) {
      __typename
      ... on BadgeAwardPayload { award { id reason awardedBy { id } user { id } badge { id holderCount } } }
      ... on Error { message }
    }
  }
`);
const RevokeBadge = graphql(`
  mutation BadgesRevoke($input: RevokeBadgeInput!) {
    revokeBadge(input: $input) { __typename ... on BadgeAwardPayload { award { id revokedAt } } }
  }
`);
const BadgeHolders = graphql(`
  query BadgeHolders($id: ID!) {
    node(id: $id) { ... on Badge { name holderCount holders(first: 10) { totalCount nodes { user { id } reason } } } }
  }
`);
const AwardNode = graphql(`
  query BadgesAwardNode($id: ID!) { node(id: $id) { __typename ... on BadgeAward { revokedAt } } }
`);
const BuiltInBadges = graphql(`
  query BuiltInBadges { badges(first: 50, kind: BUILT_IN) { totalCount nodes { key name repeatable } } }
`);
const Notifications = graphql(`
  query BadgesNotifications {
    viewer { notifications(first: 20, filter: { kinds: [BADGE_AWARDED] }) { nodes { kind text subject { __typename ... on BadgeAward { id badge { name } } } } } }
  }
`);
const BadgeFeed = graphql(`
  subscription BadgeFeed {
    activity(filter: { kinds: [BADGE_AWARDED] }) { kind actor { id } subject { __typename id } }
  }
`);
const UsersWithBadges = graphql(`
  query UsersWithBadges($first: Int!) {
    users(first: $first, orderBy: NEWEST) { nodes { id badges(first: 5) { totalCount nodes { reason awardedBy { id } badge { name holderCount } } } } }
  }
`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let agent: Actor;
let n = 0;
const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestApp({ SIGNALS_POLL_MS: '1000' });
  admin = await createUser(t, 'Admin');
  manager = await createUser(t, 'Manager', 'COMMUNITY_MANAGER', admin);
  agent = await createUser(t, 'Agent', 'AGENT', admin);
}, 60_000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});
afterAll(async () => {
  await t?.stop();
});

/** Runs signal passes until the log is read to its end (the app's job may hold the cursor meanwhile). */
async function settle(): Promise<void> {
  await vi.waitFor(
    async () => {
      await catchUpSignals();
      const [cursor, newest] = await Promise.all([
        prisma().signalCursor.findUnique({ where: { id: 1 } }),
        prisma().activity.findFirst({ where: { kind: { notIn: ['BADGE_AWARDED'] } }, orderBy: { id: 'desc' }, select: { id: true } }),
      ]);
      if (!cursor || !newest || cursor.activityId < newest.id) throw new Error('signals not caught up');
    },
    { timeout: 15_000, interval: 20 },
  );
  // A pass the app's job ran may still be telling the listeners.
  await sleep(0);
}

async function badgeKeys(user: Actor): Promise<string[]> {
  const data = await t.query(UserBadges, { id: user.id }, user.token);
  const node = data.node as { badges: { nodes: { badge: { key: string | null; name: string } }[] } };
  return node.badges.nodes.map((award) => award.badge.key ?? award.badge.name).sort();
}

const newSpace = () => createSpace(t, admin, `badges-${++n}-${Date.now() % 100000}`);

/** `answerer` replies to `count` new threads of `asker` (a newcomer) and each is accepted. */
async function acceptedAnswers(asker: Actor, answerer: Actor, space: string, count: number, body = 'Try restarting it, that fixed it for me') {
  for (let i = 0; i < count; i++) {
    const thread = await createThread(t, asker, space, `Question ${i}`);
    const post = await reply(t, answerer, thread, body);
    expect((await t.query(MarkAnswer, { input: { postId: post } }, asker.token)).markAsAnswer.__typename).toBe('ThreadPayload');
  }
}

/** Writes one member's signals for today directly (for thresholds out of reach of a quick test). */
async function setSignals(userId: number, counts: Record<string, number>) {
  const day = new Date(new Date().toISOString().slice(0, 10));
  const data = { userId, spaceId: 0, day, ...counts };
  await prisma().memberActivityDay.upsert({ where: { userId_spaceId_day: { userId, spaceId: 0, day } }, create: data, update: counts });
  await prisma().$transaction((tx) => refreshStats(tx, [userId]));
}

describe('built-in badges', () => {
  it('lists the built-in badges', async () => {
    const { badges } = await t.query(BuiltInBadges, {});
    expect(badges.nodes.map((b) => b.key)).toEqual([
      'FIRST_REPLY', 'FIRST_ACCEPTED_ANSWER', 'WELCOMER', 'HELPFUL', 'VERY_HELPFUL', 'BILINGUAL', 'RELIABLE_REPORTER', 'CONVERSATION_STARTER', 'APPRECIATED',
    ]);
    expect(badges.nodes.every((b) => !b.repeatable)).toBe(true);
  });

  it('awards FIRST_REPLY at the first reply and FIRST_ACCEPTED_ANSWER at the first accepted answer, once each', async () => {
    const [ana, ben] = [await createUser(t, 'Ana'), await createUser(t, 'Ben')];
    const space = await newSpace();
    const thread = await createThread(t, ana, space);
    await settle();
    expect(await badgeKeys(ben)).toEqual([]);
    const post = await reply(t, ben, thread, 'Have you tried turning it off and on again?');
    await settle();
    await vi.waitFor(async () => expect(await badgeKeys(ben)).toEqual(['FIRST_REPLY']));
    await reply(t, ben, thread, 'And another');
    await t.query(MarkAnswer, { input: { postId: post } }, ana.token);
    await settle();
    await vi.waitFor(async () => expect(await badgeKeys(ben)).toEqual(['FIRST_ACCEPTED_ANSWER', 'FIRST_REPLY']));
    // Re-evaluating changes nothing.
    expect(await awardBuiltInBadges([rowId(ben.id)])).toBe(0);
    expect(await prisma().badgeAward.count({ where: { userId: rowId(ben.id) } })).toBe(2);
  });

  it('awards HELPFUL and WELCOMER at exactly 10 accepted answers / first replies to newcomers, not at 9', async () => {
    const [ana, ben] = [await createUser(t, 'Ana'), await createUser(t, 'Ben')];
    const space = await newSpace();
    await acceptedAnswers(ana, ben, space, THRESHOLDS.HELPFUL - 1);
    await settle();
    expect(await badgeKeys(ben)).toEqual(['FIRST_ACCEPTED_ANSWER', 'FIRST_REPLY']);
    await acceptedAnswers(ana, ben, space, 1);
    await settle();
    await vi.waitFor(async () => expect(await badgeKeys(ben)).toEqual(['FIRST_ACCEPTED_ANSWER', 'FIRST_REPLY', 'HELPFUL', 'WELCOMER']));
    const helpful = await prisma().badgeAward.findMany({ where: { userId: rowId(ben.id), badge: { key: 'HELPFUL' } } });
    expect(helpful).toHaveLength(1);
    expect(helpful[0]).toMatchObject({ grantKey: 'once', reason: '10 accepted answers', awardedById: null });
  }, 60_000);

  it('awards the other thresholds exactly at them, once, even with two evaluations racing', async () => {
    const ana = await createUser(t, 'Ana');
    const id = rowId(ana.id);
    await setSignals(id, { acceptedAnswers: 49, reportsConfirmed: 4, threads: 9, reactionsReceived: 24 });
    await Promise.all([awardBuiltInBadges([id]), awardBuiltInBadges([id])]);
    expect(await badgeKeys(ana)).toEqual(['FIRST_ACCEPTED_ANSWER', 'HELPFUL']);
    await setSignals(id, { acceptedAnswers: 50, reportsConfirmed: 5, threads: 10, reactionsReceived: 25 });
    const [first, second] = await Promise.all([awardBuiltInBadges([id]), awardBuiltInBadges([id])]);
    expect(first + second).toBe(4);
    expect(await badgeKeys(ana)).toEqual(['APPRECIATED', 'CONVERSATION_STARTER', 'FIRST_ACCEPTED_ANSWER', 'HELPFUL', 'RELIABLE_REPORTER', 'VERY_HELPFUL']);
    // One award row and one event per badge.
    const awards = await prisma().badgeAward.findMany({ where: { userId: id }, select: { id: true } });
    expect(awards).toHaveLength(6);
    const events = await prisma().activity.findMany({ where: { kind: 'BADGE_AWARDED', subjectId: { in: awards.map((a) => a.id) } } });
    expect(events.map((e) => e.subjectId).sort()).toEqual(awards.map((a) => a.id).sort());
  });

  it('awards BILINGUAL for accepted answers detected in Spanish and in English, not for two in one language', async () => {
    const [ana, ben, cy] = [await createUser(t, 'Ana'), await createUser(t, 'Ben'), await createUser(t, 'Cy')];
    const space = await newSpace();
    await acceptedAnswers(ana, ben, space, 1, 'You have to restart the router and then the modem, it works for me');
    await acceptedAnswers(ana, ben, space, 1, 'Tienes que reiniciar el router y después el módem, a mí me funciona');
    await acceptedAnswers(ana, cy, space, 2, 'You have to restart the router and then the modem, it works for me');
    await settle();
    await vi.waitFor(async () => expect(await badgeKeys(ben)).toContain('BILINGUAL'));
    expect(await badgeKeys(cy)).toEqual(['FIRST_ACCEPTED_ANSWER', 'FIRST_REPLY']);
  }, 30_000);

  it('never gives back a built-in badge a manager revoked', async () => {
    const [ana, ben] = [await createUser(t, 'Ana'), await createUser(t, 'Ben')];
    const thread = await createThread(t, ana, await newSpace());
    await reply(t, ben, thread);
    await settle();
    await vi.waitFor(async () => expect(await badgeKeys(ben)).toEqual(['FIRST_REPLY']));
    const award = await prisma().badgeAward.findFirstOrThrow({ where: { userId: rowId(ben.id) } });
    const awardId = (await t.query(UserBadges, { id: ben.id }, ben.token)).node as { badges: { nodes: { id: string }[] } };
    expect((await t.query(RevokeBadge, { input: { awardId: awardId.badges.nodes[0].id } }, agent.token)).revokeBadge.__typename).toBe('ForbiddenError');
    const revoked = await t.query(RevokeBadge, { input: { awardId: awardId.badges.nodes[0].id } }, manager.token);
    expect(revoked.revokeBadge.__typename).toBe('BadgeAwardPayload');
    expect(await awardBuiltInBadges([rowId(ben.id)])).toBe(0);
    expect(await badgeKeys(ben)).toEqual([]);
    // Gone for everyone but managers, on node(id) too.
    expect((await t.query(AwardNode, { id: awardId.badges.nodes[0].id }, ben.token)).node).toBeNull();
    expect((await t.query(AwardNode, { id: awardId.badges.nodes[0].id }, manager.token)).node).toEqual({ __typename: 'BadgeAward', revokedAt: expect.any(String) });
    expect(await prisma().badgeAward.findUniqueOrThrow({ where: { id: award.id } })).toMatchObject({ revokedById: rowId(manager.id) });
  });
});

describe('custom badges', () => {
  it('managers create, change and archive them; staff of any department award them; members cannot', async () => {
    const [member, other] = [await createUser(t, 'Member'), await createUser(t, 'Other')];
    const name = `Problem solver ${++n}`;
    expect((await t.query(CreateBadge, { input: { name, description: 'Solved a problem' } }, agent.token)).createBadge.__typename).toBe('ForbiddenError');
    const bad = await t.query(CreateBadge, { input: { name: ' ', description: 'x'.repeat(501) } }, manager.token);
    expect(bad.createBadge).toEqual({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'name'], message: 'must not be empty' },
        { path: ['input', 'description'], message: 'must be at most 500 characters' },
      ],
    });
    expect(await prisma().badge.count({ where: { name: ' ' } })).toBe(0);
    const created = await t.query(CreateBadge, { input: { name, description: 'Solved a problem', icon: '🧩' } }, manager.token);
    if (created.createBadge.__typename !== 'BadgePayload') throw new Error(JSON.stringify(created));
    const badge = created.createBadge.badge!;
    expect(badge).toMatchObject({ name, description: 'Solved a problem', icon: '🧩', kind: 'CUSTOM', repeatable: false, archivedAt: null, holderCount: 0 });
    const updated = await t.query(UpdateBadge, { input: { badgeId: badge.id, description: 'Solved a customer problem', icon: null } }, manager.token);
    expect(updated.updateBadge).toEqual({ __typename: 'BadgePayload', badge: { id: badge.id, name, description: 'Solved a customer problem', icon: null } });

    // A member may not award; an agent may; twice is a conflict; a built-in badge is refused.
    const input = { badgeId: badge.id, userId: member.id, reason: 'Solved case #42' };
    expect((await t.query(AwardBadge, { input }, other.token)).awardBadge).toEqual({ __typename: 'ForbiddenError', message: 'Only staff can award badges' });
    const awarded = await t.query(AwardBadge, { input }, agent.token);
    expect(awarded.awardBadge).toMatchObject({
      __typename: 'BadgeAwardPayload',
      award: { reason: 'Solved case #42', awardedBy: { id: agent.id }, user: { id: member.id }, badge: { id: badge.id, holderCount: 1 } },
    });
    expect((await t.query(AwardBadge, { input }, agent.token)).awardBadge).toEqual({ __typename: 'ConflictError', message: 'The member already holds this badge' });
    const builtIn = await prisma().badge.findUniqueOrThrow({ where: { key: 'HELPFUL' } });
    const refused = await t.query(AwardBadge, { input: { ...input, badgeId: encodeGlobalID('Badge', builtIn.id) } }, agent.token);
    expect(refused.awardBadge.__typename).toBe('ValidationError');
    const holders = await t.query(BadgeHolders, { id: badge.id });
    expect(holders.node).toEqual({ name, holderCount: 1, holders: { totalCount: 1, nodes: [{ user: { id: member.id }, reason: 'Solved case #42' }] } });

    // Archived: no longer awarded, holders keep it.
    const archived = await t.query(ArchiveBadge, { input: { badgeId: badge.id } }, manager.token);
    expect(archived.archiveBadge.__typename).toBe('BadgePayload');
    const late = await t.query(AwardBadge, { input: { ...input, userId: other.id } }, agent.token);
    expect(late.awardBadge).toEqual({ __typename: 'ValidationError', message: expect.any(String) });
    expect(await badgeKeys(member)).toEqual([name]);
    expect(await prisma().badgeAward.count({ where: { userId: rowId(other.id) } })).toBe(0);
  });

  it('a repeatable badge is awarded once per grant key', async () => {
    const member = await createUser(t, 'Member');
    const created = await t.query(CreateBadge, { input: { name: `Kudos ${++n}`, description: 'Thanks from support', repeatable: true } }, manager.token);
    if (created.createBadge.__typename !== 'BadgePayload') throw new Error(JSON.stringify(created));
    const badgeId = created.createBadge.badge!.id;
    const input = { badgeId, userId: member.id, reason: 'Helped a customer', grantKey: 'case-1' };
    expect((await t.query(AwardBadge, { input }, agent.token)).awardBadge.__typename).toBe('BadgeAwardPayload');
    expect((await t.query(AwardBadge, { input }, agent.token)).awardBadge.__typename).toBe('ConflictError');
    expect((await t.query(AwardBadge, { input: { ...input, grantKey: 'case-2' } }, agent.token)).awardBadge.__typename).toBe('BadgeAwardPayload');
    const holders = await t.query(BadgeHolders, { id: badgeId });
    expect(holders.node).toMatchObject({ holderCount: 1, holders: { totalCount: 2 } });
  });

  it('tells the member (notification) and community managers (live) of an award', async () => {
    const member = await createUser(t, 'Member');
    const created = await t.query(CreateBadge, { input: { name: `Star ${++n}`, description: 'A star', repeatable: true } }, manager.token);
    if (created.createBadge.__typename !== 'BadgePayload') throw new Error(JSON.stringify(created));
    const badgeId = created.createBadge.badge!.id;
    const client = t.wsClient(manager.token);
    clients.push(client);
    const feed = subscribe(client, BadgeFeed);
    // Probes until the subscription is live, then the award under test.
    const probe = await createUser(t, 'Probe');
    const deadline = Date.now() + 20_000;
    while (feed.received.length === 0) {
      if (Date.now() > deadline) throw new Error('the subscription never went live');
      await t.query(AwardBadge, { input: { badgeId, userId: probe.id, reason: 'probe' } }, agent.token);
      await sleep(200);
    }
    const awarded = await t.query(AwardBadge, { input: { badgeId, userId: member.id, reason: 'For the star answer' } }, agent.token);
    if (awarded.awardBadge.__typename !== 'BadgeAwardPayload') throw new Error(JSON.stringify(awarded));
    const awardId = awarded.awardBadge.award!.id;
    await vi.waitFor(() => expect(feed.received.some((r) => r.data?.activity.subject?.id === awardId)).toBe(true), { timeout: 10_000 });
    expect(feed.received.find((r) => r.data?.activity.subject?.id === awardId)!.data!.activity).toEqual({
      kind: 'BADGE_AWARDED',
      actor: { id: agent.id },
      subject: { __typename: 'BadgeAward', id: awardId },
    });
    await vi.waitFor(
      async () => {
        const { viewer } = await t.query(Notifications, {}, member.token);
        expect(viewer!.notifications!.nodes).toEqual([
          { kind: 'BADGE_AWARDED', text: `You received the badge Star ${n}`, subject: { __typename: 'BadgeAward', id: awardId, badge: { name: `Star ${n}` } } },
        ]);
      },
      { timeout: 10_000 },
    );
  }, 40_000);
});

describe('reading badges', () => {
  it('reads a page of users with their badges in the same number of statements for 3 users as for 12', async () => {
    const created = await t.query(CreateBadge, { input: { name: `Page ${++n}`, description: 'For the page' } }, manager.token);
    if (created.createBadge.__typename !== 'BadgePayload') throw new Error(JSON.stringify(created));
    const badgeId = created.createBadge.badge!.id;
    for (let i = 0; i < 12; i++) {
      const user = await createUser(t, `Holder ${i}`);
      await t.query(AwardBadge, { input: { badgeId, userId: user.id, reason: `number ${i}` } }, agent.token);
    }
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const data = await t.query(UsersWithBadges, { first }, admin.token);
        return { statements: statements.length, data };
      } finally {
        stop();
      }
    };
    await count(1); // the session lookup and last-seen stamp of a first request
    const small = await count(3);
    const large = await count(12);
    expect(large.data.users.nodes.map((u) => u.badges.nodes[0]?.reason)).toEqual([...Array(12).keys()].map((i) => `number ${11 - i}`));
    expect(large.data.users.nodes[0].badges.nodes[0]).toEqual({ reason: 'number 11', awardedBy: { id: agent.id }, badge: { name: `Page ${n}`, holderCount: 12 } });
    expect(large.statements).toBe(small.statements);
  }, 60_000);
});
