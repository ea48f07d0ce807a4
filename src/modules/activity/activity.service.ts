import type { Viewer } from '../../context.js';
import type { ActivityMessage } from '../../events/bus.js';
import type { ActivityKind } from '../../generated/prisma/enums.js';
import { isAdmin, isStaff } from '../identity/roles.js';
import { canSeeSpace } from '../community/visibility.js';

export type ActivityFilter = { kinds?: ActivityKind[]; spaceIds?: number[]; threadId?: number };

/** Whether this viewer may receive this event: checked per event, at delivery time. */
export function canReceive(viewer: Viewer | null, event: ActivityMessage): boolean {
  switch (event.visibility) {
    case 'STAFF':
      return !!viewer && isStaff(viewer.role);
    case 'SUBJECT_USER':
      return !!viewer && ((event.subjectType === 'User' && event.subjectId === viewer.id) || isAdmin(viewer.role));
    case 'SPACE':
      return event.spaceVisibility == null || canSeeSpace(viewer, event.spaceVisibility);
  }
}

export function matchesFilter(filter: ActivityFilter, event: ActivityMessage): boolean {
  if (filter.kinds?.length && !filter.kinds.includes(event.kind)) return false;
  if (filter.spaceIds?.length && (event.spaceId == null || !filter.spaceIds.includes(event.spaceId))) return false;
  if (filter.threadId !== undefined && event.threadId !== filter.threadId) return false;
  return true;
}
