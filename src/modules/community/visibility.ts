import type { Viewer } from '../../context.js';
import type { SpaceVisibility } from '../../generated/prisma/enums.js';
import { isStaff } from '../identity/roles.js';

// Who can see a space, and so its threads, posts and activity. One rule for every path.
export function visibleSpaceVisibilities(viewer: Viewer | null): SpaceVisibility[] {
  if (!viewer) return ['PUBLIC'];
  return isStaff(viewer.role) ? ['PUBLIC', 'MEMBERS', 'STAFF'] : ['PUBLIC', 'MEMBERS'];
}

export function canSeeSpace(viewer: Viewer | null, visibility: SpaceVisibility): boolean {
  return visibleSpaceVisibilities(viewer).includes(visibility);
}
