import type { IncomingMessage } from 'node:http';
import { GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Context } from './context.js';
import type { Logger } from './logger.js';
import { authenticate } from './modules/identity/identity.service.js';
import { tooManySubscriptions } from './transport-guards.js';

// GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's /graphql, through Yoga's
// envelop so auth, limits and logging behave exactly as over HTTP. graphql-ws itself enforces
// the protocol: 4400 bad messages, 4401 subscribe before ack, 4403 refused connection, 4408 no
// connection_init in time, 4409 duplicate operation id, 4429 repeated connection_init. Ours: 4429
// also for a socket over its address's share (transport-guards.ts), and an `error` for an
// operation over the socket's cap (below).


// Each socket's operations not yet complete, by id, to abort when the socket closes.
const operations = new WeakMap<object, Map<string, AbortController>>();
function operationsOf(ctx: object): Map<string, AbortController> {
  let map = operations.get(ctx);
  if (!map) operations.set(ctx, (map = new Map()));
  return map;
}

export function serveGraphqlWs(
  wsServer: WebSocketServer,
  yoga: YogaServerInstance<Record<string, unknown>, Context>,
  logger: Logger,
  {
    /** How often every socket is pinged; one that did not answer the previous ping is cut. 0: never. */
    keepAliveMs = 12_000,
    /** Operations in flight on one socket (subscriptions, queries while they run); more get an `error`. */
    maxSubscriptionsPerConnection = Infinity,
    /** The client's address, as the per-address caps and the sign-in throttle count it. */
    addressOf = (req: IncomingMessage): string | null => req.socket.remoteAddress ?? null,
    /** Told of each connection accepted, signed in or not (metrics). */
    onAccepted,
  }: {
    keepAliveMs?: number;
    maxSubscriptionsPerConnection?: number;
    addressOf?: (req: IncomingMessage) => string | null;
    onAccepted?: (socket: WebSocket, kind: 'anonymous' | 'signed-in') => void;
  } = {},
) {
  const heartbeat = keepAliveMs > 0 && Number.isFinite(keepAliveMs) ? keepAlive(wsServer, keepAliveMs) : undefined;
  const server = useServer<Record<string, unknown>>(
    {
      execute: (args) => settleIfAborted(args, (args.rootValue as Enveloped).execute(args)),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      // Refuse a bad token at connection time: graphql-ws closes with 4403 Forbidden.
      onConnect: async (ctx) => {
        // graphql-ws keeps the HTTP upgrade request (headers and all) for the life of the
        // connection; only its peer address is read (the token comes in connectionParams).
        const extra = ctx.extra as Extra;
        extra.clientAddress = extra.request ? addressOf(extra.request) : null;
        extra.request = undefined;
        const value = ctx.connectionParams?.authorization;
        if (value === undefined) {
          onAccepted?.(ctx.extra.socket, 'anonymous');
          return true;
        }
        try {
          const token = typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value.trim())?.[1] : undefined;
          if (!token) return false;
          await authenticate(token);
          onAccepted?.(ctx.extra.socket, 'signed-in');
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, id, params) => {
        // graphql-ws lists this operation already, and forgets each one as it completes.
        if (Object.keys(ctx.subscriptions).length > maxSubscriptionsPerConnection) {
          return [
            tooManySubscriptions(
              `Too many operations on this connection (at most ${maxSubscriptionsPerConnection} at once); complete one first or open another connection`,
            ),
          ];
        }
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          socket: ctx.extra.socket,
          clientAddress: (ctx.extra as Extra).clientAddress ?? null,
          params,
          connectionParams: withOperationAuthorization(ctx.connectionParams, params.extensions),
          // graphql-ws awaits each send, so a client that stops reading holds its subscriptions
          // still while their events queue in the bus; past the byte bound (queued events plus
          // this socket's unsent bytes), the bus calls this.
          // Methods, not named arrows: under tsx each named arrow carries its own name string,
          // 256 bytes per subscription (bench/RESULTS.md, memory).
          closeConnection(code: number, reason: string) {
            const socket = ctx.extra.socket;
            logger.warn({ code, reason }, 'closing a graphql-ws connection');
            socket.close(code, reason);
            // A client that is not reading may never answer the close frame.
            setTimeout(() => socket.terminate(), 1000).unref();
          },
          transportBufferedBytes() {
            return ctx.extra.socket.bufferedAmount;
          },
        });
        // Expected failures (a syntax error, a token revoked since connecting) are an `error`
        // message for this one operation, as the protocol wants, not a 4500 close of the socket.
        let document: DocumentNode;
        let contextValue: unknown;
        try {
          document = parse(params.query);
          const errors = validate(s, document);
          if (errors.length) return errors;
          contextValue = await contextFactory();
        } catch (error) {
          if (error instanceof GraphQLError) return [withoutHttpStatus(error)];
          throw error;
        }
        // Aborted if the socket closes first: the executor then starts no more resolvers (cancellation.ts).
        const running = new AbortController();
        operationsOf(ctx).set(id, running);
        const args = {
          schema: s,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        return Object.assign(args, { signal: running.signal });
      },
      onComplete: (ctx, id) => void operationsOf(ctx).delete(id),
      onClose: (ctx) => {
        for (const running of operationsOf(ctx).values()) running.abort();
        operationsOf(ctx).clear();
      },
      // Always: otherwise graphql-ws puts an unexpected error's message in the close reason
      // unless NODE_ENV=production.
      isProd: true,
    },
    wsServer,
    // Our heartbeat instead (keepAlive below): graphql-ws's own sets two timers per socket.
    0,
  );
  // A client's malformed frame (over maxPayload, bad UTF-8, broken framing) is an 'error' on its
  // socket that `ws` has already answered by closing it (1009, 1007, 1002). graphql-ws would
  // print each one to stderr as an internal error with a stack: any client could flood the
  // logs. Registered after useServer's, so it replaces graphql-ws's listener.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error: Error & { code?: string }) => {
      logger.warn({ code: error.code, reason: error.message }, 'closed a WebSocket after a malformed frame');
    });
  });
  return {
    dispose: async () => {
      heartbeat?.stop();
      await server.dispose();
    },
  };
}

/**
 * One timer for every socket (the `ws` README's heartbeat): each period, a socket that has not
 * answered the previous ping with a pong is cut, the others are pinged again. A client that
 * vanished without closing (a dropped network) is thus gone within two periods.
 */
function keepAlive(wsServer: WebSocketServer, periodMs: number): { stop(): void } {
  // Weak: a socket that closes while its ping is unanswered leaves nothing behind.
  const unanswered = new WeakSet<WebSocket>();
  function answered(this: WebSocket) {
    unanswered.delete(this);
  }
  wsServer.on('connection', (socket) => socket.on('pong', answered));
  const timer = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  }, periodMs);
  // Open sockets keep the process alive, not this.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** What graphql-ws's `extra` holds here: its upgrade request until onConnect, then only the peer's address. */
type Extra = { request?: IncomingMessage; clientAddress?: string | null };

// What getEnveloped hands back, carried to graphql-ws through rootValue (Yoga's recipe).
type Enveloped = {
  // biome-ignore lint: graphql-ws expects its own result type; envelop returns the same at runtime
  execute: (args: ExecutionArgs) => any;
  subscribe: (args: ExecutionArgs) => any;
};

/**
 * GraphiQL (Yoga's) sends its Headers tab with each operation, as `extensions.headers`. Like an
 * HTTP request's header, an Authorization there signs in this one operation, over whatever the
 * connection itself carried; without it, the connection's own `authorization` applies.
 */
function withOperationAuthorization(
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  extensions: Readonly<Record<string, unknown>> | null | undefined,
): Readonly<Record<string, unknown>> | undefined {
  const headers = extensions?.headers;
  if (typeof headers !== 'object' || headers === null) return connectionParams;
  const name = Object.keys(headers).find((key) => key.toLowerCase() === 'authorization');
  const authorization = name === undefined ? undefined : (headers as Record<string, unknown>)[name];
  return authorization === undefined ? connectionParams : { ...connectionParams, authorization };
}

/** Yoga marks a parse error with the HTTP status of its answer (`extensions.http`); over a socket it means nothing. */
function withoutHttpStatus(error: GraphQLError): GraphQLError {
  if (!error.extensions.http) return error;
  const { http: _status, ...extensions } = error.extensions;
  const { nodes, source, positions, path, originalError } = error;
  return new GraphQLError(error.message, { nodes, source, positions, path, originalError, extensions });
}

/**
 * An execution stopped because its socket closed rejects with an AbortError: an answer for
 * no one, not an internal error for graphql-ws to report.
 */
// biome-ignore lint: graphql-ws expects its own result type; envelop returns the same at runtime
function settleIfAborted(args: ExecutionArgs, result: any): any {
  const signal = (args as ExecutionArgs & { signal?: AbortSignal }).signal;
  if (!signal || !(result instanceof Promise)) return result;
  return result.catch((error: unknown) => {
    if (signal.aborted) return { errors: [new GraphQLError('The client has gone')] };
    throw error;
  });
}
