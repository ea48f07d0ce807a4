import { builder, WRITE_ERRORS } from '../../builder.js';
import { decodeId } from '../../ids.js';
import { PostPayload, ThreadPayload } from './community.schema.js';
import * as deletion from './deletion.js';

// Authors deleting their own threads and posts (see deletion.ts), and unmarkAnswer.

for (const model of ['Thread', 'Post'] as const) {
  builder.prismaObjectFields(model, (t) => ({
    deletedByAuthor: t.boolean({
      description: `Whether its author deleted this ${model.toLowerCase()}. It stays in place, its text empty for all but moderators; render it as "deleted by its author".`,
      resolve: (content) => content.deletedAt != null,
    }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When its author deleted it; null while it is not deleted.',
    }),
  }));
}

const DeleteThreadInput = builder.inputType('DeleteThreadInput', {
  description: 'A thread you wrote, to delete.',
  fields: (t) => ({ threadId: t.id({ required: true, description: 'The global id of the Thread.' }) }),
});
const DeletePostInput = builder.inputType('DeletePostInput', {
  description: 'A post you wrote, to delete.',
  fields: (t) => ({ postId: t.id({ required: true, description: 'The global id of the Post.' }) }),
});
const UnmarkAnswerInput = builder.inputType('UnmarkAnswerInput', {
  description: 'The thread whose accepted answer to take back.',
  fields: (t) => ({ threadId: t.id({ required: true, description: 'The global id of the Thread.' }) }),
});

builder.mutationFields((t) => ({
  deleteThread: t.field({
    type: ThreadPayload,
    description:
      'Its author only (moderators remove content instead), signed in and not suspended. Soft: the thread stays reachable, marked deletedByAuthor, title and body empty for all but moderators; it leaves threads(...), User.threads, search and the counts; its replies stay. Members can no longer reply to it or edit it. Deleting it again is a ConflictError.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: DeleteThreadInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      thread: await deletion.deleteThread(ctx.viewer, decodeId(input.threadId, ['Thread'], 'input.threadId').id),
    }),
  }),
  deletePost: t.field({
    type: PostPayload,
    description:
      "Its author only (moderators remove content instead), signed in and not suspended. Soft: the post stays in place in its thread, marked deletedByAuthor, body empty for all but moderators; it leaves the thread's replyCount, User.posts, search and the counts. An accepted answer stops being the answer. Deleting it again is a ConflictError.",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: DeletePostInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      post: await deletion.deletePost(ctx.viewer, decodeId(input.postId, ['Post'], 'input.postId').id),
    }),
  }),
  unmarkAnswer: t.field({
    type: ThreadPayload,
    description: "The thread's author or a moderator, as for markAsAnswer. A thread without an accepted answer is a ConflictError.",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UnmarkAnswerInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      thread: await deletion.unmarkAnswer(ctx.viewer, decodeId(input.threadId, ['Thread'], 'input.threadId').id),
    }),
  }),
}));
