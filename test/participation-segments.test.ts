import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { utcDay } from '../src/modules/participation/reads.js';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { decodeGlobalID } from '@pothos/plugin-relay';

const Members = graphql(`
  query SegmentMembers($segment: MemberSegment!, $spaceId: ID, $first: Int!, $after: String) {
    members(segment: $segment, spaceId: $spaceId, first: $first, after: $after) {
      edges { cursor node { user { id displayName } reasons { signal value } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const Experts = graphql(`
  query SpaceExperts($id: ID!, $first: Int!) {
    node(id: $id) { ... on Space { experts(first: $first) { user { id } acceptedAnswers reputation score } } }
  }
`);

const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);
const DAY = 86_400_000;

let t: TestApp;
let admin: Actor;
let manager: Actor;
let n = 0;

beforeAll(async () => {
  t = await startTestApp({ PEER_ROUTING_INTERVAL_MS: '0', SIGNALS_POLL_MS: '1000' });
  admin = await createUser(t, 'Admin');
  manager = await createUser(t, 'Manager', 'COMMUNITY_MANAGER', admin);
});
afterAll(async () => {
  await t?.stop();
});

/** Daily buckets of a member in a space, `daysAgo` before today (the signals job's rows, written as it would). */
async function buckets(user: Actor, spaceId: string, rows: { daysAgo: number; [counter: string]: number }[]): Promise<void> {
  await prisma().memberActivityDay.createMany({
    data: rows.map(({ daysAgo, ...counts }) => ({
      userId: rowId(user.id),
      spaceId: rowId(spaceId),
      day: new Date(`${utcDay(new Date(Date.now() - daysAgo * DAY))}T00:00:00Z`),
      ...counts,
    })),
  });
}

async function page(segment: string, spaceId: string | null, viewer: Actor, first = 10, after?: string) {
  const { members } = await t.query(Members, { segment: segment as never, spaceId, first, after }, viewer.token);
  return members;
}
const entries = (members: Awaited<ReturnType<typeof page>>) =>
  members.edges.map((e) => ({ user: e.node.user.displayName, reasons: e.node.reasons.map((r) => [r.signal, r.value]) }));

describe('segments on a constructed dataset', () => {
  let space: string;
  const people: Record<string, Actor> = {};

  beforeAll(async () => {
    space = await createSpace(t, manager, `segments-${++n}`);
    for (const name of ['Carla', 'Dario', 'Eva', 'Fede', 'Gina', 'Hugo', 'Ivan']) people[name] = await createUser(t, name);
    // Ivan joined 40 days ago: no longer new.
    await prisma().user.update({ where: { id: rowId(people.Ivan.id) }, data: { createdAt: new Date(Date.now() - 40 * DAY) } });
    await buckets(people.Carla, space, [{ daysAgo: 10, acceptedAnswers: 2, replies: 3 }]);
    await buckets(people.Dario, space, [{ daysAgo: 40, acceptedAnswers: 1, replies: 1 }]);
    // Eva: an accepted answer 100 days ago counts for nothing; 10 replies 5 days ago, none before.
    await buckets(people.Eva, space, [{ daysAgo: 100, acceptedAnswers: 1, replies: 1 }, { daysAgo: 5, replies: 10 }]);
    // Fede: 6 actions now, 4 in the 30 days before: not twice as many.
    await buckets(people.Fede, space, [{ daysAgo: 45, replies: 4 }, { daysAgo: 3, replies: 6 }]);
    await buckets(people.Gina, space, [{ daysAgo: 50, threads: 2 }, { daysAgo: 70, reactionsGiven: 1 }, { daysAgo: 120, replies: 9 }]);
    await buckets(people.Hugo, space, [1, 2, 3].map((daysAgo) => ({ daysAgo, repliesRead: 1 })));
    await buckets(people.Ivan, space, [1, 2, 3, 4].map((daysAgo) => ({ daysAgo, repliesRead: 1 })));
  });

  it('CHAMPIONS: accepted answers in 90 days, best score first, with the score and the answers', async () => {
    expect(entries(await page('CHAMPIONS', space, manager))).toEqual([
      { user: 'Carla', reasons: [['SCORE_90_DAYS', 16], ['ACCEPTED_ANSWERS_90_DAYS', 2]] },
      { user: 'Dario', reasons: [['SCORE_90_DAYS', 7], ['ACCEPTED_ANSWERS_90_DAYS', 1]] },
    ]);
  });

  it('RISING: enough actions in 30 days, twice the 30 days before', async () => {
    expect(entries(await page('RISING', space, manager))).toEqual([{ user: 'Eva', reasons: [['ACTIONS_30_DAYS', 10], ['ACTIONS_PREVIOUS_30_DAYS', 0]] }]);
  });

  it('DRIFTING: active 31 to 90 days ago, not in the last 30', async () => {
    expect(entries(await page('DRIFTING', space, manager))).toEqual([
      { user: 'Gina', reasons: [['ACTIONS_DAYS_31_TO_90', 3], ['DAYS_ACTIVE_30_DAYS', 0]] },
      { user: 'Dario', reasons: [['ACTIONS_DAYS_31_TO_90', 1], ['DAYS_ACTIVE_30_DAYS', 0]] },
    ]);
  });

  it('NEW_AND_ACTIVE: joined in 30 days, at least 3 active days', async () => {
    expect(entries(await page('NEW_AND_ACTIVE', space, manager))).toEqual([{ user: 'Hugo', reasons: [['DAYS_ACTIVE_30_DAYS', 3], ['DAYS_SINCE_JOINED', 0]] }]);
  });

  it('pages forward with cursors', async () => {
    const first = await page('CHAMPIONS', space, manager, 1);
    expect(entries(first).map((e) => e.user)).toEqual(['Carla']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page('CHAMPIONS', space, manager, 1, first.pageInfo.endCursor!);
    expect(entries(second).map((e) => e.user)).toEqual(['Dario']);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it('answers a page in the same number of statements for 1 member as for 2', async () => {
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        expect((await page('DRIFTING', space, manager, first)).edges).toHaveLength(first);
      } finally {
        stop();
      }
      return statements.filter((sql) => !/^(BEGIN|COMMIT|SELECT 1)$/i.test(sql.trim())).length;
    };
    // The first read of the space computes its segment rows (one statement per refresh, not per page).
    await page('DRIFTING', space, manager, 1);
    const one = await count(1);
    expect(await count(2)).toBe(one);
    // The session, the space, the segment rows' freshness, the page, its users.
    expect(one).toBeLessThanOrEqual(5);
  });

  it('is for staff only: a member gets FORBIDDEN, an agent the list', async () => {
    const res = await t.request(Members, { segment: 'CHAMPIONS', spaceId: space, first: 5 }, people.Carla.token);
    expect(res.data).toBeNull();
    expect(res.errors?.[0]).toMatchObject({ message: 'Only staff can see member segments', extensions: { code: 'FORBIDDEN' } });
    const anonymous = await t.request(Members, { segment: 'CHAMPIONS', spaceId: space, first: 5 });
    expect(anonymous.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    const agent = await createUser(t, 'Agent', 'AGENT', admin);
    expect(entries(await page('CHAMPIONS', space, agent)).map((e) => e.user)).toEqual(['Carla', 'Dario']);
  });

  it('Space.experts: accepted answers there, best score first', async () => {
    const { node } = await t.query(Experts, { id: space, first: 5 }, people.Fede.token);
    expect(node).toEqual({
      experts: [
        { user: { id: people.Carla.id }, acceptedAnswers: 2, reputation: 0, score: 23 },
        { user: { id: people.Eva.id }, acceptedAnswers: 1, reputation: 0, score: 21 },
        { user: { id: people.Dario.id }, acceptedAnswers: 1, reputation: 0, score: 11 },
      ],
    });
    const one = await t.query(Experts, { id: space, first: 1 }, people.Fede.token);
    expect(one.node).toEqual({ experts: [{ user: { id: people.Carla.id }, acceptedAnswers: 2, reputation: 0, score: 23 }] });
  });
});

describe('NEWCOMERS_UNANSWERED', () => {
  it('lists recent members whose open threads nobody else replied to', async () => {
    const space = await createSpace(t, manager, `newcomers-${++n}`);
    const julia = await createUser(t, 'Julia');
    const kim = await createUser(t, 'Kim');
    const old = await createUser(t, 'Olga');
    await prisma().user.update({ where: { id: rowId(old.id) }, data: { createdAt: new Date(Date.now() - 40 * DAY) } });
    const waiting = await createThread(t, julia, space, 'Help?');
    await reply(t, julia, waiting, 'Anyone?');
    await createThread(t, julia, space, 'Also this');
    const answered = await createThread(t, kim, space, 'Answered');
    await reply(t, julia, answered, 'Here you go');
    await createThread(t, old, space, 'Old member');
    expect(entries(await page('NEWCOMERS_UNANSWERED', space, manager))).toEqual([
      { user: 'Julia', reasons: [['UNANSWERED_THREADS', 2], ['DAYS_SINCE_JOINED', 0]] },
    ]);
  });
});

describe('experts of a staff space', () => {
  it('are hidden from members with the space', async () => {
    const space = await createSpace(t, manager, `staff-experts-${++n}`, 'STAFF');
    const member = await createUser(t, 'Member');
    const expert = await createUser(t, 'Expert', 'AGENT', admin);
    await buckets(expert, space, [{ daysAgo: 1, acceptedAnswers: 1 }]);
    expect((await t.query(Experts, { id: space, first: 5 }, member.token)).node).toBeNull();
    expect((await t.query(Experts, { id: space, first: 5 }, manager.token)).node).toEqual({
      experts: [{ user: { id: expert.id }, acceptedAnswers: 1, reputation: 0, score: 10 }],
    });
  });
});
