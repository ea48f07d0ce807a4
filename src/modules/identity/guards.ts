import type { Viewer } from '../../context.js';
import { ForbiddenError, UnauthenticatedError } from '../../errors.js';
import type { Role } from '../../generated/prisma/enums.js';
import { ADMIN_ROLES, MANAGER_ROLES, MODERATOR_ROLES, STAFF_ROLES } from './roles.js';

// Every role gate of the API: who may do this at all. Services call one of these first (never
// resolvers), so `grep -rn "require[A-Z][a-zA-Z]*(" src` lists every gate. Finer rules (the
// author, a member of the case's department, rank) stay in each service; who may see which row
// is in each domain's policy.ts (`*VisibleWhere`).

/** Signed in, suspended or not: only for what a suspended user may still do (support, appeals, reading). */
export function requireViewer(viewer: Viewer | null, message?: string): Viewer {
  if (!viewer) throw new UnauthenticatedError(message);
  return viewer;
}

/** Signed in and not suspended: the default for every write. */
export function requireActiveViewer(viewer: Viewer | null): Viewer {
  const actor = requireViewer(viewer);
  if (actor.suspendedUntil && actor.suspendedUntil > new Date()) {
    throw new ForbiddenError(`Your account is suspended until ${actor.suspendedUntil.toISOString()}`);
  }
  return actor;
}

/** Signed in with one of `roles`; the message says who may, or is the generic one of a staff-only read. */
export function requireRole(viewer: Viewer | null, roles: readonly Role[], message = 'Your role does not allow this'): Viewer {
  const actor = requireViewer(viewer);
  if (!roles.includes(actor.role)) throw new ForbiddenError(message);
  return actor;
}

export function requireStaff(viewer: Viewer | null, what: string): Viewer {
  return requireRole(viewer, STAFF_ROLES, `Only staff can ${what}`);
}

export function requireModerator(viewer: Viewer | null): Viewer {
  return requireRole(viewer, MODERATOR_ROLES, 'Only a MODERATOR, COMMUNITY_MANAGER or ADMIN can moderate');
}

export function requireManager(viewer: Viewer | null, what: string): Viewer {
  return requireRole(viewer, MANAGER_ROLES, `Only a COMMUNITY_MANAGER or ADMIN can ${what}`);
}

export function requireAdmin(viewer: Viewer | null, what: string): Viewer {
  return requireRole(viewer, ADMIN_ROLES, `Only an ADMIN can ${what}`);
}
