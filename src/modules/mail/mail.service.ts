import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { OutboundMessage, Prisma } from '../../generated/prisma/client.js';
import type { OutboundMessageKind, OutboundMessageStatus } from '../../generated/prisma/enums.js';
import { requireAdmin, requireRole } from '../identity/guards.js';
import { ADMIN_ROLES } from '../identity/roles.js';
import { emailQueued } from './outbox.js';

// The outbox as ADMINs see it (outboundMessages, node(id)) and requeue it (retryOutboundMessage).

/**
 * Account emails carry a one-time link (a password reset, say): whoever reads it can use it, so
 * not even an ADMIN reads their text here. The log of an instance without SMTP_URL still shows it.
 */
const ONE_TIME_LINK_KINDS: ReadonlySet<OutboundMessageKind> = new Set(['PASSWORD_RESET', 'EMAIL_VERIFICATION', 'SIGN_UP_EMAIL_TAKEN']);

export const readableText = (message: Pick<OutboundMessage, 'kind' | 'text'>): string | null =>
  ONE_TIME_LINK_KINDS.has(message.kind) ? null : message.text;

export type OutboundFilter = { status?: OutboundMessageStatus | null; kind?: OutboundMessageKind | null; caseId?: number | null };

/** outboundMessages: ADMIN only. */
export function outboundListWhere(viewer: Viewer | null, filter: OutboundFilter | null | undefined): Prisma.OutboundMessageWhereInput {
  requireRole(viewer, ADMIN_ROLES);
  return {
    ...(filter?.status && { status: filter.status }),
    ...(filter?.kind && { kind: filter.kind }),
    ...(filter?.caseId != null && { caseId: filter.caseId }),
  };
}

const RETRYABLE: OutboundMessageStatus[] = ['DEAD', 'LOGGED'];

/**
 * ADMIN: a DEAD message (or a LOGGED one, once SMTP_URL is set) goes back to PENDING with its
 * attempts reset, due now; this instance's mail job takes it at once. Its lastError stays until
 * the next attempt.
 */
export async function retryOutboundMessage(viewer: Viewer | null, id: number): Promise<OutboundMessage> {
  requireAdmin(viewer, 'requeue an email');
  const { count } = await prisma().outboundMessage.updateMany({
    where: { id, status: { in: RETRYABLE } },
    data: { status: 'PENDING', attempts: 0, nextAttemptAt: new Date() },
  });
  const message = await prisma().outboundMessage.findUnique({ where: { id } });
  if (!message) throw new NotFoundError('OutboundMessage', String(id));
  if (count === 0) throw new ConflictError(`This email is ${message.status}: only DEAD or LOGGED emails can be requeued`);
  emailQueued(id);
  return message;
}
