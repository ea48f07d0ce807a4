import { builder, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { decodeId } from '../../ids.js';
import { PostType, ThreadType } from '../community/community.schema.js';
import { canSeeContent } from '../community/policy.js';
import * as readState from './read-state.js';

// Read state: fields of Thread that answer for the viewer only (there is no way to name another
// user), and markThreadRead. The rules are in read-state.ts.

/** The viewer's read state of a thread, batched: one statement for a page of threads. */
function viewerReadState(ctx: Context, threadId: number): Promise<readState.ReadState> | null {
  const viewer = ctx.viewer;
  if (!viewer) return null;
  return loader(ctx, 'threadReadState', (threadIds: readonly number[]) => readState.readStates(viewer.id, threadIds)).load(threadId);
}

builder.prismaObjectFields(ThreadType, (t) => ({
  viewerLastReadPost: t.field({
    type: PostType,
    nullable: true,
    description:
      'The last reply you marked read (markThreadRead); null when signed out, when you never marked this thread read, when it had no reply then, or when that reply is no longer one you may see.',
    // Folded into the thread query: your read mark only (the where names the viewer), with its post.
    select: (_args, ctx, nestedSelection) => ({
      reads: { where: { userId: ctx.viewer?.id ?? 0 }, take: 1, select: { lastReadPost: nestedSelection(true) } },
    }),
    resolve: (thread, _args, ctx) => {
      const post = thread.reads[0]?.lastReadPost;
      return post && canSeeContent(ctx.viewer, post) ? post : null;
    },
  }),
  viewerLastReadAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'When you last marked this thread read; null when signed out or never (a "new" thread for you, in Discourse terms).',
    resolve: async (thread, _args, ctx) => (await viewerReadState(ctx, thread.id))?.readAt ?? null,
  }),
  viewerUnreadCount: t.int({
    nullable: true,
    description:
      'Published replies (VISIBLE or HIDDEN) by others after the last one you marked read: all of them when you never marked the thread read. Your own replies, and removed or held ones, never count. Null when signed out: there is no read state to count from.',
    resolve: async (thread, _args, ctx) => (await viewerReadState(ctx, thread.id))?.unreadCount ?? null,
  }),
}));

const MarkThreadReadInput = builder.inputType('MarkThreadReadInput', {
  description: 'How far you have read a thread.',
  fields: (t) => ({
    threadId: t.id({ required: true, description: 'The global id of a Thread you can see.' }),
    upToPostId: t.id({
      description: 'The global id of the last reply you read, a Post of that thread that you can see. Omitted: the latest reply you can see now (pass it explicitly to avoid marking a reply that arrived after you loaded the page).',
    }),
  }),
});

const MarkThreadReadPayload = builder.simpleObject('MarkThreadReadPayload', {
  description: 'What markThreadRead answers when it succeeds.',
  fields: (t) => ({
    thread: t.field({ type: ThreadType, description: 'The thread, with your read state (viewerLastReadPost, viewerUnreadCount) after the change.' }),
  }),
});

builder.mutationField('markThreadRead', (t) =>
  t.field({
    type: MarkThreadReadPayload,
    description:
      'Records that you read a thread up to a reply. Only moves forward: marking an earlier reply keeps the later mark (and is no error). Your own read state only; suspended members may mark threads read.',
    // The shared set, as every mutation answers (test/schema-conventions); ForbiddenError and ConflictError do not happen here.
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: MarkThreadReadInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      thread: await readState.markThreadRead(
        ctx.viewer,
        decodeId(input.threadId, ['Thread'], 'input.threadId').id,
        input.upToPostId ? decodeId(input.upToPostId, ['Post'], 'input.upToPostId').id : null,
      ),
    }),
  }),
);
