import { builder, sharedConnection, WRITE_ERRORS } from '../../builder.js';
import { loader } from '../../context.js';
import { prisma } from '../../db/client.js';
import { CaseEventKind, CaseRating, CaseStatus, SlaMetric } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { ThreadType } from '../community/community.schema.js';
import { canSeeThread } from '../community/visibility.js';
import * as cases from './cases.js';
import { slaView, type SlaView } from './sla.js';
import { RoutingRuleType } from './routing.schema.js';
import { CasePriorityEnum } from './support.schema.js';

export const CaseStatusEnum = builder.enumType(CaseStatus, {
  name: 'CaseStatus',
  description: 'PENDING waits on the requester, ON_HOLD on a third party: SLA clocks stop in both.',
});
const CaseRatingEnum = builder.enumType(CaseRating, { name: 'CaseRating' });
const CaseTimelineKindEnum = builder.enumType(CaseEventKind, { name: 'CaseTimelineKind' });

export const SlaMetricEnum = builder.enumType(SlaMetric, { name: 'SlaMetric' });

const CaseSlaType = builder.objectRef<SlaView>('CaseSla').implement({
  description:
    "The case's SLA clocks, in its department's business hours. A due time is null when that clock is not running: met, not applicable (no target for this priority on the channel), or paused while the case is PENDING or ON_HOLD.",
  fields: (t) => ({
    firstResponseDueAt: t.expose('firstResponseDueAt', { type: 'DateTime', nullable: true }),
    nextResponseDueAt: t.expose('nextResponseDueAt', { type: 'DateTime', nullable: true, description: "For the requester's latest unanswered message." }),
    periodicUpdateDueAt: t.expose('periodicUpdateDueAt', { type: 'DateTime', nullable: true, description: 'The next update owed to the requester.' }),
    resolutionDueAt: t.expose('resolutionDueAt', { type: 'DateTime', nullable: true }),
    atRisk: t.field({ type: [SlaMetricEnum], description: '80% of the time used, not yet due.', resolve: (sla) => sla.atRisk }),
    breaches: t.field({ type: [SlaMetricEnum], description: 'Clocks that ran out, now or in an earlier cycle.', resolve: (sla) => sla.breaches }),
    paused: t.exposeBoolean('paused'),
    pausedBusinessMinutes: t.exposeInt('pausedBusinessMinutes', { description: 'Business time spent PENDING or ON_HOLD so far (finished pauses).' }),
  }),
});

/** The departments the viewer belongs to, loaded once per request. */
const viewerDepartments = (ctx: Parameters<typeof loader>[0]) =>
  loader(ctx, 'viewerDepartmentIds', async (keys: readonly number[]) => {
    const ids = await cases.viewerDepartmentIds(ctx.viewer);
    return keys.map(() => ids);
  }).load(0);

export const SupportCaseType = builder.prismaNode('SupportCase', {
  id: { field: 'id' },
  nullable: true,
  description: 'A support request. Seen by its requester, the members of its department, managers and admins.',
  findUnique: (id, ctx) => ({ id: Number(id), AND: [cases.caseVisibleWhere(ctx.viewer)] }),
  fields: (t) => ({
    number: t.exposeInt('number', { description: 'Sequential, what people quote: "case #42".' }),
    subject: t.exposeString('subject'),
    status: t.expose('status', { type: CaseStatusEnum }),
    priority: t.expose('priority', { type: CasePriorityEnum }),
    tags: t.exposeStringList('tags'),
    requester: t.relation('requester'),
    channel: t.relation('channel'),
    department: t.relation('department'),
    assignee: t.relation('assignee', { nullable: true }),
    thread: t.field({
      type: ThreadType,
      nullable: true,
      description: 'The forum thread the case was opened from, if you can see it (not once removed, unless you moderate or wrote it).',
      select: { thread: { include: { space: { select: { visibility: true } } } } },
      resolve: (kase, _args, ctx) => (kase.thread && canSeeThread(ctx.viewer, kase.thread) ? kase.thread : null),
    }),
    routingRule: t.field({
      type: RoutingRuleType,
      nullable: true,
      description: 'Staff of the case: the routing rule that matched when it opened (null for others, or if none did).',
      select: { routingRule: true },
      resolve: async (kase, _args, ctx) =>
        kase.routingRule && cases.isStaffOfCase(ctx.viewer, kase.departmentId, await viewerDepartments(ctx)) ? kase.routingRule : null,
    }),
    sla: t.field({
      type: CaseSlaType,
      select: { slaClocks: true },
      resolve: (kase) => slaView(kase, kase.slaClocks, new Date()),
    }),
    viewerIsStaff: t.boolean({
      description: 'Whether you handle this case (a member of its department, a manager or an admin).',
      resolve: async (kase, _args, ctx) => cases.isStaffOfCase(ctx.viewer, kase.departmentId, await viewerDepartments(ctx)),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    firstResponseAt: t.expose('firstResponseAt', { type: 'DateTime', nullable: true, description: 'First public reply from the team.' }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true }),
    rating: t.expose('rating', { type: CaseRatingEnum, nullable: true }),
    ratingComment: t.exposeString('ratingComment', { nullable: true }),
    timeline: t.relatedConnection(
      'events',
      {
        cursor: 'id',
        totalCount: true,
        description:
          'Every change, oldest first, in plain words. The requester sees what concerns them: never internal notes, escalations, routing or SLA alerts, nor reasons marked internal.',
        query: (_args, ctx) => ({ where: cases.timelineVisibleWhere(ctx.viewer), orderBy: { id: 'asc' } }),
      },
      { name: 'CaseTimelineConnection' },
      { name: 'CaseTimelineEdge' },
    ),
    messages: t.relatedConnection(
      'messages',
      {
        cursor: 'id',
        totalCount: true,
        description: 'Oldest first. Internal notes are included for staff of the case only.',
        query: (_args, ctx) => ({ where: cases.messageVisibleWhere(ctx.viewer), orderBy: { id: 'asc' } }),
      },
      { name: 'CaseMessageConnection' },
      { name: 'CaseMessageEdge' },
    ),
  }),
});

// Requesters (myCases) and staff (supportCases) page the same cases.
const SupportCaseConnection = sharedConnection(SupportCaseType, 'SupportCase');

export const CaseMessageType = builder.prismaNode('CaseMessage', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id: Number(id), AND: [cases.messageVisibleWhere(ctx.viewer)] }),
  fields: (t) => ({
    body: t.exposeString('body'),
    internal: t.exposeBoolean('internal', { description: 'An internal note: never shown to the requester.' }),
    author: t.relation('author'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    supportCase: t.relation('case'),
  }),
});

export const CaseTimelineEntryType = builder.prismaNode('CaseEvent', {
  name: 'CaseTimelineEntry',
  id: { field: 'id' },
  nullable: true,
  description: 'One change to a case, in plain words. Internal entries are shown to staff of the case only.',
  findUnique: (id, ctx) => ({ id: Number(id), AND: [cases.timelineVisibleWhere(ctx.viewer)] }),
  fields: (t) => ({
    kind: t.expose('kind', { type: CaseTimelineKindEnum }),
    summary: t.exposeString('summary'),
    internal: t.exposeBoolean('internal'),
    actor: t.relation('actor', { nullable: true }),
    occurredAt: t.expose('createdAt', { type: 'DateTime' }),
    reason: t.string({
      nullable: true,
      description: 'Why (a transfer, an escalation, …). A reason marked internal is null for the requester.',
      select: { case: { select: { departmentId: true } } },
      resolve: async (entry, _args, ctx) =>
        !entry.reasonInternal || cases.isStaffOfCase(ctx.viewer, entry.case.departmentId, await viewerDepartments(ctx)) ? entry.reason : null,
    }),
    message: t.relation('message', { nullable: true }),
    supportCase: t.relation('case'),
  }),
});

// ---- Queries ----------------------------------------------------------------------------------

const CaseFilterInput = builder.inputType('SupportCaseFilter', {
  fields: (t) => ({
    departmentId: t.id(),
    statuses: t.field({ type: [CaseStatusEnum] }),
    priorities: t.field({ type: [CasePriorityEnum] }),
    assigneeId: t.id(),
    unassigned: t.boolean({ description: 'Only cases no one is handling.' }),
  }),
});

type CaseFilterArg = {
  departmentId?: string | null;
  statuses?: CaseStatus[] | null;
  priorities?: (typeof CasePriorityEnum.$inferType)[] | null;
  assigneeId?: string | null;
  unassigned?: boolean | null;
} | null | undefined;

function caseFilter(filter: CaseFilterArg): cases.CaseFilter {
  return {
    departmentId: filter?.departmentId ? decodeId(filter.departmentId, ['Department'], 'filter.departmentId').id : undefined,
    statuses: filter?.statuses ?? undefined,
    priorities: filter?.priorities ?? undefined,
    assigneeId: filter?.assigneeId ? decodeId(filter.assigneeId, ['User'], 'filter.assigneeId').id : undefined,
    unassigned: filter?.unassigned ?? undefined,
  };
}

builder.queryFields((t) => ({
  myCases: t.prismaConnection(
    {
      type: 'SupportCase',
      cursor: 'id',
      description: 'The cases you asked for, newest first.',
      authScopes: { signedIn: true },
      args: { statuses: t.arg({ type: [CaseStatusEnum] }) },
      resolve: (query, _root, args, ctx) => {
        return prisma().supportCase.findMany({ ...query, where: cases.myCasesWhere(ctx.viewer, args.statuses ?? undefined), orderBy: { id: 'desc' } });
      },
      totalCount: (_root, args, ctx) => prisma().supportCase.count({ where: cases.myCasesWhere(ctx.viewer, args.statuses ?? undefined) }),
    },
    SupportCaseConnection,
  ),
  supportCases: t.prismaConnection({
    type: 'SupportCase',
    cursor: 'id',
    description: "Staff: the cases you handle (your departments'; all for managers and admins), newest first.",
    authScopes: { staff: true },
    args: { filter: t.arg({ type: CaseFilterInput }) },
    resolve: (query, _root, args, ctx) => {
      return prisma().supportCase.findMany({ ...query, where: cases.staffCaseListWhere(ctx.viewer, caseFilter(args.filter)), orderBy: { id: 'desc' } });
    },
    totalCount: (_root, args, ctx) => prisma().supportCase.count({ where: cases.staffCaseListWhere(ctx.viewer, caseFilter(args.filter)) }),
  }, SupportCaseConnection),
}));

// ---- Mutations --------------------------------------------------------------------------------

const OpenCaseInput = builder.inputType('OpenCaseInput', {
  fields: (t) => ({
    channelId: t.id({ required: true, description: 'An active SupportChannel.' }),
    subject: t.string({ required: true, description: '1 to 200 characters.' }),
    body: t.string({ required: true, description: '1 to 50000 characters.' }),
    priority: t.field({ type: CasePriorityEnum, description: 'Defaults to NORMAL; routing rules may change it.' }),
  }),
});
const OpenCaseFromThreadInput = builder.inputType('OpenCaseFromThreadInput', {
  fields: (t) => ({
    threadId: t.id({ required: true }),
    channelId: t.id({ required: true }),
    reason: t.string({ required: true }),
    reasonIsInternal: t.boolean({ description: 'Hide the reason from the requester. Defaults to false.' }),
  }),
});
const ReplyToCaseInput = builder.inputType('ReplyToCaseInput', {
  fields: (t) => ({
    caseId: t.id({ required: true }),
    body: t.string({ required: true }),
    internal: t.boolean({ description: 'An internal note for staff (never shown to the requester). Defaults to false.' }),
  }),
});
const AssignCaseInput = builder.inputType('AssignCaseInput', {
  fields: (t) => ({
    caseId: t.id({ required: true }),
    assigneeId: t.id({ description: "A member of the case's department; null to unassign." }),
  }),
});
const TransferCaseInput = builder.inputType('TransferCaseInput', {
  fields: (t) => ({
    caseId: t.id({ required: true }),
    departmentId: t.id({ required: true }),
    reason: t.string({ required: true }),
    reasonIsInternal: t.boolean({ description: 'Hide the reason from the requester. Defaults to false.' }),
  }),
});
const EscalateCaseInput = builder.inputType('EscalateCaseInput', {
  fields: (t) => ({ caseId: t.id({ required: true }), reason: t.string({ required: true }) }),
});
const SetCaseStatusInput = builder.inputType('SetCaseStatusInput', {
  fields: (t) => ({ caseId: t.id({ required: true }), status: t.field({ type: CaseStatusEnum, required: true }) }),
});
const RateCaseInput = builder.inputType('RateCaseInput', {
  fields: (t) => ({
    caseId: t.id({ required: true }),
    rating: t.field({ type: CaseRatingEnum, required: true }),
    comment: t.string(),
  }),
});

const SupportCasePayload = builder.simpleObject('SupportCasePayload', {
  fields: (t) => ({
    supportCase: t.field({
      type: SupportCaseType,
      nullable: true,
      description: 'Null when the change leaves the case outside what you may see (transferred to a department you are not in).',
    }),
  }),
});

/** The case as the payload shows it: only if the actor may (still) see it. */
async function visible(ctx: { viewer: Parameters<typeof cases.caseVisibleWhere>[0] }, kase: { id: number }) {
  return prisma().supportCase.findFirst({ where: { id: kase.id, AND: [cases.caseVisibleWhere(ctx.viewer)] } });
}
const ReplyToCasePayload = builder.simpleObject('ReplyToCasePayload', {
  fields: (t) => ({ caseMessage: t.field({ type: CaseMessageType }), supportCase: t.field({ type: SupportCaseType, nullable: true }) }),
});

const caseId = (id: string) => decodeId(id, ['SupportCase'], 'input.caseId').id;
const channelId = (id: string) => decodeId(id, ['SupportChannel'], 'input.channelId').id;

builder.mutationFields((t) => ({
  openCase: t.field({
    type: SupportCasePayload,
    description: 'Any signed-in user: ask for help on an active channel.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: OpenCaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      supportCase: await visible(ctx, await cases.openCase(ctx.viewer, { ...input, channelId: channelId(input.channelId) })),
    }),
  }),
  openCaseFromThread: t.field({
    type: SupportCasePayload,
    description: "Staff: turn a public thread into a case; the thread's author is the requester.",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: OpenCaseFromThreadInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      supportCase: await visible(ctx, await cases.openCaseFromThread(ctx.viewer, {
        ...input,
        threadId: decodeId(input.threadId, ['Thread'], 'input.threadId').id,
        channelId: channelId(input.channelId),
      })),
    }),
  }),
  replyToCase: t.field({
    type: ReplyToCasePayload,
    description: 'The requester or staff of the case. Internal notes: staff only.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ReplyToCaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { message, kase } = await cases.replyToCase(ctx.viewer, caseId(input.caseId), input);
      return { caseMessage: message, supportCase: await visible(ctx, kase) };
    },
  }),
  assignCase: t.field({
    type: SupportCasePayload,
    description: 'Staff of the case.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AssignCaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      supportCase: await visible(ctx, await cases.assignCase(
        ctx.viewer,
        caseId(input.caseId),
        input.assigneeId ? decodeId(input.assigneeId, ['User'], 'input.assigneeId').id : null,
      )),
    }),
  }),
  transferCase: t.field({
    type: SupportCasePayload,
    description: 'Staff of the case: hand it to another department (the assignee stays only if a member there).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: TransferCaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      supportCase: await visible(ctx, await cases.transferCase(ctx.viewer, caseId(input.caseId), {
        ...input,
        departmentId: decodeId(input.departmentId, ['Department'], 'input.departmentId').id,
      })),
    }),
  }),
  escalateCase: t.field({
    type: SupportCasePayload,
    description: "Staff of the case: raise the priority one level and notify the department's leads.",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: EscalateCaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      supportCase: await visible(ctx, await cases.escalateCase(ctx.viewer, caseId(input.caseId), { reason: input.reason })),
    }),
  }),
  setCaseStatus: t.field({
    type: SupportCasePayload,
    description: 'Staff of the case. A CLOSED case is final.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetCaseStatusInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      supportCase: await visible(ctx, await cases.setCaseStatus(ctx.viewer, caseId(input.caseId), input.status)),
    }),
  }),
  rateCase: t.field({
    type: SupportCasePayload,
    description: 'The requester, once, after the case is resolved.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: RateCaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      supportCase: await visible(ctx, await cases.rateCase(ctx.viewer, caseId(input.caseId), input)),
    }),
  }),
}));

// ---- Live -------------------------------------------------------------------------------------

builder.subscriptionField('caseUpdated', (t) =>
  t.field({
    type: CaseTimelineEntryType,
    description:
      'Each new timeline entry of a case, live, as you are allowed to see it (the requester never gets internal entries). For its requester and its staff; rights are checked per entry.',
    args: { caseId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => cases.subscribeToCase(ctx.viewer, decodeId(args.caseId, ['SupportCase'], 'caseId').id, ctx),
    resolve: (entry) => entry,
  }),
);
