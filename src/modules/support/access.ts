import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
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
// - A suspended member may still use support: open a case, write on and rate their own cases,
//   follow them live (caseUpdated). It is where they ask about the suspension itself, or about
//   billing, and an email to /ingest/cases would reach the team anyway. Every other write (the
//   community's, reactions, reports) stays refused, and so do their other live subscriptions.

export const canJoinDepartment = (role: Role): boolean => role === 'AGENT' || canManageCommunity(role);

// Leaving the staff ends staff access at once, on every path. Two halves of one rule:
// - setUserRole to a role that cannot join departments (MEMBER, MODERATOR) removes every
//   membership in the same transaction (leaveSupportStaff): the cases the user held are
//   unassigned, and given to the next on-duty agent where the department auto-assigns; live
//   subscriptions hear DEPARTMENT_MEMBER_REMOVED and USER_ROLE_CHANGED before any later event.
//   A later promotion does not bring memberships back: a manager adds the person again.
// - A membership counts only while the role can join departments, so a request authenticated
//   before the demotion, or a membership row left from before this rule, grants nothing.
export const membershipCounts = (role: Role): boolean => canJoinDepartment(role);

export function requireSupportManager(viewer: Viewer | null): Viewer {
  return requireManager(viewer, 'manage support departments and channels');
}

/** For a nested field: the ids of the departments the viewer belongs to (one query per request). */
export async function viewerDepartmentIds(viewer: Pick<Viewer, 'id' | 'role'> | null): Promise<number[]> {
  if (!viewer || !membershipCounts(viewer.role)) return [];
  const rows = await prisma().departmentMember.findMany({ where: { userId: viewer.id }, select: { departmentId: true } });
  return rows.map((row) => row.departmentId);
}
