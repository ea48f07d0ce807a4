import type { Viewer } from '../../context.js';
import type { Role } from '../../generated/prisma/enums.js';
import { requireManager } from '../identity/guards.js';
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

export function requireSupportManager(viewer: Viewer | null): Viewer {
  return requireManager(viewer, 'manage support departments and channels');
}
