import type { FormattedExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.js';
import { createCommunity, createThread, createUser, reply, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, uniqueEmail, type TestApp } from './helpers.js';
import { mailbox } from './mailbox.js';

// Concurrent writes through the public API. On PostgreSQL (`npm run test:pg`) the requests
// really interleave; PGlite runs them one after another, so there these are plain repeats.
// Each probe asserts invariants that hold whoever wins: one consistent state, a typed answer
// for every caller (never an internal error), no duplicate rows, one event per applied change.

const ROUNDS = 3;

const RaceSignUp = graphql(`
  mutation RaceSignUp($input: SignUpInput!) {
    signUp(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceSetRole = graphql(`
  mutation RaceSetRole($input: SetUserRoleInput!) {
    setUserRole(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceSignOut = graphql(`
  mutation RaceSignOut {
    signOut { __typename ... on SignOutPayload { revoked } ... on Error { message } }
  }
`);
const RaceCreateSpace = graphql(`
  mutation RaceCreateSpace($input: CreateSpaceInput!) {
    createSpace(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceAddReaction = graphql(`
  mutation RaceAddReaction($input: ReactionInput!) {
    addReaction(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceRemoveReaction = graphql(`
  mutation RaceRemoveReaction($input: ReactionInput!) {
    removeReaction(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceReactionGroups = graphql(`
  query RaceReactionGroups($id: ID!) {
    node(id: $id) { ... on Thread { reactionGroups { content count viewerHasReacted } } }
  }
`);
const RaceMarkAsAnswer = graphql(`
  mutation RaceMarkAsAnswer($input: MarkAsAnswerInput!) {
    markAsAnswer(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceEditThread = graphql(`
  mutation RaceEditThread($input: EditThreadInput!) {
    editThread(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceEditPost = graphql(`
  mutation RaceEditPost($input: EditPostInput!) {
    editPost(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceReply = graphql(`
  mutation RaceReply($input: ReplyToThreadInput!) {
    replyToThread(input: $input) { __typename ... on PostPayload { post { id } } ... on Error { message } }
  }
`);
const RaceLockThread = graphql(`
  mutation RaceLockThread($input: LockThreadInput!) {
    lockThread(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceRemoveContent = graphql(`
  mutation RaceRemoveContent($input: ContentActionInput!) {
    removeContent(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceBulkModerate = graphql(`
  mutation RaceBulkModerate($input: BulkModerateInput!) {
    bulkModerate(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceReport = graphql(`
  mutation RaceReport($input: ReportContentInput!) {
    reportContent(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceSuspend = graphql(`
  mutation RaceSuspend($input: SuspendUserInput!) {
    suspendUser(input: $input) { __typename ... on Error { message } }
  }
`);
const RaceUnsuspend = graphql(`
  mutation RaceUnsuspend($input: UserActionInput!) {
    unsuspendUser(input: $input) { __typename ... on Error { message } }
  }
`);

const dbId = (globalId: string) => Number(Buffer.from(globalId, 'base64').toString().split(':')[1]);

/** Every answer is a typed payload or error (no GraphQL error); returns their typenames. */
function typenames(results: readonly FormattedExecutionResult<object>[]): string[] {
  return results.map((result) => {
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    const [field] = Object.values(result.data!) as { __typename: string }[];
    return field.__typename;
  });
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

const events = (kind: string, subjectType: string, subjectId: number) =>
  prisma().activity.count({ where: { kind: kind as never, subjectType, subjectId } });

let t: TestApp;
let c: Community;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
});
afterAll(() => t?.stop());

describe('identity races', () => {
  it('sign-ups with one email at once make one account, and answer each the same', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const email = uniqueEmail('twin');
      const input = { email, password: 'a long enough password', displayName: 'Twin' };
      const names = typenames(await Promise.all([1, 2, 3].map(() => t.request(RaceSignUp, { input }))));
      expect(names).toEqual(['AccountEmailPayload', 'AccountEmailPayload', 'AccountEmailPayload']);
      const user = await prisma().user.findUniqueOrThrow({ where: { email } });
      expect(await events('USER_SIGNED_UP', 'User', user.id)).toBe(1);
      // Not confirmed yet: each sign-up sent a link of its own (the later ones carry their password).
      expect((await mailbox(email)).map((e) => e.kind)).toEqual(['EMAIL_VERIFICATION', 'EMAIL_VERIFICATION', 'EMAIL_VERIFICATION']);
    }
  });

  it('two admins demoting each other at once leave one ADMIN', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // Only these two are ADMINs: the community's admin hands over to them first.
      const a = await createUser(t, 'Admin A', 'ADMIN', c.admin);
      const b = await createUser(t, 'Admin B', 'ADMIN', c.admin);
      await t.query(RaceSetRole, { input: { userId: c.admin.id, role: 'MEMBER' } }, a.token);
      const names = typenames(
        await Promise.all([
          t.request(RaceSetRole, { input: { userId: b.id, role: 'MEMBER' } }, a.token),
          t.request(RaceSetRole, { input: { userId: a.id, role: 'MEMBER' } }, b.token),
        ]),
      );
      const admins = await prisma().user.findMany({ where: { role: 'ADMIN' }, select: { id: true } });
      expect(admins.length).toBeGreaterThanOrEqual(1);
      // One demotion applies; the other is refused: the last ADMIN can't go, or its author no longer is one.
      expect(count(names, 'SetUserRolePayload')).toBe(1);
      expect(names.filter((n) => n !== 'SetUserRolePayload')[0]).toMatch(/^(ConflictError|ForbiddenError)$/);
      const survivor = admins.length === 1 ? (admins[0].id === dbId(a.id) ? a : b) : a;
      // Hand the instance back to the community's admin for the next round and tests.
      await t.query(RaceSetRole, { input: { userId: c.admin.id, role: 'ADMIN' } }, survivor.token);
      await t.query(RaceSetRole, { input: { userId: survivor.id, role: 'MEMBER' } }, c.admin.token);
      expect(await prisma().user.count({ where: { role: 'ADMIN' } })).toBe(1);
    }
  });

  it('signing out twice at once revokes the session once, with one event', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const user = await createUser(t, 'Leaver');
      const results = await Promise.all([1, 2, 3].map(() => t.request(RaceSignOut, {}, user.token)));
      // Each caller is told the token is revoked (idempotent), or, arriving after the revocation
      // committed, that the token no longer authenticates (as any request with it is).
      const answers = results.map((r) => r.data?.signOut.__typename ?? r.errors?.map((e) => e.extensions?.code).join());
      for (const answer of answers) expect(answer).toMatch(/^(SignOutPayload|UNAUTHENTICATED)$/);
      expect(count(answers as string[], 'SignOutPayload')).toBeGreaterThanOrEqual(1);
      expect(await events('USER_SIGNED_OUT', 'User', dbId(user.id))).toBe(1);
    }
  });
});

describe('community races', () => {
  it('createSpace with one slug at once makes one space; the rest get a ConflictError', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const slug = `race-${round}-${Date.now()}`;
      const names = typenames(
        await Promise.all([1, 2, 3, 4].map((i) => t.request(RaceCreateSpace, { input: { name: `Race ${i}`, slug } }, c.manager.token))),
      );
      expect(names.sort()).toEqual(['ConflictError', 'ConflictError', 'ConflictError', 'SpacePayload']);
      const spaces = await prisma().space.findMany({ where: { slug } });
      expect(spaces).toHaveLength(1);
      expect(await events('SPACE_CREATED', 'Space', spaces[0].id)).toBe(1);
    }
  });

  it('reaction storms leave counts that match the rows, and one event per change', async () => {
    const threadId = await createThread(t, c.alice, c.publicSpace, 'Storm');
    const reactors = [c.alice, c.bob, c.moderator, c.agent];
    for (let round = 0; round < ROUNDS; round++) {
      const input = { subjectId: threadId, content: 'HEART' as const };
      const added = typenames(
        await Promise.all(reactors.flatMap((r) => [1, 2].map(() => t.request(RaceAddReaction, { input }, r.token)))),
      );
      expect(new Set(added)).toEqual(new Set(['ReactionPayload']));
      const { node } = await t.query(RaceReactionGroups, { id: threadId }, c.alice.token);
      const heart = node && 'reactionGroups' in node ? node.reactionGroups.find((g) => g.content === 'HEART') : undefined;
      expect(heart).toEqual({ content: 'HEART', count: 4, viewerHasReacted: true });
      expect(await prisma().reaction.count({ where: { threadId: dbId(threadId) } })).toBe(4);

      const removed = typenames(
        await Promise.all(reactors.flatMap((r) => [1, 2].map(() => t.request(RaceRemoveReaction, { input }, r.token)))),
      );
      expect(new Set(removed)).toEqual(new Set(['ReactionPayload']));
      expect(await prisma().reaction.count({ where: { threadId: dbId(threadId) } })).toBe(0);
      expect(await events('REACTION_ADDED', 'Thread', dbId(threadId))).toBe(4 * (round + 1));
      expect(await events('REACTION_REMOVED', 'Thread', dbId(threadId))).toBe(4 * (round + 1));
    }
  });

  it('marking one post as the answer twice at once records one THREAD_ANSWERED', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const threadId = await createThread(t, c.alice, c.publicSpace, 'Answer me');
      const postId = await reply(t, c.bob, threadId, 'This is it');
      const names = typenames(
        await Promise.all([c.alice, c.alice, c.moderator].map((a) => t.request(RaceMarkAsAnswer, { input: { postId } }, a.token))),
      );
      expect(new Set(names)).toEqual(new Set(['ThreadPayload']));
      const thread = await prisma().thread.findUniqueOrThrow({ where: { id: dbId(threadId) } });
      expect(thread.answerPostId).toBe(dbId(postId));
      expect(await events('THREAD_ANSWERED', 'Thread', dbId(threadId))).toBe(1);
    }
  });

  it('marking two different posts at once: the answer is one of them, one event per change', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const threadId = await createThread(t, c.alice, c.publicSpace, 'Two answers');
      const first = await reply(t, c.bob, threadId, 'One');
      const second = await reply(t, c.bob, threadId, 'Two');
      const names = typenames(
        await Promise.all([
          t.request(RaceMarkAsAnswer, { input: { postId: first } }, c.alice.token),
          t.request(RaceMarkAsAnswer, { input: { postId: second } }, c.moderator.token),
        ]),
      );
      expect(names).toEqual(['ThreadPayload', 'ThreadPayload']);
      const thread = await prisma().thread.findUniqueOrThrow({ where: { id: dbId(threadId) } });
      expect([dbId(first), dbId(second)]).toContain(thread.answerPostId);
      expect(await events('THREAD_ANSWERED', 'Thread', dbId(threadId))).toBe(2);
    }
  });

  it('concurrent edits keep one revision per applied edit, each holding the version it replaced', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const threadId = await createThread(t, c.alice, c.publicSpace, 'Original', 'Original body');
      const bodies = [1, 2, 3, 4].map((i) => `Edit ${i}`);
      const names = typenames(
        await Promise.all(
          bodies.map((body, i) => t.request(RaceEditThread, { input: { threadId, body } }, (i % 2 ? c.moderator : c.alice).token)),
        ),
      );
      expect(new Set(names)).toEqual(new Set(['ThreadPayload']));
      const thread = await prisma().thread.findUniqueOrThrow({ where: { id: dbId(threadId) } });
      const revisions = await prisma().revision.findMany({ where: { threadId: dbId(threadId) }, orderBy: { id: 'asc' } });
      expect(revisions).toHaveLength(4);
      // A chain: the first keeps the original, each next one the edit before it, and the
      // thread holds the one no revision replaced.
      expect(revisions[0].body).toBe('Original body');
      const replaced = revisions.map((r) => r.body);
      expect(new Set(replaced).size).toBe(4);
      expect(new Set([...replaced.slice(1), thread.body])).toEqual(new Set(bodies));
      expect(await events('THREAD_EDITED', 'Thread', dbId(threadId))).toBe(4);

      const postId = await reply(t, c.bob, threadId, 'Original reply');
      const postNames = typenames(
        await Promise.all(bodies.map((body, i) => t.request(RaceEditPost, { input: { postId, body } }, (i % 2 ? c.moderator : c.bob).token))),
      );
      expect(new Set(postNames)).toEqual(new Set(['PostPayload']));
      const post = await prisma().post.findUniqueOrThrow({ where: { id: dbId(postId) } });
      const postRevisions = await prisma().revision.findMany({ where: { postId: dbId(postId) }, orderBy: { id: 'asc' } });
      expect(postRevisions.map((r) => r.body)[0]).toBe('Original reply');
      expect(new Set([...postRevisions.slice(1).map((r) => r.body), post.body])).toEqual(new Set(bodies));
    }
  });

  it('a member reply racing a lock: no reply commits after the lock', async () => {
    for (let round = 0; round < ROUNDS * 2; round++) {
      const threadId = await createThread(t, c.alice, c.publicSpace, 'Heated');
      const [locked, ...replies] = await Promise.all([
        t.request(RaceLockThread, { input: { threadId, reason: 'TOO_HEATED' } }, c.moderator.token),
        ...[c.alice, c.bob, c.alice, c.bob].map((m) => t.request(RaceReply, { input: { threadId, body: 'More heat' } }, m.token)),
      ]);
      expect(typenames([locked])).toEqual(['ModerationActionPayload']);
      for (const name of typenames(replies)) expect(name).toMatch(/^(PostPayload|ForbiddenError)$/);
      // The log is in commit order: every accepted reply's event precedes the lock's.
      const log = await prisma().activity.findMany({ where: { threadId: dbId(threadId) }, orderBy: { id: 'asc' } });
      const lockAt = log.findIndex((e) => e.kind === 'MODERATION_ACTION');
      expect(log.slice(lockAt).filter((e) => e.kind === 'POST_CREATED')).toEqual([]);
      const accepted = replies.filter((r) => r.data?.replyToThread.__typename === 'PostPayload').length;
      expect(await prisma().post.count({ where: { threadId: dbId(threadId) } })).toBe(accepted);
    }
  });

  it('concurrent replies and removes keep replyCount and lastActivityAt true to the posts', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const threadId = await createThread(t, c.alice, c.publicSpace, 'Busy');
      const early = await Promise.all([1, 2, 3].map(() => reply(t, c.bob, threadId, 'Early')));
      const results = await Promise.all([
        ...[1, 2, 3, 4].map(() => t.request(RaceReply, { input: { threadId, body: 'Late' } }, c.bob.token)),
        // Each early post removed twice at once: once applies, the other is a ConflictError.
        ...early.flatMap((subjectId) =>
          [c.moderator, c.manager].map((m) => t.request(RaceRemoveContent, { input: { subjectId, reason: 'Spam' } }, m.token)),
        ),
      ]);
      const names = typenames(results);
      expect(count(names, 'PostPayload')).toBe(4);
      expect(count(names, 'ModerationActionPayload')).toBe(3);
      expect(count(names, 'ConflictError')).toBe(3);
      const thread = await prisma().thread.findUniqueOrThrow({ where: { id: dbId(threadId) } });
      const published = await prisma().post.findMany({
        where: { threadId: dbId(threadId), moderationStatus: { in: ['VISIBLE', 'HIDDEN'] } },
        orderBy: { createdAt: 'desc' },
      });
      expect(thread.replyCount).toBe(published.length);
      expect(published).toHaveLength(4);
      expect(thread.lastActivityAt.getTime()).toBeGreaterThanOrEqual(published[0].createdAt.getTime());
      for (const postId of early) expect(await prisma().moderationAction.count({ where: { kind: 'REMOVE', postId: dbId(postId) } })).toBe(1);
    }
  });
});

describe('moderation races', () => {
  it('many users reporting one post at once make one queue item counting every report', async () => {
    const reporters = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => createUser(t, `Reporter ${i}`)));
    for (let round = 0; round < ROUNDS; round++) {
      const threadId = await createThread(t, c.alice, c.publicSpace, 'Reported');
      const subjectId = await reply(t, c.alice, threadId, 'Buy now');
      // Each reporter twice: the repeat returns the open report.
      const names = typenames(
        await Promise.all(reporters.flatMap((r) => [1, 2].map(() => t.request(RaceReport, { input: { subjectId, reason: 'SPAM' } }, r.token)))),
      );
      expect(new Set(names)).toEqual(new Set(['ReportPayload']));
      const items = await prisma().moderationQueueItem.findMany({ where: { subjectType: 'Post', subjectId: dbId(subjectId) } });
      expect(items).toHaveLength(1);
      expect(items[0].reportCount).toBe(6);
      expect(await prisma().report.count({ where: { subjectType: 'Post', subjectId: dbId(subjectId) } })).toBe(6);
      expect(await events('REPORT_CREATED', 'ModerationQueueItem', items[0].id)).toBe(6);
    }
  });

  it('a bulk action overlapping single actions applies each change once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const threadId = await createThread(t, c.alice, c.publicSpace, 'Bulk');
      const posts = await Promise.all([1, 2, 3].map(() => reply(t, c.bob, threadId, 'Spam')));
      const results = await Promise.all([
        t.request(RaceBulkModerate, { input: { subjectIds: [threadId, ...posts], action: 'REMOVE', reason: 'Spam wave' } }, c.moderator.token),
        t.request(RaceRemoveContent, { input: { subjectId: posts[1], reason: 'Spam' } }, c.manager.token),
        t.request(RaceRemoveContent, { input: { subjectId: threadId, reason: 'Spam' } }, c.admin.token),
      ]);
      const names = typenames(results);
      for (const name of names) expect(name).toMatch(/^(BulkModeratePayload|ModerationActionPayload|ConflictError)$/);
      // All or nothing: the bulk applied to all four, or lost to a single removal and applied to none.
      const removes = await prisma().moderationAction.count({ where: { kind: 'REMOVE', threadId: dbId(threadId) } });
      expect(removes).toBe(names[0] === 'BulkModeratePayload' ? 4 : count(names, 'ModerationActionPayload'));
      if (names[0] === 'BulkModeratePayload') expect(count(names, 'ModerationActionPayload')).toBe(0);
      const thread = await prisma().thread.findUniqueOrThrow({ where: { id: dbId(threadId) } });
      const published = await prisma().post.count({ where: { threadId: dbId(threadId), moderationStatus: { in: ['VISIBLE', 'HIDDEN'] } } });
      expect(thread.replyCount).toBe(published);
      const actionEvents = await prisma().activity.count({ where: { kind: 'MODERATION_ACTION', threadId: dbId(threadId) } });
      expect(actionEvents).toBe(removes);
    }
  });

  it('unsuspending twice at once lifts the suspension once; the other gets a ConflictError', async () => {
    const member = await createUser(t, 'Troll');
    for (let round = 0; round < ROUNDS; round++) {
      const until = new Date(Date.now() + 86_400_000).toISOString();
      await t.query(RaceSuspend, { input: { userId: member.id, until, reason: 'Cool off' } }, c.moderator.token);
      const names = typenames(
        await Promise.all(
          [c.moderator, c.manager, c.admin].map((m) => t.request(RaceUnsuspend, { input: { userId: member.id, reason: 'Early' } }, m.token)),
        ),
      );
      expect(names.sort()).toEqual(['ConflictError', 'ConflictError', 'ModerationActionPayload']);
      expect(await prisma().moderationAction.count({ where: { kind: 'UNSUSPEND', targetUserId: dbId(member.id) } })).toBe(round + 1);
    }
  });
});

