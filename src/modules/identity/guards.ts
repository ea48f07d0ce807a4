import type { Viewer } from '../../context.js';
import { ForbiddenError, UnauthenticatedError } from '../../errors.js';
import { canManageCommunity, isStaff } from './roles.js';

// The checks services start with: who may do this at all. Finer rules (the author, a member of
// the department) stay in each service.

export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw new UnauthenticatedError();
  return viewer;
}

export function requireStaff(viewer: Viewer | null, what: string): Viewer {
  const actor = requireViewer(viewer);
  if (!isStaff(actor.role)) throw new ForbiddenError(`Only staff can ${what}`);
  return actor;
}

export function requireManager(viewer: Viewer | null, what: string): Viewer {
  const actor = requireViewer(viewer);
  if (!canManageCommunity(actor.role)) throw new ForbiddenError(`Only a COMMUNITY_MANAGER or ADMIN can ${what}`);
  return actor;
}
