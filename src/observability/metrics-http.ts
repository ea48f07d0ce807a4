import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export const METRICS_PATH = '/metrics';

/**
 * Answers GET /metrics with the registry in Prometheus text format. With a token, only a request
 * with `Authorization: Bearer <token>` gets it; the comparison takes the same time wherever the
 * tokens differ (both sides hashed first, so their lengths do not show either).
 */
export function metricsHandler(registry: Registry, token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed\n');
      return;
    }
    if (expected && !authorized(req.headers.authorization, expected)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain' }).end('Unauthorized\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('Could not collect metrics\n'),
    );
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  const given = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  // Compared even when absent, so a missing header takes as long as a wrong one.
  return timingSafeEqual(digest(given ?? ''), expected) && given !== undefined;
}

/** A small server of its own for METRICS_PORT: /metrics only, on HOST. */
export function metricsServer(handle: ReturnType<typeof metricsHandler>) {
  const server = http.createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] === METRICS_PATH) return handle(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
  });
  return {
    server,
    /** Listens; resolves with its address (the port actually used when METRICS_PORT is 0). */
    listen: (port: number, host: string) =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
