import type { Viewer } from '../../context.js';
import { MATCH_NOTHING } from '../../db/where.js';
import { canManageCommunity, isStaff } from '../identity/roles.js';

// Who may see which listening record, on every path (lists, node(id), nested fields). Brands and
// mentions are the team's; sources (addresses, secrets, errors) and alerts are the managers'.
// The gates (requireStaff, requireManager) are in identity/guards.ts.

export const staffReads = (viewer: Viewer | null): boolean => !!viewer && isStaff(viewer.role);
export const canSeeSources = (viewer: Viewer | null): boolean => !!viewer && canManageCommunity(viewer.role);

/** node(id) answers null to those who may not see a record: the unique lookup gets a filter that matches nothing. */
export const staffRowsWhere = (viewer: Viewer | null) => (staffReads(viewer) ? {} : MATCH_NOTHING);
export const managerRowsWhere = (viewer: Viewer | null) => (canSeeSources(viewer) ? {} : MATCH_NOTHING);
