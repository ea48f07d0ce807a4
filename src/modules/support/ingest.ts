import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { SupportCase } from '../../generated/prisma/client.js';
import { decodeId, encodeGlobalID } from '../../ids.js';
import { parseInput } from '../../validation.js';
import { parseJsonBody, SIGNATURE_HEADER, signatureMatches, type WebhookReply } from '../../webhooks.js';
import { ensureUserForEmail } from '../identity/identity.service.js';
import { requireManager } from '../identity/guards.js';
import { SUPPORT_SETUP } from './policy.js';
import { normalizeMessageId } from '../mail/outbox.js';
import { threadedCaseId } from './case-emails.js';
import { addRequesterMessage, assertNotClosed, createCase, normalizeCaseReference } from './cases.js';
import { CaseLog } from './timeline.js';
import { PRIORITIES } from './priorities.js';

// POST /ingest/cases: email and chat providers' inbound hooks open cases and append to them.
//
//   X-Tertulia-Timestamp: <Unix seconds when signed>   (within WEBHOOK_TOLERANCE_SECONDS of the server's clock)
//   X-Tertulia-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>", keyed with the channel's secret>
//   { "channelId": "<SupportChannel id>", "messageId": "<the sender's id for this message>",
//     "from": { "email": "...", "name": "..." }, "subject": "...", "body": "...",
//     "priority": "NORMAL", "caseReference": "K7QM-2XD9-4RTA" }   // append to that case instead
//   (or "caseNumber": 42, the staff-side number; not both)
//   Email providers also send "inReplyTo" and "references" (the headers, as text or a list of
//   Message-IDs): without caseReference/caseNumber, a message answering one of our case emails
//   (or an earlier message of the case on this channel), or whose subject carries "[<reference>]",
//   goes into that case, if its sender is the requester and it is not closed; else it opens a new
//   case. A case opened on an EMAIL channel is answered by email (case-emails.ts).
//
// 201 with { caseId, caseNumber, caseReference, caseMessageId, duplicate: false } for a new
// message (quote caseReference to the requester: unlike the number, it tells nothing of the case
// volume); 200 with the
// same answer and duplicate: true for a message id seen before on that channel (providers retry).
// 401 for a missing, malformed or out-of-window timestamp (src/webhooks.ts, before anything is
// looked up), for a missing or wrong signature (and for an unknown channel or one without a
// secret, so channel ids cannot be probed); nothing is written before the signature checks out.

/** A new secret for a channel's hook (COMMUNITY_MANAGER, ADMIN); the old one stops working. */
export async function rotateIngestSecret(viewer: Viewer | null, channelId: number): Promise<string> {
  requireManager(viewer, SUPPORT_SETUP);
  const secret = randomBytes(32).toString('hex');
  const { count } = await prisma().supportChannel.updateMany({ where: { id: channelId }, data: { ingestSecret: secret } });
  if (count === 0) throw new NotFoundError('SupportChannel', String(channelId));
  return secret;
}

/** Message-IDs as a header carries them ("<a@b> <c@d>") or as a list; what cannot be one is ignored. */
const messageIds = z
  .union([z.string().max(20_000, 'must be at most 20000 characters'), z.array(z.string().max(1000, 'must be at most 1000 characters')).max(100, 'must have at most 100 items')])
  .transform((value) => {
    const parts = typeof value === 'string' ? (value.match(/<[^<>]*>/g) ?? value.split(/[\s,]+/)) : value;
    return parts.flatMap((part) => normalizeMessageId(part) ?? []).slice(-100);
  });

/** The last bracketed case reference in a subject ("Re: Re: Help [K7QM-2XD9-4RTA]"), which may carry an older case's too. */
function subjectReference(subject: string | undefined): string | null {
  const tags = [...(subject ?? '').matchAll(/\[([0-9A-Za-z-]{12,14})\]/g)].flatMap((match) => normalizeCaseReference(match[1]) ?? []);
  return tags.at(-1) ?? null;
}

// Case numbers are PostgreSQL integers: beyond them, SQL would fail.
const CASE_NUMBER = 'must be a case number: a whole number from 1 to 2147483647';

const ingestBody = z.object({
  channelId: z.string(),
  messageId: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
  from: z.object({
    email: z.string().trim().max(254, 'must be at most 254 characters').email('must be a valid email address'),
    name: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
  }),
  subject: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  body: z.string().trim().min(1, 'must not be empty').max(50_000, 'must be at most 50000 characters'),
  priority: z.enum(PRIORITIES).optional(),
  caseNumber: z.number({ error: CASE_NUMBER }).int(CASE_NUMBER).min(1, CASE_NUMBER).max(2_147_483_647, CASE_NUMBER).optional(),
  caseReference: z
    .string()
    .transform((text, ctx) => normalizeCaseReference(text) ?? (ctx.addIssue({ code: 'custom', message: 'must be a case reference such as "K7QM-2XD9-4RTA"' }), z.NEVER))
    .optional(),
  inReplyTo: messageIds.optional(),
  references: messageIds.optional(),
}).refine((body) => body.caseNumber === undefined || body.caseReference === undefined, {
  path: ['caseReference'],
  message: 'give caseNumber or caseReference, not both',
});

type IngestResult = { caseId: string; caseNumber: number; caseReference: string; caseMessageId: string; duplicate: boolean };

class BadSignature extends AppError {
  readonly code = 'UNAUTHENTICATED';
  constructor() {
    super(`Missing or wrong ${SIGNATURE_HEADER}`);
  }
}

/** POST /ingest/cases (served by src/webhooks.ts): 201 for a new message, 200 for a repeat. */
export async function receiveCaseWebhook(req: http.IncomingMessage, raw: Buffer): Promise<WebhookReply> {
  try {
    const result = await ingest(raw, req.headers);
    return { status: result.duplicate ? 200 : 201, body: result };
  } catch (error) {
    if (error instanceof BadSignature) return { status: 401, body: { error: error.message } };
    if (error instanceof ValidationError) return { status: 400, body: { error: error.message, fieldErrors: error.fieldErrors } };
    if (error instanceof NotFoundError) return { status: 404, body: { error: error.message } };
    if (error instanceof ConflictError) return { status: 409, body: { error: error.message } };
    throw error;
  }
}

async function ingest(raw: Buffer, headers: http.IncomingHttpHeaders): Promise<IngestResult> {
  // Which secret to check against is named in the (not yet trusted) body; nothing else is used
  // and nothing is written until the signature holds.
  const json = parseJsonBody(raw);
  if (json === undefined) throw new BadSignature();
  const channelRef = (json as { channelId?: unknown })?.channelId;
  const channelId = typeof channelRef === 'string' ? channelDbId(channelRef) : null;
  const channel = channelId === null ? null : await prisma().supportChannel.findUnique({ where: { id: channelId } });
  if (!channel?.ingestSecret || !signatureMatches(channel.ingestSecret, raw, headers)) throw new BadSignature();

  const data = parseInput(ingestBody, json, 'body');
  const seen = await findIngested(channel.id, data.messageId);
  if (seen) return seen;
  const sender = await ensureUserForEmail({ email: data.from.email, displayName: data.from.name ?? data.from.email.split('@')[0] });
  try {
    return await writeWithActivity(async (tx, activity) => {
      const log = new CaseLog(tx);
      let kase: SupportCase | null = null;
      let messageId = 0;
      const existing = data.caseNumber !== undefined ? { number: data.caseNumber } : data.caseReference !== undefined ? { reference: data.caseReference } : null;
      if (existing) {
        const [locked] = await tx.$queryRaw<{ id: number }[]>`
          SELECT "id" FROM "SupportCase" WHERE "number" = ${existing.number ?? null} OR "reference" = ${existing.reference ?? null} FOR UPDATE`;
        const found = locked && (await tx.supportCase.findUnique({ where: { id: locked.id } }));
        // Only the requester's own messages go into a case: a stranger naming it finds nothing.
        if (!found || found.requesterId !== sender.id) throw new NotFoundError('SupportCase', existing.reference ?? `#${existing.number}`);
        assertNotClosed(found);
        kase = found;
      } else {
        // An answer to the conversation of a case goes into it; one to a closed case, or from
        // someone else than its requester, opens a new case instead.
        const threaded = await threadedCaseId(tx, channel.id, { ...data, subjectReference: subjectReference(data.subject) });
        if (threaded !== null) {
          await tx.$queryRaw`SELECT 1 FROM "SupportCase" WHERE "id" = ${threaded} FOR UPDATE`;
          const found = await tx.supportCase.findUniqueOrThrow({ where: { id: threaded } });
          if (found.requesterId === sender.id && found.status !== 'CLOSED') kase = found;
        }
      }
      const byEmail = channel.kind === 'EMAIL' ? data.from.email : undefined;
      if (kase) {
        const added = await addRequesterMessage(tx, log, kase, data.body, new Date());
        messageId = added.message.id;
        // Written to by email: answered by email from now on.
        if (byEmail && !kase.requesterEmail) kase = await tx.supportCase.update({ where: { id: kase.id }, data: { requesterEmail: byEmail } });
      } else {
        if (!data.subject) throw ValidationError.field('body.subject', 'is required to open a case');
        kase = await createCase(tx, log, {
          channelId: channel.id,
          requesterId: sender.id,
          actorId: sender.id,
          subject: data.subject,
          body: data.body,
          priority: data.priority ?? 'NORMAL',
          requesterEmail: byEmail,
        });
        messageId = (await tx.caseMessage.findFirstOrThrow({ where: { caseId: kase.id }, select: { id: true } })).id;
      }
      // The unique (channel, message id) key: a concurrent delivery of the same message fails here.
      await tx.ingestedMessage.create({ data: { channelId: channel.id, messageId: data.messageId, caseId: kase.id, caseMessageId: messageId } });
      await log.flush(activity);
      return result(kase, messageId, false);
    });
  } catch (error) {
    if (error instanceof ConflictError) {
      const raced = await findIngested(channel.id, data.messageId);
      if (raced) return raced;
    }
    throw error;
  }
}

async function findIngested(channelId: number, messageId: string): Promise<IngestResult | null> {
  const row = await prisma().ingestedMessage.findUnique({ where: { channelId_messageId: { channelId, messageId } } });
  if (!row) return null;
  const kase = await prisma().supportCase.findUniqueOrThrow({ where: { id: row.caseId }, select: { id: true, number: true, reference: true } });
  return result(kase, row.caseMessageId, true);
}

function result(kase: Pick<SupportCase, 'id' | 'number' | 'reference'>, caseMessageId: number, duplicate: boolean): IngestResult {
  return {
    caseId: encodeGlobalID('SupportCase', kase.id),
    caseNumber: kase.number,
    caseReference: kase.reference,
    caseMessageId: encodeGlobalID('CaseMessage', caseMessageId),
    duplicate,
  };
}

function channelDbId(globalId: string): number | null {
  try {
    return decodeId(globalId, ['SupportChannel'], 'body.channelId').id;
  } catch {
    return null;
  }
}
