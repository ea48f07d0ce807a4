import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../errors.js';
import type { Appeal, AutomodRule, ModerationAction, Prisma, Report, Space } from '../../generated/prisma/client.js';
import type {
  ActivityKind,
  ActivityVisibility,
  AutomodAction,
  AutomodTrigger,
  HideClassifier,
  LockReason,
  ModerationActionKind,
  ModerationStatus,
  ReportReason,
  Role,
} from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import * as community from '../community/community.service.js';
import { canSeeContent, canSeeSpace, PUBLISHED_STATUSES, visiblePostWhere, visibleThreadWhere } from '../community/visibility.js';
import { assertNotSuspended, setSuspension } from '../identity/identity.service.js';
import { canManageCommunity, canModerate, isAdmin, outranks } from '../identity/roles.js';
import { foldedWords } from '../../text.js';
import { compilePattern } from './automod.js';

// ---- Configuration ----------------------------------------------------------------------------

let claimTtlMs = 30 * 60_000;
export function configureModeration(options: { claimTtlMinutes: number }): void {
  claimTtlMs = options.claimTtlMinutes * 60_000;
}

// ---- Who -------------------------------------------------------------------------------------

function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw new UnauthenticatedError();
  return viewer;
}

export function requireModerator(viewer: Viewer | null): Viewer {
  const actor = requireViewer(viewer);
  if (!canModerate(actor.role)) throw new ForbiddenError('Only a MODERATOR, COMMUNITY_MANAGER or ADMIN can moderate');
  return actor;
}

function requireRuleManager(viewer: Viewer | null): Viewer {
  const actor = requireViewer(viewer);
  if (!canManageCommunity(actor.role)) throw new ForbiddenError('Only a COMMUNITY_MANAGER or ADMIN can manage automod rules');
  return actor;
}

export const isModerator = (viewer: Viewer | null): boolean => !!viewer && canModerate(viewer.role);

/** Matches no row: for lists and node(id) a viewer may not read at all. */
const NOTHING = { AND: [{ id: { in: [] as number[] } }] };

// ---- Subjects ----------------------------------------------------------------------------------

export type SubjectRef = { typename: 'Thread' | 'Post' | 'User'; id: number };
type ContentRef = { typename: 'Thread' | 'Post'; id: number };

type ResolvedSubject =
  | { kind: 'content'; ref: ContentRef; content: community.ModeratedContent }
  | { kind: 'user'; ref: SubjectRef; user: { id: number; role: Role; suspendedUntil: Date | null } };

async function resolveSubject(tx: Tx, ref: SubjectRef): Promise<ResolvedSubject> {
  if (ref.typename === 'User') {
    const user = await tx.user.findUnique({ where: { id: ref.id }, select: { id: true, role: true, suspendedUntil: true } });
    if (!user) throw new NotFoundError('User', String(ref.id));
    return { kind: 'user', ref, user };
  }
  const content = (await community.findModeratedContent(tx, [ref as ContentRef])).get(`${ref.typename}:${ref.id}`);
  if (!content) throw new NotFoundError(ref.typename, String(ref.id));
  return { kind: 'content', ref: ref as ContentRef, content };
}

/**
 * The subject, row-locked until the transaction ends: an action checks the subject's state,
 * then changes it, so two at once must not both pass the check (two removals of one post would
 * count its reply off twice; two unsuspensions would both apply).
 */
async function resolveLockedSubject(tx: Tx, ref: SubjectRef): Promise<ResolvedSubject> {
  if (ref.typename === 'User') await tx.$queryRaw`SELECT 1 FROM "User" WHERE "id" = ${ref.id} FOR NO KEY UPDATE`;
  else await community.lockContent(tx, [ref as ContentRef]);
  return resolveSubject(tx, ref);
}

// ---- Reports and the queue --------------------------------------------------------------------

// One day waiting weighs as much as one report from an ordinary reporter (trust 1).
const AGE_WEIGHT_PER_HOUR = 1 / 24;
// An automod FLAG or HOLD weighs as one ordinary report.
const AUTOMOD_WEIGHT = 1;

const reportInput = z
  .object({
    reason: z.enum(['SPAM', 'ABUSE', 'HARASSMENT', 'OFF_TOPIC', 'MISINFORMATION', 'ILLEGAL', 'OTHER']),
    note: z.string().trim().max(1000, 'must be at most 1000 characters').optional(),
  })
  .refine((value) => value.reason !== 'OTHER' || !!value.note, { message: 'is required when the reason is OTHER', path: ['note'] });

/**
 * A reporter's trust, from 0 to 2 (1 is an ordinary reporter): how often their resolved
 * reports were confirmed (ACTION_TAKEN), smoothed so one report says little, times how
 * established the account is (half weight when new, full after 30 days).
 */
export async function reporterTrust(tx: Tx, userId: number): Promise<number> {
  const [row] = await tx.$queryRaw<{ confirmed: number; resolved: number; createdAt: Date }[]>`
    SELECT (SELECT count(*)::int FROM "Report" WHERE "reporterId" = u.id AND status = 'ACTION_TAKEN') AS confirmed,
           (SELECT count(*)::int FROM "Report" WHERE "reporterId" = u.id AND status <> 'OPEN') AS resolved,
           u."createdAt"
    FROM "User" u WHERE u.id = ${userId}`;
  const confirmedShare = (row.confirmed + 1) / (row.resolved + 2);
  const establishment = Math.min(1, (Date.now() - row.createdAt.getTime()) / (30 * 86_400_000));
  return Math.round(2 * confirmedShare * (0.5 + 0.5 * establishment) * 1000) / 1000;
}

export async function reportContent(
  viewer: Viewer | null,
  subject: SubjectRef,
  input: { reason: ReportReason; note?: string | null },
): Promise<Report> {
  const reporter = requireViewer(viewer);
  assertNotSuspended(reporter);
  const data = parseInput(reportInput, { reason: input.reason, note: input.note ?? undefined });
  return writeWithActivity(async (tx, activity) => {
    const resolved = await resolveSubject(tx, subject);
    if (resolved.kind === 'content') {
      const { content } = resolved;
      if (!canSeeSpace(reporter, content.space.visibility) || !canSeeContent(reporter, content) || !canSeeContent(reporter, content.thread)) {
        throw new NotFoundError(subject.typename, String(subject.id));
      }
      if (content.authorId === reporter.id) throw ValidationError.field('input.subjectId', 'is your own; you cannot report it');
    } else if (resolved.user.id === reporter.id) {
      throw ValidationError.field('input.subjectId', 'is yourself; you cannot report yourself');
    }
    // One open report per reporter and subject: a repeat (or a retry) returns the open one.
    // The lock makes concurrent repeats wait here; the partial unique index is the backstop.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7310, hashtext(${`${reporter.id}:${subject.typename}:${subject.id}`}))`;
    const open = await tx.report.findFirst({
      where: { reporterId: reporter.id, subjectType: subject.typename, subjectId: subject.id, status: 'OPEN' },
    });
    if (open) return open;
    const weight = await reporterTrust(tx, reporter.id);
    const space = resolved.kind === 'content' ? resolved.content.space : null;
    const itemId = await joinQueue(tx, { subject, spaceId: space?.id ?? null, weight, reports: 1, ruleId: null });
    const report = await tx.report.create({
      data: { reporterId: reporter.id, subjectType: subject.typename, subjectId: subject.id, reason: data.reason, note: data.note ?? null, queueItemId: itemId, weight },
    });
    await activity.record({
      kind: 'REPORT_CREATED',
      actorId: reporter.id,
      subject: { type: 'ModerationQueueItem', id: itemId },
      space,
      threadId: resolved.kind === 'content' ? resolved.content.threadId : null,
      visibility: 'MODERATORS',
    });
    return report;
  });
}

/**
 * Adds weight to the subject's open (OPEN or CLAIMED) queue item, creating it if there is
 * none, in one statement: two reports of one subject at once still make one item.
 */
async function joinQueue(
  tx: Tx,
  input: { subject: SubjectRef; spaceId: number | null; weight: number; reports: number; ruleId: number | null },
): Promise<number> {
  const [row] = await tx.$queryRaw<{ id: number }[]>`
    INSERT INTO "ModerationQueueItem" ("subjectType", "subjectId", "spaceId", "status", "reportCount", "weight", "rank", "automodRuleId", "createdAt", "updatedAt")
    VALUES (${input.subject.typename}, ${input.subject.id}, ${input.spaceId}, 'OPEN', ${input.reports}, ${input.weight},
            ${input.weight} - ${AGE_WEIGHT_PER_HOUR} * extract(epoch FROM now()) / 3600, ${input.ruleId}, now(), now())
    ON CONFLICT ("subjectType", "subjectId") WHERE "status" IN ('OPEN', 'CLAIMED') DO UPDATE SET
      "reportCount" = "ModerationQueueItem"."reportCount" + EXCLUDED."reportCount",
      "weight" = "ModerationQueueItem"."weight" + EXCLUDED."weight",
      "rank" = "ModerationQueueItem"."rank" + EXCLUDED."weight",
      "automodRuleId" = coalesce("ModerationQueueItem"."automodRuleId", EXCLUDED."automodRuleId"),
      "updatedAt" = now()
    RETURNING id`;
  return row.id;
}

/** Automod's FLAG or HOLD: the content joins the queue (called by automod.recordScreening). */
export async function openQueueItemForAutomod(
  tx: Tx,
  activity: ActivityRecorder,
  subject: { typename: 'Thread' | 'Post'; id: number; spaceId: number; threadId: number; ruleId: number },
): Promise<void> {
  const itemId = await joinQueue(tx, { subject, spaceId: subject.spaceId, weight: AUTOMOD_WEIGHT, reports: 0, ruleId: subject.ruleId });
  const space = await tx.space.findUniqueOrThrow({ where: { id: subject.spaceId } });
  await activity.record({
    kind: 'AUTOMOD_FLAGGED',
    actorId: null,
    subject: { type: 'ModerationQueueItem', id: itemId },
    space,
    threadId: subject.threadId,
    visibility: 'MODERATORS',
  });
}

/** The priority shown for an item now: its weight plus a day's weight per day waited. */
export function queuePriority(item: { weight: number; createdAt: Date }): number {
  const hours = (Date.now() - item.createdAt.getTime()) / 3_600_000;
  return Math.round((item.weight + AGE_WEIGHT_PER_HOUR * hours) * 1000) / 1000;
}

export type QueueStatus = 'OPEN' | 'CLAIMED' | 'RESOLVED' | 'DISMISSED';
export type QueueFilter = { status?: QueueStatus | null; reason?: ReportReason | null; spaceId?: number };

/** A claim past its expiry counts as OPEN. */
export function effectiveQueueStatus(item: { status: QueueStatus; claimExpiresAt: Date | null }): QueueStatus {
  return item.status === 'CLAIMED' && item.claimExpiresAt && item.claimExpiresAt <= new Date() ? 'OPEN' : item.status;
}

export function queueWhere(viewer: Viewer | null, filter: QueueFilter): Prisma.ModerationQueueItemWhereInput {
  requireModerator(viewer);
  const now = new Date();
  const open = [{ status: 'OPEN' as const }, { status: 'CLAIMED' as const, claimExpiresAt: { lte: now } }];
  const claimed = { status: 'CLAIMED' as const, claimExpiresAt: { gt: now } };
  const byStatus: Prisma.ModerationQueueItemWhereInput =
    filter.status === 'OPEN' ? { OR: open }
    : filter.status === 'CLAIMED' ? claimed
    : filter.status ? { status: filter.status }
    // Without a status: the work still to do, claimed or not.
    : { status: { in: ['OPEN', 'CLAIMED'] } };
  return {
    ...byStatus,
    ...(filter.reason && { reports: { some: { reason: filter.reason } } }),
    ...(filter.spaceId !== undefined && { spaceId: filter.spaceId }),
  };
}

/** Highest priority first, then oldest first. */
export const QUEUE_ORDER: Prisma.ModerationQueueItemOrderByWithRelationInput[] = [{ rank: 'desc' }, { createdAt: 'asc' }, { id: 'asc' }];

export function queueItemVisibleWhere(viewer: Viewer | null): Prisma.ModerationQueueItemWhereInput {
  return isModerator(viewer) ? {} : NOTHING;
}

/**
 * Claims an item for `MODERATION_CLAIM_TTL_MINUTES`. Decided by one conditional UPDATE, so of
 * two moderators claiming at once exactly one wins; the other gets a ConflictError. Claiming
 * your own claim again extends it.
 */
export async function claimQueueItem(viewer: Viewer | null, itemId: number) {
  const actor = requireModerator(viewer);
  return writeWithActivity(async (tx, activity) => {
    const expiresAt = new Date(Date.now() + claimTtlMs);
    const claim = () => tx.$queryRaw<{ id: number }[]>`
      UPDATE "ModerationQueueItem"
      SET "status" = 'CLAIMED', "claimedById" = ${actor.id}, "claimExpiresAt" = ${expiresAt}, "updatedAt" = now()
      WHERE id = ${itemId} AND ("status" = 'OPEN'
        OR ("status" = 'CLAIMED' AND ("claimExpiresAt" <= now() OR "claimedById" = ${actor.id})))
      RETURNING id`;
    await whileAvailable(tx, itemId, actor.id, claim);
    return announceQueueItem(tx, activity, 'QUEUE_ITEM_CLAIMED', actor, itemId);
  });
}

/**
 * Gives a live claim up: the item is OPEN again and anyone may claim it at once. The holder
 * releases their own claim; a COMMUNITY_MANAGER or ADMIN may release anyone's (someone left
 * with items claimed). Decided by one conditional UPDATE, like claims: a release and another
 * moderator's claim at the same time serialise on the row, so either the claim fails against
 * the live claim (and the release succeeds) or the release commits first and the claim wins.
 */
export async function releaseQueueItem(viewer: Viewer | null, itemId: number) {
  const actor = requireModerator(viewer);
  const anyones = canManageCommunity(actor.role);
  return writeWithActivity(async (tx, activity) => {
    const released = await tx.$queryRaw<{ id: number }[]>`
      UPDATE "ModerationQueueItem"
      SET "status" = 'OPEN', "claimedById" = NULL, "claimExpiresAt" = NULL, "updatedAt" = now()
      WHERE id = ${itemId} AND "status" = 'CLAIMED' AND "claimExpiresAt" > now()
        AND ("claimedById" = ${actor.id} OR ${anyones})
      RETURNING id`;
    if (released.length === 0) throw await whyNotReleasable(tx, itemId);
    return announceQueueItem(tx, activity, 'QUEUE_ITEM_RELEASED', actor, itemId);
  });
}

/** The item as a claim or release left it, announced to moderators. */
async function announceQueueItem(tx: Tx, activity: ActivityRecorder, kind: 'QUEUE_ITEM_CLAIMED' | 'QUEUE_ITEM_RELEASED', actor: Viewer, itemId: number) {
  const item = await tx.moderationQueueItem.findUniqueOrThrow({ where: { id: itemId }, include: { space: true } });
  await activity.record({ kind, actorId: actor.id, subject: { type: 'ModerationQueueItem', id: item.id }, space: item.space, visibility: 'MODERATORS' });
  return item;
}

async function whyNotReleasable(tx: Tx, itemId: number): Promise<Error> {
  const item = await tx.moderationQueueItem.findUnique({ where: { id: itemId }, include: { claimedBy: { select: { displayName: true } } } });
  if (!item) return new NotFoundError('ModerationQueueItem', String(itemId));
  const status = effectiveQueueStatus(item);
  if (status !== 'CLAIMED') return new ConflictError(status === 'OPEN' ? 'This item is not claimed' : `This item is already ${status.toLowerCase()}`);
  return new ForbiddenError(`This item is claimed by ${item.claimedBy?.displayName}; only they, a COMMUNITY_MANAGER or an ADMIN can release it`);
}

/**
 * Runs a conditional UPDATE that takes an available item until it takes it or the item is
 * not available. A release committed between the UPDATE's snapshot and the read that explains
 * the refusal leaves the item free: take it then, rather than name a holder who has gone.
 */
async function whileAvailable(tx: Tx, itemId: number, actorId: number, take: () => Promise<unknown[]>) {
  for (let attempt = 1; (await take()).length === 0; attempt++) {
    const refusal = await whyNotAvailable(tx, itemId, actorId);
    if (refusal) throw refusal;
    if (attempt === 3) throw new ConflictError('This item kept changing hands; try again');
  }
}

/** Why `actorId` cannot claim the item now, or null when it has become free to claim. */
async function whyNotAvailable(tx: Tx, itemId: number, actorId: number): Promise<Error | null> {
  const item = await tx.moderationQueueItem.findUnique({ where: { id: itemId }, include: { claimedBy: { select: { displayName: true } } } });
  if (!item) return new NotFoundError('ModerationQueueItem', String(itemId));
  const status = effectiveQueueStatus(item);
  if (status === 'RESOLVED' || status === 'DISMISSED') return new ConflictError(`This item is already ${status.toLowerCase()}`);
  if (status === 'OPEN' || item.claimedById === actorId) return null;
  return new ConflictError(`This item is claimed by ${item.claimedBy?.displayName} until ${item.claimExpiresAt?.toISOString()}`);
}

const resolveInput = z.object({
  resolution: z.enum(['ACTION_TAKEN', 'DISMISSED']),
  note: z.string().trim().max(1000, 'must be at most 1000 characters').optional(),
});

/**
 * Closes an item that is open, claimed by you, or whose claim expired. Its reports take the
 * outcome (their reporters see it). Dismissing an item whose content automod HELD publishes it.
 */
export async function resolveQueueItem(
  viewer: Viewer | null,
  itemId: number,
  input: { resolution: 'ACTION_TAKEN' | 'DISMISSED'; note?: string | null },
) {
  const actor = requireModerator(viewer);
  const data = parseInput(resolveInput, { resolution: input.resolution, note: input.note ?? undefined });
  return writeWithActivity(async (tx, activity) => {
    const status = data.resolution === 'ACTION_TAKEN' ? 'RESOLVED' : 'DISMISSED';
    const resolve = () => tx.$queryRaw<{ id: number }[]>`
      UPDATE "ModerationQueueItem"
      SET "status" = ${status}::"QueueItemStatus", "resolvedById" = ${actor.id}, "resolvedAt" = now(),
          "resolutionNote" = ${data.note ?? null}, "claimExpiresAt" = NULL, "updatedAt" = now()
      WHERE id = ${itemId} AND ("status" = 'OPEN'
        OR ("status" = 'CLAIMED' AND ("claimExpiresAt" <= now() OR "claimedById" = ${actor.id})))
      RETURNING id`;
    await whileAvailable(tx, itemId, actor.id, resolve);
    await tx.report.updateMany({ where: { queueItemId: itemId }, data: { status: data.resolution, resolvedAt: new Date() } });
    const item = await tx.moderationQueueItem.findUniqueOrThrow({ where: { id: itemId }, include: { space: true } });
    if (data.resolution === 'DISMISSED' && item.subjectType !== 'User') {
      const ref = { typename: item.subjectType as 'Thread' | 'Post', id: item.subjectId };
      await community.lockContent(tx, [ref]);
      const content = (await community.findModeratedContent(tx, [ref])).get(`${ref.typename}:${ref.id}`);
      if (content?.moderationStatus === 'HELD') {
        await applyAction(tx, activity, actor, { kind: 'APPROVE', subject: { kind: 'content', ref, content }, reason: data.note ?? 'Dismissed from the moderation queue' });
      }
    }
    await activity.record({
      kind: 'QUEUE_ITEM_RESOLVED',
      actorId: actor.id,
      subject: { type: 'ModerationQueueItem', id: item.id },
      space: item.space,
      visibility: 'MODERATORS',
    });
    return item;
  });
}

/** The distinct report reasons of each item, sorted, in one statement. */
export async function reasonsOfItems(itemIds: readonly number[]): Promise<ReportReason[][]> {
  const rows = await prisma().report.findMany({
    where: { queueItemId: { in: [...itemIds] } },
    select: { queueItemId: true, reason: true },
    distinct: ['queueItemId', 'reason'],
    orderBy: [{ queueItemId: 'asc' }, { reason: 'asc' }],
  });
  return itemIds.map((id) => rows.filter((row) => row.queueItemId === id).map((row) => row.reason));
}

/** Reports a viewer may read: their own; moderators read all. */
export function reportVisibleWhere(viewer: Viewer | null): Prisma.ReportWhereInput {
  if (!viewer) return NOTHING;
  return canModerate(viewer.role) ? {} : { reporterId: viewer.id };
}

// ---- Actions ------------------------------------------------------------------------------------

const reason = z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters');

type ActionSpec = {
  kind: ModerationActionKind;
  subject: ResolvedSubject;
  reason: string;
  classifier?: HideClassifier | null;
  lockReason?: LockReason | null;
  until?: Date | null;
  decidedAppealId?: number;
  /** APPEAL_REVERSED of a suspension: lift it. */
  liftSuspension?: boolean;
};

/**
 * Applies one action in the caller's transaction: checks the subject's state allows it,
 * changes it, writes the ModerationAction row, and records the events.
 */
async function applyAction(tx: Tx, activity: ActivityRecorder, actor: Viewer, spec: ActionSpec): Promise<ModerationAction> {
  const { subject } = spec;
  const name = `${subject.ref.typename} ${subject.ref.id}`;
  let space: Space | null = null;
  let targetUserId: number;
  let published = false;
  let access: { suspendedUntil: string | null } | undefined;
  // One instant for the change and its log entry: approved content counts as published then.
  const at = new Date();
  if (subject.kind === 'content') {
    const { content, ref } = subject;
    space = content.space;
    targetUserId = content.authorId;
    const status = content.moderationStatus;
    const setState = async (next: ModerationStatus, classifier: HideClassifier | null = null) => {
      await community.setModerationState(tx, ref, { status: next, classifier, reason: next === 'VISIBLE' ? null : spec.reason }, at);
      content.moderationStatus = next;
      content.moderationClassifier = classifier;
    };
    switch (spec.kind) {
      case 'HIDE':
        if (status !== 'VISIBLE' && status !== 'HIDDEN') throw new ConflictError(`${name} is ${status.toLowerCase()}; restore it first`);
        if (status === 'HIDDEN' && content.moderationClassifier === spec.classifier) throw new ConflictError(`${name} is already hidden as ${spec.classifier}`);
        await setState('HIDDEN', spec.classifier!);
        break;
      case 'REMOVE':
        if (status === 'REMOVED') throw new ConflictError(`${name} is already removed`);
        await setState('REMOVED');
        break;
      case 'RESTORE':
      case 'APPROVE':
        if (status === 'VISIBLE') throw new ConflictError(`${name} is not hidden, removed or held`);
        await setState('VISIBLE');
        break;
      case 'LOCK':
      case 'UNLOCK': {
        if (ref.typename !== 'Thread') throw ValidationError.field('input.threadId', 'must be the id of a Thread');
        const [from, to] = spec.kind === 'LOCK' ? (['OPEN', 'LOCKED'] as const) : (['LOCKED', 'OPEN'] as const);
        if (content.threadStatus !== from) throw new ConflictError(`${name} is ${content.threadStatus.toLowerCase()}`);
        await community.setThreadStatus(tx, ref.id, to);
        content.threadStatus = to;
        break;
      }
      case 'APPEAL_UPHELD':
      case 'APPEAL_REVERSED':
        break;
      default:
        throw ValidationError.field('input.subjectId', `must be the id of a User to ${spec.kind.toLowerCase()}`);
    }
    published = PUBLISHED_STATUSES.includes(content.moderationStatus);
  } else {
    const { user } = subject;
    targetUserId = user.id;
    if (user.id === actor.id) throw new ForbiddenError('You cannot moderate yourself');
    // Punishing staff is for someone above them (suspension further allows members only).
    if ((spec.kind === 'WARN' || spec.kind === 'SUSPEND') && !outranks(actor.role, user.role)) {
      throw new ForbiddenError(`You cannot ${spec.kind.toLowerCase()} a user of your rank or above (${user.role})`);
    }
    const suspended = !!user.suspendedUntil && user.suspendedUntil > new Date();
    switch (spec.kind) {
      case 'WARN':
      case 'APPEAL_UPHELD':
        break;
      case 'SUSPEND':
        await setSuspension(tx, user.id, spec.until!, spec.reason);
        access = { suspendedUntil: spec.until!.toISOString() };
        break;
      case 'UNSUSPEND':
      case 'APPEAL_REVERSED':
        if (spec.kind === 'UNSUSPEND' && !suspended) throw new ConflictError(`User ${user.id} is not suspended`);
        if (suspended && (spec.kind === 'UNSUSPEND' || spec.liftSuspension)) {
          await setSuspension(tx, user.id, null, null);
          access = { suspendedUntil: null };
        }
        break;
      default:
        throw ValidationError.field('input.subjectId', `must be the id of a Thread or Post to ${spec.kind.toLowerCase()}`);
    }
  }
  const content = subject.kind === 'content' ? subject.content : null;
  const action = await tx.moderationAction.create({
    data: {
      kind: spec.kind,
      actorId: actor.id,
      subjectType: subject.ref.typename,
      subjectId: subject.ref.id,
      threadId: content?.threadId ?? null,
      postId: content?.typename === 'Post' ? content.id : null,
      spaceId: space?.id ?? null,
      targetUserId,
      reason: spec.reason,
      classifier: spec.classifier ?? null,
      lockReason: spec.lockReason ?? null,
      until: spec.until ?? null,
      decidedAppealId: spec.decidedAppealId ?? null,
      createdAt: at,
    },
  });
  // Public (what and why) to those who can see the content; about removed or held content,
  // or about a user, to moderators only. The user acted on hears it on their own stream.
  const visibility: ActivityVisibility = content && published ? 'SPACE' : 'MODERATORS';
  await activity.record({
    kind: 'MODERATION_ACTION',
    actorId: actor.id,
    subject: { type: 'ModerationAction', id: action.id },
    space,
    threadId: content?.threadId ?? null,
    visibility,
  });
  await activity.record({
    kind: 'USER_MODERATED',
    actorId: actor.id,
    subject: { type: 'User', id: targetUserId },
    visibility: 'SUBJECT_USER',
    ...(access && { access }),
  });
  return action;
}

const hideInput = z.object({
  classifier: z.enum(['SPAM', 'ABUSE', 'OFF_TOPIC', 'OUTDATED', 'DUPLICATE', 'RESOLVED', 'LOW_QUALITY']),
  reason,
});

export async function hideContent(viewer: Viewer | null, subject: ContentRef, input: { classifier: HideClassifier; reason: string }) {
  const actor = requireModerator(viewer);
  const data = parseInput(hideInput, input);
  return writeWithActivity(async (tx, activity) =>
    applyAction(tx, activity, actor, { kind: 'HIDE', subject: await resolveLockedSubject(tx, subject), reason: data.reason, classifier: data.classifier }),
  );
}

export async function removeContent(viewer: Viewer | null, subject: ContentRef, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'REMOVE', subject, input);
}

/** Publishes hidden, removed or held content again (held content: an APPROVE entry). */
export async function restoreContent(viewer: Viewer | null, subject: ContentRef, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'RESTORE', subject, input);
}

export async function unlockThread(viewer: Viewer | null, threadId: number, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'UNLOCK', { typename: 'Thread', id: threadId }, input);
}

async function reasonOnlyAction(viewer: Viewer | null, kind: ModerationActionKind, subject: SubjectRef, input: { reason: string }) {
  const actor = requireModerator(viewer);
  const data = parseInput(z.object({ reason }), input);
  return writeWithActivity(async (tx, activity) => {
    const resolved = await resolveLockedSubject(tx, subject);
    const effective = kind === 'RESTORE' && resolved.kind === 'content' && resolved.content.moderationStatus === 'HELD' ? 'APPROVE' : kind;
    return applyAction(tx, activity, actor, { kind: effective, subject: resolved, reason: data.reason });
  });
}

const lockInput = z.object({
  reason: z.enum(['OFF_TOPIC', 'TOO_HEATED', 'RESOLVED', 'SPAM']),
  note: z.string().trim().max(1000, 'must be at most 1000 characters').optional(),
});

/** The reason is one of four; the optional note explains it further (the log's reason text). */
export async function lockThread(viewer: Viewer | null, threadId: number, input: { reason: LockReason; note?: string | null }) {
  const actor = requireModerator(viewer);
  const data = parseInput(lockInput, { reason: input.reason, note: input.note ?? undefined });
  return writeWithActivity(async (tx, activity) =>
    applyAction(tx, activity, actor, {
      kind: 'LOCK',
      subject: await resolveLockedSubject(tx, { typename: 'Thread', id: threadId }),
      reason: data.note || data.reason,
      lockReason: data.reason,
    }),
  );
}

export async function warnUser(viewer: Viewer | null, userId: number, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'WARN', { typename: 'User', id: userId }, input);
}

export async function unsuspendUser(viewer: Viewer | null, userId: number, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'UNSUSPEND', { typename: 'User', id: userId }, input);
}

const MAX_SUSPENSION_MS = 10 * 365 * 86_400_000;

export async function suspendUser(viewer: Viewer | null, userId: number, input: { until: Date; reason: string }) {
  const actor = requireModerator(viewer);
  const data = parseInput(
    z.object({
      until: z
        .date()
        .refine((until) => until.getTime() > Date.now(), 'must be in the future')
        .refine((until) => until.getTime() < Date.now() + MAX_SUSPENSION_MS, 'must be within 10 years'),
      reason,
    }),
    input,
  );
  return writeWithActivity(async (tx, activity) =>
    applyAction(tx, activity, actor, {
      kind: 'SUSPEND',
      subject: await resolveLockedSubject(tx, { typename: 'User', id: userId }),
      reason: data.reason,
      until: data.until,
    }),
  );
}

export const MAX_BULK = 100;

/**
 * One action on up to 100 threads and posts, all or nothing: one transaction, so one missing
 * subject or one that can't take the action leaves every other as it was.
 */
export async function bulkModerate(
  viewer: Viewer | null,
  subjects: ContentRef[],
  input: { action: 'HIDE' | 'REMOVE' | 'RESTORE'; classifier?: HideClassifier | null; reason: string },
): Promise<ModerationAction[]> {
  const actor = requireModerator(viewer);
  const data = parseInput(
    z
      .object({
        action: z.enum(['HIDE', 'REMOVE', 'RESTORE']),
        classifier: hideInput.shape.classifier.optional(),
        reason,
        subjectIds: z.array(z.unknown()).min(1, 'give at least one subject').max(MAX_BULK, `must be at most ${MAX_BULK} subjects`),
      })
      .refine((value) => value.action !== 'HIDE' || value.classifier, { message: 'is required to hide', path: ['classifier'] }),
    { action: input.action, classifier: input.classifier ?? undefined, reason: input.reason, subjectIds: subjects },
  );
  const keys = subjects.map((s) => `${s.typename}:${s.id}`);
  const duplicate = keys.findIndex((key, i) => keys.indexOf(key) !== i);
  if (duplicate >= 0) throw ValidationError.field(`input.subjectIds.${duplicate}`, 'is listed twice');
  return writeWithActivity(async (tx, activity) => {
    // All locked up front, in the one order every writer uses (no deadlock with single actions).
    await community.lockContent(tx, subjects);
    const found = await community.findModeratedContent(tx, subjects);
    const actions: ModerationAction[] = [];
    for (const ref of subjects) {
      const content = found.get(`${ref.typename}:${ref.id}`);
      if (!content) throw new NotFoundError(ref.typename, String(ref.id));
      const kind = data.action === 'RESTORE' && content.moderationStatus === 'HELD' ? 'APPROVE' : data.action;
      actions.push(await applyAction(tx, activity, actor, { kind, subject: { kind: 'content', ref, content }, reason: data.reason, classifier: data.classifier }));
    }
    return actions;
  });
}

// ---- The log --------------------------------------------------------------------------------------

export type LogFilter = { subject?: SubjectRef; targetUserId?: number; kinds?: ModerationActionKind[]; spaceId?: number };

/**
 * Moderators read the whole log. Everyone else reads the entries about content they can see
 * (their fields limited to what and why, see the schema) and those about themselves.
 */
export function actionVisibleWhere(viewer: Viewer | null): Prisma.ModerationActionWhereInput {
  if (isModerator(viewer)) return {};
  const aboutVisibleContent: Prisma.ModerationActionWhereInput = {
    subjectType: { in: ['Thread', 'Post'] },
    thread: visibleThreadWhere(viewer),
    OR: [{ postId: null }, { post: visiblePostWhere(viewer) }],
  };
  return viewer ? { OR: [aboutVisibleContent, { targetUserId: viewer.id }] } : aboutVisibleContent;
}

export function logWhere(viewer: Viewer | null, filter: LogFilter): Prisma.ModerationActionWhereInput {
  return {
    AND: [
      actionVisibleWhere(viewer),
      {
        ...(filter.subject && { subjectType: filter.subject.typename, subjectId: filter.subject.id }),
        ...(filter.targetUserId !== undefined && { targetUserId: filter.targetUserId }),
        ...(filter.kinds?.length && { kind: { in: filter.kinds } }),
        ...(filter.spaceId !== undefined && { spaceId: filter.spaceId }),
      },
    ],
  };
}

// Events that announce a moderator's action: their actor is the moderator, whom only moderators
// may know (the log entry's `moderator` field); members read what was done and why.
const MODERATOR_ACTED: ActivityKind[] = ['MODERATION_ACTION', 'USER_MODERATED'];

/** Whether the viewer may see who did what an activity event of this kind announces. */
export function canSeeEventActor(viewer: Viewer | null, kind: ActivityKind): boolean {
  return !MODERATOR_ACTED.includes(kind) || isModerator(viewer);
}

/** Who acted, and appeals, are for moderators and the user acted on. */
export function canSeeActionDetails(viewer: Viewer | null, action: { targetUserId: number }): boolean {
  return isModerator(viewer) || viewer?.id === action.targetUserId;
}

// ---- Appeals ---------------------------------------------------------------------------------------

const APPEALABLE: ModerationActionKind[] = ['HIDE', 'REMOVE', 'LOCK', 'WARN', 'SUSPEND'];

/** The author of moderated content, or the user warned or suspended, appeals once per action. */
export async function appealModerationAction(viewer: Viewer | null, actionId: number, input: { message: string }): Promise<Appeal> {
  // Suspended users may appeal: that is what appeals are for.
  const appellant = requireViewer(viewer);
  const data = parseInput(z.object({ message: z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters') }), input);
  return writeWithActivity(async (tx, activity) => {
    // An entry the appellant may not read (another user's warning, say) is not found, as by node(id).
    const action = await tx.moderationAction.findFirst({ where: { id: actionId, AND: [actionVisibleWhere(appellant)] }, include: { space: true } });
    if (!action) throw new NotFoundError('ModerationAction', String(actionId));
    if (action.targetUserId !== appellant.id) throw new ForbiddenError('Only the user this action was taken against can appeal it');
    if (!APPEALABLE.includes(action.kind)) throw ValidationError.field('input.actionId', `is a ${action.kind} entry, which cannot be appealed`);
    if (await tx.appeal.findUnique({ where: { actionId }, select: { id: true } })) throw new ConflictError('This action was already appealed');
    const appeal = await tx.appeal.create({ data: { actionId, appellantId: appellant.id, message: data.message } });
    await activity.record({
      kind: 'APPEAL_FILED',
      actorId: appellant.id,
      subject: { type: 'Appeal', id: appeal.id },
      space: action.space,
      threadId: action.threadId,
      visibility: 'MODERATORS',
    });
    return appeal;
  });
}

/**
 * UPHELD keeps the action; REVERSED undoes it (content visible again, thread unlocked, user
 * unsuspended). Either way a log entry records the decision and its reason. Decided by a
 * moderator other than the one who acted (an ADMIN may decide any).
 */
export async function resolveAppeal(
  viewer: Viewer | null,
  appealId: number,
  input: { decision: 'UPHELD' | 'REVERSED'; reason: string },
): Promise<Appeal> {
  const actor = requireModerator(viewer);
  const data = parseInput(z.object({ decision: z.enum(['UPHELD', 'REVERSED']), reason }), input);
  return writeWithActivity(async (tx, activity) => {
    const appeal = await tx.appeal.findUnique({ where: { id: appealId }, include: { action: { include: { space: true } } } });
    if (!appeal) throw new NotFoundError('Appeal', String(appealId));
    if (appeal.action.actorId === actor.id && !isAdmin(actor.role)) {
      throw new ForbiddenError('Another moderator must decide an appeal against your own action');
    }
    const decided = await tx.appeal.updateMany({
      where: { id: appealId, status: 'PENDING' },
      data: { status: data.decision, resolvedById: actor.id, resolvedAt: new Date() },
    });
    if (decided.count === 0) throw new ConflictError(`This appeal was already decided (${appeal.status})`);
    const original = appeal.action;
    const subject = await resolveLockedSubject(tx, { typename: original.subjectType as SubjectRef['typename'], id: original.subjectId });
    if (data.decision === 'REVERSED' && subject.kind === 'content') await undoOnContent(tx, original, subject);
    await applyAction(tx, activity, actor, {
      kind: data.decision === 'UPHELD' ? 'APPEAL_UPHELD' : 'APPEAL_REVERSED',
      subject,
      reason: data.reason,
      decidedAppealId: appeal.id,
      // Reversing a warning undoes nothing; reversing a suspension lifts it (in applyAction).
      liftSuspension: original.kind === 'SUSPEND',
    });
    await activity.record({
      kind: 'APPEAL_RESOLVED',
      actorId: actor.id,
      subject: { type: 'Appeal', id: appeal.id },
      space: original.space,
      threadId: original.threadId,
      visibility: 'MODERATORS',
    });
    return tx.appeal.findUniqueOrThrow({ where: { id: appealId } });
  });
}

/** Undoes a content action if the content is still as the action left it. */
async function undoOnContent(tx: Tx, original: ModerationAction, subject: Extract<ResolvedSubject, { kind: 'content' }>): Promise<void> {
  const { content, ref } = subject;
  const still =
    (original.kind === 'HIDE' && content.moderationStatus === 'HIDDEN') || (original.kind === 'REMOVE' && content.moderationStatus === 'REMOVED');
  if (still) {
    await community.setModerationState(tx, ref, { status: 'VISIBLE', classifier: null, reason: null });
    content.moderationStatus = 'VISIBLE';
  }
  if (original.kind === 'LOCK' && content.threadStatus === 'LOCKED') {
    await community.setThreadStatus(tx, ref.id, 'OPEN');
    content.threadStatus = 'OPEN';
  }
}

export function appealVisibleWhere(viewer: Viewer | null): Prisma.AppealWhereInput {
  if (!viewer) return NOTHING;
  return canModerate(viewer.role) ? {} : { appellantId: viewer.id };
}

// ---- Automod rules ----------------------------------------------------------------------------------

export type AutomodRuleInput = {
  name?: string | null;
  enabled?: boolean | null;
  trigger?: AutomodTrigger | null;
  action?: AutomodAction | null;
  keywords?: string[] | null;
  pattern?: string | null;
  minAccountAgeDays?: number | null;
  minPosts?: number | null;
  maxMentions?: number | null;
  maxPosts?: number | null;
  windowMinutes?: number | null;
  exemptRoles?: Role[] | null;
  exemptSpaceIds?: number[] | null;
};

/** Keywords of one automod rule (more than the 100 items a list argument takes by default). */
export const MAX_AUTOMOD_KEYWORDS = 500;
const count = (max: number) => z.number().int().min(0, 'must be 0 or more').max(max, `must be at most ${max}`);
const ruleFields = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  enabled: z.boolean(),
  trigger: z.enum(['KEYWORD', 'PATTERN', 'LINK', 'MENTION_SPAM', 'RATE']),
  action: z.enum(['BLOCK', 'HOLD', 'FLAG']),
  keywords: z.array(z.string().max(100, 'must be at most 100 characters')).max(MAX_AUTOMOD_KEYWORDS, `must be at most ${MAX_AUTOMOD_KEYWORDS} words`),
  pattern: z.string().nullable(),
  minAccountAgeDays: count(3650).nullable(),
  minPosts: count(100_000).nullable(),
  maxMentions: count(1000).nullable(),
  maxPosts: count(10_000).nullable(),
  windowMinutes: z.number().int().min(1, 'must be at least 1').max(10_080, 'must be at most 10080 (a week)').nullable(),
  exemptRoles: z.array(z.enum(['MEMBER', 'MODERATOR', 'AGENT', 'COMMUNITY_MANAGER', 'ADMIN'])),
  exemptSpaceIds: z.array(z.number().int()).max(100, 'at most 100 spaces'),
});
type RuleData = z.infer<typeof ruleFields>;

// The settings each trigger reads; the others' are refused when given, not silently dropped.
const TRIGGER_SETTINGS: Record<RuleData['trigger'], (keyof RuleData)[]> = {
  KEYWORD: ['keywords'],
  PATTERN: ['pattern'],
  LINK: ['minAccountAgeDays', 'minPosts'],
  MENTION_SPAM: ['maxMentions'],
  RATE: ['maxPosts', 'windowMinutes'],
};

/**
 * Each trigger needs its own settings; `given` (what this request set) must not hold another
 * trigger's. A stored rule's old settings are dropped when an update changes its trigger.
 */
function checkRule(rule: RuleData, given: Partial<Record<keyof RuleData, unknown>>): RuleData {
  const errors: { path: string[]; message: string }[] = [];
  const need = (field: keyof RuleData, ok: boolean) => ok || errors.push({ path: ['input', field], message: `is required for a ${rule.trigger} rule` });
  for (const [trigger, fields] of Object.entries(TRIGGER_SETTINGS)) {
    if (trigger === rule.trigger) continue;
    for (const field of fields) {
      const value = given[field];
      if (value != null && !(Array.isArray(value) && value.length === 0)) {
        errors.push({ path: ['input', field], message: `is a ${trigger} setting, not used by a ${rule.trigger} rule` });
      }
    }
  }
  switch (rule.trigger) {
    case 'KEYWORD':
      need('keywords', rule.keywords.some((k) => foldedWords(k).length > 0));
      break;
    case 'PATTERN':
      need('pattern', !!rule.pattern);
      if (rule.pattern) compilePattern(rule.pattern);
      break;
    case 'LINK':
      if (rule.minAccountAgeDays == null && rule.minPosts == null) {
        errors.push({ path: ['input', 'minAccountAgeDays'], message: 'give minAccountAgeDays or minPosts (or both) for a LINK rule' });
      }
      break;
    case 'MENTION_SPAM':
      need('maxMentions', rule.maxMentions != null);
      break;
    case 'RATE':
      need('maxPosts', rule.maxPosts != null);
      need('windowMinutes', rule.windowMinutes != null);
      break;
  }
  if (errors.length) throw new ValidationError(errors);
  return {
    ...rule,
    // Stored as the engine compares them: lower case, no accents, single spaces.
    keywords: rule.trigger === 'KEYWORD' ? [...new Set(rule.keywords.map((k) => foldedWords(k).join(' ')).filter(Boolean))] : [],
    pattern: rule.trigger === 'PATTERN' ? rule.pattern : null,
    minAccountAgeDays: rule.trigger === 'LINK' ? rule.minAccountAgeDays : null,
    minPosts: rule.trigger === 'LINK' ? rule.minPosts : null,
    maxMentions: rule.trigger === 'MENTION_SPAM' ? rule.maxMentions : null,
    maxPosts: rule.trigger === 'RATE' ? rule.maxPosts : null,
    windowMinutes: rule.trigger === 'RATE' ? rule.windowMinutes : null,
  };
}

function ruleDefaults(input: AutomodRuleInput): Record<string, unknown> {
  return {
    name: input.name,
    enabled: input.enabled ?? true,
    trigger: input.trigger,
    action: input.action,
    keywords: input.keywords ?? [],
    pattern: input.pattern ?? null,
    minAccountAgeDays: input.minAccountAgeDays ?? null,
    minPosts: input.minPosts ?? null,
    maxMentions: input.maxMentions ?? null,
    maxPosts: input.maxPosts ?? null,
    windowMinutes: input.windowMinutes ?? null,
    exemptRoles: input.exemptRoles ?? [],
    exemptSpaceIds: input.exemptSpaceIds ?? [],
  };
}

async function assertRuleNameFree(tx: Tx, name: string, exceptId?: number): Promise<void> {
  const existing = await tx.automodRule.findUnique({ where: { name }, select: { id: true } });
  if (existing && existing.id !== exceptId) throw new ConflictError(`An automod rule named "${name}" already exists`);
}

export async function createAutomodRule(viewer: Viewer | null, input: AutomodRuleInput): Promise<AutomodRule> {
  const actor = requireRuleManager(viewer);
  const data = checkRule(parseInput(ruleFields, ruleDefaults(input)), input);
  return writeWithActivity(async (tx, activity) => {
    await assertRuleNameFree(tx, data.name);
    await assertSpacesExist(tx, data.exemptSpaceIds);
    const rule = await tx.automodRule.create({ data: { ...data, createdById: actor.id } });
    await recordRulesChanged(activity, actor, rule.id);
    return rule;
  });
}

/** Omitted fields keep their value; changing the trigger may need its settings. */
export async function updateAutomodRule(viewer: Viewer | null, ruleId: number, input: AutomodRuleInput): Promise<AutomodRule> {
  const actor = requireRuleManager(viewer);
  return writeWithActivity(async (tx, activity) => {
    const existing = await tx.automodRule.findUnique({ where: { id: ruleId } });
    if (!existing) throw new NotFoundError('AutomodRule', String(ruleId));
    const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined));
    const merged = { ...ruleDefaults(existing as unknown as AutomodRuleInput), ...given };
    const data = checkRule(parseInput(ruleFields, merged), given);
    await assertRuleNameFree(tx, data.name, ruleId);
    await assertSpacesExist(tx, data.exemptSpaceIds);
    const rule = await tx.automodRule.update({ where: { id: ruleId }, data });
    await recordRulesChanged(activity, actor, rule.id);
    return rule;
  });
}

export async function deleteAutomodRule(viewer: Viewer | null, ruleId: number): Promise<number> {
  const actor = requireRuleManager(viewer);
  return writeWithActivity(async (tx, activity) => {
    const { count } = await tx.automodRule.deleteMany({ where: { id: ruleId } });
    if (count === 0) throw new NotFoundError('AutomodRule', String(ruleId));
    // The event outlives the rule: its subject reads as null from now on.
    await recordRulesChanged(activity, actor, ruleId);
    return ruleId;
  });
}

/**
 * Rules decide what members may publish, so every change is on the record, for the people who
 * read rules (moderators) and change them (managers, admins): MODERATORS covers both.
 */
function recordRulesChanged(activity: ActivityRecorder, actor: Viewer, ruleId: number): Promise<void> {
  return activity.record({ kind: 'AUTOMOD_RULES_CHANGED', actorId: actor.id, subject: { type: 'AutomodRule', id: ruleId }, visibility: 'MODERATORS' });
}

async function assertSpacesExist(tx: Tx, spaceIds: number[]): Promise<void> {
  if (spaceIds.length === 0) return;
  const found = new Set((await tx.space.findMany({ where: { id: { in: spaceIds } }, select: { id: true } })).map((s) => s.id));
  const missing = spaceIds.findIndex((id) => !found.has(id));
  if (missing >= 0) throw ValidationError.field(`input.exemptSpaceIds.${missing}`, 'is not a space');
}

/** Automod rules and their hits: moderators read them, managers change them. */
export function automodRulesVisibleWhere(viewer: Viewer | null): Prisma.AutomodRuleWhereInput {
  return isModerator(viewer) ? {} : NOTHING;
}

/** Reads any subject records by id for moderators (everything) or applying visibility. */
export async function loadSubjects(viewer: Viewer | null, typename: SubjectRef['typename'], ids: readonly number[]) {
  const where = { id: { in: [...ids] } };
  const rows: { id: number }[] =
    typename === 'Thread' ? await prisma().thread.findMany({ where: { ...where, AND: [visibleThreadWhere(viewer)] } })
    : typename === 'Post' ? await prisma().post.findMany({ where: { ...where, AND: [visiblePostWhere(viewer)] } })
    : await prisma().user.findMany({ where });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
