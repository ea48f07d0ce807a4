import type http from 'node:http';
import type { Logger } from '../../logger.js';
import { unsubscribe } from './preferences.js';

// GET/POST /unsubscribe?token=... on this API: the link and the List-Unsubscribe header of every
// notification email. No sign-in: the token is the proof. POST switches the email off at once
// (RFC 8058 one-click: mail clients POST `List-Unsubscribe=One-Click`); GET only shows a page
// with a button that POSTs, because mail scanners and link previews follow GET links by themselves.

export const UNSUBSCRIBE_PATH = '/unsubscribe';

/** The body of a one-click POST is a short form; anything bigger is not one. */
const MAX_BODY_BYTES = 4096;

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: http.ServerResponse, status: number, title: string, body: string): void {
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
    .end(`<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`);
}

const what = (kind: string) => (kind === 'ALL' ? 'all notification emails' : `emails about ${kind.toLowerCase().replace(/_/g, ' ')} notifications`);

export async function serveUnsubscribe(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger): Promise<void> {
  const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
  const invalid = () => page(res, 400, 'Invalid unsubscribe link', '<p>This link is not valid (it may be incomplete). Nothing was changed. Sign in to change your notification preferences.</p>');
  try {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const found = await unsubscribe(token, false);
      if (!found) return invalid();
      return page(
        res,
        200,
        'Unsubscribe',
        `<p>Stop ${escape(what(found.what))}?</p><form method="post" action="?token=${escape(encodeURIComponent(token))}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
      );
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST' }).end();
      return;
    }
    // The body says nothing we need (the token is in the URL); read it, bounded, so the connection stays usable.
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return page(res, 413, 'Request too large', '<p>Nothing was changed.</p>');
    }
    const done = await unsubscribe(token, true);
    if (!done) return invalid();
    return page(res, 200, 'Unsubscribed', `<p>You will no longer receive ${escape(what(done.what))}. You can turn them back on in your notification preferences.</p>`);
  } catch (error) {
    logger.error({ err: error }, 'unsubscribe failed');
    if (!res.headersSent) page(res, 500, 'Something went wrong', '<p>Please try again later.</p>');
  }
}
