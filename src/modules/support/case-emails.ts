import type { Tx } from '../../db/client.js';
import type { SupportCase } from '../../generated/prisma/client.js';
import type { CaseStatus } from '../../generated/prisma/enums.js';
import { caseEmails, casesOfEmails, normalizeMessageId, queueEmail } from '../mail/outbox.js';

// Email out for support: a case that came in by email (POST /ingest/cases on an EMAIL channel;
// SupportCase.requesterEmail) is answered by email. Each public staff reply, and each status the
// requester should know of, is queued in the transaction of the change (so a rolled-back reply
// sends nothing), threaded under the requester's own messages: In-Reply-To names their last
// message, References the conversation, and the subject carries the case reference. Their answer
// comes back through the ingest hook, which finds the case by those headers (threadedCaseId).
// Internal notes are never emailed: only replyToCase's public branch calls emailCaseReply.

/** References kept: the first message and the most recent ones (RFC 5322 allows trimming the middle). */
const MAX_REFERENCES = 20;

/** What a requester is told, by status; statuses not listed are the team's own business. */
const STATUS_NEWS: Partial<Record<CaseStatus, string>> = {
  PENDING: 'We need something from you to go on with it: please answer this email.',
  RESOLVED: 'We consider it resolved. If it is not, answer this email and it opens again.',
  CLOSED: 'It is now closed. If you need more help, write to us again: an answer to this email opens a new case.',
};

type EmailCase = Pick<SupportCase, 'id' | 'reference' | 'subject' | 'requesterId' | 'requesterEmail'>;

/** "Re: <subject> [K7QM-2XD9-4RTA]", on one line. */
function caseSubject(kase: EmailCase): string {
  const subject = kase.subject.replace(/[\r\n\t]+/g, ' ').trim();
  return `${/^re:/i.test(subject) ? '' : 'Re: '}${subject} [${kase.reference}]`;
}

const footer = (kase: EmailCase) => `Case ${kase.reference}. Answer this email to write to us; keep [${kase.reference}] in the subject.`;

/** The headers that thread an email under the conversation: the requester's last message, and the chain. */
async function threading(tx: Tx, kase: EmailCase): Promise<{ inReplyTo: string | null; references: string[] }> {
  const [inbound, outbound] = await Promise.all([
    tx.ingestedMessage.findMany({ where: { caseId: kase.id }, select: { messageId: true, createdAt: true }, orderBy: { id: 'asc' } }),
    caseEmails(tx, kase.id),
  ]);
  const theirs = inbound.flatMap((row) => {
    const id = normalizeMessageId(row.messageId);
    return id ? [{ id, at: row.createdAt }] : [];
  });
  const chain = [...theirs, ...outbound.map((row) => ({ id: row.messageId, at: row.createdAt }))]
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .map((entry) => entry.id);
  const references = chain.length > MAX_REFERENCES ? [chain[0], ...chain.slice(-(MAX_REFERENCES - 1))] : chain;
  return { inReplyTo: theirs.at(-1)?.id ?? chain.at(-1) ?? null, references };
}

/** A public staff reply, to a requester who wrote by email. */
export async function emailCaseReply(tx: Tx, kase: EmailCase, body: string, authorName: string): Promise<void> {
  if (!kase.requesterEmail) return;
  await queueEmail(tx, {
    kind: 'CASE_REPLY',
    to: kase.requesterEmail,
    subject: caseSubject(kase),
    text: `${body}\n\n-- \n${authorName}\n${footer(kase)}\n`,
    ...(await threading(tx, kase)),
    userId: kase.requesterId,
    caseId: kase.id,
  });
}

/** A status the requester should know of (waiting on them, resolved, closed), to a requester who wrote by email. */
export async function emailCaseStatus(tx: Tx, kase: EmailCase, status: CaseStatus): Promise<void> {
  const news = STATUS_NEWS[status];
  if (!kase.requesterEmail || !news) return;
  await queueEmail(tx, {
    kind: 'CASE_STATUS_CHANGED',
    to: kase.requesterEmail,
    subject: caseSubject(kase),
    text: `Your case ${kase.reference}, "${kase.subject}": ${news}\n\n-- \n${footer(kase)}\n`,
    ...(await threading(tx, kase)),
    userId: kase.requesterId,
    caseId: kase.id,
  });
}

export type InboundThreading = {
  inReplyTo?: string[];
  references?: string[];
  /** A case reference the subject carries in brackets ("[K7QM-2XD9-4RTA]"), normalized. */
  subjectReference?: string | null;
};

/**
 * The case an inbound email answers, if it names one: by its In-Reply-To and References (one of
 * our emails about a case, or an earlier message of the conversation on this channel; the most
 * recent named first), else by a case reference in brackets in its subject. The caller still
 * checks that the sender is the case's requester.
 */
export async function threadedCaseId(tx: Tx, channelId: number, inbound: InboundThreading): Promise<number | null> {
  // Most recent first: In-Reply-To, then References from the end.
  const named = [...(inbound.inReplyTo ?? []), ...[...(inbound.references ?? [])].reverse()];
  if (named.length > 0) {
    const ours = await casesOfEmails(tx, named);
    // The channel stored what the provider sent: with or without angle brackets.
    const raw = named.flatMap((id) => [id, id.slice(1, -1)]);
    const theirs = await tx.ingestedMessage.findMany({ where: { channelId, messageId: { in: raw } }, select: { messageId: true, caseId: true } });
    const byInbound = new Map(theirs.map((row) => [normalizeMessageId(row.messageId), row.caseId]));
    for (const id of named) {
      const caseId = ours.get(id) ?? byInbound.get(id);
      if (caseId !== undefined) return caseId;
    }
  }
  if (!inbound.subjectReference) return null;
  const kase = await tx.supportCase.findUnique({ where: { reference: inbound.subjectReference }, select: { id: true } });
  return kase?.id ?? null;
}
