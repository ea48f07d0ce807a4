import type http from 'node:http';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { ValidationError } from '../../errors.js';
import { isRowId } from '../../ids.js';
import { parseDateTime } from '../../validation.js';
import { parseJsonBody, signatureMatches, type WebhookReply } from '../../webhooks.js';
import { ingest, type MentionInput } from './ingest.js';
import { findWebhookSource } from './sources.js';

const SOURCE_HEADER = 'x-tertulia-source';


/**
 * POST /ingest/mentions: a batch of mentions pushed by a WEBHOOK source.
 *
 *   X-Tertulia-Source: <the ListeningSource id>
 *   X-Tertulia-Timestamp: <Unix seconds when signed>   (within WEBHOOK_TOLERANCE_SECONDS of the server's clock)
 *   X-Tertulia-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>", keyed with the source's secret>
 *   { "mentions": [{ "externalId", "url", "title", "body", "author", "publishedAt" }, ...] }
 *
 * 200 with what was accepted and what was already there (deliveries may be retried safely); 401
 * when the timestamp is missing, malformed or out of the window (src/webhooks.ts) or the source
 * or signature is wrong; 400 with the fields at fault; nothing is written unless the whole batch
 * is valid.
 */
export async function receiveMentionWebhook(req: http.IncomingMessage, rawBody: Buffer): Promise<WebhookReply> {
  const refused: WebhookReply = { status: 401, body: { error: 'Unknown source or bad signature' } };
  const sourceId = webhookSourceId(req.headers[SOURCE_HEADER]);
  if (sourceId === null) return refused;
  const source = await findWebhookSource(sourceId);
  if (!source?.webhookSecret || !signatureMatches(source.webhookSecret, rawBody, req.headers)) return refused;

  const payload = parseJsonBody(rawBody);
  if (payload === undefined) return { status: 400, body: { error: 'The body is not valid JSON (in UTF-8)' } };
  const mentions = (payload as { mentions?: unknown })?.mentions;
  if (!Array.isArray(mentions)) return { status: 400, body: { error: 'Send {"mentions": [...]}' } };
  try {
    // Errors name the fields as the body has them: mentions.0.publishedAt.
    const result = await ingest(source.id, mentions.map(toMentionInput), new Date(), 'mentions');
    return { status: 200, body: result };
  } catch (error) {
    if (error instanceof ValidationError) {
      return { status: 400, body: { error: error.message, fieldErrors: error.fieldErrors } };
    }
    throw error;
  }
}

function webhookSourceId(header: string | string[] | undefined): number | null {
  if (typeof header !== 'string') return null;
  try {
    const { typename, id } = decodeGlobalID(header.trim());
    // An id no row can have (beyond PostgreSQL's integer) is an unknown source, not a SQL error.
    return typename === 'ListeningSource' && isRowId(Number(id)) ? Number(id) : null;
  } catch {
    return null;
  }
}

// Loosely typed JSON in, the service's input out; the service validates every field.
function toMentionInput(raw: unknown): MentionInput {
  const item = (raw ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : value == null ? undefined : String(value));
  const published = text(item.publishedAt);
  return {
    externalId: text(item.externalId),
    url: text(item.url),
    title: text(item.title),
    body: text(item.body) ?? '',
    author: text(item.author),
    // An unreadable date is an invalid date, which validation names, not "now".
    publishedAt: published === undefined ? undefined : strictDate(published),
  };
}

/**
 * An RFC 3339 date-time within the years 0001 to 9999, as the API's DateTime takes, or an invalid
 * Date (not a loose reading of "March 3" or a year 0 that PostgreSQL refuses).
 */
function strictDate(text: string): Date {
  try {
    return parseDateTime(text);
  } catch {
    return new Date(Number.NaN);
  }
}
