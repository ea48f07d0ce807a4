import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { Prisma, Report } from '../../generated/prisma/client.js';
import type { ReportReason } from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import * as community from '../community/community.service.js';
import { canSeeContent, canSeeSpace } from '../community/policy.js';
import { canManageCommunity } from '../identity/roles.js';
import { applyAction } from './actions.js';
import { joinQueue } from './enqueue.js';
import { requireActiveViewer, requireModerator, requireViewer } from '../identity/guards.js';
import { resolveLockedSubject, resolveSubject, type SubjectRef } from './subjects.js';
import { flagWeight, HIDE_SPAM_LEVEL, trustLevelOf } from '../participation/trust-read.js';

// Reports and the moderation queue: members report, moderators claim, release and resolve.

let claimTtlMs = 30 * 60_000;
export function configureModeration(options: { claimTtlMinutes: number }): void {
  claimTtlMs = options.claimTtlMinutes * 60_000;
}

const reportInput = z
  .object({
    reason: z.enum(['SPAM', 'ABUSE', 'HARASSMENT', 'OFF_TOPIC', 'MISINFORMATION', 'ILLEGAL', 'OTHER']),
    note: z.string().trim().max(1000, 'must be at most 1000 characters').optional(),
  })
  .refine((value) => value.reason !== 'OTHER' || !!value.note, { message: 'is required when the reason is OTHER', path: ['note'] });

export async function reportContent(
  viewer: Viewer | null,
  subject: SubjectRef,
  input: { reason: ReportReason; note?: string | null },
): Promise<Report> {
  const reporter = requireActiveViewer(viewer);
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
    // The flag weighs by the reporter's trust level (participation/trust-read.ts FLAG_WEIGHTS).
    const level = await trustLevelOf(tx, reporter.id);
    const weight = flagWeight(level);
    const space = resolved.kind === 'content' ? resolved.content.space : null;
    const itemId = await joinQueue(tx, { subject, spaceId: space?.id ?? null, weight, reports: 1, ruleId: null });
    const report = await tx.report.create({
      data: { reporterId: reporter.id, subjectType: subject.typename, subjectId: subject.id, reason: data.reason, note: data.note ?? null, queueItemId: itemId, weight },
    });
    // Trust levels: a TL3+ member's SPAM report hides visible content at once, pending review
    // (the item stays open; a moderator confirms or restores). Recorded as the system's action.
    if (data.reason === 'SPAM' && level >= HIDE_SPAM_LEVEL && resolved.kind === 'content') {
      const locked = await resolveLockedSubject(tx, subject);
      if (locked.kind === 'content' && locked.content.moderationStatus === 'VISIBLE') {
        await applyAction(tx, activity, reporter, {
          kind: 'HIDE',
          subject: locked,
          classifier: 'SPAM',
          reason: 'Hidden as spam on the report of a trusted member (TL3+), pending review by a moderator',
          bySystem: true,
        });
      }
    }
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

export type QueueStatus = 'OPEN' | 'CLAIMED' | 'RESOLVED' | 'DISMISSED';
export type QueueFilter = { status?: QueueStatus | null; reason?: ReportReason | null; spaceId?: number };

/** A claim past its expiry counts as OPEN. */
export function effectiveQueueStatus(item: { status: QueueStatus; claimExpiresAt: Date | null }): QueueStatus {
  return item.status === 'CLAIMED' && item.claimExpiresAt && item.claimExpiresAt <= new Date() ? 'OPEN' : item.status;
}

/** myReports: your own reports (a suspended user still reads theirs). */
export function myReportsWhere(viewer: Viewer | null): Prisma.ReportWhereInput {
  return { reporterId: requireViewer(viewer).id };
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
