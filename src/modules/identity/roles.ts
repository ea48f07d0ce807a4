import type { Role } from '../../generated/prisma/enums.js';

// Staff are everyone but members; moderation powers exclude support agents.
export const isStaff = (role: Role): boolean => role !== 'MEMBER';
export const canModerate = (role: Role): boolean =>
  role === 'MODERATOR' || role === 'COMMUNITY_MANAGER' || role === 'ADMIN';
export const canManageCommunity = (role: Role): boolean => role === 'COMMUNITY_MANAGER' || role === 'ADMIN';
export const isAdmin = (role: Role): boolean => role === 'ADMIN';

// Rank among staff, for actions one person takes against another (a warning, a suspension): only
// someone of higher rank may act. Agents and moderators stand level: neither polices the other.
const RANK: Record<Role, number> = { MEMBER: 0, AGENT: 1, MODERATOR: 1, COMMUNITY_MANAGER: 2, ADMIN: 3 };
export const outranks = (actor: Role, target: Role): boolean => RANK[actor] > RANK[target];
