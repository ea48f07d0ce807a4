import type { Viewer } from '../../context.js';
import { MATCH_NOTHING } from '../../db/where.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { isAdmin } from '../identity/roles.js';

// Who may see which email: the row rule of the outbox (the gates are in identity/guards.ts).

/** Only ADMINs see outbound messages, on every path (the list, node(id), nodes(ids)). */
export function outboundVisibleWhere(viewer: Viewer | null): Prisma.OutboundMessageWhereInput {
  return viewer && isAdmin(viewer.role) ? {} : MATCH_NOTHING;
}
