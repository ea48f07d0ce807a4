import { brandWithType } from '@pothos/core';
import { builder, sharedConnection, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { AutomodBlockedError } from '../../errors.js';
import { HideClassifier, ModerationStatus, ReactionContent, SpaceVisibility, ThreadStatus } from '../../generated/prisma/enums.js';
import type { HideClassifier as HideClassifierValue, ModerationStatus as ModerationStatusValue } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { canModerate } from '../identity/roles.js';
import { unreadThreadsWhere } from '../members/read-state.js';
import * as community from './community.service.js';
import { canSeeContent, isCollapsedFor, isDeletedFor, visibleContentWhere, visiblePostWhere, visibleSpaceVisibilities, visibleThreadWhere } from './policy.js';

const SpaceVisibilityEnum = builder.enumType(SpaceVisibility, {
  name: 'SpaceVisibility',
  description: 'PUBLIC: anyone, signed in or not. MEMBERS: signed-in users. STAFF: every role above MEMBER.',
  values: {
    PUBLIC: { description: 'Anyone sees it, signed in or not.' },
    MEMBERS: { description: 'Signed-in users see it.' },
    STAFF: { description: 'Only roles above MEMBER see it.' },
  },
});
const ThreadStatusEnum = builder.enumType(ThreadStatus, {
  name: 'ThreadStatus',
  description: 'Whether members can still write in a thread. Moderators can write in any.',
  values: {
    OPEN: { description: 'Anyone who can see it may reply.' },
    LOCKED: { description: 'Locked by a moderator (lockThread): members cannot reply or edit.' },
    CLOSED: { description: 'Members cannot reply or edit, as when LOCKED. No mutation sets it yet.' },
  },
});
const ReactionContentEnum = builder.enumType(ReactionContent, {
  name: 'ReactionContent',
  description: 'The reactions people can add, in the order reactionGroups lists them.',
  values: {
    THUMBS_UP: { description: '👍' },
    THUMBS_DOWN: { description: '👎' },
    LAUGH: { description: '😄' },
    HOORAY: { description: '🎉' },
    CONFUSED: { description: '😕' },
    HEART: { description: '❤️' },
    ROCKET: { description: '🚀' },
    EYES: { description: '👀' },
  },
});

const ModerationStatusEnum = builder.enumType(ModerationStatus, {
  name: 'ModerationStatus',
  description:
    'VISIBLE. HIDDEN: collapsed (title and body empty, classifier shown) for all but its author and moderators. REMOVED, HELD (awaiting approval): only its author and moderators see it.',
  values: {
    VISIBLE: { description: 'Shown to everyone who can see its space.' },
    HIDDEN: { description: 'Collapsed: title and body are empty for all but its author and moderators; the classifier says why.' },
    REMOVED: { description: 'Taken down by a moderator: only its author and moderators see it.' },
    HELD: { description: 'Held by automod until a moderator approves it: only its author and moderators see it.' },
  },
});
export const HideClassifierEnum = builder.enumType(HideClassifier, {
  name: 'HideClassifier',
  description: 'Why content was hidden; shown to everyone in place of the collapsed text.',
  values: {
    SPAM: { description: 'Advertising or other unsolicited content.' },
    ABUSE: { description: 'Insulting, harassing or otherwise abusive.' },
    OFF_TOPIC: { description: 'Does not belong in this thread or space.' },
    OUTDATED: { description: 'No longer true or relevant.' },
    DUPLICATE: { description: 'Repeats something said elsewhere.' },
    RESOLVED: { description: 'The matter it raised is settled.' },
    LOW_QUALITY: { description: 'Adds little to the discussion.' },
  },
});

type Moderated = { moderationStatus: ModerationStatusValue; moderationClassifier: HideClassifierValue | null; moderationReason: string | null };
const ModerationStateType = builder.objectRef<Moderated>('ModerationState').implement({
  description: 'Where moderation left this thread or post, and why.',
  fields: (t) => ({
    status: t.field({ type: ModerationStatusEnum, description: 'Who sees it, and how.', resolve: (c) => c.moderationStatus }),
    classifier: t.field({ type: HideClassifierEnum, nullable: true, description: 'Why it was hidden; null unless HIDDEN.', resolve: (c) => c.moderationClassifier }),
    reason: t.string({ nullable: true, description: "The moderator's reason for hiding or removing it; null when VISIBLE or held by automod.", resolve: (c) => c.moderationReason }),
  }),
});

/** Text shown to the viewer: empty when the content is hidden from them (collapsed) or deleted by its author. */
const readable = (content: Moderated & { authorId: number; deletedAt: Date | null }, text: string, viewer: Parameters<typeof isCollapsedFor>[0]) =>
  isCollapsedFor(viewer, content) || isDeletedFor(viewer, content) ? '' : text;

/** The writes automod screens: they can also end in AutomodBlockedError. */
const SCREENED_WRITE_ERRORS = [...WRITE_ERRORS, AutomodBlockedError];

const ReactionGroupType = builder.objectRef<community.ReactionGroup>('ReactionGroup').implement({
  description: 'How many people reacted to a thread or post with one content.',
  fields: (t) => ({
    content: t.expose('content', { type: ReactionContentEnum, description: 'The reaction this group counts.' }),
    count: t.exposeInt('count', { description: 'People who reacted with it; 0 included.' }),
    viewerHasReacted: t.exposeBoolean('viewerHasReacted', { description: 'Whether you are one of them; false when signed out.' }),
  }),
});

/** Threads and posts: anything people can react to. */
const Reactable = builder.interfaceRef<{ id: number }>('Reactable').implement({
  description: 'A thread or post: something people can react to (addReaction, removeReaction).',
  fields: (t) => ({
    reactionGroups: t.field({
      type: [ReactionGroupType],
      description: 'One group per reaction content, in a fixed order, zero counts included.',
      // The implementing type's name tells threads from posts; one batched query per request.
      resolve: (subject, _args, ctx, info) =>
        loader(ctx, 'reactionGroups', (keys: readonly community.ReactionSubject[]) =>
          community.reactionGroups(ctx.viewer?.id ?? null, keys),
        ).load({ typename: info.parentType.name as 'Thread' | 'Post', id: subject.id }),
    }),
  }),
});

export const SpaceType = builder.prismaNode('Space', {
  id: { field: 'id' },
  // node(id) answers null, not an error, for what is missing or hidden by findUnique's rule.
  nullable: true,
  description: 'A place for threads on one topic. Its visibility decides who sees it and everything in it.',
  findUnique: visibleNode('Space', (ctx) => ({ visibility: { in: visibleSpaceVisibilities(ctx.viewer) } })),
  fields: (t) => ({
    slug: t.exposeString('slug', { description: 'Its unique name in URLs, e.g. "product-help"; see space(slug:).' }),
    name: t.exposeString('name', { description: 'Its display name, 1 to 100 characters.' }),
    description: t.exposeString('description', { description: 'Up to 2000 characters; empty if none was given.' }),
    visibility: t.expose('visibility', { type: SpaceVisibilityEnum, description: 'Who sees the space and everything in it.' }),
    attentionAfterMinutes: t.exposeInt('attentionAfterMinutes', {
      nullable: true,
      description: "Unanswered threads join the staff attention queue after this many minutes (0: at once); null: never.",
    }),
    peerAttentionAfterMinutes: t.exposeInt('peerAttentionAfterMinutes', {
      nullable: true,
      description:
        "Unanswered threads are routed to the space's experts (PEER_ASK notifications) after this many minutes, while they are not yet in the staff attention queue; null: never.",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const RevisionType = builder.prismaObject('Revision', {
  description: 'An earlier version of a thread or post, saved when it was edited.',
  fields: (t) => ({
    // Earlier versions of hidden content are collapsed like the content itself.
    title: t.string({ nullable: true, description: "A thread's earlier title; null for a post. Empty when the content is hidden from you.", select: { thread: true, post: true }, resolve: (r, _a, ctx) => (collapsedRevision(r, ctx.viewer) ? '' : r.title) }),
    body: t.string({ description: 'Empty when the content is hidden from you.', select: { thread: true, post: true }, resolve: (r, _a, ctx) => (collapsedRevision(r, ctx.viewer) ? '' : r.body) }),
    editor: t.relation('editor', { description: 'Who made the edit that replaced this version.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was replaced.' }),
  }),
});

// Threads and posts both page their edit history.
const RevisionConnection = sharedConnection(RevisionType, 'Revision');

function collapsedRevision(
  revision: {
    thread: (Moderated & { authorId: number; deletedAt: Date | null }) | null;
    post: (Moderated & { authorId: number; deletedAt: Date | null }) | null;
  },
  viewer: Parameters<typeof isCollapsedFor>[0],
): boolean {
  const owner = revision.thread ?? revision.post;
  return !!owner && (isCollapsedFor(viewer, owner) || isDeletedFor(viewer, owner) || !canSeeContent(viewer, owner));
}

export const ThreadType = builder.prismaNode('Thread', {
  id: { field: 'id' },
  // node(id) answers null, not an error, for what is missing or hidden by findUnique's rule.
  nullable: true,
  interfaces: [Reactable],
  description:
    'A question or discussion in a space, with its replies (posts). Seen by whoever can see its space; REMOVED or HELD threads only by their author and moderators.',
  findUnique: visibleNode('Thread', (ctx) => visibleThreadWhere(ctx.viewer)),
  fields: (t) => ({
    title: t.string({ description: 'Empty when hidden from you (see moderation) or deleted by its author (see deletedByAuthor).', resolve: (thread, _a, ctx) => readable(thread, thread.title, ctx.viewer) }),
    body: t.string({ description: 'Empty when hidden from you (see moderation) or deleted by its author (see deletedByAuthor).', resolve: (thread, _a, ctx) => readable(thread, thread.body, ctx.viewer) }),
    moderation: t.field({ type: ModerationStateType, description: 'Whether moderation hid, removed or held it, and why.', resolve: (thread) => thread }),
    status: t.expose('status', { type: ThreadStatusEnum, description: 'Whether members can still reply and edit.' }),
    wiki: t.exposeBoolean('wiki', {
      description: 'A wiki thread: besides its author and moderators, members of the wiki edit trust level (trustLevelRules.wikiEditLevel, TL2 by default) may edit its body. Set with setThreadWiki.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When anything about the thread last changed: an edit, a reply, an answer, moderation.' }),
    lastActivityAt: t.expose('lastActivityAt', {
      type: 'DateTime',
      description: 'When it was published or last got a reply. Content automod held counts as published when a moderator approved it.',
    }),
    replyCount: t.exposeInt('replyCount', { description: 'Published replies (VISIBLE or HIDDEN); removed, held and author-deleted ones do not count.' }),
    author: t.relation('author', { description: 'Who wrote it.' }),
    space: t.relation('space', { description: 'The space it is in.' }),
    answer: t.field({
      type: PostType,
      nullable: true,
      description: 'The post marked as the answer (null if it was removed).',
      select: (_args, _ctx, nestedSelection) => ({ answerPost: nestedSelection(true) }),
      resolve: (thread, _args, ctx) => (thread.answerPost && canSeeContent(ctx.viewer, thread.answerPost) ? thread.answerPost : null),
    }),
    isAnswered: t.boolean({ description: 'Whether a post was marked as the answer (even one you cannot see).', resolve: (thread) => thread.answerPostId != null }),
    viewerCanEdit: t.boolean({
      description: 'Whether you are its author or a moderator. A member also needs the thread OPEN and not to be suspended.',
      resolve: (thread, _args, ctx) => !!ctx.viewer && (canModerate(ctx.viewer.role) || (ctx.viewer.id === thread.authorId && !thread.deletedAt)),
    }),
    posts: t.relatedConnection('posts', {
      cursor: 'id',
      totalCount: true,
      description: 'Replies, oldest first. Replies deleted by their authors stay in place (deletedByAuthor).',
      query: (_args, ctx) => ({ where: visibleContentWhere(ctx.viewer), orderBy: { id: 'asc' } }),
    }, PostConnection),
    revisions: t.relatedConnection('revisions', {
      cursor: 'id',
      totalCount: true,
      description: 'Edit history, newest first.',
      query: () => ({ orderBy: { id: 'desc' } }),
    }, RevisionConnection),
  }),
});

export const PostType = builder.prismaNode('Post', {
  id: { field: 'id' },
  // node(id) answers null, not an error, for what is missing or hidden by findUnique's rule.
  nullable: true,
  interfaces: [Reactable],
  description: "A reply in a thread. Seen by whoever can see its thread; REMOVED or HELD posts only by their author and moderators.",
  findUnique: visibleNode('Post', (ctx) => visiblePostWhere(ctx.viewer)),
  fields: (t) => ({
    body: t.string({ description: 'Empty when hidden from you (see moderation) or deleted by its author (see deletedByAuthor).', resolve: (post, _a, ctx) => readable(post, post.body, ctx.viewer) }),
    moderation: t.field({ type: ModerationStateType, description: 'Whether moderation hid, removed or held it, and why.', resolve: (post) => post }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the post last changed: an edit or moderation.' }),
    author: t.relation('author', { description: 'Who wrote it.' }),
    thread: t.relation('thread', { description: 'The thread it replies to.' }),
    isAnswer: t.boolean({
      description: "Whether it is its thread's accepted answer.",
      select: { answerOf: { select: { id: true } } },
      resolve: (post) => post.answerOf != null,
    }),
    viewerCanEdit: t.boolean({
      description: 'Whether you are its author or a moderator. A member also needs the thread OPEN and not to be suspended.',
      resolve: (post, _args, ctx) => !!ctx.viewer && (canModerate(ctx.viewer.role) || (ctx.viewer.id === post.authorId && !post.deletedAt)),
    }),
    revisions: t.relatedConnection('revisions', {
      cursor: 'id',
      totalCount: true,
      description: 'Edit history, newest first.',
      query: () => ({ orderBy: { id: 'desc' } }),
    }, RevisionConnection),
  }),
});

// Threads and posts are paged by more than one field (threads, Thread.posts, User.threads, User.posts).
export const ThreadConnection = sharedConnection(ThreadType, 'Thread');
export const PostConnection = sharedConnection(PostType, 'Post');

// ---- Queries --------------------------------------------------------------------------------

const ThreadOrderField = builder.enumType('ThreadOrderField', {
  description: 'What threads can be ordered by.',
  values: {
    CREATED_AT: { description: 'When the thread was created.' },
    LAST_ACTIVITY_AT: { description: 'Thread.lastActivityAt: when it was published or last got a reply.' },
  } as const,
});
const OrderDirection = builder.enumType('OrderDirection', {
  description: 'ASC: oldest first. DESC: newest first.',
  values: { ASC: { description: 'Oldest first.' }, DESC: { description: 'Newest first.' } } as const,

});

const ThreadOrder = builder.inputType('ThreadOrder', {
  description: 'How to order threads; ties are broken by id in the same direction.',
  fields: (t) => ({
    field: t.field({ type: ThreadOrderField, required: true, description: 'What to order by.' }),
    direction: t.field({ type: OrderDirection, required: true, description: 'Oldest or newest first.' }),
  }),
});

const ThreadFilter = builder.inputType('ThreadFilter', {
  description: 'Narrows threads(...); omitted fields do not filter.',
  fields: (t) => ({
    answered: t.boolean({ description: 'true: only answered threads; false: only unanswered ones.' }),
    authorId: t.id({ description: 'Only threads by this User.' }),
    unread: t.boolean({
      description:
        'true: only threads you marked read before (markThreadRead) that have published replies by others since; threads you never opened are "new", not unread (Discourse\'s terms), and signed out nothing is unread. false: every other thread.',
    }),
  }),
});

builder.queryFields((t) => ({
  spaces: t.prismaConnection({
    type: 'Space',
    cursor: 'id',
    description: 'The spaces you can see, by name.',
    resolve: (query, _root, args, ctx) => {
      return prisma().space.findMany({
        ...query,
        where: { visibility: { in: visibleSpaceVisibilities(ctx.viewer) } },
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
      });
    },
    totalCount: (_root, _args, ctx) =>
      prisma().space.count({ where: { visibility: { in: visibleSpaceVisibilities(ctx.viewer) } } }),
  }, { name: 'SpaceConnection' }, { name: 'SpaceEdge' }),
  space: t.prismaField({
    type: 'Space',
    nullable: true,
    description: 'The space with this slug, or null if there is none you may see.',
    args: { slug: t.arg.string({ required: true, description: 'The slug of the space, e.g. "product-help".' }) },
    resolve: (query, _root, { slug }, ctx) =>
      community.isPossibleSlug(slug)
        ? prisma().space.findFirst({ ...query, where: { slug, visibility: { in: visibleSpaceVisibilities(ctx.viewer) } } })
        : null,
  }),
  threads: t.prismaConnection({
    type: 'Thread',
    cursor: 'id',
    description: 'Threads you can see, most recently active first unless `orderBy` says otherwise.',
    args: {
      spaceId: t.arg.id({ description: 'Only threads in this Space; omitted: threads of every space you can see.' }),
      filter: t.arg({ type: ThreadFilter, description: 'Narrows the list; omitted: no narrowing.' }),
      orderBy: t.arg({ type: ThreadOrder, description: 'Omitted: most recently active first.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      const column = args.orderBy?.field === 'CREATED_AT' ? 'createdAt' : 'lastActivityAt';
      const direction = args.orderBy?.direction === 'ASC' ? 'asc' : 'desc';
      return prisma().thread.findMany({
        ...query,
        where: await threadListWhere(ctx, args),
        orderBy: [{ [column]: direction }, { id: direction }],
      });
    },
    totalCount: async (_root, args, ctx) => prisma().thread.count({ where: await threadListWhere(ctx, args) }),
  }, ThreadConnection),
}));

type ThreadListFieldArgs = {
  spaceId?: string | null;
  filter?: { answered?: boolean | null; authorId?: string | null; unread?: boolean | null } | null;
};

/** threads(...)'s rows: community's rule and filters, and the viewer's read state (members) for `unread`. */
async function threadListWhere(ctx: Context, args: ThreadListFieldArgs): Promise<Prisma.ThreadWhereInput> {
  const where = community.threadListWhere(ctx.viewer, threadListArgs(args));
  const unread = args.filter?.unread;
  return unread == null ? where : { AND: [where, await unreadThreadsWhere(ctx, unread)] };
}

function threadListArgs(args: ThreadListFieldArgs): community.ThreadListArgs {
  return {
    spaceId: args.spaceId ? decodeId(args.spaceId, ['Space'], 'spaceId').id : undefined,
    authorId: args.filter?.authorId ? decodeId(args.filter.authorId, ['User'], 'filter.authorId').id : undefined,
    answered: args.filter?.answered,
  };
}

// ---- Mutations ------------------------------------------------------------------------------

const CreateSpaceInput = builder.inputType('CreateSpaceInput', {
  description: 'A new space.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters.' }),
    slug: t.string({ required: true, description: '2 to 64 lower-case letters, digits and single hyphens, e.g. "product-help"; unique.' }),
    description: t.string({ description: 'Up to 2000 characters; defaults to empty.' }),
    visibility: t.field({ type: SpaceVisibilityEnum, description: 'Defaults to PUBLIC.' }),
    attentionAfterMinutes: t.int({ description: 'Unanswered threads join the staff attention queue after this many minutes (0 to 525600); omitted: never.' }),
    peerAttentionAfterMinutes: t.int({ description: "Unanswered threads are routed to the space's experts after this many minutes (0 to 525600); omitted: never." }),
  }),
});
const UpdateSpaceInput = builder.inputType('UpdateSpaceInput', {
  description: 'Changes to a space, with the rules of CreateSpaceInput; omitted fields keep their value.',
  fields: (t) => ({
    spaceId: t.id({ required: true, description: 'The global id of the Space.' }),
    name: t.string({ description: '1 to 100 characters.' }),
    slug: t.string({ description: '2 to 64 lower-case letters, digits and single hyphens; unique.' }),
    description: t.string({ description: 'Up to 2000 characters.' }),
    visibility: t.field({ type: SpaceVisibilityEnum, description: 'Changing it changes at once who sees the space and all its content.' }),
    attentionAfterMinutes: t.int({ description: 'null stops watching; omitted keeps the setting.' }),
    peerAttentionAfterMinutes: t.int({ description: 'null stops routing threads to experts; omitted keeps the setting.' }),
  }),
});
const CreateThreadInput = builder.inputType('CreateThreadInput', {
  description: 'A new thread. Surrounding whitespace is trimmed from title and body.',
  fields: (t) => ({
    spaceId: t.id({ required: true, description: 'A space you can see.' }),
    title: t.string({ required: true, description: '1 to 200 characters.' }),
    body: t.string({ required: true, description: '1 to 50000 characters.' }),
  }),
});
const EditThreadInput = builder.inputType('EditThreadInput', {
  description: 'A new title, a new body, or both; an omitted one stays as it is.',
  fields: (t) => ({
    threadId: t.id({ required: true, description: 'The global id of the Thread.' }),
    title: t.string({ description: '1 to 200 characters.' }),
    body: t.string({ description: '1 to 50000 characters.' }),
  }),
});
const SetThreadWikiInput = builder.inputType('SetThreadWikiInput', {
  description: 'Whether a thread is a wiki.',
  fields: (t) => ({
    threadId: t.id({ required: true, description: 'The global id of the Thread.' }),
    wiki: t.boolean({ required: true, description: 'True: trusted members may edit its body; false: only its author and moderators.' }),
  }),
});
const ReplyToThreadInput = builder.inputType('ReplyToThreadInput', {
  description: 'A new post in a thread.',
  fields: (t) => ({
    threadId: t.id({ required: true, description: 'The global id of the Thread.' }),
    body: t.string({ required: true, description: '1 to 50000 characters, trimmed.' }),
  }),
});
const EditPostInput = builder.inputType('EditPostInput', {
  description: 'The new body of a post.',
  fields: (t) => ({
    postId: t.id({ required: true, description: 'The global id of the Post.' }),
    body: t.string({ required: true, description: '1 to 50000 characters, trimmed.' }),
  }),
});
const MarkAsAnswerInput = builder.inputType('MarkAsAnswerInput', {
  description: "The post to make its thread's answer, replacing any earlier one.",
  fields: (t) => ({ postId: t.id({ required: true, description: 'The global id of the Post.' }) }),
});
const ReactionInput = builder.inputType('ReactionInput', {
  description: 'Your reaction to a thread or post you can see.',
  fields: (t) => ({
    subjectId: t.id({ required: true, description: 'A Thread or Post id.' }),
    content: t.field({ type: ReactionContentEnum, required: true, description: 'Which reaction.' }),
  }),
});

const SpacePayload = builder.simpleObject('SpacePayload', { fields: (t) => ({ space: t.field({ type: SpaceType }) }) });
export const ThreadPayload = builder.simpleObject('ThreadPayload', { fields: (t) => ({ thread: t.field({ type: ThreadType }) }) });
export const PostPayload = builder.simpleObject('PostPayload', { fields: (t) => ({ post: t.field({ type: PostType }) }) });
const ReactionPayload = builder.simpleObject('ReactionPayload', {
  description: 'What addReaction and removeReaction answer when they succeed.',

  fields: (t) => ({ subject: t.field({ type: Reactable, description: 'The thread or post, with its new counts.' }) }),
});


const reactionTarget = (subjectId: string): community.ReactionSubject =>
  decodeId(subjectId, ['Thread', 'Post'] as const, 'input.subjectId');

/** addReaction and removeReaction: the same resolver around a different write. */
const changeReaction =
  (change: typeof community.addReaction) =>
  async (_root: unknown, { input }: { input: { subjectId: string; content: ReactionContent } }, ctx: Context) => {
    const subject = reactionTarget(input.subjectId);
    const record = await change(ctx.viewer, subject, input.content);
    brandWithType(record, subject.typename === 'Thread' ? ThreadType : PostType);
    return { subject: record };
  };

builder.mutationFields((t) => ({
  createSpace: t.field({
    type: SpacePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateSpaceInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ space: await community.createSpace(ctx.viewer, input) }),
  }),
  updateSpace: t.field({
    type: SpacePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Omitted fields keep their value.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateSpaceInput, required: true }) },
    resolve: async (_root, { input: { spaceId, ...changes } }, ctx) => ({
      space: await community.updateSpace(ctx.viewer, decodeId(spaceId, ['Space'], 'input.spaceId').id, changes),
    }),
  }),
  createThread: t.field({
    type: ThreadPayload,
    description: 'Signed in and not suspended, in a space you can see. Automod may block it (AutomodBlockedError) or hold it for a moderator (moderation.status HELD).',
    errors: { types: SCREENED_WRITE_ERRORS },
    args: { input: t.arg({ type: CreateThreadInput, required: true }) },
    resolve: async (_root, { input: { spaceId, ...fields } }, ctx) => ({
      thread: await community.createThread(ctx.viewer, decodeId(spaceId, ['Space'], 'input.spaceId').id, fields),
    }),
  }),
  editThread: t.field({
    type: ThreadPayload,
    description: "The author or a moderator; a wiki thread's body also members of trustLevelRules.wikiEditLevel and above. The previous version is kept in `revisions`.",
    errors: { types: SCREENED_WRITE_ERRORS },
    args: { input: t.arg({ type: EditThreadInput, required: true }) },
    resolve: async (_root, { input: { threadId, ...changes } }, ctx) => ({
      thread: await community.editThread(ctx.viewer, decodeId(threadId, ['Thread'], 'input.threadId').id, changes),
    }),
  }),
  setThreadWiki: t.field({
    type: ThreadPayload,
    description: "The thread's author or a moderator, while it is open. A wiki thread's body may also be edited by members of trustLevelRules.wikiEditLevel and above (revisions kept as for any edit).",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetThreadWikiInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      thread: await community.setThreadWiki(ctx.viewer, decodeId(input.threadId, ['Thread'], 'input.threadId').id, input.wiki),
    }),
  }),
  replyToThread: t.field({
    type: PostPayload,
    description: 'Signed in and not suspended, in a thread you can see that is not locked (moderators may reply to locked ones). Automod screens it as it does threads.',
    errors: { types: SCREENED_WRITE_ERRORS },
    args: { input: t.arg({ type: ReplyToThreadInput, required: true }) },
    resolve: async (_root, { input: { threadId, body } }, ctx) => ({
      post: await community.replyToThread(ctx.viewer, decodeId(threadId, ['Thread'], 'input.threadId').id, { body }),
    }),
  }),
  editPost: t.field({
    type: PostPayload,
    description: "The author or a moderator; a wiki thread's body also members of trustLevelRules.wikiEditLevel and above. The previous version is kept in `revisions`.",
    errors: { types: SCREENED_WRITE_ERRORS },
    args: { input: t.arg({ type: EditPostInput, required: true }) },
    resolve: async (_root, { input: { postId, body } }, ctx) => ({
      post: await community.editPost(ctx.viewer, decodeId(postId, ['Post'], 'input.postId').id, { body }),
    }),
  }),
  markAsAnswer: t.field({
    type: ThreadPayload,
    description: "The thread's author or a moderator.",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: MarkAsAnswerInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      thread: await community.markAsAnswer(ctx.viewer, decodeId(input.postId, ['Post'], 'input.postId').id),
    }),
  }),
  addReaction: t.field({
    type: ReactionPayload,
    description: 'Idempotent: reacting twice with the same content counts once.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ReactionInput, required: true }) },
    resolve: changeReaction(community.addReaction),
  }),
  removeReaction: t.field({
    type: ReactionPayload,
    description: 'Idempotent: removing a reaction you do not have changes nothing.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ReactionInput, required: true }) },
    resolve: changeReaction(community.removeReaction),
  }),
}));
