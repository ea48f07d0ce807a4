import type { Role } from '../../generated/prisma/enums.js';

// Who holds which power, by role: the one list each gate and each row rule reads. Staff are
// everyone but members; moderation powers exclude support agents.
export const STAFF_ROLES: readonly Role[] = ['AGENT', 'MODERATOR', 'COMMUNITY_MANAGER', 'ADMIN'];
export const MODERATOR_ROLES: readonly Role[] = ['MODERATOR', 'COMMUNITY_MANAGER', 'ADMIN'];
export const MANAGER_ROLES: readonly Role[] = ['COMMUNITY_MANAGER', 'ADMIN'];
export const ADMIN_ROLES: readonly Role[] = ['ADMIN'];

export const isStaff = (role: Role): boolean => STAFF_ROLES.includes(role);
export const canModerate = (role: Role): boolean => MODERATOR_ROLES.includes(role);
export const canManageCommunity = (role: Role): boolean => MANAGER_ROLES.includes(role);
export const isAdmin = (role: Role): boolean => ADMIN_ROLES.includes(role);

// Rank among staff, for actions one person takes against another (a warning, a suspension): only
// someone of higher rank may act. Agents and moderators stand level: neither polices the other.
const RANK: Record<Role, number> = { MEMBER: 0, AGENT: 1, MODERATOR: 1, COMMUNITY_MANAGER: 2, ADMIN: 3 };
export const outranks = (actor: Role, target: Role): boolean => RANK[actor] > RANK[target];
