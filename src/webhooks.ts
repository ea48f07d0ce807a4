import { createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { Logger } from './logger.js';

// Signed JSON that other systems push beside /graphql (support messages, web mentions). Each
// domain checks the signature with the secret of the sender it names; this file does the HTTP,
// the signing rule and the replay window, the same for every hook.
//
//   X-Tertulia-Timestamp: <Unix time in seconds when the delivery was signed>
//   X-Tertulia-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>", keyed with the sender's secret>
//
// The timestamp is signed with the body, so a captured delivery cannot be given a fresh one: it
// can only be replayed within the tolerance window (WEBHOOK_TOLERANCE_SECONDS, either way, to
// allow for clock skew), and the domains' idempotency keys answer such a replay as a duplicate.

export const SIGNATURE_HEADER = 'x-tertulia-signature';
const TIMESTAMP_HEADER = 'x-tertulia-timestamp';

export type WebhookReply = { status: number; body: Record<string, unknown> };
export type Webhook = (req: http.IncomingMessage, rawBody: Buffer) => Promise<WebhookReply>;

// Whole seconds, digits only: no sign, fraction or exponent that two parsers could read differently.
// 15 digits keep it an exact Number; milliseconds (13 digits) pass and are refused as out of window.
const TIMESTAMP_FORMAT = /^[0-9]{1,15}$/;

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, as senders put it in X-Tertulia-Signature. */
export function signBody(secret: string, timestamp: string | number, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** What a sender adds to a delivery: the time of signing (now, by default) and the signature over it and the body. */
export function signatureHeaders(secret: string, rawBody: string | Buffer, timestamp: number = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signBody(secret, timestamp, rawBody) };
}

/**
 * Whether the signature covers this body and this timestamp, under `secret`. Constant-time: the
 * comparison takes as long whichever byte differs. (serveWebhook has already held the timestamp
 * to the window.)
 */
export function signatureMatches(secret: string, rawBody: Buffer, headers: http.IncomingHttpHeaders): boolean {
  const timestamp = headers[TIMESTAMP_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (typeof timestamp !== 'string' || !TIMESTAMP_FORMAT.test(timestamp) || typeof signature !== 'string') return false;
  const expected = Buffer.from(signBody(secret, timestamp, rawBody));
  const given = Buffer.from(signature.trim().toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Why a delivery's timestamp is refused (missing, not whole Unix seconds, outside the window either way), or null. */
function timestampRefusal(header: string | string[] | undefined, toleranceSeconds: number, nowMs: number = Date.now()): string | null {
  if (header === undefined || header === '') return `Missing ${TIMESTAMP_HEADER} (the Unix time in seconds, signed with the body)`;
  if (typeof header !== 'string' || !TIMESTAMP_FORMAT.test(header)) return `${TIMESTAMP_HEADER} must be one Unix time in whole seconds`;
  if (Math.abs(nowMs / 1000 - Number(header)) > toleranceSeconds) {
    return `${TIMESTAMP_HEADER} is more than ${toleranceSeconds} seconds away from the server's clock; sign each delivery when sending it`;
  }
  return null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as JSON, or undefined when it is not valid UTF-8 JSON. Strictly UTF-8: a byte that is
 * no character would otherwise be read as U+FFFD, and two different ids stored as one.
 */
export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(utf8.decode(raw));
  } catch {
    return undefined;
  }
}

type WebhookLimits = {
  /** The largest body accepted (413 above it). */
  maxBytes: number;
  /** How far, in seconds and either way, a delivery's timestamp may be from the server's clock. */
  toleranceSeconds: number;
};

/**
 * POST only, JSON only, a declared length within `maxBytes` (and held to while reading), a
 * timestamp within the window (401 otherwise, before the body is read or anything looked up);
 * then the handler's reply. An unexpected failure is a 500 with nothing said about it but to the log.
 */
export async function serveWebhook(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  handle: Webhook,
  { maxBytes, toleranceSeconds }: WebhookLimits,
  logger: Logger,
): Promise<void> {
  const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };
  if (req.method !== 'POST') return send(405, { error: 'Use POST' }, { allow: 'POST' });
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return send(415, { error: 'Send Content-Type: application/json' });
  const length = req.headers['content-length'];
  if (length === undefined) return send(411, { error: 'POST requests need a Content-Length header' });
  const tooLarge = { error: `Request body is larger than ${maxBytes} bytes` };
  if (Number(length) > maxBytes) return send(413, tooLarge);
  const refusal = timestampRefusal(req.headers[TIMESTAMP_HEADER], toleranceSeconds);
  if (refusal) return send(401, { error: refusal });
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) return send(413, tooLarge);
      chunks.push(chunk as Buffer);
    }
    const { status, body } = await handle(req, Buffer.concat(chunks));
    send(status, body);
  } catch (err) {
    logger.error({ err, path: req.url }, 'webhook failed');
    if (!res.headersSent) send(500, { error: 'Unexpected error; nothing was written' });
  }
}
