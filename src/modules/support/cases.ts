import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { moveCaseEvents, writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { CaseMessage, Prisma, SupportCase } from '../../generated/prisma/client.js';
import type { CasePriority, CaseRating, CaseStatus } from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import { threadForSupportCase } from '../community/community.service.js';
import { canManageCommunity, STAFF_ROLES } from '../identity/roles.js';
import { requireRole, requireStaff, requireViewer } from '../identity/guards.js';
import { caseVisibleWhere, membershipCounts } from './policy.js';
import { PRIORITIES } from './priorities.js';
import { autoAssign, setAssignee } from './assignment.js';
import { emailCaseReply, emailCaseStatus } from './case-emails.js';
import { findRoute } from './routing.js';
import { CaseLog, displayName } from './timeline.js';
import { SLA_METRICS } from './sla.js';
import {
  hasActiveClock,
  isDone,
  isPausedStatus,
  pauseClocks,
  reopenResolution,
  reschedule,
  resumeClocks,
  slaContext,
  startClock,
  stopClocks,
} from './sla.js';

// Support cases: opening, messages, assignment, transfer, escalation, status and rating.
// Every change writes a timeline entry (CaseEvent) and an activity event in the same
// transaction; internal entries (notes, escalations) use CASE_STAFF visibility, so the requester
// never receives them on any path.

const subject = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const body = z.string().trim().min(1, 'must not be empty').max(50_000, 'must be at most 50000 characters');
const reason = z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters');

type LoadedCase = { kase: SupportCase; staff: boolean; requester: boolean };

/**
 * Locks the case row for this transaction (concurrent changes to one case queue up, so e.g. two
 * first replies can't both count as the first) and says how the viewer relates to it. A case
 * the viewer may not see is NotFound, never Forbidden: its existence is not disclosed.
 */
async function loadCase(tx: Tx, viewer: Viewer, caseId: number): Promise<LoadedCase> {
  await tx.$queryRaw`SELECT 1 FROM "SupportCase" WHERE "id" = ${caseId} FOR UPDATE`;
  const kase = await tx.supportCase.findUnique({ where: { id: caseId } });
  if (!kase) throw new NotFoundError('SupportCase', String(caseId));
  const staff =
    canManageCommunity(viewer.role) ||
    (membershipCounts(viewer.role) &&
      !!(await tx.departmentMember.findUnique({ where: { departmentId_userId: { departmentId: kase.departmentId, userId: viewer.id } } })));
  const requester = kase.requesterId === viewer.id;
  if (!staff && !requester) throw new NotFoundError('SupportCase', String(caseId));
  return { kase, staff, requester };
}

function assertStaffOfCase(loaded: LoadedCase, what: string): void {
  if (!loaded.staff) throw new ForbiddenError(`Only staff of the case's department can ${what}`);
}

export function assertNotClosed(kase: SupportCase): void {
  if (kase.status === 'CLOSED') throw new ConflictError(`Case ${kase.reference} is closed; open a new case instead`);
}

const STATUS_WORDS: Record<CaseStatus, string> = {
  NEW: 'new',
  OPEN: 'open',
  PENDING: 'waiting for the requester',
  ON_HOLD: 'on hold',
  RESOLVED: 'resolved',
  CLOSED: 'closed',
};

// ---- Status -----------------------------------------------------------------------------------

/**
 * Moves a case to `status`, recording the change. The one place statuses change, so the clocks
 * that depend on them (resolution) stay right.
 */
async function changeStatus(tx: Tx, log: CaseLog, kase: SupportCase, status: CaseStatus, actorId: number | null, now: Date): Promise<SupportCase> {
  if (kase.status === status) return kase;
  const context = await slaContext(tx, kase);
  const data: Prisma.SupportCaseUpdateInput = { status };
  if (isDone(status)) data.resolvedAt = kase.resolvedAt ?? now;
  else data.resolvedAt = null;
  const wasPaused = isPausedStatus(kase.status);
  const pauses = isPausedStatus(status);
  if (!wasPaused && pauses) data.pausedAt = now;
  if (wasPaused && !pauses) {
    // The pause is over: its business time is added up once, in the department's hours.
    data.pausedAt = null;
    data.pausedBusinessMs = kase.pausedBusinessMs + context.business.between(kase.pausedAt ?? now, now);
  }
  const updated = await tx.supportCase.update({ where: { id: kase.id }, data });
  if (isDone(status)) {
    await stopClocks(tx, updated, SLA_METRICS, context, now);
  } else {
    if (isDone(kase.status)) {
      // Reopened: resolution counts on from where it stopped; the requester is owed updates again.
      await reopenResolution(tx, updated, context, now);
      if (updated.firstResponseAt) await startClock(tx, updated, 'PERIODIC_UPDATE', context, now);
    }
    if (!wasPaused && pauses) await pauseClocks(tx, updated, context, now);
    if (wasPaused && !pauses) await resumeClocks(tx, updated, context, now);
  }
  await log.add(updated, {
    kind: 'STATUS_CHANGED',
    actorId,
    summary: `Status changed from ${STATUS_WORDS[kase.status]} to ${STATUS_WORDS[status]}`,
  });
  // A requester who wrote by email hears of it by email (case-emails.ts says which statuses).
  await emailCaseStatus(tx, updated, status);
  return updated;
}

// ---- Opening ----------------------------------------------------------------------------------

const openCaseInput = z.object({
  channelId: z.number().int(),
  subject,
  body,
  priority: z.enum(PRIORITIES).default('NORMAL'),
});

export type OpenCaseInput = { channelId: number; subject: string; body: string; priority?: CasePriority | null };

export async function openCase(viewer: Viewer | null, input: OpenCaseInput): Promise<SupportCase> {
  // No suspension check, on purpose: support stays open to a suspended member (see policy.ts).
  const actor = requireViewer(viewer);
  const data = parseInput(openCaseInput, { ...input, priority: input.priority ?? undefined });
  return writeWithActivity(async (tx, activity) => {
    const log = new CaseLog(tx);
    const kase = await createCase(tx, log, {
      channelId: data.channelId,
      requesterId: actor.id,
      actorId: actor.id,
      subject: data.subject,
      body: data.body,
      priority: data.priority,
    });
    await log.flush(activity);
    return kase;
  });
}

const openFromThreadInput = z.object({
  threadId: z.number().int(),
  channelId: z.number().int(),
  reason,
  reasonIsInternal: z.boolean().default(false),
});

export async function openCaseFromThread(
  viewer: Viewer | null,
  input: { threadId: number; channelId: number; reason: string; reasonIsInternal?: boolean | null },
): Promise<SupportCase> {
  const actor = requireStaff(viewer, 'open a case from a thread');
  const data = parseInput(openFromThreadInput, { ...input, reasonIsInternal: input.reasonIsInternal ?? undefined });
  const thread = await threadForSupportCase(actor, data.threadId);
  return writeWithActivity(async (tx, activity) => {
    const log = new CaseLog(tx);
    const kase = await createCase(tx, log, {
      channelId: data.channelId,
      requesterId: thread.authorId,
      actorId: actor.id,
      subject: thread.title,
      body: thread.body,
      priority: 'NORMAL',
      threadId: thread.id,
      threadSpaceId: thread.spaceId,
      reason: data.reason,
      reasonInternal: data.reasonIsInternal,
    });
    await log.flush(activity);
    return kase;
  });
}

/**
 * Opens a case inside a write another domain is making (a web mention turned into a case): the
 * same routing, SLA clocks, timeline and activity as openCase, in the caller's transaction.
 */
export async function createCaseWith(tx: Tx, activity: ActivityRecorder, input: NewCase): Promise<SupportCase> {
  const log = new CaseLog(tx);
  const kase = await createCase(tx, log, input);
  await log.flush(activity);
  return kase;
}

type NewCase = {
  channelId: number;
  requesterId: number;
  /** Who opened it: the requester, or staff opening it for them. */
  actorId: number;
  subject: string;
  body: string;
  priority: CasePriority;
  threadId?: number;
  threadSpaceId?: number;
  reason?: string;
  reasonInternal?: boolean;
  /** It came in by email: public replies and status changes go back to this address. */
  requesterEmail?: string;
};

/**
 * Opens a case with its first message (the requester's words) and its OPENED entry, routed by
 * the first matching routing rule (recorded on the case and, for staff, on the timeline).
 */
export async function createCase(tx: Tx, log: CaseLog, input: NewCase): Promise<SupportCase> {
  const channel = await tx.supportChannel.findUnique({ where: { id: input.channelId } });
  if (!channel || !channel.active) throw new NotFoundError('SupportChannel', String(input.channelId));
  const requester = await tx.user.findUniqueOrThrow({ where: { id: input.requesterId }, select: { role: true } });
  const rule = await findRoute(tx, {
    channelId: channel.id,
    spaceId: input.threadSpaceId ?? channel.spaceId,
    subject: input.subject,
    body: input.body,
    requesterRole: requester.role,
  });
  const kase = await tx.supportCase.create({
    data: {
      subject: input.subject,
      requesterId: input.requesterId,
      channelId: channel.id,
      departmentId: rule?.departmentId ?? channel.defaultDepartmentId,
      reference: newCaseReference(),
      priority: rule?.priority ?? input.priority,
      requestedPriority: input.priority,
      tags: rule?.tags ?? [],
      routingRuleId: rule?.id ?? null,
      threadId: input.threadId ?? null,
      spaceId: input.threadSpaceId ?? channel.spaceId,
      requesterEmail: input.requesterEmail ?? null,
    },
  });
  const context = await slaContext(tx, kase);
  await startClock(tx, kase, 'FIRST_RESPONSE', context, kase.createdAt);
  await startClock(tx, kase, 'RESOLUTION', context, kase.createdAt);
  const message = await tx.caseMessage.create({ data: { caseId: kase.id, authorId: input.requesterId, body: input.body } });
  await log.add(kase, {
    kind: 'OPENED',
    actorId: input.actorId,
    summary: input.threadId ? `Case ${kase.reference} opened from a forum thread: "${kase.subject}"` : `Case ${kase.reference} opened: "${kase.subject}"`,
    reason: input.reason,
    reasonInternal: input.reasonInternal,
    messageId: message.id,
  });
  if (rule) {
    const department = await tx.department.findUniqueOrThrow({ where: { id: kase.departmentId }, select: { name: true } });
    const actions = [`department ${department.name}`, `priority ${kase.priority}`, ...(kase.tags.length ? [`tags ${kase.tags.join(', ')}`] : [])];
    await log.add(kase, { kind: 'ROUTED', actorId: null, internal: true, summary: `Routed by rule "${rule.name}": ${actions.join('; ')}` });
  }
  return autoAssign(tx, log, kase);
}

// Crockford's base32 (no I, L, O or U: nothing to misread when it is read out or typed).
const REFERENCE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A case's public reference, "K7QM-2XD9-4RTA": 60 random bits, so it says nothing of how many
 * cases there are (the sequential `number` does), and guessing another's is hopeless. Two alike
 * are unlikely (about one chance in two million after a million cases); the unique index refuses
 * the second.
 */
function newCaseReference(): string {
  // 32 divides 256: each character is uniform.
  const chars = [...randomBytes(12)].map((byte) => REFERENCE_ALPHABET[byte % 32]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
}

/** How a reference may be typed: any case, with or without its dashes. Null if it can't be one. */
export function normalizeCaseReference(text: string): string | null {
  const chars = text.toUpperCase().replace(/-/g, '');
  return /^[0-9A-HJKMNP-TV-Z]{12}$/.test(chars) ? `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}` : null;
}

// ---- Messages ---------------------------------------------------------------------------------

const replyInput = z.object({ body, internal: z.boolean().default(false) });

export async function replyToCase(
  viewer: Viewer | null,
  caseId: number,
  input: { body: string; internal?: boolean | null },
): Promise<{ message: CaseMessage; kase: SupportCase }> {
  const actor = requireViewer(viewer);
  const data = parseInput(replyInput, { ...input, internal: input.internal ?? undefined });
  // By role first, whatever the case: a member (a demoted agent, say) learns nothing about it.
  if (data.internal) requireRole(actor, STAFF_ROLES, "Only staff of the case's department can add internal notes");
  return writeWithActivity(async (tx, activity) => {
    const loaded = await loadCase(tx, actor, caseId);
    let kase = loaded.kase;
    if (data.internal) assertStaffOfCase(loaded, 'add internal notes');
    assertNotClosed(kase);
    const now = new Date();
    const log = new CaseLog(tx);
    if (!data.internal && !(loaded.staff && !loaded.requester)) {
      const added = await addRequesterMessage(tx, log, kase, data.body, now);
      await log.flush(activity);
      return added;
    }
    const message = await tx.caseMessage.create({ data: { caseId: kase.id, authorId: actor.id, body: data.body, internal: data.internal } });
    const name = await displayName(tx, actor.id);
    if (data.internal) {
      await log.add(kase, { kind: 'NOTE', actorId: actor.id, internal: true, summary: `${name} added an internal note`, messageId: message.id });
    } else {
      // A public answer from the team: the first one stops the first-response clock.
      if (!kase.firstResponseAt) kase = await tx.supportCase.update({ where: { id: kase.id }, data: { firstResponseAt: now } });
      await log.add(kase, { kind: 'REPLY', actorId: actor.id, summary: `${name} replied`, messageId: message.id });
      // Committed with the reply, or not at all.
      await emailCaseReply(tx, kase, data.body, name);
      if (kase.status === 'NEW') kase = await changeStatus(tx, log, kase, 'OPEN', actor.id, now);
      // Answered: the response clocks stop, and the next update to the requester is owed from now.
      const context = await slaContext(tx, kase);
      await stopClocks(tx, kase, ['FIRST_RESPONSE', 'NEXT_RESPONSE', 'PERIODIC_UPDATE'], context, now);
      if (!isDone(kase.status)) await startClock(tx, kase, 'PERIODIC_UPDATE', context, now);
    }
    await log.flush(activity);
    return { message, kase };
  });
}

/** The requester writes on their (not closed) case: it needs the team again. */
export async function addRequesterMessage(
  tx: Tx,
  log: CaseLog,
  kase: SupportCase,
  body: string,
  now: Date,
): Promise<{ message: CaseMessage; kase: SupportCase }> {
  const message = await tx.caseMessage.create({ data: { caseId: kase.id, authorId: kase.requesterId, body } });
  await log.add(kase, { kind: 'REPLY', actorId: kase.requesterId, summary: `${await displayName(tx, kase.requesterId)} replied`, messageId: message.id });
  if (kase.status === 'PENDING' || kase.status === 'ON_HOLD' || kase.status === 'RESOLVED') {
    kase = await changeStatus(tx, log, kase, 'OPEN', kase.requesterId, now);
  }
  // After the first answer, each message of the requester waits for the next one.
  if (kase.firstResponseAt && !(await hasActiveClock(tx, kase.id, 'NEXT_RESPONSE'))) {
    await startClock(tx, kase, 'NEXT_RESPONSE', await slaContext(tx, kase), now);
  }
  return { message, kase };
}

// ---- Assignment, transfer, escalation, status ----------------------------------------------

export async function assignCase(viewer: Viewer | null, caseId: number, assigneeId: number | null): Promise<SupportCase> {
  const actor = requireViewer(viewer);
  return writeWithActivity(async (tx, activity) => {
    const loaded = await loadCase(tx, actor, caseId);
    assertStaffOfCase(loaded, 'assign it');
    const { kase } = loaded;
    assertNotClosed(kase);
    if (kase.assigneeId === assigneeId) return kase;
    const log = new CaseLog(tx);
    const updated = await setAssignee(tx, log, kase, assigneeId, actor.id);
    await log.flush(activity);
    return updated;
  });
}

const transferInput = z.object({ departmentId: z.number().int(), reason, reasonIsInternal: z.boolean().default(false) });

export async function transferCase(
  viewer: Viewer | null,
  caseId: number,
  input: { departmentId: number; reason: string; reasonIsInternal?: boolean | null },
): Promise<SupportCase> {
  const actor = requireViewer(viewer);
  const data = parseInput(transferInput, { ...input, reasonIsInternal: input.reasonIsInternal ?? undefined });
  return writeWithActivity(async (tx, activity) => {
    const loaded = await loadCase(tx, actor, caseId);
    assertStaffOfCase(loaded, 'transfer it');
    const { kase } = loaded;
    assertNotClosed(kase);
    if (kase.departmentId === data.departmentId) throw ValidationError.field('input.departmentId', 'is already the department of this case');
    const [from, to] = await Promise.all([
      tx.department.findUniqueOrThrow({ where: { id: kase.departmentId }, select: { name: true } }),
      tx.department.findUnique({ where: { id: data.departmentId }, select: { name: true } }),
    ]);
    if (!to) throw new NotFoundError('Department', String(data.departmentId));
    // The assignee stays only if they also belong to the new department.
    const keepsAssignee =
      kase.assigneeId !== null &&
      !!(await tx.departmentMember.findUnique({ where: { departmentId_userId: { departmentId: data.departmentId, userId: kase.assigneeId } } }));
    const before = await slaContext(tx, kase);
    const updated = await tx.supportCase.update({
      where: { id: kase.id },
      data: { departmentId: data.departmentId, ...(!keepsAssignee && { assigneeId: null, assignedAt: null }) },
    });
    // The clocks count on in the new department's business hours.
    await reschedule(tx, updated, before, await slaContext(tx, updated), new Date());
    // Its history goes with it: the old department stops reading its events in the activity log.
    await moveCaseEvents(tx, kase.id, data.departmentId);
    const log = new CaseLog(tx);
    await log.add(updated, {
      kind: 'TRANSFERRED',
      actorId: actor.id,
      summary: `Transferred from ${from.name} to ${to.name}`,
      reason: data.reason,
      reasonInternal: data.reasonIsInternal,
    });
    const assigned = await autoAssign(tx, log, updated);
    await log.flush(activity);
    return assigned;
  });
}

export async function escalateCase(viewer: Viewer | null, caseId: number, input: { reason: string }): Promise<SupportCase> {
  const actor = requireViewer(viewer);
  const data = parseInput(z.object({ reason }), input);
  return writeWithActivity(async (tx, activity) => {
    const loaded = await loadCase(tx, actor, caseId);
    assertStaffOfCase(loaded, 'escalate it');
    const { kase } = loaded;
    assertNotClosed(kase);
    const priority = PRIORITIES[Math.min(PRIORITIES.indexOf(kase.priority) + 1, PRIORITIES.length - 1)];
    const updated = priority === kase.priority ? kase : await tx.supportCase.update({ where: { id: kase.id }, data: { priority } });
    // A higher priority has shorter targets: the time already used counts against them.
    if (updated !== kase) await reschedule(tx, updated, await slaContext(tx, kase), await slaContext(tx, updated), new Date());
    const log = new CaseLog(tx);
    // Staff-only: how urgent the team finds a case is its own business.
    await log.add(updated, {
      kind: 'ESCALATED',
      actorId: actor.id,
      internal: true,
      summary: `${await displayName(tx, actor.id)} escalated the case: priority ${kase.priority} to ${priority}`,
      reason: data.reason,
      reasonInternal: true,
    });
    const leads = await tx.departmentMember.findMany({ where: { departmentId: kase.departmentId, lead: true }, select: { userId: true }, orderBy: { userId: 'asc' } });
    for (const lead of leads) log.notify(lead.userId, updated, 'CASE_LEAD_NOTIFIED', actor.id);
    await log.flush(activity);
    return updated;
  });
}

export async function setCaseStatus(viewer: Viewer | null, caseId: number, status: CaseStatus): Promise<SupportCase> {
  const actor = requireViewer(viewer);
  if (status === 'NEW') throw ValidationError.field('input.status', 'a case cannot go back to NEW');
  return writeWithActivity(async (tx, activity) => {
    const loaded = await loadCase(tx, actor, caseId);
    assertStaffOfCase(loaded, 'change its status');
    assertNotClosed(loaded.kase);
    const log = new CaseLog(tx);
    const updated = await changeStatus(tx, log, loaded.kase, status, actor.id, new Date());
    await log.flush(activity);
    return updated;
  });
}

const rateInput = z.object({
  rating: z.enum(['GOOD', 'BAD']),
  comment: z.string().trim().max(2000, 'must be at most 2000 characters').optional(),
});

export async function rateCase(
  viewer: Viewer | null,
  caseId: number,
  input: { rating: CaseRating; comment?: string | null },
): Promise<SupportCase> {
  const actor = requireViewer(viewer);
  const data = parseInput(rateInput, { ...input, comment: input.comment ?? undefined });
  return writeWithActivity(async (tx, activity) => {
    const { kase, requester } = await loadCase(tx, actor, caseId);
    if (!requester) throw new ForbiddenError('Only the requester can rate a case');
    if (kase.status !== 'RESOLVED' && kase.status !== 'CLOSED') throw new ConflictError(`Case ${kase.reference} can be rated once it is resolved`);
    if (kase.rating) throw new ConflictError(`Case ${kase.reference} was already rated`);
    const updated = await tx.supportCase.update({
      where: { id: kase.id },
      data: { rating: data.rating, ratingComment: data.comment || null, ratedAt: new Date() },
    });
    const log = new CaseLog(tx);
    await log.add(updated, { kind: 'RATED', actorId: actor.id, summary: `The requester rated the support ${data.rating === 'GOOD' ? 'good' : 'bad'}` });
    await log.flush(activity);
    return updated;
  });
}

// ---- Lists ------------------------------------------------------------------------------------

export type CaseFilter = {
  departmentId?: number;
  statuses?: CaseStatus[];
  priorities?: CasePriority[];
  assigneeId?: number;
  unassigned?: boolean;
};

/** supportCases: staff only; of those, the cases they may see. */
export function staffCaseListWhere(viewer: Viewer | null, filter: CaseFilter): Prisma.SupportCaseWhereInput {
  requireRole(viewer, STAFF_ROLES);
  return {
    AND: [
      caseVisibleWhere(viewer),
      {
        ...(filter.departmentId !== undefined && { departmentId: filter.departmentId }),
        ...(filter.statuses?.length && { status: { in: filter.statuses } }),
        ...(filter.priorities?.length && { priority: { in: filter.priorities } }),
        ...(filter.assigneeId !== undefined && { assigneeId: filter.assigneeId }),
        ...(filter.unassigned && { assigneeId: null }),
      },
    ],
  };
}

/** myCases: signed in (suspended too: support stays open to them, see policy.ts). */
export function myCasesWhere(viewer: Viewer | null, statuses?: CaseStatus[]): Prisma.SupportCaseWhereInput {
  return { requesterId: requireViewer(viewer).id, ...(statuses?.length && { status: { in: statuses } }) };
}
