/**
 * A `where` that matches no row, for any model with an `id`: what a row rule answers for a
 * viewer who may read none of a list (lists, counts, node(id)). Prisma turns `in: []` into a
 * condition that is false without reading the table.
 */
export const MATCH_NOTHING = { AND: [{ id: { in: [] as never[] } }] };
