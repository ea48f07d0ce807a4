import type { Viewer } from '../../context.js';
import { ForbiddenError, UnauthenticatedError } from '../../errors.js';
import type { Role } from '../../generated/prisma/enums.js';
import { canManageCommunity } from '../identity/roles.js';

// Who does what in support. One place, so every path (HTTP, WebSocket, node(id), nested fields,
// the ingest hook) applies the same rules.
//
// - Departments and channels are set up by a COMMUNITY_MANAGER or ADMIN.
// - A department's members are support staff: AGENT, COMMUNITY_MANAGER or ADMIN (a MODERATOR
//   moderates the community; handling cases is not their job).
// - A case is seen by its requester, the members of its department, and managers/admins.
//   Agents of other departments do NOT see it: a transfer hands the case (and its history) over.

export const canJoinDepartment = (role: Role): boolean => role === 'AGENT' || canManageCommunity(role);

export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw new UnauthenticatedError();
  return viewer;
}

export function requireSupportManager(viewer: Viewer | null): Viewer {
  const actor = requireViewer(viewer);
  if (!canManageCommunity(actor.role)) {
    throw new ForbiddenError('Only a COMMUNITY_MANAGER or ADMIN can manage support departments and channels');
  }
  return actor;
}
