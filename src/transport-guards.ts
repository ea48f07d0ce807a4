import http from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import ipaddr from 'ipaddr.js';
import type { WebSocketServer } from 'ws';
import type { Logger } from './logger.js';

// What a client may hold open, and which browser pages may call the API: caps per client
// address on live connections, CORS for the listed origins only, JSON-only POST bodies.

/** The code of the error a subscription over a cap gets (over graphql-ws or HTTP). */
export const TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS';

export function tooManySubscriptions(message: string, httpStatus?: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: TOO_MANY_SUBSCRIPTIONS, ...(httpStatus ? { http: { status: httpStatus } } : {}) },
  });
}

/**
 * The address the per-address caps count against: the socket's peer, or, behind `trustProxy`
 * reverse proxies, the X-Forwarded-For entry written by the farthest of them (Express's
 * `trust proxy = n`). An IPv6 client counts per /64, the block one subscriber line usually gets.
 */
export function clientAddress(req: http.IncomingMessage, trustProxy: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  let address = peer;
  if (trustProxy > 0) {
    const header = req.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((entry) => entry.trim()).filter(Boolean);
    // Nearest hop first: the peer, then each proxy's entry from the right.
    const hops = [peer, ...forwarded.reverse()];
    address = hops[Math.min(trustProxy, hops.length - 1)];
  }
  return addressKey(address) ?? addressKey(peer) ?? peer;
}

function addressKey(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  return `${parsed.toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}

/** Things held open (sockets, streams) per client address, at most `limit` each. */
export class AddressCounter {
  private readonly held = new Map<string, number>();
  constructor(readonly limit: number) {}

  /** Counts one more for `address` and returns its release (safe to call twice); undefined at the cap. */
  tryAcquire(address: string): (() => void) | undefined {
    const count = this.held.get(address) ?? 0;
    if (count >= this.limit) return undefined;
    this.held.set(address, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(address) ?? 1) - 1;
      if (left > 0) this.held.set(address, left);
      else this.held.delete(address);
    };
  }
}

/**
 * Yoga's `cors` option: CORS headers (credentials included) for the listed origins only. Any
 * other origin gets none, so a browser lets only same-origin pages (GraphiQL) read answers.
 */
export function corsForListedOrigins(origins: readonly string[]) {
  const listed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !listed.has(origin)) return false as const;
    return { origin: [origin], credentials: true, methods: ['GET', 'POST'], maxAge: 600 };
  };
}

const JSON_BODY_TYPES = new Set(['application/json', 'application/graphql+json']);

/**
 * Why a POST to /graphql is refused (415), or undefined for a JSON body. A cross-site HTML form
 * can only send urlencoded, multipart or text bodies, so JSON-only leaves it nothing to execute.
 */
export function nonJsonBodyRefusal(req: http.IncomingMessage): string | undefined {
  const type = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (type !== undefined && JSON_BODY_TYPES.has(type)) return undefined;
  return 'POST /graphql takes a JSON body: send Content-Type: application/json (or application/graphql+json)';
}

/**
 * Subscriptions over HTTP (SSE or multipart) count against their client address while their
 * response is open. graphql-ws operations, which have no HTTP response, are capped per socket.
 */
export function useHttpSubscriptionLimit(streams: AddressCounter, addressOf: (req: http.IncomingMessage) => string): Plugin {
  return {
    onSubscribe({ context, setResultAndStopExecution }) {
      const { req, res } = context as { req?: http.IncomingMessage; res?: http.ServerResponse };
      if (!req || !res) return;
      const release = streams.tryAcquire(addressOf(req));
      if (!release) {
        setResultAndStopExecution({
          errors: [
            tooManySubscriptions(
              `Too many live subscriptions over HTTP from your address (at most ${streams.limit} at once); end one first`,
              429,
            ),
          ],
        });
        return;
      }
      res.once('close', release);
      // Gone before we got here: 'close' has fired already.
      if (res.closed) release();
    },
  };
}

type UpgradeGuard = {
  /** CORS_ORIGINS: foreign origins whose pages may open a socket. */
  corsOrigins: readonly string[];
  connections: AddressCounter;
  addressOf(req: http.IncomingMessage): string;
  logger: Logger;
};

/**
 * Hands the HTTP server's upgrades to `wsServer` (made with `noServer`), guarded:
 * - a browser page from a foreign origin not in CORS_ORIGINS is refused before the upgrade
 *   (403); clients that are not browsers send no Origin and pass;
 * - an address that already holds its share of sockets is accepted, then closed with 4429 and
 *   the reason. graphql-ws clients report that close as it is and do not retry it, where a
 *   refused upgrade would look like a network failure (1006) and be retried in a loop.
 * A socket's place is freed when it closes, however it closes.
 */
export function guardUpgrades(httpServer: http.Server, wsServer: WebSocketServer, guard: UpgradeGuard): void {
  const listed = new Set(guard.corsOrigins);
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !listed.has(origin) && !sameOrigin(origin, req.headers.host)) {
      guard.logger.info({ origin }, 'refused a WebSocket from a foreign origin');
      return refuseUpgrade(socket, 403, `Origin ${origin} may not open WebSockets here; add it to CORS_ORIGINS`);
    }
    wsServer.handleUpgrade(req, socket, head, (ws) => {
      const release = guard.connections.tryAcquire(guard.addressOf(req));
      if (!release) {
        guard.logger.info({ limit: guard.connections.limit }, 'refused a WebSocket over the per-address cap');
        // Not handed to graphql-ws, so nothing else listens: a malformed frame must not throw.
        ws.on('error', () => ws.terminate());
        ws.close(4429, `Too many WebSocket connections from your address (at most ${guard.connections.limit})`);
        // A client that does not answer the close frame is cut (ws would wait 30 s).
        setTimeout(() => ws.terminate(), 1000).unref();
        return;
      }
      ws.once('close', release);
      wsServer.emit('connection', ws, req);
    });
  });
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
