import type { Role } from '../../generated/prisma/enums.js';

// Staff are everyone but members; moderation powers exclude support agents.
export const isStaff = (role: Role): boolean => role !== 'MEMBER';
export const canModerate = (role: Role): boolean =>
  role === 'MODERATOR' || role === 'COMMUNITY_MANAGER' || role === 'ADMIN';
export const canManageCommunity = (role: Role): boolean => role === 'COMMUNITY_MANAGER' || role === 'ADMIN';
export const isAdmin = (role: Role): boolean => role === 'ADMIN';
