import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { withdrawPostEvents, withdrawThreadEvents, writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { Post, Prisma, Space, Thread } from '../../generated/prisma/client.js';
import type { HideClassifier, ModerationStatus, ReactionContent, SpaceVisibility, ThreadStatus } from '../../generated/prisma/enums.js';
import { parseInput, withoutNulls } from '../../validation.js';
import * as automod from '../moderation/automod.js';
import { requireActiveViewer, requireManager } from '../identity/guards.js';
import { canModerate } from '../identity/roles.js';
import { mayEditWiki } from '../participation/trust-read.js';
import { canSeeContent, canSeeSpace, PUBLISHED_STATUSES, visibleThreadWhere } from './policy.js';

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Whether some space could have this slug; others (a NUL byte included) need no lookup. */
export const isPossibleSlug = (slug: string) => slug.length <= 64 && SLUG.test(slug);
const spaceFields = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  slug: z
    .string()
    .trim()
    .min(2, 'must be at least 2 characters')
    .max(64, 'must be at most 64 characters')
    .regex(SLUG, 'must be lower-case letters, digits and single hyphens, e.g. "product-help"'),
  description: z.string().trim().max(2000, 'must be at most 2000 characters'),
  visibility: z.enum(['PUBLIC', 'MEMBERS', 'STAFF']),
  attentionAfterMinutes: z.number().int().min(0, 'must be at least 0').max(525_600, 'must be at most 525600 (a year)').nullable(),
  peerAttentionAfterMinutes: z.number().int().min(0, 'must be at least 0').max(525_600, 'must be at most 525600 (a year)').nullable(),
};
const title = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const body = z.string().trim().min(1, 'must not be empty').max(50_000, 'must be at most 50000 characters');

// ---- Spaces ---------------------------------------------------------------------------------

const createSpaceInput = z.object({
  ...spaceFields,
  description: spaceFields.description.default(''),
  visibility: spaceFields.visibility.default('PUBLIC'),
  attentionAfterMinutes: spaceFields.attentionAfterMinutes.default(null),
  peerAttentionAfterMinutes: spaceFields.peerAttentionAfterMinutes.default(null),
});

export async function createSpace(
  viewer: Viewer | null,
  input: {
    name: string;
    slug: string;
    description?: string | null;
    visibility?: SpaceVisibility | null;
    attentionAfterMinutes?: number | null;
    peerAttentionAfterMinutes?: number | null;
  },
): Promise<Space> {
  const actor = requireManager(viewer, 'manage spaces');
  const data = parseInput(createSpaceInput, withoutNulls(input));
  return writeWithActivity(async (tx, activity) => {
    await assertSlugFree(tx, data.slug);
    const space = await tx.space.create({ data });
    await activity.record({ kind: 'SPACE_CREATED', actorId: actor.id, subject: { type: 'Space', id: space.id }, space });
    return space;
  });
}

const updateSpaceInput = z.object({
  name: spaceFields.name.optional(),
  slug: spaceFields.slug.optional(),
  description: spaceFields.description.optional(),
  visibility: spaceFields.visibility.optional(),
  attentionAfterMinutes: spaceFields.attentionAfterMinutes.optional(),
  peerAttentionAfterMinutes: spaceFields.peerAttentionAfterMinutes.optional(),
});

export async function updateSpace(
  viewer: Viewer | null,
  spaceId: number,
  input: {
    name?: string | null;
    slug?: string | null;
    description?: string | null;
    visibility?: SpaceVisibility | null;
    /** An explicit null stops watching the space's threads; omitted keeps the setting. */
    attentionAfterMinutes?: number | null;
    /** An explicit null stops routing the space's threads to experts; omitted keeps the setting. */
    peerAttentionAfterMinutes?: number | null;
  },
): Promise<Space> {
  const actor = requireManager(viewer, 'manage spaces');
  const { attentionAfterMinutes, peerAttentionAfterMinutes, ...rest } = input;
  const data = parseInput(updateSpaceInput, {
    ...withoutNulls(rest),
    ...(attentionAfterMinutes !== undefined && { attentionAfterMinutes }),
    ...(peerAttentionAfterMinutes !== undefined && { peerAttentionAfterMinutes }),
  });
  return writeWithActivity(async (tx, activity) => {
    const existing = await tx.space.findUnique({ where: { id: spaceId } });
    if (!existing) throw new NotFoundError('Space', String(spaceId));
    if (data.slug && data.slug !== existing.slug) await assertSlugFree(tx, data.slug);
    const space = await tx.space.update({ where: { id: spaceId }, data });
    await activity.record({ kind: 'SPACE_UPDATED', actorId: actor.id, subject: { type: 'Space', id: space.id }, space });
    return space;
  });
}

async function assertSlugFree(tx: Tx, slug: string): Promise<void> {
  if (await tx.space.findUnique({ where: { slug }, select: { id: true } })) {
    throw new ConflictError(`The slug "${slug}" is already taken`);
  }
}

// ---- Threads and posts ----------------------------------------------------------------------

const createThreadInput = z.object({ title, body });

export async function createThread(
  viewer: Viewer | null,
  spaceId: number,
  input: { title: string; body: string },
): Promise<Thread> {
  const actor = requireActiveViewer(viewer);
  const data = parseInput(createThreadInput, input);
  return automod.recordingBlocks(() => writeWithActivity((tx, activity) => createThreadWith(tx, activity, actor, spaceId, data)));
}

/**
 * Creates a thread inside a write another domain is making (a web mention turned into a thread):
 * the same checks, automod screening and activity as createThread, in the caller's transaction.
 */
export async function createThreadWith(
  tx: Tx,
  activity: ActivityRecorder,
  actor: Viewer,
  spaceId: number,
  input: { title: string; body: string },
): Promise<Thread> {
  const data = parseInput(createThreadInput, input);
  const space = await tx.space.findUnique({ where: { id: spaceId } });
  if (!space || !canSeeSpace(actor, space.visibility)) throw new NotFoundError('Space', String(spaceId));
  // Automod reads the words before anything is written: BLOCK throws, HOLD writes it HELD.
  const screening = await automod.screenContent(tx, { writer: actor, spaceId, text: `${data.title}\n${data.body}`, isNew: true });
  const held = screening.outcome === 'HOLD';
  const thread = await tx.thread.create({
    data: { ...data, spaceId, authorId: actor.id, ...(held && { moderationStatus: 'HELD' as const }) },
  });
  await automod.recordScreening(tx, activity, screening, { typename: 'Thread', id: thread.id, spaceId, threadId: thread.id, authorId: actor.id });
  await activity.record({
    kind: 'THREAD_CREATED',
    actorId: actor.id,
    subject: { type: 'Thread', id: thread.id },
    space,
    threadId: thread.id,
    // Held content is announced to moderators only, until approved.
    ...unpublishedActivity(thread),
  });
  return thread;
}

const editThreadInput = z
  .object({ title: title.optional(), body: body.optional() })
  .refine((value) => value.title !== undefined || value.body !== undefined, {
    message: 'give a new title or body',
  });

export async function editThread(
  viewer: Viewer | null,
  threadId: number,
  input: { title?: string | null; body?: string | null },
): Promise<Thread> {
  const actor = requireActiveViewer(viewer);
  const data = parseInput(editThreadInput, withoutNulls(input));
  return automod.recordingBlocks(() => writeWithActivity(async (tx, activity) => {
    // Locked first: a concurrent edit's revision must keep the version this one replaces.
    await lockContent(tx, [{ typename: 'Thread', id: threadId }]);
    const { thread, space } = await loadThread(tx, actor, threadId);
    await assertMayEditThread(tx, actor, thread, data);
    assertWritable(actor, thread);
    const text = `${data.title ?? thread.title}\n${data.body ?? thread.body}`;
    const screening = await automod.screenContent(tx, { writer: actor, spaceId: space.id, text, isNew: false });
    const held = screening.outcome === 'HOLD' && thread.moderationStatus === 'VISIBLE';
    await tx.revision.create({
      data: { threadId: thread.id, editorId: actor.id, title: thread.title, body: thread.body },
    });
    const updated = await tx.thread.update({ where: { id: thread.id }, data: { ...data, ...(held && { moderationStatus: 'HELD' as const }) } });
    await automod.recordScreening(tx, activity, screening, { typename: 'Thread', id: thread.id, spaceId: space.id, threadId: thread.id, authorId: thread.authorId });
    await activity.record({
      kind: 'THREAD_EDITED',
      actorId: actor.id,
      subject: { type: 'Thread', id: thread.id },
      space,
      threadId: thread.id,
      ...unpublishedActivity(updated),
    });
    return updated;
  }));
}

export async function replyToThread(viewer: Viewer | null, threadId: number, input: { body: string }): Promise<Post> {
  const actor = requireActiveViewer(viewer);
  const data = parseInput(z.object({ body }), input);
  return automod.recordingBlocks(() => writeWithActivity(async (tx, activity) => {
    // Locked first: a lock (or removal) committing meanwhile is seen here, not after the reply.
    await lockContent(tx, [{ typename: 'Thread', id: threadId }]);
    const { thread, space } = await loadThread(tx, actor, threadId);
    assertWritable(actor, thread);
    const screening = await automod.screenContent(tx, { writer: actor, spaceId: space.id, text: data.body, isNew: true });
    const held = screening.outcome === 'HOLD';
    const post = await tx.post.create({
      data: { threadId: thread.id, authorId: actor.id, body: data.body, ...(held && { moderationStatus: 'HELD' as const }) },
    });
    // A held reply counts (and bumps the thread) once it is approved.
    if (!held) {
      await tx.thread.update({
        where: { id: thread.id },
        data: { replyCount: { increment: 1 }, lastActivityAt: post.createdAt },
      });
    }
    await automod.recordScreening(tx, activity, screening, { typename: 'Post', id: post.id, spaceId: space.id, threadId: thread.id, authorId: actor.id });
    await activity.record({
      kind: 'POST_CREATED',
      actorId: actor.id,
      subject: { type: 'Post', id: post.id },
      space,
      threadId: thread.id,
      ...unpublishedActivity(thread, post),
    });
    return post;
  }));
}

export async function editPost(viewer: Viewer | null, postId: number, input: { body: string }): Promise<Post> {
  const actor = requireActiveViewer(viewer);
  const data = parseInput(z.object({ body }), input);
  return automod.recordingBlocks(() => writeWithActivity(async (tx, activity) => {
    await lockContent(tx, [{ typename: 'Post', id: postId }]);
    const { post, thread, space } = await loadPost(tx, actor, postId);
    assertAuthorOrModerator(actor, post.authorId, 'edit this post');
    if (post.deletedAt) throw new ForbiddenError('This post was deleted by its author');
    assertWritable(actor, thread);
    const screening = await automod.screenContent(tx, { writer: actor, spaceId: space.id, text: data.body, isNew: false });
    await tx.revision.create({ data: { postId: post.id, editorId: actor.id, body: post.body } });
    let updated = await tx.post.update({ where: { id: post.id }, data });
    if (screening.outcome === 'HOLD' && post.moderationStatus === 'VISIBLE') {
      await setModerationState(tx, { typename: 'Post', id: post.id }, { status: 'HELD', classifier: null, reason: null });
      updated = { ...updated, moderationStatus: 'HELD' };
    }
    await automod.recordScreening(tx, activity, screening, { typename: 'Post', id: post.id, spaceId: space.id, threadId: thread.id, authorId: post.authorId });
    await activity.record({
      kind: 'POST_EDITED',
      actorId: actor.id,
      subject: { type: 'Post', id: post.id },
      space,
      threadId: thread.id,
      ...unpublishedActivity(thread, updated),
    });
    return updated;
  }));
}

export async function markAsAnswer(viewer: Viewer | null, postId: number): Promise<Thread> {
  const actor = requireActiveViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    // Locked first: the same answer chosen twice at once is one change, one event.
    await lockContent(tx, [{ typename: 'Post', id: postId }]);
    const { post, thread, space } = await loadPost(tx, actor, postId);
    assertAuthorOrModerator(actor, thread.authorId, 'choose the answer of this thread');
    if (thread.answerPostId === post.id) return thread;
    if (post.deletedAt) throw new ConflictError(`Post ${post.id} was deleted by its author; it cannot be the answer`);
    const updated = await tx.thread.update({ where: { id: thread.id }, data: { answerPostId: post.id } });
    await activity.record({ kind: 'THREAD_ANSWERED', actorId: actor.id, subject: { type: 'Thread', id: thread.id }, space, threadId: thread.id, ...unpublishedActivity(thread, post) });
    return updated;
  });
}

// ---- Reactions ------------------------------------------------------------------------------

export type ReactionSubject = { typename: 'Thread' | 'Post'; id: number };

/** Adds the viewer's reaction (idempotent); returns the subject reacted to. */
export async function addReaction(
  viewer: Viewer | null,
  subject: ReactionSubject,
  content: ReactionContent,
): Promise<Thread | Post> {
  const actor = requireActiveViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    const target = await loadReactionSubject(tx, actor, subject);
    const key = subject.typename === 'Thread' ? { threadId: subject.id } : { postId: subject.id };
    // ON CONFLICT DO NOTHING: a repeated or concurrent identical reaction is a no-op, not an error.
    const { count } = await tx.reaction.createMany({ data: [{ ...key, userId: actor.id, content }], skipDuplicates: true });
    if (count === 0) return target.record;
    await activity.record({
      kind: 'REACTION_ADDED',
      actorId: actor.id,
      subject: { type: subject.typename, id: subject.id },
      space: target.space,
      threadId: target.threadId,
      ...unpublishedActivity(...target.contents),
    });
    return target.record;
  });
}

export async function removeReaction(
  viewer: Viewer | null,
  subject: ReactionSubject,
  content: ReactionContent,
): Promise<Thread | Post> {
  const actor = requireActiveViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    const target = await loadReactionSubject(tx, actor, subject);
    const key = subject.typename === 'Thread' ? { threadId: subject.id } : { postId: subject.id };
    const { count } = await tx.reaction.deleteMany({ where: { ...key, userId: actor.id, content } });
    if (count > 0) {
      await activity.record({
        kind: 'REACTION_REMOVED',
        actorId: actor.id,
        subject: { type: subject.typename, id: subject.id },
        space: target.space,
        threadId: target.threadId,
        ...unpublishedActivity(...target.contents),
      });
    }
    return target.record;
  });
}

async function loadReactionSubject(tx: Tx, viewer: Viewer, subject: ReactionSubject) {
  if (subject.typename === 'Thread') {
    const { thread, space } = await loadThread(tx, viewer, subject.id);
    return { record: thread as Thread | Post, space, threadId: thread.id, contents: [thread] };
  }
  const { post, space, thread } = await loadPost(tx, viewer, subject.id);
  return { record: post as Thread | Post, space, threadId: thread.id, contents: [thread, post] };
}

// ---- For other domains ----------------------------------------------------------------------

/** A thread the viewer can see, for support to open a case from (NotFound otherwise). */
export async function threadForSupportCase(
  viewer: Viewer,
  threadId: number,
): Promise<Pick<Thread, 'id' | 'title' | 'body' | 'authorId' | 'spaceId'>> {
  const { thread } = await loadThread(prisma(), viewer, threadId);
  return thread;
}

export type UnansweredThread = { threadId: number; spaceId: number; waitingSince: Date };

/**
 * Open, published threads in non-staff spaces that watch them (attentionAfterMinutes set) with no post from
 * anyone but their author, older than their space's threshold at `now`: the staff attention
 * queue's share of the community. Oldest first, after a keyset position, at most `limit`; one
 * statement.
 */
export async function unansweredThreads(options: {
  now: Date;
  spaceIds?: number[];
  /** Keyset position: threads after (waitingSince, threadId); threadId 0 keeps all of that instant. */
  after?: { waitingSince: Date; threadId: number };
  limit: number;
}): Promise<UnansweredThread[]> {
  const { now, spaceIds, after, limit } = options;
  const afterTime = after?.waitingSince ?? new Date(0);
  const afterId = after?.threadId ?? 0;
  return prisma().$queryRaw<UnansweredThread[]>`
    SELECT t."id" AS "threadId", t."spaceId", t."createdAt" AS "waitingSince"
    FROM "Thread" t JOIN "Space" s ON s."id" = t."spaceId"
    WHERE s."attentionAfterMinutes" IS NOT NULL AND s."visibility" <> 'STAFF' AND t."status" = 'OPEN'
      -- Published only: removed or held threads wait on no one, and agents may not read them.
      AND t."moderationStatus" IN ('VISIBLE', 'HIDDEN')
      AND t."createdAt" + make_interval(mins => s."attentionAfterMinutes") <= ${now}
      AND NOT EXISTS (SELECT 1 FROM "Post" p WHERE p."threadId" = t."id" AND p."authorId" <> t."authorId")
      AND (${spaceIds ?? null}::int[] IS NULL OR t."spaceId" = ANY(${spaceIds ?? null}::int[]))
      AND (t."createdAt" > ${afterTime} OR (t."createdAt" = ${afterTime} AND t."id" > ${afterId}))
    ORDER BY t."createdAt", t."id"
    LIMIT ${limit}`;
}

// ---- Shared rules ---------------------------------------------------------------------------

/** Loads a thread the viewer can see; an invisible one is reported as not found, never forbidden. */
export async function loadThread(tx: Tx, viewer: Viewer, threadId: number): Promise<{ thread: Thread; space: Space }> {
  const found = await tx.thread.findUnique({ where: { id: threadId }, include: { space: true } });
  if (!found || !canSeeSpace(viewer, found.space.visibility) || !canSeeContent(viewer, found)) {
    throw new NotFoundError('Thread', String(threadId));
  }
  const { space, ...thread } = found;
  return { thread, space };
}

export async function loadPost(tx: Tx, viewer: Viewer, postId: number): Promise<{ post: Post; thread: Thread; space: Space }> {
  const found = await tx.post.findUnique({ where: { id: postId }, include: { thread: { include: { space: true } } } });
  if (!found || !canSeeSpace(viewer, found.thread.space.visibility) || !canSeeContent(viewer, found) || !canSeeContent(viewer, found.thread)) {
    throw new NotFoundError('Post', String(postId));
  }
  const {
    thread: { space, ...thread },
    ...post
  } = found;
  return { post, thread, space };
}

/**
 * Row-locks threads and posts (and each post's thread) until the transaction ends, so a write
 * that reads their state, then changes it, sees every concurrent change committed before it.
 * Threads before posts, each in id order: every writer takes them in one order, so none deadlock.
 * FOR NO KEY UPDATE, as an UPDATE takes it: inserting a post (a key reference) still proceeds.
 */
export async function lockContent(tx: Tx, refs: readonly ContentRef[]): Promise<void> {
  const postIds = refs.filter((r) => r.typename === 'Post').map((r) => r.id);
  const parents = postIds.length
    ? await tx.$queryRaw<{ threadId: number }[]>`SELECT "threadId" FROM "Post" WHERE "id" = ANY(${postIds}::int[])`
    : [];
  const threadIds = [...refs.filter((r) => r.typename === 'Thread').map((r) => r.id), ...parents.map((p) => p.threadId)];
  if (threadIds.length) {
    await tx.$queryRaw`SELECT 1 FROM "Thread" WHERE "id" = ANY(${threadIds}::int[]) ORDER BY "id" FOR NO KEY UPDATE`;
  }
  if (postIds.length) {
    await tx.$queryRaw`SELECT 1 FROM "Post" WHERE "id" = ANY(${postIds}::int[]) ORDER BY "id" FOR NO KEY UPDATE`;
  }
}

/**
 * Activity about content that is not published (REMOVED, or HELD for approval), or in a thread
 * that is not: written withdrawn, moderators only like the content itself, until it is restored
 * or approved (withdrawThreadEvents). Its author may still reply, react or edit; the space must
 * not hear of it meanwhile.
 */
export function unpublishedActivity(...contents: { moderationStatus: ModerationStatus }[]): { withdrawn?: true } {
  return contents.every((content) => PUBLISHED_STATUSES.includes(content.moderationStatus)) ? {} : { withdrawn: true };
}

export function assertAuthorOrModerator(viewer: Viewer, authorId: number, what: string): void {
  if (viewer.id !== authorId && !canModerate(viewer.role)) {
    throw new ForbiddenError(`Only the author or a moderator can ${what}`);
  }
}

/**
 * Who may edit a thread: its author or a moderator; and a wiki thread's body (not its title) also
 * members of the wiki edit trust level and above (TrustLevelRules.wikiEditLevel, TL2 by default).
 */
async function assertMayEditThread(tx: Tx, viewer: Viewer, thread: Thread, changes: { title?: string }): Promise<void> {
  if (viewer.id === thread.authorId || canModerate(viewer.role)) return;
  if (thread.wiki) {
    if (changes.title === undefined && (await mayEditWiki(tx, viewer.id))) return;
    throw new ForbiddenError("Only the author or a moderator can edit this wiki thread's title, and only members of the wiki edit trust level and above its body");
  }
  throw new ForbiddenError('Only the author or a moderator can edit this thread');
}

/** Makes a thread a wiki (or not): its author or a moderator. */
export async function setThreadWiki(viewer: Viewer | null, threadId: number, wiki: boolean): Promise<Thread> {
  const actor = requireActiveViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    await lockContent(tx, [{ typename: 'Thread', id: threadId }]);
    const { thread, space } = await loadThread(tx, actor, threadId);
    assertAuthorOrModerator(actor, thread.authorId, 'make this thread a wiki or not');
    assertWritable(actor, thread);
    if (thread.wiki === wiki) return thread;
    const updated = await tx.thread.update({ where: { id: thread.id }, data: { wiki } });
    await activity.record({
      kind: 'THREAD_EDITED',
      actorId: actor.id,
      subject: { type: 'Thread', id: thread.id },
      space,
      threadId: thread.id,
      ...unpublishedActivity(updated),
    });
    return updated;
  });
}

// Locked, closed and author-deleted threads take no new words from members; moderators may still act.
function assertWritable(viewer: Viewer, thread: Thread): void {
  if (canModerate(viewer.role)) return;
  if (thread.deletedAt) throw new ForbiddenError('This thread was deleted by its author');
  if (thread.status !== 'OPEN') throw new ForbiddenError(`This thread is ${thread.status.toLowerCase()}`);
}

// ---- For moderation: the moderation service acts on content through these, in its transaction.

export type ContentRef = { typename: 'Thread' | 'Post'; id: number };
export type ModeratedContent = ContentRef & {
  authorId: number;
  threadId: number;
  space: Space;
  moderationStatus: ModerationStatus;
  moderationClassifier: HideClassifier | null;
  /** The thread's status (for a post, its thread's). */
  threadStatus: ThreadStatus;
  /** The thread's moderation state and author (for a post, its thread's), for visibility checks. */
  thread: { moderationStatus: ModerationStatus; authorId: number };
};

/** Threads and posts by id, whatever their state (moderators see everything); missing ones are absent. */
export async function findModeratedContent(tx: Tx, refs: readonly ContentRef[]): Promise<Map<string, ModeratedContent>> {
  const threadIds = refs.filter((r) => r.typename === 'Thread').map((r) => r.id);
  const postIds = refs.filter((r) => r.typename === 'Post').map((r) => r.id);
  const [threads, posts] = await Promise.all([
    threadIds.length ? tx.thread.findMany({ where: { id: { in: threadIds } }, include: { space: true } }) : [],
    postIds.length ? tx.post.findMany({ where: { id: { in: postIds } }, include: { thread: { include: { space: true } } } }) : [],
  ]);
  const found = new Map<string, ModeratedContent>();
  for (const t of threads) {
    found.set(`Thread:${t.id}`, {
      typename: 'Thread', id: t.id, authorId: t.authorId, threadId: t.id, space: t.space,
      moderationStatus: t.moderationStatus, moderationClassifier: t.moderationClassifier, threadStatus: t.status,
      thread: { moderationStatus: t.moderationStatus, authorId: t.authorId },
    });
  }
  for (const p of posts) {
    found.set(`Post:${p.id}`, {
      typename: 'Post', id: p.id, authorId: p.authorId, threadId: p.threadId, space: p.thread.space,
      moderationStatus: p.moderationStatus, moderationClassifier: p.moderationClassifier, threadStatus: p.thread.status,
      thread: { moderationStatus: p.thread.moderationStatus, authorId: p.thread.authorId },
    });
  }
  return found;
}

/**
 * Sets a thread's or post's moderation state, `at` the time of the change. A post leaving or
 * re-entering the published states (VISIBLE, HIDDEN) moves its thread's reply count with it.
 * Held content being approved is published at that moment: its thread's last activity moves to
 * `at`, as a reply written then would have moved it (held, it moved nothing), so lists by
 * activity put it where a normal reply would have.
 */
export async function setModerationState(
  tx: Tx,
  ref: ContentRef,
  state: { status: ModerationStatus; classifier: HideClassifier | null; reason: string | null },
  at = new Date(),
): Promise<void> {
  const data = { moderationStatus: state.status, moderationClassifier: state.classifier, moderationReason: state.reason };
  const isCounted = PUBLISHED_STATUSES.includes(state.status);
  if (ref.typename === 'Thread') {
    const before = await tx.thread.findUniqueOrThrow({ where: { id: ref.id }, select: { moderationStatus: true } });
    await tx.thread.update({ where: { id: ref.id }, data });
    if (before.moderationStatus === 'HELD' && isCounted) await touchThread(tx, ref.id, at);
    if (PUBLISHED_STATUSES.includes(before.moderationStatus) !== isCounted) {
      const stillWithdrawn = isCounted
        ? await tx.post.findMany({ where: { threadId: ref.id, moderationStatus: { notIn: PUBLISHED_STATUSES } }, select: { id: true } })
        : [];
      await withdrawThreadEvents(tx, ref.id, !isCounted, stillWithdrawn.map((p) => p.id));
    }
    return;
  }
  const before = await tx.post.findUniqueOrThrow({
    where: { id: ref.id },
    select: { moderationStatus: true, threadId: true, deletedAt: true, thread: { select: { moderationStatus: true } } },
  });
  await tx.post.update({ where: { id: ref.id }, data });
  const wasCounted = PUBLISHED_STATUSES.includes(before.moderationStatus);
  if (wasCounted !== isCounted) {
    // A post its author deleted left the reply count then (members/deletion), whatever moderation does after.
    if (!before.deletedAt) await tx.thread.update({ where: { id: before.threadId }, data: { replyCount: { increment: isCounted ? 1 : -1 } } });
    // Back only if its thread is published too: a removed thread keeps all its events withdrawn.
    if (!isCounted || PUBLISHED_STATUSES.includes(before.thread.moderationStatus)) {
      await withdrawPostEvents(tx, before.threadId, ref.id, !isCounted);
    }
  }
  if (before.moderationStatus === 'HELD' && isCounted) await touchThread(tx, before.threadId, at);
}

/** Activity in a thread at `at`; never backwards (a reply written meanwhile may be later). */
async function touchThread(tx: Tx, threadId: number, at: Date): Promise<void> {
  await tx.thread.updateMany({ where: { id: threadId, lastActivityAt: { lt: at } }, data: { lastActivityAt: at } });
}

/** Locks (LOCKED) or unlocks (OPEN) a thread: members can't write in a locked one (assertWritable). */
export async function setThreadStatus(tx: Tx, threadId: number, status: ThreadStatus): Promise<void> {
  await tx.thread.update({ where: { id: threadId }, data: { status } });
}

// ---- Reads ----------------------------------------------------------------------------------

export type ThreadListArgs = {
  spaceId?: number;
  answered?: boolean | null;
  authorId?: number;
};

/** The rows `threads(...)` may return to this viewer: visible spaces only, then the filters. */
export function threadListWhere(viewer: Viewer | null, args: ThreadListArgs): Prisma.ThreadWhereInput {
  return {
    ...visibleThreadWhere(viewer),
    // Threads their authors deleted stay reachable (in place, as deleted) but leave the lists.
    ...(!(viewer && canModerate(viewer.role)) && { deletedAt: null }),
    ...(args.spaceId !== undefined && { spaceId: args.spaceId }),
    ...(args.authorId !== undefined && { authorId: args.authorId }),
    ...(args.answered != null && { answerPostId: args.answered ? { not: null } : null }),
  };
}

export type ReactionGroup = { content: ReactionContent; count: number; viewerHasReacted: boolean };
export const REACTION_CONTENTS: ReactionContent[] = [
  'THUMBS_UP', 'THUMBS_DOWN', 'LAUGH', 'HOORAY', 'CONFUSED', 'HEART', 'ROCKET', 'EYES',
];

/**
 * Reaction counts for many subjects in one statement, every content listed (zeros included) in
 * a fixed order so clients can render a stable bar.
 */
export async function reactionGroups(
  viewerId: number | null,
  subjects: readonly ReactionSubject[],
): Promise<ReactionGroup[][]> {
  const threadIds = subjects.filter((s) => s.typename === 'Thread').map((s) => s.id);
  const postIds = subjects.filter((s) => s.typename === 'Post').map((s) => s.id);
  const rows = await prisma().$queryRaw<
    { threadId: number | null; postId: number | null; content: ReactionContent; count: number; mine: boolean }[]
  >`
    SELECT "threadId", "postId", "content"::text AS "content", count(*)::int AS "count",
           coalesce(bool_or("userId" = ${viewerId ?? 0}), false) AS "mine"
    FROM "Reaction"
    WHERE "threadId" = ANY(${threadIds}::int[]) OR "postId" = ANY(${postIds}::int[])
    GROUP BY "threadId", "postId", "content"`;
  const bySubject = new Map<string, Map<ReactionContent, { count: number; mine: boolean }>>();
  for (const row of rows) {
    const key = row.threadId != null ? `Thread:${row.threadId}` : `Post:${row.postId}`;
    if (!bySubject.has(key)) bySubject.set(key, new Map());
    bySubject.get(key)!.set(row.content, { count: row.count, mine: row.mine });
  }
  return subjects.map((subject) => {
    const counts = bySubject.get(`${subject.typename}:${subject.id}`);
    return REACTION_CONTENTS.map((content) => ({
      content,
      count: counts?.get(content)?.count ?? 0,
      viewerHasReacted: counts?.get(content)?.mine ?? false,
    }));
  });
}
