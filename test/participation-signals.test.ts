import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { catchUpSignals, onSignalsUpdated, signalsFor, type Signals } from '../src/modules/participation/signals.js';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { decodeGlobalID } from '@pothos/plugin-relay';

const SignalsOf = graphql(`
  query SignalsOf($id: ID!, $spaceId: ID, $window: SignalWindow!) {
    node(id: $id) {
      ... on User {
        engagement {
          signals(spaceId: $spaceId, window: $window) {
            daysActive threads replies repliesRead reactionsGiven reactionsReceived acceptedAnswers
            firstRepliesToNewcomers reportsConfirmed moderationActions
          }
        }
      }
    }
  }
`);
const UsersSignals = graphql(`
  query UsersSignals($first: Int!) {
    users(first: $first, orderBy: NEWEST) { nodes { id engagement { signals { replies } week: signals(window: DAYS_30) { replies } } } }
  }
`);
const AddReaction = graphql(`
  mutation SignalsAddReaction($input: ReactionInput!) { addReaction(input: $input) { __typename } }
`);
const RemoveReaction = graphql(`
  mutation SignalsRemoveReaction($input: ReactionInput!) { removeReaction(input: $input) { __typename } }
`);
const MarkAnswer = graphql(`
  mutation SignalsMarkAnswer($input: MarkAsAnswerInput!) { markAsAnswer(input: $input) { __typename } }
`);
const UnmarkAnswer = graphql(`
  mutation SignalsUnmarkAnswer($input: UnmarkAnswerInput!) { unmarkAnswer(input: $input) { __typename } }
`);
const DeletePost = graphql(`
  mutation SignalsDeletePost($input: DeletePostInput!) { deletePost(input: $input) { __typename } }
`);
const DeleteThread = graphql(`
  mutation SignalsDeleteThread($input: DeleteThreadInput!) { deleteThread(input: $input) { __typename } }
`);
const MarkRead = graphql(`
  mutation SignalsMarkRead($input: MarkThreadReadInput!) { markThreadRead(input: $input) { __typename } }
`);
const Report = graphql(`
  mutation SignalsReport($input: ReportContentInput!) { reportContent(input: $input) { __typename } }
`);
const QueueItems = graphql(`
  query SignalsQueue { moderationQueue(first: 50) { nodes { id subject { id } } } }
`);
const Resolve = graphql(`
  mutation SignalsResolve($input: ResolveQueueItemInput!) { resolveQueueItem(input: $input) { __typename } }
`);
const Hide = graphql(`
  mutation SignalsHide($input: HideContentInput!) { hideContent(input: $input) { __typename } }
`);
const Warn = graphql(`
  mutation SignalsWarn($input: UserActionInput!) { warnUser(input: $input) { __typename } }
`);

const ZERO: Signals = {
  daysActive: 0, threads: 0, replies: 0, repliesRead: 0, reactionsGiven: 0, reactionsReceived: 0,
  acceptedAnswers: 0, firstRepliesToNewcomers: 0, reportsConfirmed: 0, moderationActions: 0,
};
const sig = (values: Partial<Signals>): Signals => ({ ...ZERO, ...values });
const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);

let t: TestApp;
let admin: Actor;
let moderator: Actor;
let n = 0;

beforeAll(async () => {
  // The job runs (woken by events, polled): tests also run passes themselves, racing it.
  t = await startTestApp({ SIGNALS_POLL_MS: '1000' });
  admin = await createUser(t, 'Admin');
  moderator = await createUser(t, 'Moderator', 'MODERATOR', admin);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

/** Runs passes until the log is read to its end and no read is waiting (the app's job may hold the cursor meanwhile). */
async function settle(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await catchUpSignals();
    const [cursor, newest, dirty] = await Promise.all([
      prisma().signalCursor.findUnique({ where: { id: 1 } }),
      prisma().activity.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }),
      prisma().signalDirtyUser.count(),
    ]);
    if (cursor?.activityId === newest?.id && dirty === 0) return;
    if (Date.now() > deadline) throw new Error(`signals did not catch up: cursor ${cursor?.activityId}, newest ${newest?.id}, dirty ${dirty}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const newSpace = () => createSpace(t, admin, `signals-${++n}-${Date.now() % 100000}`);

async function signalsOf(viewer: Actor, user: Actor, spaceId?: string, window: 'DAYS_30' | 'DAYS_90' | 'ALL' = 'ALL') {
  const data = await t.query(SignalsOf, { id: user.id, spaceId, window }, viewer.token);
  const node = data.node as { engagement: { signals: Signals } | null } | null;
  return node?.engagement?.signals ?? null;
}

describe('participation signals', () => {
  it('counts threads, replies, first replies to newcomers and replies read, per space and overall; deletions take them back', async () => {
    const [ana, ben, cy] = [await createUser(t, 'Ana'), await createUser(t, 'Ben'), await createUser(t, 'Cy')];
    const [one, two] = [await newSpace(), await newSpace()];
    const thread = await createThread(t, ana, one);
    await reply(t, ana, thread, 'the author adds something');
    const first = await reply(t, ben, thread, 'welcome!');
    const second = await reply(t, cy, thread, 'me too');
    const other = await createThread(t, ben, two);
    await settle();
    // Ana joined just now: Ben's reply is the first by someone else to a newcomer's thread; Cy's is not.
    expect(await signalsOf(ana, ana)).toEqual(sig({ daysActive: 1, threads: 1, replies: 1 }));
    expect(await signalsOf(ben, ben)).toEqual(sig({ daysActive: 1, threads: 1, replies: 1, firstRepliesToNewcomers: 1 }));
    expect(await signalsOf(ben, ben, one)).toEqual(sig({ daysActive: 1, replies: 1, firstRepliesToNewcomers: 1 }));
    expect(await signalsOf(ben, ben, two)).toEqual(sig({ daysActive: 1, threads: 1 }));
    expect(await signalsOf(cy, cy, one)).toEqual(sig({ daysActive: 1, replies: 1 }));

    // Ana reads: the replies of others (Ben's and Cy's), not her own; again reads nothing new.
    expect((await t.query(MarkRead, { input: { threadId: thread } }, ana.token)).markThreadRead.__typename).toBe('MarkThreadReadPayload');
    await t.query(MarkRead, { input: { threadId: thread } }, ana.token);
    await settle();
    expect(await signalsOf(ana, ana, one)).toEqual(sig({ daysActive: 1, threads: 1, replies: 1, repliesRead: 2 }));
    const stats = await prisma().memberStats.findUniqueOrThrow({ where: { userId: rowId(ana.id) } });
    expect(stats).toMatchObject({ threads: 1, replies: 1, repliesRead: 2, daysActive: 1 });

    expect((await t.query(DeletePost, { input: { postId: first } }, ben.token)).deletePost.__typename).toBe('PostPayload');
    expect((await t.query(DeleteThread, { input: { threadId: other } }, ben.token)).deleteThread.__typename).toBe('ThreadPayload');
    await settle();
    expect(await signalsOf(ben, ben)).toEqual(sig({ daysActive: 0 }));
    expect(await signalsOf(cy, cy)).toEqual(sig({ daysActive: 1, replies: 1 }));
    expect(second).toBeTruthy();
  });

  it('counts reactions given and received, never to oneself, and takes back removed ones and those of deleted content', async () => {
    const [ana, ben] = [await createUser(t, 'Ana'), await createUser(t, 'Ben')];
    const space = await newSpace();
    const thread = await createThread(t, ana, space);
    const post = await reply(t, ben, thread);
    for (const content of ['THUMBS_UP', 'HEART'] as const) {
      expect((await t.query(AddReaction, { input: { subjectId: thread, content } }, ben.token)).addReaction.__typename).toBe('ReactionPayload');
    }
    await t.query(AddReaction, { input: { subjectId: post, content: 'ROCKET' } }, ana.token);
    await t.query(AddReaction, { input: { subjectId: thread, content: 'EYES' } }, ana.token); // her own: counts for nobody
    await settle();
    expect(await signalsOf(ana, ana, space)).toEqual(sig({ daysActive: 1, threads: 1, reactionsGiven: 1, reactionsReceived: 2 }));
    expect(await signalsOf(ben, ben, space)).toEqual(sig({ daysActive: 1, replies: 1, firstRepliesToNewcomers: 1, reactionsGiven: 2, reactionsReceived: 1 }));

    expect((await t.query(RemoveReaction, { input: { subjectId: thread, content: 'HEART' } }, ben.token)).removeReaction.__typename).toBe('ReactionPayload');
    await settle();
    expect(await signalsOf(ana, ana)).toEqual(sig({ daysActive: 1, threads: 1, reactionsGiven: 1, reactionsReceived: 1 }));
    expect(await signalsOf(ben, ben)).toEqual(sig({ daysActive: 1, replies: 1, firstRepliesToNewcomers: 1, reactionsGiven: 1, reactionsReceived: 1 }));

    await t.query(DeleteThread, { input: { threadId: thread } }, ana.token);
    await settle();
    expect(await signalsOf(ana, ana)).toEqual(sig({ daysActive: 1, reactionsGiven: 1 }));
  });

  it('credits accepted answers to the answer author, moves the credit when the answer changes, and takes it back when unmarked', async () => {
    const [ana, ben, cy] = [await createUser(t, 'Ana'), await createUser(t, 'Ben'), await createUser(t, 'Cy')];
    const space = await newSpace();
    const thread = await createThread(t, ana, space);
    const [benPost, cyPost, own] = [await reply(t, ben, thread), await reply(t, cy, thread), await reply(t, ana, thread)];
    expect((await t.query(MarkAnswer, { input: { postId: benPost } }, ana.token)).markAsAnswer.__typename).toBe('ThreadPayload');
    await settle();
    expect((await signalsOf(ben, ben, space))?.acceptedAnswers).toBe(1);

    await t.query(MarkAnswer, { input: { postId: cyPost } }, ana.token);
    await settle();
    expect((await signalsOf(ben, ben))?.acceptedAnswers).toBe(0);
    expect((await signalsOf(cy, cy, space))?.acceptedAnswers).toBe(1);

    // Her own reply as the answer earns her nothing.
    await t.query(MarkAnswer, { input: { postId: own } }, ana.token);
    await settle();
    expect((await signalsOf(cy, cy))?.acceptedAnswers).toBe(0);
    expect((await signalsOf(ana, ana))?.acceptedAnswers).toBe(0);

    await t.query(MarkAnswer, { input: { postId: benPost } }, ana.token);
    expect((await t.query(UnmarkAnswer, { input: { threadId: thread } }, ana.token)).unmarkAnswer.__typename).toBe('ThreadPayload');
    await t.query(MarkAnswer, { input: { postId: benPost } }, ana.token);
    await settle();
    expect((await signalsOf(ben, ben))?.acceptedAnswers).toBe(1);
    await t.query(UnmarkAnswer, { input: { threadId: thread } }, ana.token);
    await settle();
    expect((await signalsOf(ben, ben))?.acceptedAnswers).toBe(0);
  });

  it('counts upheld reports for each reporter and moderation actions against the member', async () => {
    const [ana, ben, cy] = [await createUser(t, 'Ana'), await createUser(t, 'Ben'), await createUser(t, 'Cy')];
    const space = await newSpace();
    const bad = await createThread(t, ana, space, 'Buy now', 'spam spam');
    const fine = await createThread(t, ana, space, 'A question', 'a fine one');
    for (const reporter of [ben, cy]) {
      expect((await t.query(Report, { input: { subjectId: bad, reason: 'SPAM' } }, reporter.token)).reportContent.__typename).toBe('ReportPayload');
    }
    await t.query(Report, { input: { subjectId: fine, reason: 'SPAM' } }, cy.token);
    const queue = (await t.query(QueueItems, {}, moderator.token)).moderationQueue.nodes;
    const itemOf = (subject: string) => queue.find((item) => item.subject?.id === subject)!.id;
    expect((await t.query(Resolve, { input: { itemId: itemOf(bad), resolution: 'ACTION_TAKEN' } }, moderator.token)).resolveQueueItem.__typename).toBe('QueueItemPayload');
    await t.query(Resolve, { input: { itemId: itemOf(fine), resolution: 'DISMISSED' } }, moderator.token);
    expect((await t.query(Hide, { input: { subjectId: bad, classifier: 'SPAM', reason: 'Advertising' } }, moderator.token)).hideContent.__typename).toBe('ModerationActionPayload');
    expect((await t.query(Warn, { input: { userId: ana.id, reason: 'Please stop advertising' } }, moderator.token)).warnUser.__typename).toBe('ModerationActionPayload');
    await settle();
    expect((await signalsOf(ben, ben, space))?.reportsConfirmed).toBe(1);
    expect((await signalsOf(cy, cy))?.reportsConfirmed).toBe(1);
    // The hide is in the space; the warning is about the member, overall only.
    expect((await signalsOf(ana, ana, space))?.moderationActions).toBe(1);
    expect((await signalsOf(ana, ana))?.moderationActions).toBe(2);
  });

  it('sums 30- and 90-day windows ending on the given day', async () => {
    const ana = await createUser(t, 'Ana');
    const space = await newSpace();
    await createThread(t, ana, space);
    await settle();
    const id = rowId(ana.id);
    // An older bucket, 80 days ago.
    const old = new Date(Date.now() - 80 * 86_400_000);
    await prisma().memberActivityDay.createMany({
      data: [0, rowId(space)].map((spaceId) => ({ userId: id, spaceId, day: new Date(old.toISOString().slice(0, 10)), replies: 3 })),
    });
    expect((await signalsFor([id], { window: 'DAYS_30' })).get(id)).toEqual(sig({ daysActive: 1, threads: 1 }));
    expect((await signalsFor([id], { window: 'DAYS_90', spaceId: rowId(space) })).get(id)).toEqual(sig({ daysActive: 2, threads: 1, replies: 3 }));
    expect((await signalsFor([id], { window: 'ALL' })).get(id)).toEqual(sig({ daysActive: 2, threads: 1, replies: 3 }));
    // Seen 35 days from now: nothing within 30 days, only today's thread within 90.
    const later = new Date(Date.now() + 35 * 86_400_000);
    expect((await signalsFor([id], { window: 'DAYS_30', now: later })).get(id)).toEqual(ZERO);
    expect((await signalsFor([id], { window: 'DAYS_90', now: later })).get(id)).toEqual(sig({ daysActive: 1, threads: 1 }));
    expect((await signalsFor([id, 2_000_000_000], { window: 'ALL' })).get(2_000_000_000)).toEqual(ZERO);
    expect(await signalsOf(ana, ana, space, 'DAYS_30')).toEqual(sig({ daysActive: 1, threads: 1 }));
  });

  it('is kept up to date by the job, woken by the events it reads', async () => {
    const ana = await createUser(t, 'Ana');
    await createThread(t, ana, await newSpace());
    await vi.waitFor(async () => expect((await signalsOf(ana, ana))?.threads).toBe(1), { timeout: 10_000, interval: 50 });
  });

  it('tells the listeners, after each pass, whose signals changed', async () => {
    const [ana, ben] = [await createUser(t, 'Ana'), await createUser(t, 'Ben')];
    const heard = new Set<number>();
    const stop = onSignalsUpdated(async (userIds) => {
      for (const id of userIds) heard.add(id);
    });
    const failing = onSignalsUpdated(async () => {
      throw new Error('a listener that fails is logged; the others still hear');
    });
    try {
      const thread = await createThread(t, ana, await newSpace());
      await t.query(MarkRead, { input: { threadId: thread } }, ben.token);
      await reply(t, ana, thread);
      await t.query(MarkRead, { input: { threadId: thread } }, ben.token);
      await settle();
      expect(heard.has(rowId(ana.id))).toBe(true);
      expect(heard.has(rowId(ben.id))).toBe(true);
      expect((await signalsOf(ben, ben))?.repliesRead).toBe(1);
    } finally {
      stop();
      failing();
    }
  });

  it('counts each event once when passes race', async () => {
    const [ana, ben] = [await createUser(t, 'Ana'), await createUser(t, 'Ben')];
    const space = await newSpace();
    const thread = await createThread(t, ana, space);
    for (let i = 0; i < 5; i++) await reply(t, ben, thread, `reply ${i}`);
    await Promise.all([catchUpSignals(), catchUpSignals(), catchUpSignals()]);
    await settle();
    expect(await signalsOf(ben, ben, space)).toEqual(sig({ daysActive: 1, replies: 5, firstRepliesToNewcomers: 1 }));
    await settle();
    expect(await signalsOf(ben, ben, space)).toEqual(sig({ daysActive: 1, replies: 5, firstRepliesToNewcomers: 1 }));
  });

  it('shows engagement to the member and to staff only', async () => {
    const [ana, ben] = [await createUser(t, 'Ana'), await createUser(t, 'Ben')];
    const agent = await createUser(t, 'Agent', 'AGENT', admin);
    const space = await newSpace();
    await createThread(t, ana, space);
    await settle();
    expect(await signalsOf(ben, ana)).toBeNull();
    const data = await t.query(SignalsOf, { id: ana.id, window: 'ALL' }, ben.token);
    expect(data.node).toEqual({ engagement: null });
    expect(await signalsOf(agent, ana)).toEqual(sig({ daysActive: 1, threads: 1 }));
    expect(await signalsOf(moderator, ana, space)).toEqual(sig({ daysActive: 1, threads: 1 }));
    const anonymous = await t.query(SignalsOf, { id: ana.id, window: 'ALL' });
    expect(anonymous.node).toEqual({ engagement: null });
  });

  it('loads the signals of a page of users in a fixed number of statements', async () => {
    for (let i = 0; i < 6; i++) await createUser(t, `Many ${i}`);
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const data = await t.query(UsersSignals, { first }, admin.token);
        expect(data.users.nodes).toHaveLength(first);
        expect(data.users.nodes.every((node) => node.engagement?.signals.replies === node.engagement?.week.replies)).toBe(true);
      } finally {
        stop();
      }
      return statements.filter((sql) => sql.includes('MemberActivityDay')).length;
    };
    expect(await count(2)).toBe(2);
    expect(await count(8)).toBe(2);
  });
});
