import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { refreshStats } from '../src/modules/participation/signals.js';
import { createSpace, createUser, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';

const Leaderboard = graphql(`
  query Leaderboard($period: LeaderboardPeriod!, $metric: LeaderboardMetric!, $spaceId: ID, $includeStaff: Boolean!, $first: Int!, $after: String) {
    leaderboard(period: $period, metric: $metric, spaceId: $spaceId, includeStaff: $includeStaff, first: $first, after: $after) {
      edges { cursor node { rank value user { id displayName } } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
`);
const Suspend = graphql(`
  mutation LeaderboardSuspend($input: SuspendUserInput!) { suspendUser(input: $input) { __typename } }
`);

let t: TestApp;
let admin: Actor;
const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(new Date(Date.now() - n * DAY).toISOString().slice(0, 10));

beforeAll(async () => {
  t = await startTestApp({ SIGNALS_POLL_MS: '1000' });
  admin = await createUser(t, 'Admin');
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

type Counts = Partial<Record<'acceptedAnswers' | 'reactionsReceived' | 'moderationActions' | 'reportsConfirmed' | 'firstRepliesToNewcomers', number>>;

/** Writes a member's signals on a day ago in a space (the leaderboard's input, as the signals job would). */
async function signal(user: Actor, spaceId: number, ago: number, counts: Counts) {
  const userId = rowId(user.id);
  await prisma().memberActivityDay.create({ data: { userId, spaceId, day: daysAgo(ago), ...counts } });
  await prisma().$transaction((tx) => refreshStats(tx, [userId]));
}

type Args = { period: 'WEEK' | 'MONTH' | 'QUARTER' | 'ALL'; metric: 'REPUTATION' | 'ACCEPTED_ANSWERS' | 'HELPFUL_REPLIES'; spaceId?: string; includeStaff?: boolean; first?: number; after?: string };
async function board(viewer: Actor | null, args: Args) {
  const data = await t.query(Leaderboard, { includeStaff: false, first: 10, ...args }, viewer?.token);
  return data.leaderboard;
}
const entries = async (viewer: Actor | null, args: Args) =>
  (await board(viewer, args)).edges.map((e) => [e.node.user.displayName, e.node.rank, e.node.value]);

describe('leaderboard', () => {
  let space: string;
  let spaceId: number;
  let m1: Actor, m2: Actor, m3: Actor, m5: Actor, staff: Actor;

  beforeAll(async () => {
    space = await createSpace(t, admin, `board-${Date.now() % 100000}`);
    spaceId = rowId(space);
    [m1, m2, m3] = [await createUser(t, 'M1'), await createUser(t, 'M2'), await createUser(t, 'M3')];
    const suspended = await createUser(t, 'Suspended');
    m5 = await createUser(t, 'M5');
    staff = await createUser(t, 'Staff', 'AGENT', admin);
    await signal(m1, spaceId, 0, { acceptedAnswers: 1, reactionsReceived: 2 });
    await signal(m1, spaceId, 7, { acceptedAnswers: 2 }); // outside the week, inside the month
    await signal(m2, spaceId, 6, { acceptedAnswers: 2 }); // the week's first day
    await signal(m2, spaceId, 30, { reactionsReceived: 10 }); // outside the month, inside the quarter
    await signal(m3, spaceId, 100, { acceptedAnswers: 5 }); // all time only
    await signal(m3, spaceId, 0, { reactionsReceived: 1 });
    await signal(m3, spaceId, 29, { moderationActions: 1 }); // the month's first day
    await signal(m5, spaceId, 0, { acceptedAnswers: 1 });
    await signal(staff, spaceId, 0, { acceptedAnswers: 3 });
    await signal(suspended, spaceId, 0, { acceptedAnswers: 10 });
    const until = new Date(Date.now() + 7 * DAY).toISOString();
    expect((await t.query(Suspend, { input: { userId: suspended.id, until, reason: 'spam' } }, admin.token)).suspendUser.__typename).toBe('ModerationActionPayload');
  }, 60_000);

  it('ranks accepted answers over each period, with its boundaries; ties share a rank', async () => {
    expect(await entries(null, { period: 'WEEK', metric: 'ACCEPTED_ANSWERS', spaceId: space })).toEqual([
      ['M2', 1, 2],
      ['M1', 2, 1],
      ['M5', 2, 1],
    ]);
    expect(await entries(null, { period: 'MONTH', metric: 'ACCEPTED_ANSWERS', spaceId: space })).toEqual([
      ['M1', 1, 3],
      ['M2', 2, 2],
      ['M5', 3, 1],
    ]);
    expect(await entries(null, { period: 'QUARTER', metric: 'ACCEPTED_ANSWERS', spaceId: space })).toEqual([
      ['M1', 1, 3],
      ['M2', 2, 2],
      ['M5', 3, 1],
    ]);
    expect(await entries(null, { period: 'ALL', metric: 'ACCEPTED_ANSWERS', spaceId: space })).toEqual([
      ['M3', 1, 5],
      ['M1', 2, 3],
      ['M2', 3, 2],
      ['M5', 4, 1],
    ]);
  });

  it('ranks helpful replies and reputation (default weights), leaving out members at 0 or below', async () => {
    expect(await entries(null, { period: 'WEEK', metric: 'HELPFUL_REPLIES', spaceId: space })).toEqual([
      ['M1', 1, 2],
      ['M3', 2, 1],
    ]);
    expect(await entries(null, { period: 'QUARTER', metric: 'HELPFUL_REPLIES', spaceId: space })).toEqual([
      ['M2', 1, 10],
      ['M1', 2, 2],
      ['M3', 3, 1],
    ]);
    // M3 in the month: 1 reaction - 5 for a moderation action = -4, not on the board.
    expect(await entries(null, { period: 'MONTH', metric: 'REPUTATION', spaceId: space })).toEqual([
      ['M1', 1, 47],
      ['M2', 2, 30],
      ['M5', 3, 15],
    ]);
    expect(await entries(null, { period: 'ALL', metric: 'REPUTATION', spaceId: space })).toEqual([
      ['M3', 1, 71],
      ['M1', 2, 47],
      ['M2', 3, 40],
      ['M5', 4, 15],
    ]);
  });

  it('leaves out staff unless asked, and suspended members always', async () => {
    expect(await entries(admin, { period: 'WEEK', metric: 'ACCEPTED_ANSWERS', spaceId: space, includeStaff: true })).toEqual([
      ['Staff', 1, 3],
      ['M2', 2, 2],
      ['M1', 3, 1],
      ['M5', 3, 1],
    ]);
  });

  it('pages by position, stable, in one statement per page whatever its size', async () => {
    const first = await board(null, { period: 'ALL', metric: 'ACCEPTED_ANSWERS', spaceId: space, first: 2 });
    expect(first.edges.map((e) => e.node.user.displayName)).toEqual(['M3', 'M1']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.totalCount).toBe(4);
    const second = await board(null, { period: 'ALL', metric: 'ACCEPTED_ANSWERS', spaceId: space, first: 2, after: first.pageInfo.endCursor! });
    expect(second.edges.map((e) => [e.node.user.displayName, e.node.rank])).toEqual([
      ['M2', 3],
      ['M5', 4],
    ]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const count = async (size: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        await board(null, { period: 'MONTH', metric: 'REPUTATION', spaceId: space, first: size });
        return statements.length;
      } finally {
        stop();
      }
    };
    await count(1);
    // The space check, the page, its users and the total.
    expect(await count(1)).toBe(4);
    expect(await count(10)).toBe(4);
  });

  it('over all time overall, reads the members’ totals', async () => {
    const [top, next] = [await createUser(t, 'Top'), await createUser(t, 'Next')];
    await signal(top, spaceId, 400, { acceptedAnswers: 1000 });
    await signal(top, 0, 400, { acceptedAnswers: 1000 });
    await signal(next, 0, 2, { acceptedAnswers: 900, reactionsReceived: 1 });
    expect(await entries(null, { period: 'ALL', metric: 'ACCEPTED_ANSWERS', first: 2 })).toEqual([
      ['Top', 1, 1000],
      ['Next', 2, 900],
    ]);
    expect(await entries(null, { period: 'ALL', metric: 'REPUTATION', first: 2 })).toEqual([
      ['Top', 1, 15000],
      ['Next', 2, 13501],
    ]);
  });
});
