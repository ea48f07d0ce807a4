import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, ForbiddenError } from '../../errors.js';
import type { Post, Space, Thread } from '../../generated/prisma/client.js';
import {
  assertAuthorOrModerator,
  loadPost,
  loadThread,
  lockContent,
  unpublishedActivity,
} from './community.service.js';
import { requireActiveViewer } from '../identity/guards.js';
import { PUBLISHED_STATUSES } from './policy.js';

// Authors deleting their own threads and posts, and taking back an accepted answer.
//
// Soft: the row stays, with deletedAt and deletedById. Members still find it in place (a thread by
// its id, a post in its thread) marked deletedByAuthor, its title and body empty; moderators
// still read it. It leaves the counts (Thread.replyCount, User counts), the lists (threads(...),
// User.threads, User.posts) and search for everyone but moderators. Like a moderator's
// removal, the change is one event in the activity log (THREAD_DELETED / POST_DELETED), public in
// its space when the content was published and moderators-only (withdrawn) otherwise. Earlier
// events about it stay: their subject now resolves as deleted, text withheld. There is no
// undelete; a moderator can still hide or remove what was deleted.

/** The author deletes their thread (not suspended; moderators remove content instead). */
export async function deleteThread(viewer: Viewer | null, threadId: number): Promise<Thread> {
  const actor = requireActiveViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    await lockContent(tx, [{ typename: 'Thread', id: threadId }]);
    const { thread, space } = await loadThread(tx, actor, threadId);
    if (thread.authorId !== actor.id) throw new ForbiddenError('Only its author can delete a thread; moderators remove it instead');
    if (thread.deletedAt) throw new ConflictError(`Thread ${thread.id} is already deleted`);
    const updated = await tx.thread.update({ where: { id: thread.id }, data: { deletedAt: new Date(), deletedById: actor.id } });
    await activity.record({
      kind: 'THREAD_DELETED',
      actorId: actor.id,
      subject: { type: 'Thread', id: thread.id },
      space,
      threadId: thread.id,
      ...unpublishedActivity(thread),
    });
    return updated;
  });
}

/**
 * The author deletes their reply: a published one leaves its thread's reply count, and an
 * accepted answer stops being the answer (THREAD_ANSWER_UNMARKED).
 */
export async function deletePost(viewer: Viewer | null, postId: number): Promise<Post> {
  const actor = requireActiveViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    await lockContent(tx, [{ typename: 'Post', id: postId }]);
    const { post, thread, space } = await loadPost(tx, actor, postId);
    if (post.authorId !== actor.id) throw new ForbiddenError('Only its author can delete a post; moderators remove it instead');
    if (post.deletedAt) throw new ConflictError(`Post ${post.id} is already deleted`);
    const updated = await tx.post.update({ where: { id: post.id }, data: { deletedAt: new Date(), deletedById: actor.id } });
    // Removed and held replies are not counted (setModerationState), so they are not taken off.
    if (PUBLISHED_STATUSES.includes(post.moderationStatus)) {
      await tx.thread.update({ where: { id: thread.id }, data: { replyCount: { decrement: 1 } } });
    }
    if (thread.answerPostId === post.id) await clearAnswer(tx, activity, actor, thread, space, post);
    await activity.record({
      kind: 'POST_DELETED',
      actorId: actor.id,
      subject: { type: 'Post', id: post.id },
      space,
      threadId: thread.id,
      ...unpublishedActivity(thread, post),
    });
    return updated;
  });
}

/** The thread's author or a moderator (as markAsAnswer) takes back its accepted answer. */
export async function unmarkAnswer(viewer: Viewer | null, threadId: number): Promise<Thread> {
  const actor = requireActiveViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    await lockContent(tx, [{ typename: 'Thread', id: threadId }]);
    const { thread, space } = await loadThread(tx, actor, threadId);
    assertAuthorOrModerator(actor, thread.authorId, 'unmark the answer of this thread');
    if (thread.answerPostId == null) throw new ConflictError(`Thread ${thread.id} has no accepted answer`);
    const answer = await tx.post.findUniqueOrThrow({ where: { id: thread.answerPostId } });
    return clearAnswer(tx, activity, actor, thread, space, answer);
  });
}

async function clearAnswer(tx: Tx, activity: ActivityRecorder, actor: Viewer, thread: Thread, space: Space, answer: Post): Promise<Thread> {
  const updated = await tx.thread.update({ where: { id: thread.id }, data: { answerPostId: null } });
  await activity.record({
    kind: 'THREAD_ANSWER_UNMARKED',
    actorId: actor.id,
    subject: { type: 'Thread', id: thread.id },
    space,
    threadId: thread.id,
    ...unpublishedActivity(thread, answer),
  });
  return updated;
}
