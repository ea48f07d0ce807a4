import { createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { Logger } from './logger.js';

// Signed JSON that other systems push beside /graphql (support messages, web mentions). Each
// domain checks the signature with the secret of the sender it names; this file does the HTTP.

export const SIGNATURE_HEADER = 'x-tertulia-signature';

export type WebhookReply = { status: number; body: Record<string, unknown> };
export type Webhook = (req: http.IncomingMessage, rawBody: Buffer) => Promise<WebhookReply>;

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as senders put it in X-Tertulia-Signature. */
export function signBody(secret: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** Constant-time: the comparison takes as long whichever byte differs. */
export function signatureMatches(secret: string, rawBody: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(signBody(secret, rawBody));
  const given = Buffer.from(header.trim().toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * POST only, JSON only, a declared length within `maxBytes` (and held to while reading); then the
 * handler's reply. An unexpected failure is a 500 with nothing said about it but to the log.
 */
export async function serveWebhook(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  handle: Webhook,
  maxBytes: number,
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
