import { builder, sharedConnection, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { QueueItemStatus, ReportReason, ReportStatus } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { UserType } from '../identity/identity.schema.js';
import * as enqueue from './enqueue.js';
import { loadSubject, subjectRef } from './moderation.schema.js';
import * as policy from './policy.js';
import * as queue from './queue.js';

// Reports and the moderation queue's GraphQL (rules in queue.ts).

const ReportReasonEnum = builder.enumType(ReportReason, {
  name: 'ReportReason',
  description: 'OTHER needs a note.',
  values: {
    SPAM: { description: 'Advertising or other unsolicited content.' },
    ABUSE: { description: 'Insulting or offensive.' },
    HARASSMENT: { description: 'Targets a person, repeatedly or threateningly.' },
    OFF_TOPIC: { description: 'Does not belong where it was posted.' },
    MISINFORMATION: { description: 'False or misleading.' },
    ILLEGAL: { description: 'Against the law.' },
    OTHER: { description: 'Something else, said in the note.' },
  },
});
const ReportStatusEnum = builder.enumType(ReportStatus, {
  name: 'ReportStatus',
  description: 'OPEN while moderators look at it; then the outcome: ACTION_TAKEN or DISMISSED.',
  values: {
    OPEN: { description: 'Moderators have not decided yet.' },
    ACTION_TAKEN: { description: 'Moderators acted on it.' },
    DISMISSED: { description: 'Moderators found nothing to do.' },
  },
});
const QueueItemStatusEnum = builder.enumType(QueueItemStatus, {
  name: 'QueueItemStatus',
  description: 'A claim that expired counts as OPEN again.',
  values: {
    OPEN: { description: 'Waiting for a moderator; anyone may claim it.' },
    CLAIMED: { description: 'A moderator holds it until claimExpiresAt.' },
    RESOLVED: { description: 'Closed with ACTION_TAKEN.' },
    DISMISSED: { description: 'Closed with nothing to do.' },
  },
});
const QueueResolutionEnum = builder.enumType('QueueResolution', {
  description: "How a queue item ends; its reports take the same outcome, which their reporters see.",
  values: {
    ACTION_TAKEN: { description: 'Something was done about it: the item becomes RESOLVED.' },
    DISMISSED: { description: 'Nothing to do: the item becomes DISMISSED, and content automod held is published.' },
  } as const,
});

export const ReportType = builder.prismaNode('Report', {
  id: { field: 'id' },
  nullable: true,
  description: 'A report: its reporter and moderators can read it.',
  findUnique: visibleNode('Report', (ctx) => policy.reportVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    subject: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description: 'The thread, post or user reported; null if you can no longer see it.',
      resolve: (report, _args, ctx) => loadSubject(ctx, report.subjectType, report.subjectId),
    }),
    reason: t.expose('reason', { type: ReportReasonEnum, description: 'Why it was reported.' }),
    note: t.exposeString('note', { nullable: true, description: "The reporter's own words; null if none were given." }),
    status: t.expose('status', { type: ReportStatusEnum, description: 'The outcome, once moderators resolved it.' }),
    reporter: t.relation('reporter', { description: 'Who reported it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was reported.' }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true, description: 'When its queue item was resolved or dismissed; null while OPEN.' }),
  }),
});

// Reports are paged per queue item and per reporter (myReports).
const ReportConnection = sharedConnection(ReportType, 'Report');

export const QueueItemType = builder.prismaNode('ModerationQueueItem', {
  id: { field: 'id' },
  nullable: true,
  description: 'One subject to review, fed by reports and automod. Moderators only.',
  findUnique: visibleNode('ModerationQueueItem', (ctx) => policy.queueItemVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    subject: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description: 'The thread, post or user to review.',
      resolve: (item, _args, ctx) => loadSubject(ctx, item.subjectType, item.subjectId),
    }),
    status: t.field({ type: QueueItemStatusEnum, description: 'As of now: an expired claim reads OPEN.', resolve: (item) => queue.effectiveQueueStatus(item) }),
    priority: t.float({
      description: "Sum of the reporters' flag weights, from their trust level (TL0 0.5, TL1 1, TL2 1.25, TL3 1.5, TL4 2), and automod flags (1 each), plus 1 per day waiting.",
      resolve: (item) => enqueue.queuePriority(item),
    }),
    reportCount: t.exposeInt('reportCount', { description: 'Reports this item gathered; 0 when only automod put it here.' }),
    reasons: t.field({
      type: [ReportReasonEnum],
      description: 'The distinct reasons given by reporters.',
      // A loader, not a relation selection: `reports` is also selected (paged) by the connection.
      resolve: (item, _args, ctx) =>
        loader(ctx, 'queueItemReasons', (ids: readonly number[]) => queue.reasonsOfItems(ids)).load(item.id),
    }),
    reports: t.relatedConnection('reports', {
      cursor: 'id',
      totalCount: true,
      description: 'Oldest first.',
      query: () => ({ orderBy: { id: 'asc' } }),
    }, ReportConnection),
    automodRule: t.relation('automodRule', { nullable: true, description: 'The automod rule that flagged or held it.' }),
    claimedBy: t.field({
      type: UserType,
      nullable: true,
      description: 'The moderator holding it, while the claim lasts.',
      select: { claimedBy: true },
      resolve: (item) => (queue.effectiveQueueStatus(item) === 'CLAIMED' ? item.claimedBy : null),
    }),
    claimExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the current claim ends; null unless CLAIMED.',
      resolve: (item) => (queue.effectiveQueueStatus(item) === 'CLAIMED' ? item.claimExpiresAt : null),
    }),
    space: t.relation('space', { nullable: true, description: "The subject's space; null for a user." }),
    resolvedBy: t.relation('resolvedBy', { nullable: true, description: 'Who resolved or dismissed it; null while open.' }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true, description: 'null while open.' }),
    resolutionNote: t.exposeString('resolutionNote', { nullable: true, description: "The resolving moderator's note; null if none." }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it entered the queue.' }),
  }),
});

const QueueFilter = builder.inputType('ModerationQueueFilter', {
  description: 'Narrows the moderation queue; the given conditions must all hold.',
  fields: (t) => ({
    status: t.field({ type: QueueItemStatusEnum, description: 'Without it: OPEN and CLAIMED items (the work to do).' }),
    reason: t.field({ type: ReportReasonEnum, description: 'Items with at least one report for this reason.' }),
    spaceId: t.id({ description: 'Items about content in this space.' }),
  }),
});

builder.queryFields((t) => ({
  moderationQueue: t.prismaConnection({
    type: 'ModerationQueueItem',
    cursor: 'id',
    description: 'MODERATOR and above. Highest priority first, then oldest first.',
    args: { filter: t.arg({ type: QueueFilter, description: 'Omitted: OPEN and CLAIMED items.' }) },
    resolve: (query, _root, args, ctx) => {
      return prisma().moderationQueueItem.findMany({ ...query, where: queueWhere(ctx, args.filter), orderBy: queue.QUEUE_ORDER });
    },
    totalCount: (_root, args, ctx) => prisma().moderationQueueItem.count({ where: queueWhere(ctx, args.filter) }),
  }, { name: 'ModerationQueueConnection' }, { name: 'ModerationQueueEdge' }),
  myReports: t.prismaConnection({
    type: 'Report',
    cursor: 'id',
    description: 'Your reports, newest first, with their outcome.',
    resolve: (query, _root, args, ctx) => {
      return prisma().report.findMany({ ...query, where: myReportsWhere(ctx), orderBy: { id: 'desc' } });
    },
    totalCount: (_root, _args, ctx) => prisma().report.count({ where: myReportsWhere(ctx) }),
  }, ReportConnection),
}));

type QueueFilterArg = { status?: queue.QueueStatus | null; reason?: ReportReason | null; spaceId?: string | null } | null | undefined;
function queueWhere(ctx: Context, filter: QueueFilterArg) {
  return queue.queueWhere(ctx.viewer, {
    status: filter?.status,
    reason: filter?.reason,
    spaceId: filter?.spaceId ? decodeId(filter.spaceId, ['Space'], 'filter.spaceId').id : undefined,
  });
}

function myReportsWhere(ctx: Context) {
  return queue.myReportsWhere(ctx.viewer);
}

const ReportContentInput = builder.inputType('ReportContentInput', {
  description: 'A report of something you can see, not your own.',
  fields: (t) => ({
    subjectId: t.id({ required: true, description: 'A Thread, Post or User id.' }),
    reason: t.field({ type: ReportReasonEnum, required: true, description: 'OTHER needs a note.' }),
    note: t.string({ description: 'Required when the reason is OTHER; up to 1000 characters.' }),
  }),
});
const QueueItemInput = builder.inputType('ClaimQueueItemInput', {
  description: 'The queue item to claim; claiming your own claim again extends it.',
  fields: (t) => ({ itemId: t.id({ required: true, description: 'The global id of the ModerationQueueItem.' }) }),
});
const ReleaseQueueItemInput = builder.inputType('ReleaseQueueItemInput', {
  description: 'The claimed queue item to release.',
  fields: (t) => ({ itemId: t.id({ required: true, description: 'The global id of the ModerationQueueItem.' }) }),
});
const ResolveQueueItemInput = builder.inputType('ResolveQueueItemInput', {
  description: 'How a queue item ends.',
  fields: (t) => ({
    itemId: t.id({ required: true, description: 'The global id of the ModerationQueueItem.' }),
    resolution: t.field({ type: QueueResolutionEnum, required: true, description: 'Whether something was done about it.' }),
    note: t.string({ description: 'Up to 1000 characters, kept as resolutionNote.' }),
  }),
});

const ReportPayload = builder.simpleObject('ReportPayload', { fields: (t) => ({ report: t.field({ type: ReportType }) }) });
const QueueItemPayload = builder.simpleObject('QueueItemPayload', { fields: (t) => ({ item: t.field({ type: QueueItemType }) }) });

builder.mutationFields((t) => ({
  reportContent: t.field({
    type: ReportPayload,
    description: 'Report a thread, post or user. Reporting the same subject again while your report is open returns that report.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ReportContentInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      report: await queue.reportContent(ctx.viewer, subjectRef(input.subjectId, 'input.subjectId'), input),
    }),
  }),
  claimQueueItem: t.field({
    type: QueueItemPayload,
    description: 'MODERATOR and above. One moderator at a time; the claim expires after MODERATION_CLAIM_TTL_MINUTES.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: QueueItemInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      item: await queue.claimQueueItem(ctx.viewer, decodeId(input.itemId, ['ModerationQueueItem'], 'input.itemId').id),
    }),
  }),
  releaseQueueItem: t.field({
    type: QueueItemPayload,
    description:
      'Gives up a live claim: the item is OPEN again and anyone may claim it at once. The moderator holding the claim releases it; a COMMUNITY_MANAGER or ADMIN may release anyone\'s (ForbiddenError for others). An item not claimed (or whose claim expired), resolved or dismissed is a ConflictError.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ReleaseQueueItemInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      item: await queue.releaseQueueItem(ctx.viewer, decodeId(input.itemId, ['ModerationQueueItem'], 'input.itemId').id),
    }),
  }),
  resolveQueueItem: t.field({
    type: QueueItemPayload,
    description:
      'MODERATOR and above, on an item open, claimed by you, or whose claim expired. Reporters see the outcome. DISMISSED on held content publishes it as of now: a held reply then counts in its thread\'s replyCount and lastActivityAt.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ResolveQueueItemInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      item: await queue.resolveQueueItem(ctx.viewer, decodeId(input.itemId, ['ModerationQueueItem'], 'input.itemId').id, input),
    }),
  }),
}));
