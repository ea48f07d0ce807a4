import { randomUUID } from 'node:crypto';
import { prisma, type Tx } from '../../db/client.js';
import type { OutboundMessageKind } from '../../generated/prisma/enums.js';

// The outbox: every email is a row written in the transaction of the change that causes it, so
// a rolled-back change sends nothing and a committed one is never lost. The mail job delivers
// the rows after commit (see delivery.ts).

export type MailSettings = {
  /** The From header, e.g. `Tertulia <support@example.com>`. */
  from: string;
  /** Base URL of this API as its users reach it, for links in emails (unsubscribe, ...). */
  publicUrl: string;
};

let settings: MailSettings = { from: 'Tertulia <no-reply@localhost>', publicUrl: 'http://127.0.0.1:4000' };

export function configureMail(next: MailSettings): void {
  settings = next;
}

export const mailSettings = (): MailSettings => settings;

export type EmailInput = {
  kind: OutboundMessageKind;
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Threading: the Message-ID this one answers, and the chain before it (oldest first). */
  inReplyTo?: string | null;
  references?: string[];
  /** Extra headers (List-Unsubscribe, ...). */
  headers?: Record<string, string>;
  userId?: number | null;
  caseId?: number | null;
};

/** The address part of MAIL_FROM (`Name <a@b>` or `a@b`). */
export function fromAddress(from: string = settings.from): string {
  const bracketed = /<([^>]+)>/.exec(from);
  return (bracketed?.[1] ?? from).trim();
}

/** A globally unique Message-ID on our own domain, so replies to it can be recognised as ours. */
export function newMessageId(): string {
  const domain = fromAddress().split('@')[1] || 'localhost';
  return `<${randomUUID()}@${domain}>`;
}

/** Queues one email in the caller's transaction; returns its row id and Message-ID. */
export async function queueEmail(tx: Tx, input: EmailInput): Promise<{ id: number; messageId: string }> {
  const messageId = newMessageId();
  const row = await tx.outboundMessage.create({
    data: {
      kind: input.kind,
      toAddress: input.to,
      subject: input.subject,
      text: input.text,
      html: input.html ?? null,
      messageId,
      inReplyTo: input.inReplyTo ?? null,
      references: input.references ?? [],
      ...(input.headers && { headers: input.headers }),
      userId: input.userId ?? null,
      caseId: input.caseId ?? null,
    },
    select: { id: true },
  });
  // Not yet committed: the mail job of this instance watches for the row to appear (delivery.ts).
  emailQueued(row.id);
  return { id: row.id, messageId };
}

/** Tells this process's mail job that row `id` is (or is about to be, at commit) due. */
export function emailQueued(id: number): void {
  for (const listener of queuedListeners) listener(id);
}

const queuedListeners = new Set<(id: number) => void>();

/** Calls `listener` with the id of each email queued in this process; returns an unsubscribe function. */
export function onEmailQueued(listener: (id: number) => void): () => void {
  queuedListeners.add(listener);
  return () => queuedListeners.delete(listener);
}

/** A Message-ID as headers carry it, `<left@right>` (brackets added if missing); null when the text cannot be one. */
export function normalizeMessageId(text: string): string | null {
  const core = text.trim().replace(/^<(.*)>$/, '$1');
  return core.length <= 998 && /^[^\s<>@]+@[^\s<>@]+$/.test(core) ? `<${core}>` : null;
}

/** The emails already sent (or queued) about a case, oldest first: the conversation's outbound half. */
export async function caseEmails(tx: Tx, caseId: number): Promise<{ messageId: string; createdAt: Date }[]> {
  return tx.outboundMessage.findMany({ where: { caseId }, select: { messageId: true, createdAt: true }, orderBy: { id: 'asc' } });
}

/** Which case each of these Message-IDs of ours belongs to (ids of other emails, or of none, are left out). */
export async function casesOfEmails(tx: Tx, messageIds: string[]): Promise<Map<string, number>> {
  if (messageIds.length === 0) return new Map();
  const rows = await tx.outboundMessage.findMany({ where: { messageId: { in: messageIds }, caseId: { not: null } }, select: { messageId: true, caseId: true } });
  return new Map(rows.map((row) => [row.messageId, row.caseId!]));
}

/** The outbox's backlog for metrics: emails PENDING, and how long the most overdue one has been due (one statement). */
export async function outboxBacklog(now: Date): Promise<{ pending: number; oldestDueSeconds: number }> {
  const row = await prisma().outboundMessage.aggregate({ where: { status: 'PENDING' }, _count: { _all: true }, _min: { nextAttemptAt: true } });
  const oldest = row._min.nextAttemptAt;
  return { pending: row._count._all, oldestDueSeconds: oldest ? Math.max(0, now.getTime() - oldest.getTime()) / 1000 : 0 };
}
