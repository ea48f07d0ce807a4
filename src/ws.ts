import { GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocketServer } from 'ws';
import type { Context } from './context.js';
import type { Logger } from './logger.js';
import { authenticate } from './modules/identity/identity.service.js';

// GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's /graphql, through Yoga's
// envelop so auth, limits and logging behave exactly as over HTTP. graphql-ws itself enforces
// the protocol: 4400 bad messages, 4401 subscribe before ack, 4403 refused connection, 4408 no
// connection_init in time, 4409 duplicate operation id, 4429 repeated connection_init.


export function serveGraphqlWs(
  wsServer: WebSocketServer,
  yoga: YogaServerInstance<Record<string, unknown>, Context>,
  logger: Logger,
  { keepAliveMs = 12_000 } = {},
) {
  return useServer<Record<string, unknown>>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      // Refuse a bad token at connection time: graphql-ws closes with 4403 Forbidden.
      onConnect: async (ctx) => {
        const value = ctx.connectionParams?.authorization;
        if (value === undefined) return true;
        try {
          const token = typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value.trim())?.[1] : undefined;
          if (!token) return false;
          await authenticate(token);
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, _id, params) => {
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          connectionParams: ctx.connectionParams,
          // graphql-ws awaits each send, so a client that stops reading holds its subscriptions
          // still while their events queue in the bus; past the byte bound (queued events plus
          // this socket's unsent bytes), the bus calls this.
          closeConnection: (code: number, reason: string) => {
            const socket = ctx.extra.socket;
            logger.warn({ code, reason }, 'closing a graphql-ws connection');
            socket.close(code, reason);
            // A client that is not reading may never answer the close frame.
            setTimeout(() => socket.terminate(), 1000).unref();
          },
          transportBufferedBytes: () => ctx.extra.socket.bufferedAmount,
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
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        return {
          schema: s,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
      // Always: otherwise graphql-ws puts an unexpected error's message in the close reason
      // unless NODE_ENV=production.
      isProd: true,
    },
    wsServer,
    keepAliveMs,
  );
}

// What getEnveloped hands back, carried to graphql-ws through rootValue (Yoga's recipe).
type Enveloped = {
  // biome-ignore lint: graphql-ws expects its own result type; envelop returns the same at runtime
  execute: (args: ExecutionArgs) => any;
  subscribe: (args: ExecutionArgs) => any;
};
