import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.js';
import { catchUpSignals } from '../src/modules/participation/signals.js';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';

const Reputation = graphql(`
  query ReputationOf($id: ID!) {
    node(id: $id) { ... on User { reputation engagement { score rank } } }
  }
`);
const Rules = graphql(`
  query ReputationRulesQuery { reputationRules { version acceptedAnswer reactionReceived reportConfirmed firstReplyToNewcomer moderationAction } }
`);
const UpdateRules = graphql(`
  mutation UpdateRules($input: UpdateReputationRulesInput!) {
    updateReputationRules(input: $input) {
      __typename
      ... on ReputationRulesPayload { rules { version acceptedAnswer reactionReceived } }
      ... on ValidationError { fieldErrors { path } }
      ... on Error { message }
    }
  }
`);
const React = graphql(`
  mutation RepReact($input: ReactionInput!) { addReaction(input: $input) { __typename } }
`);
const Accept = graphql(`
  mutation RepAccept($input: MarkAsAnswerInput!) { markAsAnswer(input: $input) { __typename } }
`);
const Log = graphql(`
  query RepLog { activityLog(first: 50) { nodes { kind actor { id } } } }
`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let n = 0;

beforeAll(async () => {
  t = await startTestApp({ SIGNALS_POLL_MS: '1000' });
  admin = await createUser(t, 'Admin');
  manager = await createUser(t, 'Manager', 'COMMUNITY_MANAGER', admin);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

/** Passes until the log is read to its end (the app's own job may hold the cursor meanwhile). */
async function settle(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await catchUpSignals();
    const [cursor, newest] = await Promise.all([
      prisma().signalCursor.findUnique({ where: { id: 1 } }),
      prisma().activity.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }),
    ]);
    if (cursor?.activityId === newest?.id && (await prisma().signalDirtyUser.count()) === 0) return;
    if (Date.now() > deadline) throw new Error('signals did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const of = async (viewer: Actor, user: Actor) =>
  (await t.query(Reputation, { id: user.id }, viewer.token)).node as { reputation: number; engagement: { score: number; rank: number | null } | null };

/** Ana asks; Ben answers (accepted) and gets 2 reactions; Cy gets 1 reaction. */
async function scene() {
  const [ana, ben, cy] = [await createUser(t, 'Ana'), await createUser(t, 'Ben'), await createUser(t, 'Cy')];
  const space = await createSpace(t, admin, `rep-${++n}`);
  const thread = await createThread(t, ana, space);
  const benPost = await reply(t, ben, thread);
  const cyPost = await reply(t, cy, thread);
  await t.query(Accept, { input: { postId: benPost } }, ana.token);
  for (const content of ['THUMBS_UP', 'HEART'] as const) await t.query(React, { input: { subjectId: benPost, content } }, ana.token);
  await t.query(React, { input: { subjectId: cyPost, content: 'THUMBS_UP' } }, ana.token);
  await settle();
  return { ana, ben, cy };
}

describe('reputation', () => {
  it('is public, and follows the default weights', async () => {
    const { ana, ben, cy } = await scene();
    const rules = (await t.query(Rules, {}, manager.token)).reputationRules;
    // Ben: 15 (answer) + 2 x 1 (reactions) + 2 (first reply to a newcomer); Cy: 1.
    const expected = rules.acceptedAnswer + 2 * rules.reactionReceived + rules.firstReplyToNewcomer;
    expect((await of(ana, ben)).reputation).toBe(expected);
    expect((await of(ana, cy)).reputation).toBe(rules.reactionReceived);
    expect((await of(ben, ana)).reputation).toBe(0);
    expect((await t.query(Reputation, { id: ben.id })).node).toEqual({ reputation: expected, engagement: null });
  });

  it('is recomputed for every member when a manager changes the rules, with an activity event', async () => {
    const { ana, ben, cy } = await scene();
    const before = (await t.query(Rules, {}, manager.token)).reputationRules;
    const { updateReputationRules } = await t.query(UpdateRules, { input: { acceptedAnswer: 100, reactionReceived: 10 } }, manager.token);
    expect(updateReputationRules).toEqual({ __typename: 'ReputationRulesPayload', rules: { version: before.version + 1, acceptedAnswer: 100, reactionReceived: 10 } });
    expect((await of(ana, ben)).reputation).toBe(100 + 2 * 10 + before.firstReplyToNewcomer);
    expect((await of(ana, cy)).reputation).toBe(10);
    expect(await prisma().memberStats.count({ where: { rulesVersion: { lt: before.version + 1 } } })).toBe(0);
    const log = (await t.query(Log, {}, admin.token)).activityLog.nodes;
    expect(log.filter((e) => e.kind === 'REPUTATION_RULES_CHANGED').at(-1)).toEqual({ kind: 'REPUTATION_RULES_CHANGED', actor: { id: manager.id } });
    // New events are counted under the new rules.
    const space = await createSpace(t, admin, `rep-more-${++n}`);
    const post = await reply(t, cy, await createThread(t, ana, space));
    await t.query(React, { input: { subjectId: post, content: 'ROCKET' } }, ana.token);
    await settle();
    // Another reaction (10) and, Ana being new, a first reply to a newcomer.
    expect((await of(ana, cy)).reputation).toBe(20 + before.firstReplyToNewcomer);
    // Put the defaults back for the other tests.
    await t.query(UpdateRules, { input: { acceptedAnswer: before.acceptedAnswer, reactionReceived: before.reactionReceived } }, admin.token);
  });

  it('refuses members, agents and moderators, and bad weights, changing nothing', async () => {
    const member = await createUser(t, 'Member');
    const agent = await createUser(t, 'Agent', 'AGENT', admin);
    const moderator = await createUser(t, 'Moderator', 'MODERATOR', admin);
    const before = (await t.query(Rules, {}, manager.token)).reputationRules;
    for (const who of [member, agent, moderator]) {
      expect((await t.query(UpdateRules, { input: { acceptedAnswer: 1 } }, who.token)).updateReputationRules.__typename).toBe('ForbiddenError');
    }
    expect((await t.query(UpdateRules, { input: { acceptedAnswer: 1 } })).updateReputationRules.__typename).toBe('UnauthenticatedError');
    const bad = (await t.query(UpdateRules, { input: { acceptedAnswer: 5000 } }, manager.token)).updateReputationRules;
    expect(bad).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'acceptedAnswer'] }] });
    expect((await t.query(UpdateRules, { input: {} }, manager.token)).updateReputationRules.__typename).toBe('ValidationError');
    expect((await t.query(Rules, {}, manager.token)).reputationRules).toEqual(before);
    // Reading the rules is for staff.
    const read = await t.request(Rules, {}, member.token);
    expect(read.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect((await t.query(Rules, {}, agent.token)).reputationRules).toEqual(before);
  });
});

describe('score and rank', () => {
  it('orders members by weighted recent activity', async () => {
    const { ana, ben, cy } = await scene();
    const [a, b, c] = [await of(ana, ana), await of(ben, ben), await of(cy, cy)];
    // Ben (reply, answer, 2 reactions, first reply) > Cy (reply, reaction) > 0.
    expect(b.engagement!.score).toBeGreaterThan(c.engagement!.score);
    expect(c.engagement!.score).toBeGreaterThan(0);
    expect(b.engagement!.rank).toBeLessThan(c.engagement!.rank!);
    const higher = await prisma().memberStats.count({ where: { score: { gt: (await prisma().memberStats.findFirstOrThrow({ where: { userId: Number(Buffer.from(ben.id, 'base64').toString().split(':')[1]) } })).score } } });
    expect(b.engagement!.rank).toBe(higher + 1);
    expect(a.engagement!.score).toBeGreaterThan(0);
    const fresh = await createUser(t, 'Fresh');
    expect((await of(fresh, fresh)).engagement).toEqual({ score: 0, rank: null });
  });
});
