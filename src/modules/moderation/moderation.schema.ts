import { brandWithType } from '@pothos/core';
import { builder, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { AppealStatus, LockReason, ModerationActionKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { HideClassifierEnum, PostType, ThreadType } from '../community/community.schema.js';
import { UserType } from '../identity/identity.schema.js';
import * as actions from './actions.js';
import * as appeals from './appeals.js';
import * as log from './log.js';
import * as policy from './policy.js';
import * as subjects from './subjects.js';

// ---- Enums ---------------------------------------------------------------------------------------

const LockReasonEnum = builder.enumType(LockReason, {
  name: 'LockReason',
  description: 'Why a thread was locked.',
  values: {
    OFF_TOPIC: { description: 'The discussion strayed from its subject.' },
    TOO_HEATED: { description: 'The discussion turned hostile.' },
    RESOLVED: { description: 'The question is settled.' },
    SPAM: { description: 'The thread draws spam.' },
  },
});
const ModerationActionKindEnum = builder.enumType(ModerationActionKind, {
  name: 'ModerationActionKind',
  description: 'APPROVE publishes content automod held. APPEAL_UPHELD / APPEAL_REVERSED record the decision on an appeal.',
  values: {
    HIDE: { description: 'Content collapsed with a classifier (hideContent, bulkModerate).' },
    REMOVE: { description: 'Content removed: only its author and moderators see it.' },
    RESTORE: { description: 'Hidden or removed content made visible again.' },
    APPROVE: { description: 'Content automod held, published: restoreContent on it, or its queue item dismissed.' },
    LOCK: { description: 'Thread locked (lockThread).' },
    UNLOCK: { description: 'Thread unlocked (unlockThread).' },
    WARN: { description: 'User warned (warnUser).' },
    SUSPEND: { description: 'User suspended until `until` (suspendUser).' },
    UNSUSPEND: { description: 'Suspension ended early (unsuspendUser).' },
    APPEAL_UPHELD: { description: 'An appeal was refused; the action stands.' },
    APPEAL_REVERSED: { description: 'An appeal was granted; the action was undone where it still applied.' },
  },
});
const AppealStatusEnum = builder.enumType(AppealStatus, {
  name: 'AppealStatus',
  description: 'Where an appeal stands.',
  values: {
    PENDING: { description: 'Waiting for a moderator.' },
    UPHELD: { description: 'Refused: the action stands.' },
    REVERSED: { description: 'Granted: the action was undone where it still applied.' },
  },
});
const AppealDecisionEnum = builder.enumType('AppealDecision', {
  values: {
    UPHELD: { description: 'The action stands.' },
    REVERSED: { description: 'The action is undone, where it still applies.' },
  } as const,
  description: 'REVERSED undoes the action (restores, unlocks or unsuspends).',
});
const BulkModerationActionEnum = builder.enumType('BulkModerationAction', {
  description: 'What bulkModerate does to every subject.',
  values: {
    HIDE: { description: 'Collapse, with the given classifier.' },
    REMOVE: { description: 'Remove: only authors and moderators see it afterwards.' },
    RESTORE: { description: 'Make visible again; held content is approved (an APPROVE entry).' },
  } as const,
});

// ---- Subjects (polymorphic: a Thread, Post or User), batched per request ---------------------------

const SUBJECT_TYPES = { Thread: ThreadType, Post: PostType, User: UserType };

/** The subject as the viewer may see it (null if not), one statement per type per request. */
export async function loadSubject(ctx: Context, typename: string, id: number): Promise<object | null> {
  const type = typename as subjects.SubjectRef['typename'];
  const record = await loader(ctx, `moderationSubject:${type}`, (ids: readonly number[]) =>
    subjects.loadSubjects(ctx.viewer, type, ids),
  ).load(id);
  if (record) brandWithType(record, SUBJECT_TYPES[type]);
  return record;
}

// ---- Types -----------------------------------------------------------------------------------------

export const ModerationActionType = builder.prismaNode('ModerationAction', {
  id: { field: 'id' },
  nullable: true,
  description:
    'One entry of the moderation log. Members see entries about content they can see and about themselves: what and why; who acted only moderators see.',
  findUnique: visibleNode('ModerationAction', (ctx) => policy.actionVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    kind: t.expose('kind', { type: ModerationActionKindEnum, description: 'What was done.' }),
    subject: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description: 'The thread, post or user acted on; null if you cannot see it.',
      resolve: (action, _args, ctx) => loadSubject(ctx, action.subjectType, action.subjectId),
    }),
    reason: t.exposeString('reason', { description: "The moderator's words; for LOCK, the note, or else the lock reason." }),
    classifier: t.expose('classifier', { type: HideClassifierEnum, nullable: true, description: 'HIDE (and bulk HIDE) only; null otherwise.' }),
    lockReason: t.expose('lockReason', { type: LockReasonEnum, nullable: true, description: 'LOCK only; null otherwise.' }),
    until: t.expose('until', { type: 'DateTime', nullable: true, description: 'End of a suspension.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the action was taken.' }),
    targetUser: t.relation('targetUser', { description: 'The author of the content, or the user acted on.' }),
    moderator: t.field({
      type: UserType,
      nullable: true,
      description: 'Who acted: moderators only.',
      select: { actor: true },
      resolve: (action, _args, ctx) => (policy.isModerator(ctx.viewer) ? action.actor : null),
    }),
    appeal: t.field({
      type: AppealType,
      nullable: true,
      description: 'The appeal against this action: for moderators and the user acted on.',
      select: { appeal: true },
      resolve: (action, _args, ctx) => (policy.canSeeActionDetails(ctx.viewer, action) ? action.appeal : null),
    }),
    decidedAppeal: t.field({
      type: AppealType,
      nullable: true,
      description: 'For APPEAL_UPHELD / APPEAL_REVERSED: the appeal decided.',
      select: { decidedAppeal: true },
      resolve: (action, _args, ctx) => (policy.canSeeActionDetails(ctx.viewer, action) ? action.decidedAppeal : null),
    }),
  }),
});

export const AppealType = builder.prismaNode('Appeal', {
  id: { field: 'id' },
  nullable: true,
  description: 'An appeal: its appellant and moderators can read it.',
  findUnique: visibleNode('Appeal', (ctx) => policy.appealVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    action: t.relation('action', { description: 'The moderation log entry appealed against.' }),
    appellant: t.relation('appellant', { description: 'The user the action was taken against.' }),
    message: t.exposeString('message', { description: "The appellant's case, 1 to 2000 characters." }),
    status: t.expose('status', { type: AppealStatusEnum, description: 'Pending, or how it was decided.' }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true, description: 'When it was decided; null while PENDING.' }),
    decision: t.relation('decision', { nullable: true, description: 'The log entry with the decision and its reason.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was filed.' }),
  }),
});

// ---- Queries -----------------------------------------------------------------------------------------

const LogFilter = builder.inputType('ModerationLogFilter', {
  description: 'Narrows the moderation log; the given conditions must all hold.',
  fields: (t) => ({
    subjectId: t.id({ description: 'Entries about this thread, post or user.' }),
    userId: t.id({ description: 'Entries about this user or their content.' }),
    kinds: t.field({ type: [ModerationActionKindEnum], description: 'Only these kinds; all when omitted.' }),
    spaceId: t.id({ description: 'Entries about content in this space.' }),
  }),
});

export const subjectRef = (id: string, path: string): subjects.SubjectRef => decodeId(id, ['Thread', 'Post', 'User'] as const, path);
const contentRef = (id: string, path: string) => decodeId(id, ['Thread', 'Post'] as const, path);

builder.queryFields((t) => ({
  moderationLog: t.prismaConnection({
    type: 'ModerationAction',
    cursor: 'id',
    description: 'Newest first. Moderators see everything; others the entries about content they can see and about themselves.',
    args: { filter: t.arg({ type: LogFilter, description: 'Omitted: every entry you may see.' }) },
    resolve: (query, _root, args, ctx) => {
      return prisma().moderationAction.findMany({ ...query, where: logWhere(ctx, args.filter), orderBy: { id: 'desc' } });
    },
    totalCount: (_root, args, ctx) => prisma().moderationAction.count({ where: logWhere(ctx, args.filter) }),
  }, { name: 'ModerationLogConnection' }, { name: 'ModerationLogEdge' }),
  moderationAppeals: t.prismaConnection({
    type: 'Appeal',
    cursor: 'id',
    description: 'MODERATOR and above: appeals, oldest first.',
    args: { status: t.arg({ type: AppealStatusEnum, description: 'Only appeals in this status; omitted: all.' }) },
    resolve: (query, _root, args, ctx) => {
      return prisma().appeal.findMany({ ...query, where: appeals.appealListWhere(ctx.viewer, args.status), orderBy: { id: 'asc' } });
    },
    totalCount: (_root, args, ctx) => prisma().appeal.count({ where: appeals.appealListWhere(ctx.viewer, args.status) }),
  }, { name: 'AppealConnection' }, { name: 'AppealEdge' }),
}));

type LogFilterArg = { subjectId?: string | null; userId?: string | null; kinds?: ModerationActionKind[] | null; spaceId?: string | null } | null | undefined;
function logWhere(ctx: Context, filter: LogFilterArg) {
  return log.logWhere(ctx.viewer, {
    subject: filter?.subjectId ? subjectRef(filter.subjectId, 'filter.subjectId') : undefined,
    targetUserId: filter?.userId ? decodeId(filter.userId, ['User'], 'filter.userId').id : undefined,
    kinds: filter?.kinds ?? undefined,
    spaceId: filter?.spaceId ? decodeId(filter.spaceId, ['Space'], 'filter.spaceId').id : undefined,
  });
}

// ---- Mutations -----------------------------------------------------------------------------------------

const HideContentInput = builder.inputType('HideContentInput', {
  description: 'Content to collapse, and why. Hidden content can be hidden again with another classifier.',
  fields: (t) => ({
    subjectId: t.id({ required: true, description: 'A Thread or Post id.' }),
    classifier: t.field({ type: HideClassifierEnum, required: true, description: 'Shown to everyone in place of the content.' }),
    reason: t.string({ required: true, description: 'Why: 1 to 1000 characters, kept in the moderation log.' }),
  }),
});
const ContentActionInput = builder.inputType('ContentActionInput', {
  description: 'A thread or post to act on, and why.',
  fields: (t) => ({
    subjectId: t.id({ required: true, description: 'A Thread or Post id.' }),
    reason: t.string({ required: true, description: 'Why: 1 to 1000 characters, kept in the moderation log.' }),
  }),
});
const LockThreadInput = builder.inputType('LockThreadInput', {
  description: 'An OPEN thread to lock, and why.',
  fields: (t) => ({
    threadId: t.id({ required: true, description: 'The global id of the Thread.' }),
    reason: t.field({ type: LockReasonEnum, required: true, description: "Kept as the log entry's lockReason." }),
    note: t.string({ description: 'More about why, up to 1000 characters (the log shows it as the reason).' }),
  }),
});
const REASON = 'Why: 1 to 1000 characters, kept in the moderation log.';
const UnlockThreadInput = builder.inputType('UnlockThreadInput', {
  description: 'A LOCKED thread to unlock, and why.',
  fields: (t) => ({ threadId: t.id({ required: true, description: 'The global id of the Thread.' }), reason: t.string({ required: true, description: REASON }) }),
});
const UserActionInput = builder.inputType('UserActionInput', {
  description: 'A user to act on (not yourself), and why.',
  fields: (t) => ({ userId: t.id({ required: true, description: 'The global id of the User.' }), reason: t.string({ required: true, description: REASON }) }),
});
const SuspendUserInput = builder.inputType('SuspendUserInput', {
  description: 'A MEMBER to suspend (staff cannot be suspended), until when, and why.',
  fields: (t) => ({
    userId: t.id({ required: true, description: 'The global id of the User.' }),
    until: t.field({ type: 'DateTime', required: true, description: 'In the future, within 10 years.' }),
    reason: t.string({ required: true, description: REASON }),
  }),
});
const BulkModerateInput = builder.inputType('BulkModerateInput', {
  description: 'One action, with one reason, on many threads and posts.',
  fields: (t) => ({
    subjectIds: t.idList({ required: true, description: '1 to 100 Thread or Post ids, each once.' }),
    action: t.field({ type: BulkModerationActionEnum, required: true, description: 'What to do to every subject.' }),
    classifier: t.field({ type: HideClassifierEnum, description: 'Required for HIDE.' }),
    reason: t.string({ required: true, description: 'Why: 1 to 1000 characters, kept in every log entry.' }),
  }),
});
const AppealInput = builder.inputType('AppealModerationActionInput', {
  description: 'An appeal against a HIDE, REMOVE, LOCK, WARN or SUSPEND entry taken against you.',
  fields: (t) => ({
    actionId: t.id({ required: true, description: 'The ModerationAction appealed against.' }),
    message: t.string({ required: true, description: '1 to 2000 characters.' }),
  }),
});
const ResolveAppealInput = builder.inputType('ResolveAppealInput', {
  description: 'The decision on a PENDING appeal.',
  fields: (t) => ({
    appealId: t.id({ required: true, description: 'The global id of the Appeal.' }),
    decision: t.field({ type: AppealDecisionEnum, required: true, description: 'Whether the action stands or is undone.' }),
    reason: t.string({ required: true, description: 'Why: 1 to 1000 characters, kept in the log entry of the decision.' }),
  }),
});

const ModerationActionPayload = builder.simpleObject('ModerationActionPayload', {
  description: 'What a moderation action answers when it succeeds: the log entry it wrote.',

  fields: (t) => ({ action: t.field({ type: ModerationActionType, description: 'The log entry written.' }) }),
});
const BulkModeratePayload = builder.simpleObject('BulkModeratePayload', {
  description: 'What bulkModerate answers when it succeeds.',

  fields: (t) => ({ actions: t.field({ type: [ModerationActionType], description: 'One log entry per subject, in input order.' }) }),
});
const AppealPayload = builder.simpleObject('AppealPayload', { fields: (t) => ({ appeal: t.field({ type: AppealType }) }) });
builder.mutationFields((t) => ({
  hideContent: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above: collapse a thread or post for everyone but its author and moderators.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: HideContentInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.hideContent(ctx.viewer, contentRef(input.subjectId, 'input.subjectId'), input),
    }),
  }),
  removeContent: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above: only its author and moderators see it afterwards.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ContentActionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.removeContent(ctx.viewer, contentRef(input.subjectId, 'input.subjectId'), input),
    }),
  }),
  restoreContent: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above: makes hidden, removed or held (automod) content visible again.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ContentActionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.restoreContent(ctx.viewer, contentRef(input.subjectId, 'input.subjectId'), input),
    }),
  }),
  lockThread: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above: members can no longer reply or edit.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: LockThreadInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.lockThread(ctx.viewer, decodeId(input.threadId, ['Thread'], 'input.threadId').id, input),
    }),
  }),
  unlockThread: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above: members can reply and edit again.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UnlockThreadInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.unlockThread(ctx.viewer, decodeId(input.threadId, ['Thread'], 'input.threadId').id, input),
    }),
  }),
  warnUser: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above: a warning with its reason, in the moderation log, where the warned user can read it too.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UserActionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.warnUser(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id, input),
    }),
  }),
  suspendUser: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above, on members: no writes, reactions or reports until `until`; their live subscriptions end.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SuspendUserInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.suspendUser(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id, input),
    }),
  }),
  unsuspendUser: t.field({
    type: ModerationActionPayload,
    description: 'MODERATOR and above: ends a suspension before its `until`.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UserActionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      action: await actions.unsuspendUser(ctx.viewer, decodeId(input.userId, ['User'], 'input.userId').id, input),
    }),
  }),
  bulkModerate: t.field({
    type: BulkModeratePayload,
    description: 'MODERATOR and above: one action on up to 100 threads and posts, all or nothing.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: BulkModerateInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      actions: await actions.bulkModerate(
        ctx.viewer,
        input.subjectIds.map((id, i) => contentRef(id, `input.subjectIds.${i}`)),
        input,
      ),
    }),
  }),
  appealModerationAction: t.field({
    type: AppealPayload,
    description: 'The author of the moderated content, or the user warned or suspended; once per action.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AppealInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      appeal: await appeals.appealModerationAction(ctx.viewer, decodeId(input.actionId, ['ModerationAction'], 'input.actionId').id, input),
    }),
  }),
  resolveAppeal: t.field({
    type: AppealPayload,
    description: 'MODERATOR and above, other than the moderator who acted (ADMIN excepted).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ResolveAppealInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      appeal: await appeals.resolveAppeal(ctx.viewer, decodeId(input.appealId, ['Appeal'], 'input.appealId').id, input),
    }),
  }),
}));
