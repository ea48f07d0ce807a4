import { z } from 'zod';
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { Appeal, ModerationAction, Prisma } from '../../generated/prisma/client.js';
import type { AppealStatus, ModerationActionKind } from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import * as community from '../community/community.service.js';
import { applyAction, reason } from './actions.js';
import { requireModerator, requireViewer } from '../identity/guards.js';
import { actionVisibleWhere, assertMayDecideAppeal } from './policy.js';
import { resolveLockedSubject, type ResolvedSubject, type SubjectRef } from './subjects.js';

// Appeals: the user acted on appeals once per action; another moderator decides.

const APPEALABLE: ModerationActionKind[] = ['HIDE', 'REMOVE', 'LOCK', 'WARN', 'SUSPEND'];

/** moderationAppeals: moderators only, optionally in one status. */
export function appealListWhere(viewer: Viewer | null, status: AppealStatus | null | undefined): Prisma.AppealWhereInput {
  requireModerator(viewer);
  return status ? { status } : {};
}

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
    assertMayDecideAppeal(actor, appeal.action);
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
