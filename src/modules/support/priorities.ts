import type { CasePriority } from '../../generated/prisma/enums.js';

/** Lowest to highest: escalation moves one step right. */
export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const satisfies readonly CasePriority[];
