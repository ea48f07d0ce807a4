import type { Viewer } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { ModerationStatus, SpaceVisibility } from '../../generated/prisma/enums.js';
import { canModerate, isStaff } from '../identity/roles.js';

// Who can see a space, and so its threads, posts and activity. One rule for every path.
export function visibleSpaceVisibilities(viewer: Viewer | null): SpaceVisibility[] {
  if (!viewer) return ['PUBLIC'];
  return isStaff(viewer.role) ? ['PUBLIC', 'MEMBERS', 'STAFF'] : ['PUBLIC', 'MEMBERS'];
}

export function canSeeSpace(viewer: Viewer | null, visibility: SpaceVisibility): boolean {
  return visibleSpaceVisibilities(viewer).includes(visibility);
}

// ---- Moderated content: one rule, in a JS form (one record) and a Prisma form (lists, node).
// VISIBLE and HIDDEN content is listed for everyone who can see its space (HIDDEN collapsed);
// REMOVED and HELD content exists only for its author and moderators.

export const PUBLISHED_STATUSES: ModerationStatus[] = ['VISIBLE', 'HIDDEN'];

type Moderated = { moderationStatus: ModerationStatus; authorId: number };

const readsEverything = (viewer: Viewer | null): boolean => !!viewer && canModerate(viewer.role);

export function canSeeContent(viewer: Viewer | null, content: Moderated): boolean {
  return (
    PUBLISHED_STATUSES.includes(content.moderationStatus) || readsEverything(viewer) || viewer?.id === content.authorId
  );
}

/** A thread reached from another record (a case, a mention): its space and its moderation both apply. */
export function canSeeThread(viewer: Viewer | null, thread: Moderated & { space: { visibility: SpaceVisibility } }): boolean {
  return canSeeSpace(viewer, thread.space.visibility) && canSeeContent(viewer, thread);
}

/** Hidden content is collapsed (title and body withheld, classifier shown) for all but its author and moderators. */
export function isCollapsedFor(viewer: Viewer | null, content: Moderated): boolean {
  return content.moderationStatus === 'HIDDEN' && !readsEverything(viewer) && viewer?.id !== content.authorId;
}

/**
 * Deleted by its author: shown in place, title and body withheld, for all but moderators (who
 * still read what was written).
 */
export function isDeletedFor(viewer: Viewer | null, content: { deletedAt: Date | null }): boolean {
  return content.deletedAt != null && !readsEverything(viewer);
}

/** The Prisma form of canSeeContent, for a thread or a post row. */
type StatusIn = { moderationStatus: { in: ModerationStatus[] } };
export function visibleContentWhere(viewer: Viewer | null): Partial<StatusIn> & { OR?: (StatusIn | { authorId: number })[] } {
  if (readsEverything(viewer)) return {};
  const published = { moderationStatus: { in: PUBLISHED_STATUSES } };
  return viewer ? { OR: [published, { authorId: viewer.id }] } : published;
}

export function visibleThreadWhere(viewer: Viewer | null): Prisma.ThreadWhereInput {
  return { space: { visibility: { in: visibleSpaceVisibilities(viewer) } }, ...visibleContentWhere(viewer) };
}

export function visiblePostWhere(viewer: Viewer | null): Prisma.PostWhereInput {
  return { ...visibleContentWhere(viewer), thread: visibleThreadWhere(viewer) };
}

/**
 * For raw SQL (search): content is matched on its words only if the viewer reads it in full
 * (status VISIBLE, or their own, or a moderator); hidden text must not leak through search.
 */
export function fullReader(viewer: Viewer | null): { everything: boolean; viewerId: number } {
  return { everything: readsEverything(viewer), viewerId: viewer?.id ?? 0 };
}
