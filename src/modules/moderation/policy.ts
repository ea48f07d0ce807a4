import type { Viewer } from '../../context.js';
import { MATCH_NOTHING } from '../../db/where.js';
import { ForbiddenError } from '../../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { ActivityKind, ModerationActionKind, Role } from '../../generated/prisma/enums.js';
import { visiblePostWhere, visibleThreadWhere } from '../community/policy.js';
import { canModerate, isAdmin, outranks } from '../identity/roles.js';

// Who may see what in moderation: the rank rules between a moderator and whom they act on, and
// the row rules (*VisibleWhere) every read of moderation records applies. The role gates
// (requireModerator...) are in identity/guards.ts.

export const isModerator = (viewer: Viewer | null): boolean => !!viewer && canModerate(viewer.role);

/** Whether `actor` may act on `user`, before any change. */
export function assertMayModerateUser(actor: Viewer, user: { id: number; role: Role }, kind: ModerationActionKind): void {
  if (user.id === actor.id) throw new ForbiddenError('You cannot moderate yourself');
  // Punishing staff is for someone above them (suspension further allows members only).
  if ((kind === 'WARN' || kind === 'SUSPEND') && !outranks(actor.role, user.role)) {
    throw new ForbiddenError(`You cannot ${kind.toLowerCase()} a user of your rank or above (${user.role})`);
  }
}

/** An appeal is decided by a moderator other than the one who acted (an ADMIN may decide any). */
export function assertMayDecideAppeal(actor: Viewer, action: { actorId: number | null }): void {
  if (action.actorId === actor.id && !isAdmin(actor.role)) {
    throw new ForbiddenError('Another moderator must decide an appeal against your own action');
  }
}

export function queueItemVisibleWhere(viewer: Viewer | null): Prisma.ModerationQueueItemWhereInput {
  return isModerator(viewer) ? {} : MATCH_NOTHING;
}

/** Reports a viewer may read: their own; moderators read all. */
export function reportVisibleWhere(viewer: Viewer | null): Prisma.ReportWhereInput {
  if (!viewer) return MATCH_NOTHING;
  return canModerate(viewer.role) ? {} : { reporterId: viewer.id };
}

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

export function appealVisibleWhere(viewer: Viewer | null): Prisma.AppealWhereInput {
  if (!viewer) return MATCH_NOTHING;
  return canModerate(viewer.role) ? {} : { appellantId: viewer.id };
}

/** Automod rules and their hits: moderators read them, managers change them. */
export function automodRulesVisibleWhere(viewer: Viewer | null): Prisma.AutomodRuleWhereInput {
  return isModerator(viewer) ? {} : MATCH_NOTHING;
}
