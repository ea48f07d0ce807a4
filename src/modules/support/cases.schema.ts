import { builder, sharedConnection, WRITE_ERRORS } from '../../builder.js';
import { loader } from '../../context.js';
import { prisma } from '../../db/client.js';
import { CaseEventKind, CaseRating, CaseStatus, SlaMetric } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { ThreadType } from '../community/community.schema.js';
import { canSeeThread } from '../community/policy.js';
import { subscribeToCase } from '../activity/case-stream.js';
import * as policy from './policy.js';
import * as cases from './cases.js';
import { slaView, type SlaView } from './sla.js';
import { RoutingRuleType } from './routing.schema.js';
import { CasePriorityEnum } from './support.schema.js';

export const CaseStatusEnum = builder.enumType(CaseStatus, {
  name: 'CaseStatus',
  description: 'PENDING waits on the requester, ON_HOLD on a third party: SLA clocks stop in both.',
  values: {
    NEW: { description: 'Opened, no public reply from staff yet; their first one makes it OPEN. No case goes back to NEW.' },
    OPEN: { description: 'Being worked on. A message from the requester brings a PENDING, ON_HOLD or RESOLVED case back here.' },
    PENDING: { description: 'Waiting on the requester.' },
    ON_HOLD: { description: 'Waiting on a third party.' },
    RESOLVED: { description: 'Solved: the clocks stop, and the requester may rate it. Reopens if the requester writes again.' },
    CLOSED: { description: 'Final: no more messages or changes, except a rating; open a new case instead.' },
  },
});
const CaseRatingEnum = builder.enumType(CaseRating, {
  name: 'CaseRating',
  description: "The requester's verdict on the support, counted in customer satisfaction (CSAT).",
  values: {
    GOOD: { description: 'Satisfied: counts towards CSAT.' },
    BAD: { description: 'Not satisfied: counts against CSAT.' },
  },
});
const INTERNAL = 'Internal: staff of the case only.';
const CaseTimelineKindEnum = builder.enumType(CaseEventKind, {
  name: 'CaseTimelineKind',
  description: 'What a timeline entry records.',
  values: {
    OPENED: { description: "The case was opened; `message` is the requester's first message." },
    REPLY: { description: 'A public message, from staff or the requester; `message` holds it.' },
    NOTE: { description: `An internal note; \`message\` holds it. ${INTERNAL}` },
    STATUS_CHANGED: { description: 'The status changed, by hand or as a consequence (a first reply, a message from the requester).' },
    ASSIGNED: { description: 'Someone is handling it now (by hand, round robin or re-assignment).' },
    UNASSIGNED: { description: 'No one is handling it now.' },
    TRANSFERRED: { description: 'Moved to another department.' },
    ESCALATED: { description: `Priority raised one step and the leads told. ${INTERNAL}` },
    RATED: { description: 'The requester rated the support.' },
    ROUTED: { description: `A routing rule set the department, priority or tags on opening. ${INTERNAL}` },
    SLA_AT_RISK: { description: `80% of an SLA target's business time is used. ${INTERNAL}` },
    SLA_BREACHED: { description: `An SLA target was missed. ${INTERNAL}` },
  },
});

export const SlaMetricEnum = builder.enumType(SlaMetric, {
  name: 'SlaMetric',
  description: "One of a case's SLA clocks, in business minutes of its department; targets come from the channel's policy for its priority.",
  values: {
    FIRST_RESPONSE: { description: 'From opening to the first public reply of staff.' },
    NEXT_RESPONSE: { description: 'From a later message of the requester to the next public reply of staff.' },
    PERIODIC_UPDATE: { description: 'From a public reply of staff to the next one, while the case is not resolved.' },
    RESOLUTION: { description: 'From opening to RESOLVED or CLOSED.' },
  },
});

const CaseSlaType = builder.objectRef<SlaView>('CaseSla').implement({
  description:
    "The case's SLA clocks, in its department's business hours. A due time is null when that clock is not running: met, not applicable (no target for this priority on the channel), or paused while the case is PENDING or ON_HOLD.",
  fields: (t) => ({
    firstResponseDueAt: t.expose('firstResponseDueAt', { type: 'DateTime', nullable: true, description: 'The first public reply of staff.' }),
    nextResponseDueAt: t.expose('nextResponseDueAt', { type: 'DateTime', nullable: true, description: "For the requester's latest unanswered message." }),
    periodicUpdateDueAt: t.expose('periodicUpdateDueAt', { type: 'DateTime', nullable: true, description: 'The next update owed to the requester.' }),
    resolutionDueAt: t.expose('resolutionDueAt', { type: 'DateTime', nullable: true, description: 'Resolving the case.' }),
    atRisk: t.field({ type: [SlaMetricEnum], description: '80% of the time used, not yet due.', resolve: (sla) => sla.atRisk }),
    breaches: t.field({ type: [SlaMetricEnum], description: 'Clocks that ran out, now or in an earlier cycle.', resolve: (sla) => sla.breaches }),
    paused: t.exposeBoolean('paused', { description: 'Whether the case is PENDING or ON_HOLD, so its clocks stand still.' }),
    pausedBusinessMinutes: t.exposeInt('pausedBusinessMinutes', { description: 'Business time spent PENDING or ON_HOLD so far (finished pauses).' }),
  }),
});

/** The departments the viewer belongs to, loaded once per request. */
const viewerDepartments = (ctx: Parameters<typeof loader>[0]) =>
  loader(ctx, 'viewerDepartmentIds', async (keys: readonly number[]) => {
    const ids = await policy.viewerDepartmentIds(ctx.viewer);
    return keys.map(() => ids);
  }).load(0);

/** Whether the viewer handles this case (staff-only fields). */
const isStaffOf = async (ctx: Parameters<typeof loader>[0], kase: { departmentId: number }) =>
  policy.isStaffOfCase(ctx.viewer, kase.departmentId, await viewerDepartments(ctx));

export const SupportCaseType = builder.prismaNode('SupportCase', {
  id: { field: 'id' },
  nullable: true,
  description: 'A support request. Seen by its requester, the members of its department, managers and admins.',
  findUnique: visibleNode('SupportCase', (ctx) => policy.caseVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    number: t.exposeInt('number', {
      description: 'Sequential, what staff quote: "case #42". It tells how many cases there are: quote `reference` to requesters.',
    }),
    reference: t.exposeString('reference', {
      description:
        'The public reference, e.g. "K7QM-2XD9-4RTA": random, unique, what requesters quote (timeline, emails, `POST /ingest/cases` with `caseReference`). Unlike `number`, it tells nothing of how many cases there are.',
    }),
    subject: t.exposeString('subject', { description: 'Up to 200 characters.' }),
    repliesByEmail: t.boolean({
      description:
        'Whether the requester is answered by email: the case came in by email (`POST /ingest/cases` on an EMAIL channel), so public replies and the statuses PENDING, RESOLVED and CLOSED are emailed to them, threaded; internal notes never are.',
      resolve: (kase) => kase.requesterEmail !== null,
    }),
    status: t.expose('status', { type: CaseStatusEnum, description: 'Where the case stands.' }),
    priority: t.field({
      type: CasePriorityEnum,
      description:
        "Staff of the case: the working priority, as routing rules and escalations set it. Anyone else (the requester): the priority they asked for, `requestedPriority`; how urgent the team finds a case is the team's business.",
      resolve: async (kase, _args, ctx) => ((await isStaffOf(ctx, kase)) ? kase.priority : kase.requestedPriority),
    }),
    requestedPriority: t.expose('requestedPriority', {
      type: CasePriorityEnum,
      description: 'The priority asked for when the case was opened (NORMAL unless the requester or the inbound message said otherwise).',
    }),
    tags: t.stringList({
      description: "Staff of the case: set by the routing rule that matched on opening; empty if none did. Always empty for anyone else (the requester).",
      resolve: async (kase, _args, ctx) => ((await isStaffOf(ctx, kase)) ? kase.tags : []),
    }),
    requester: t.relation('requester', { description: 'Who asked for help (for a case opened from a thread, its author).' }),
    channel: t.relation('channel', { description: 'The channel it came in through.' }),
    department: t.relation('department', { description: 'The team handling it: the channel\'s default, a routing rule\'s, or where it was transferred.' }),
    assignee: t.relation('assignee', { nullable: true, description: 'The department member handling it; null while unassigned.' }),
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
      resolve: async (kase, _args, ctx) => (kase.routingRule && (await isStaffOf(ctx, kase)) ? kase.routingRule : null),
    }),
    sla: t.field({
      type: CaseSlaType,
      description: 'Its SLA clocks as of now.',
      select: { slaClocks: true },
      resolve: (kase) => slaView(kase, kase.slaClocks, new Date()),
    }),
    viewerIsStaff: t.boolean({
      description: 'Whether you handle this case (a member of its department, a manager or an admin).',
      resolve: (kase, _args, ctx) => isStaffOf(ctx, kase),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was opened.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the case itself last changed (status, assignment, priority…).' }),
    firstResponseAt: t.expose('firstResponseAt', { type: 'DateTime', nullable: true, description: 'First public reply from the team; null until then.' }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true, description: 'When it became RESOLVED or CLOSED; null while not (cleared if reopened).' }),
    rating: t.expose('rating', { type: CaseRatingEnum, nullable: true, description: "The requester's rating; null until rated." }),
    ratingComment: t.exposeString('ratingComment', { nullable: true, description: "The requester's comment with the rating; null if none." }),
    timeline: t.relatedConnection(
      'events',
      {
        cursor: 'id',
        totalCount: true,
        description:
          'Every change, oldest first, in plain words. The requester sees what concerns them: never internal notes, escalations, routing or SLA alerts, nor reasons marked internal.',
        query: (_args, ctx) => ({ where: policy.timelineVisibleWhere(ctx.viewer), orderBy: { id: 'asc' } }),
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
        query: (_args, ctx) => ({ where: policy.messageVisibleWhere(ctx.viewer), orderBy: { id: 'asc' } }),
      },
      { name: 'CaseMessageConnection' },
      { name: 'CaseMessageEdge' },
    ),
  }),
});

// Requesters (myCases) and staff (supportCases) page the same cases.
const SupportCaseConnection = sharedConnection(SupportCaseType, 'SupportCase');

const CaseMessageType = builder.prismaNode('CaseMessage', {
  id: { field: 'id' },
  nullable: true,
  description: 'A message on a case: a public one is seen by whoever sees the case; an internal note only by staff of the case.',
  findUnique: visibleNode('CaseMessage', (ctx) => policy.messageVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    body: t.exposeString('body', { description: 'The text, 1 to 50000 characters.' }),
    internal: t.exposeBoolean('internal', { description: 'An internal note: never shown to the requester.' }),
    author: t.relation('author', { description: 'The requester or a member of staff.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was written.' }),
    supportCase: t.relation('case', { description: 'The case it belongs to.' }),
  }),
});

export const CaseTimelineEntryType = builder.prismaNode('CaseEvent', {
  name: 'CaseTimelineEntry',
  id: { field: 'id' },
  nullable: true,
  description: 'One change to a case, in plain words. Internal entries are shown to staff of the case only.',
  findUnique: visibleNode('CaseTimelineEntry', (ctx) => policy.timelineVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    kind: t.expose('kind', { type: CaseTimelineKindEnum, description: 'What the entry records.' }),
    summary: t.exposeString('summary', { description: 'What happened, in plain English, e.g. "Transferred from Billing to Tech"; never holds a reason.' }),
    internal: t.exposeBoolean('internal', { description: 'Staff of the case only: never shown to the requester.' }),
    actor: t.relation('actor', { nullable: true, description: 'Who did it; null when the system did (routing, SLA alerts, round robin).' }),
    occurredAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
    reason: t.string({
      nullable: true,
      description: 'Why (a transfer, an escalation, …). A reason marked internal is null for the requester.',
      select: { case: { select: { departmentId: true } } },
      resolve: async (entry, _args, ctx) =>
        !entry.reasonInternal || policy.isStaffOfCase(ctx.viewer, entry.case.departmentId, await viewerDepartments(ctx)) ? entry.reason : null,
    }),
    message: t.relation('message', { nullable: true, description: 'For OPENED, REPLY and NOTE: the message; null otherwise.' }),
    supportCase: t.relation('case', { description: 'The case it belongs to.' }),
  }),
});

// ---- Queries ----------------------------------------------------------------------------------

const CaseFilterInput = builder.inputType('SupportCaseFilter', {
  description: 'Narrows supportCases(...): the given conditions must all hold; a list matches any of its values.',
  fields: (t) => ({
    departmentId: t.id({ description: 'Cases of this department.' }),
    statuses: t.field({ type: [CaseStatusEnum], description: 'Cases in any of these statuses.' }),
    priorities: t.field({ type: [CasePriorityEnum], description: 'Cases of any of these priorities.' }),
    assigneeId: t.id({ description: 'Cases assigned to this user.' }),
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
      args: { statuses: t.arg({ type: [CaseStatusEnum], description: 'Only cases in any of these statuses; omitted: all.' }) },
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
    args: { filter: t.arg({ type: CaseFilterInput, description: 'Narrows the list; omitted: every case you handle.' }) },
    resolve: (query, _root, args, ctx) => {
      return prisma().supportCase.findMany({ ...query, where: cases.staffCaseListWhere(ctx.viewer, caseFilter(args.filter)), orderBy: { id: 'desc' } });
    },
    totalCount: (_root, args, ctx) => prisma().supportCase.count({ where: cases.staffCaseListWhere(ctx.viewer, caseFilter(args.filter)) }),
  }, SupportCaseConnection),
}));

// ---- Mutations --------------------------------------------------------------------------------

const OpenCaseInput = builder.inputType('OpenCaseInput', {
  description: 'A new case, with you as its requester; the body is its first message. Text is trimmed.',
  fields: (t) => ({
    channelId: t.id({ required: true, description: 'An active SupportChannel.' }),
    subject: t.string({ required: true, description: '1 to 200 characters.' }),
    body: t.string({ required: true, description: '1 to 50000 characters.' }),
    priority: t.field({ type: CasePriorityEnum, description: 'Defaults to NORMAL; routing rules may change it.' }),
  }),
});
const OpenCaseFromThreadInput = builder.inputType('OpenCaseFromThreadInput', {
  description: "A thread you can see, to follow up as a case: its title and body become the case's subject and first message, at NORMAL priority unless routing sets another.",
  fields: (t) => ({
    threadId: t.id({ required: true, description: 'The global id of the Thread.' }),
    channelId: t.id({ required: true, description: 'An active SupportChannel.' }),
    reason: t.string({ required: true, description: "Why, 1 to 2000 characters; on the OPENED entry of the timeline." }),
    reasonIsInternal: t.boolean({ description: 'Hide the reason from the requester. Defaults to false.' }),
  }),
});
const ReplyToCaseInput = builder.inputType('ReplyToCaseInput', {
  description: 'A message on a case that is not CLOSED.',
  fields: (t) => ({
    caseId: t.id({ required: true, description: 'The global id of the SupportCase.' }),
    body: t.string({ required: true, description: '1 to 50000 characters, trimmed.' }),
    internal: t.boolean({ description: 'An internal note for staff (never shown to the requester). Defaults to false.' }),
  }),
});
const AssignCaseInput = builder.inputType('AssignCaseInput', {
  description: 'Who handles a case that is not CLOSED.',
  fields: (t) => ({
    caseId: t.id({ required: true, description: 'The global id of the SupportCase.' }),
    assigneeId: t.id({ description: "A member of the case's department; null to unassign." }),
  }),
});
const TransferCaseInput = builder.inputType('TransferCaseInput', {
  description: 'Another department for a case that is not CLOSED. Its SLA clocks go on in the new department\'s hours.',
  fields: (t) => ({
    caseId: t.id({ required: true, description: 'The global id of the SupportCase.' }),
    departmentId: t.id({ required: true, description: 'Not the current one.' }),
    reason: t.string({ required: true, description: 'Why, 1 to 2000 characters; on the timeline.' }),
    reasonIsInternal: t.boolean({ description: 'Hide the reason from the requester. Defaults to false.' }),
  }),
});
const EscalateCaseInput = builder.inputType('EscalateCaseInput', {
  description: 'A case (not CLOSED) to escalate; an URGENT one stays URGENT but its leads are still told.',
  fields: (t) => ({
    caseId: t.id({ required: true, description: 'The global id of the SupportCase.' }),
    reason: t.string({ required: true, description: 'Why, 1 to 2000 characters; staff only.' }),
  }),
});
const SetCaseStatusInput = builder.inputType('SetCaseStatusInput', {
  description: 'The new status of a case that is not CLOSED.',
  fields: (t) => ({
    caseId: t.id({ required: true, description: 'The global id of the SupportCase.' }),
    status: t.field({ type: CaseStatusEnum, required: true, description: 'Any but NEW.' }),
  }),
});
const RateCaseInput = builder.inputType('RateCaseInput', {
  description: 'Your rating of a case you asked for, once it is RESOLVED or CLOSED; once per case.',
  fields: (t) => ({
    caseId: t.id({ required: true, description: 'The global id of the SupportCase.' }),
    rating: t.field({ type: CaseRatingEnum, required: true, description: 'Whether you are satisfied.' }),
    comment: t.string({ description: 'Up to 2000 characters.' }),
  }),
});

const SupportCasePayload = builder.simpleObject('SupportCasePayload', {
  description: 'What a write to a case answers when it succeeds.',

  fields: (t) => ({
    supportCase: t.field({
      type: SupportCaseType,
      nullable: true,
      description: 'Null when the change leaves the case outside what you may see (transferred to a department you are not in).',
    }),
  }),
});

/** The case as the payload shows it: only if the actor may (still) see it. */
async function visible(ctx: { viewer: Parameters<typeof policy.caseVisibleWhere>[0] }, kase: { id: number }) {
  return prisma().supportCase.findFirst({ where: { id: kase.id, AND: [policy.caseVisibleWhere(ctx.viewer)] } });
}
const ReplyToCasePayload = builder.simpleObject('ReplyToCasePayload', {
  description: 'What replyToCase answers when it succeeds.',
  fields: (t) => ({
    caseMessage: t.field({ type: CaseMessageType, description: 'The message written.' }),
    supportCase: t.field({ type: SupportCaseType, nullable: true, description: 'The case after the reply; null when you may no longer see it.' }),
  }),
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
    args: { caseId: t.arg.id({ required: true, description: 'The global id of the SupportCase.' }) },

    subscribe: (_root, args, ctx) => subscribeToCase(ctx.viewer, decodeId(args.caseId, ['SupportCase'], 'caseId').id, ctx),
    resolve: (entry) => entry,
  }),
);
