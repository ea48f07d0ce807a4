import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { MATCH_NOTHING } from '../../db/where.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { Role } from '../../generated/prisma/enums.js';
import { canManageCommunity, isStaff } from '../identity/roles.js';

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

/** What requireManager says to others: departments, channels, routing and ingest are set up by managers. */
export const SUPPORT_SETUP = 'manage support departments and channels';

/** For a nested field: the ids of the departments the viewer belongs to (one query per request). */
export async function viewerDepartmentIds(viewer: Pick<Viewer, 'id' | 'role'> | null): Promise<number[]> {
  if (!viewer || !membershipCounts(viewer.role)) return [];
  const rows = await prisma().departmentMember.findMany({ where: { userId: viewer.id }, select: { departmentId: true } });
  return rows.map((row) => row.departmentId);
}

// ---- Who sees what ----------------------------------------------------------------------------

/** The viewer's departments, as far as their membership counts. */
const inDepartmentOf = (viewer: Viewer) =>
  membershipCounts(viewer.role) ? { department: { members: { some: { userId: viewer.id } } } } : MATCH_NOTHING;

/** The cases a viewer may see: their own, their departments', all for managers and admins. */
export function caseVisibleWhere(viewer: Viewer | null): Prisma.SupportCaseWhereInput {
  if (!viewer) return MATCH_NOTHING;
  if (canManageCommunity(viewer.role)) return {};
  return { OR: [{ requesterId: viewer.id }, inDepartmentOf(viewer)] };
}

/** Messages: public ones of visible cases; internal notes only to staff of the case. */
export function messageVisibleWhere(viewer: Viewer | null): Prisma.CaseMessageWhereInput {
  if (!viewer) return MATCH_NOTHING;
  if (canManageCommunity(viewer.role)) return {};
  return { OR: [{ case: inDepartmentOf(viewer) }, { internal: false, case: { requesterId: viewer.id } }] };
}

/** Timeline entries: the same rule as messages. */
export function timelineVisibleWhere(viewer: Viewer | null): Prisma.CaseEventWhereInput {
  if (!viewer) return MATCH_NOTHING;
  if (canManageCommunity(viewer.role)) return {};
  return { OR: [{ case: inDepartmentOf(viewer) }, { internal: false, case: { requesterId: viewer.id } }] };
}

/** Staff of a case: its department's members, managers and admins. */
export function isStaffOfCase(viewer: Viewer | null, departmentId: number, viewerDepartmentIds: readonly number[]): boolean {
  return !!viewer && (canManageCommunity(viewer.role) || viewerDepartmentIds.includes(departmentId));
}

/** Everyone sees active channels (a help page lists where to ask); staff may ask for inactive ones too. */
export function channelListWhere(viewer: Viewer | null, includeInactive: boolean): Prisma.SupportChannelWhereInput {
  return includeInactive && viewer && isStaff(viewer.role) ? {} : { active: true };
}

/** node(id) of a channel: the same rule as the list with inactive channels asked for. */
export function channelNodeWhere(viewer: Viewer | null): { active?: boolean } {
  return viewer && isStaff(viewer.role) ? {} : { active: true };
}

/** Routing rules, departments and their members: staff read them, managers change them. */
export const staffReads = (viewer: Viewer | null): boolean => !!viewer && isStaff(viewer.role);

export function routingRuleVisibleWhere(viewer: Viewer | null): Prisma.RoutingRuleWhereInput {
  return staffReads(viewer) ? {} : MATCH_NOTHING;
}
