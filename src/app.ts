import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { WebSocketServer } from 'ws';
import type { Config } from './config.js';
import { createContext, type Context } from './context.js';
import { closeDatabase, openDatabase, prisma } from './db/client.js';
import { AppError } from './errors.js';
import { activityLogReader } from './events/activity.js';
import { closeEventBus, configureSubscriberBuffer, endActivitySubscriptions, eventBusHealth, onActivity, openEventBus } from './events/bus.js';
import { pruneActivity } from './jobs/activity-retention.js';
import { scheduleJobs, type RunningJobs } from './jobs/schedule.js';
import { useCancellation } from './cancellation.js';
import { useOperationLimits } from './limits.js';
import type { Logger } from './logger.js';
import { configureIdentity } from './modules/identity/identity.service.js';
import { useOneSignInPerOperation } from './modules/identity/one-sign-in.js';
import { closeThrottle, openThrottle } from './modules/identity/throttle.js';
import { evaluateAlerts } from './modules/listening/alerts.js';
import { configureListening, pollDueSources } from './modules/listening/sources.js';
import { receiveMentionWebhook } from './modules/listening/webhook.js';
import { MailDelivery, type MailHealth } from './modules/mail/delivery.js';
import { configureMail } from './modules/mail/outbox.js';
import { configureAccountEmails } from './modules/identity/account-emails.js';
import { configureModeration } from './modules/moderation/queue.js';
import { configureHandles } from './modules/members/handles.js';
import { configureMentions } from './modules/members/mentions.js';
import { notificationFanOut, PRODUCERS, type NotificationFanOut } from './modules/members/notification.fanout.js';
import { awardBuiltInBadges } from './modules/participation/badges.js';
import { configureSignals, onSignalsUpdated, SIGNAL_KINDS, signalsJob, type SignalsJob } from './modules/participation/signals.js';
import { routeUnansweredThreads } from './modules/participation/routing.js';
import { configureSegments } from './modules/participation/segments.js';
import { demoteLapsedRegulars, startTrustEvaluation } from './modules/participation/trust.js';
import { receiveCaseWebhook } from './modules/support/ingest.js';
import { runSlaJob } from './jobs/sla-job.js';
import { MAIL_JOB, mailJob } from './jobs/mail-job.js';
import { schema } from './schema.js';
import { usePageSizeCheck } from './pagination.js';
import { useSharedSubscriptionResults } from './shared-subscription-results.js';
import { serveWebhook, type Webhook } from './webhooks.js';
import { runDigests } from './modules/members/notification-emails.js';
import { serveUnsubscribe, UNSUBSCRIBE_PATH } from './modules/members/unsubscribe.http.js';
import { serveGraphqlWs } from './ws.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { METRICS_PATH, metricsHandler, metricsServer } from './observability/metrics-http.js';
import type { Tracing } from './observability/tracing.js';
import {
  AddressCounter,
  clientAddress,
  corsForListedOrigins,
  guardUpgrades,
  nonJsonBodyRefusal,
  useHttpSubscriptionLimit,
} from './transport-guards.js';

export type App = {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  httpServer: http.Server;
  wsServer: WebSocketServer;
  /** Prometheus metrics, when on (config.metrics). */
  metrics: Metrics | undefined;
  /** With METRICS_PORT: the URL of /metrics on its own port, once started. */
  metricsUrl(): string | undefined;
  /** Opens the database and event bus, then listens. Resolves with the GraphQL URL. */
  start(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, closes sockets, then the database. */
  stop(): Promise<void>;
};

const GRAPHQL_PATH = '/graphql';

/** `tracing`: from startTracing() (observability/tracing.ts), when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export function buildApp(config: Config, logger: Logger, options: { tracing?: Tracing } = {}): App {
  const { tracing } = options;
  configureIdentity({ tokenTtlHours: config.tokenTtlHours });
  configureSubscriberBuffer(config.subscriberBufferBytes);
  configureListening({
    timeoutMs: config.listening.fetchTimeoutMs,
    maxBytes: config.listening.maxFeedBytes,
    allowPrivateNetworks: config.listening.allowPrivateNetworks,
  });
  configureModeration({ claimTtlMinutes: config.moderationClaimTtlMinutes });
  configureHandles(config.handles);
  configureMentions(config.mentions);
  configureSignals(config.signals, logger);
  configureSegments(config.segments);
  // Trust levels are promoted as signals change (an onSignalsUpdated listener).
  startTrustEvaluation(logger);
  // Until the server listens, links use the configured port; with PORT=0, start() sets the real one.
  configureMail({ from: config.mail.from, publicUrl: config.mail.publicUrl ?? listenUrl(config.host, config.port) });
  configureAccountEmails(config.account);
  const { transport } = config;
  const addressOf = (req: http.IncomingMessage) => clientAddress(req, transport.trustProxy);
  // Created before Yoga (its plugins go in), fed once the database is open. The WebSocket server
  // is made here for its connection gauge.
  const wsServer = new WebSocketServer({ noServer: true, path: GRAPHQL_PATH, maxPayload: config.maxBodyBytes });
  const metrics = config.metrics.enabled ? createMetrics(wsServer) : undefined;
  const serveMetrics = metrics && metricsHandler(metrics.registry, config.metrics.token);
  const ownMetricsServer = serveMetrics && config.metrics.port !== undefined ? metricsServer(serveMetrics) : undefined;
  let metricsUrl: string | undefined;

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // The client address as the caps count it (TRUST_PROXY applied), for the sign-in throttle too.
    context: (initial) => {
      // Over graphql-ws there is no req: ws.ts hands over the socket's address instead.
      const { req, clientAddress: socketAddress } = initial as { req?: http.IncomingMessage; clientAddress?: string | null };
      return createContext({ ...initial, clientAddress: req ? addressOf(req) : (socketAddress ?? null) });
    },
    landingPage: false,
    // Yoga's default would answer any Origin, credentials allowed.
    cors: corsForListedOrigins(transport.corsOrigins),
    graphiql: { title: 'Tertulia GraphiQL', subscriptionsProtocol: 'WS' },
    // GraphiQL's assets served by us, not from a CDN: it works offline and behind firewalls.
    renderGraphiQL,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      // An expected failure (a forbidden query, say) is the client's news, not the operator's.
      error: (...args) =>
        args[0] instanceof GraphQLError && args[0].originalError instanceof AppError
          ? logger.debug({ err: args[0] }, 'expected error')
          : logger.error({ err: args[0] }, 'graphql-yoga error'),
    },
    maskedErrors: {
      // Never dev mode: Yoga's default turns it on with NODE_ENV=development and then sends
      // the original error and its stack trace to the client.
      isDev: false,
      maskError: (error, message) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        // Expected failures outside a mutation union (a query's bad id, say) keep their message.
        if (original instanceof AppError) {
          return new GraphQLError(original.message, {
            nodes: (error as GraphQLError).nodes,
            path: (error as GraphQLError).path,
            extensions: { code: original.code },
          });
        }
        if (original && !(original instanceof GraphQLError)) logger.error({ err: original }, 'unexpected error');
        return maskError(error, message, false);
      },
    },
    plugins: [
      // First: its timings and scopes wrap the other plugins' work too.
      ...(metrics?.plugins ?? []),
      ...useOperationLimits(config.limits),
      useCancellation(),
      useOperationLog(logger),
      useOneSignInPerOperation(),
      usePageSizeCheck(),
      // Before the shared results, which would start the subscription.
      useHttpSubscriptionLimit(new AddressCounter(transport.sseMaxSubscriptionsPerAddress), addressOf),
      useSharedSubscriptionResults(),
      ...(tracing?.plugins ?? []),
    ],
  });

  let stopping = false;
  // Responses not yet finished, so stop() can ask their keep-alive connections to close.
  const responses = new Set<http.ServerResponse>();
  const webhookLimits = { maxBytes: config.maxBodyBytes, toleranceSeconds: config.webhookToleranceSeconds };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (stopping) res.setHeader('connection', 'close');
    responses.add(res);
    res.once('close', () => responses.delete(res));
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      // Draining: tell load balancers to send new work elsewhere.
      if (stopping) return sendJson(res, 503, { status: 'unavailable', reason: 'shutting down' });
      // Mail is said but never decides readiness: undelivered emails wait in the outbox and are retried.
      const mail: MailHealth | 'off' = mailDelivery?.health() ?? 'off';
      void readiness(logger).then((reason) =>
        reason ? sendJson(res, 503, { status: 'unavailable', reason, mail }) : sendJson(res, 200, { status: 'ready', mail }),
      );
      return;
    }
    // On the API's port unless METRICS_PORT gives it a port of its own.
    if (path === METRICS_PATH && serveMetrics && !ownMetricsServer) return serveMetrics(req, res);
    if (path === UNSUBSCRIBE_PATH) return void serveUnsubscribe(req, res, logger);
    const webhook = WEBHOOKS[path];
    if (webhook) return void serveWebhook(req, res, webhook, webhookLimits, logger);
    if (path !== GRAPHQL_PATH) return sendJson(res, 404, { error: `Not found; the API is at ${GRAPHQL_PATH}` });
    if (req.method === 'POST') {
      const length = req.headers['content-length'];
      // A declared length lets us refuse big bodies before reading a byte of them.
      if (length === undefined) return sendJson(res, 411, { error: 'POST requests need a Content-Length header' });
      if (Number(length) > config.maxBodyBytes) {
        return sendJson(res, 413, { error: `Request body is larger than ${config.maxBodyBytes} bytes` });
      }
      const refusal = nonJsonBodyRefusal(req);
      if (refusal) return sendJson(res, 415, { error: refusal });
    }
    // With origins listed, the CORS headers depend on the request's Origin: a shared cache must
    // not hand one origin's answer to another (Yoga adds Vary only when it lists several origins).
    if (transport.corsOrigins.length > 0) res.setHeader('vary', 'Origin');
    void yoga(req, res);
  };
  const httpServer = http.createServer(
    tracing
      ? (req, res) => {
          const path = (req.url ?? '/').split('?')[0];
          // Probes every few seconds would drown the traces that matter.
          if (path === '/healthz' || path === '/readyz' || path === METRICS_PATH) return handle(req, res);
          const route = path === GRAPHQL_PATH || path === UNSUBSCRIBE_PATH || WEBHOOKS[path] ? path : undefined;
          tracing.http(req, res, route, () => handle(req, res));
        }
      : handle,
  );

  guardUpgrades(httpServer, wsServer, {
    corsOrigins: transport.corsOrigins,
    connections: new AddressCounter(transport.wsMaxConnectionsPerAddress),
    addressOf,
    logger,
  });
  const wsCleanup = serveGraphqlWs(wsServer, yoga, logger, {
    keepAliveMs: config.wsKeepAliveMs,
    addressOf,
    maxSubscriptionsPerConnection: transport.wsMaxSubscriptionsPerConnection,
    onAccepted: metrics && ((socket, kind) => metrics.wsConnected(socket, kind)),
  });

  const sockets = new Set<import('node:net').Socket>();
  httpServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  let started = false;
  let jobs: RunningJobs | undefined;
  let mailDelivery: MailDelivery | undefined;
  let fanOut: NotificationFanOut | undefined;
  let signals: SignalsJob | undefined;
  let stopWaking: (() => void) | undefined;
  let stopBadges: (() => void) | undefined;
  return {
    yoga,
    httpServer,
    wsServer,
    metrics,
    metricsUrl: () => metricsUrl,
    async start() {
      stopping = false;
      await openDatabase(config, (msg) => logger.info(msg));
      metrics?.start();
      await openEventBus(config.redisUrl, config.redisChannelPrefix, (err, what) => logger.error({ err }, what), activityLogReader);
      // Keys beside the event channels' prefix: instances that share events share the counts.
      openThrottle(
        config.signIn,
        config.redisUrl ? { url: config.redisUrl, keyPrefix: config.redisChannelPrefix } : undefined,
        (err) => logger.warn({ err }, 'sign-in throttle: Redis is not answering; counting in memory'),
      );
      started = true;
      const delivery = config.mail.jobIntervalMs > 0 ? new MailDelivery(config.mail, logger) : undefined;
      mailDelivery = delivery;
      const notifier = (fanOut = notificationFanOut({ batchSize: config.notifications.batchSize }, logger));
      // Woken by the events that make notifications, as this process delivers them (its own at
      // once, other instances' through Redis); the poll below catches what no wake-up announced.
      const signaller = (signals = signalsJob(logger));
      // Built-in badges follow the signals: re-evaluated for the members each pass touched.
      stopBadges = onSignalsUpdated(async (userIds, now) => void (await awardBuiltInBadges(userIds, now)));
      stopWaking = onActivity((event) => {
        if (PRODUCERS[event.kind]) notifier.wake();
        // SIGNALS_POLL_MS=0 turns the job off on this instance, wake-ups included.
        if (SIGNAL_KINDS.has(event.kind) && config.signals.pollMs > 0) signaller.wake();
      });
      jobs = scheduleJobs(
        [
          { name: 'notifications', everyMs: config.notifications.pollMs, run: () => notifier.run() },
          { name: 'signals', everyMs: config.signals.pollMs, run: () => signaller.run() },
          { name: 'peer-routing', everyMs: config.peerRouting.intervalMs, run: () => routeUnansweredThreads(new Date(), config.peerRouting) },
          // TL3 members whose 90-day activity lapsed go back to TL2 (daily; idempotent on several instances).
          { name: 'trust-demotion', everyMs: 86_400_000, run: () => demoteLapsedRegulars() },
          { name: 'activity-retention', everyMs: 3600_000, run: () => pruneActivity(config.activityRetentionDays) },
          { name: 'listening-feeds', everyMs: config.listening.jobIntervalMs, run: () => pollDueSources() },
          { name: 'listening-alerts', everyMs: config.listening.jobIntervalMs, run: () => evaluateAlerts() },
          {
            name: 'support-sla',
            everyMs: config.slaJobIntervalMs,
            run: () => runSlaJob(new Date(), { reassignAfterMinutes: config.supportReassignAfterMinutes }),
          },
          ...(delivery ? [mailJob(delivery, config.mail.jobIntervalMs)] : []),
          { name: 'notification-digests', everyMs: config.notifications.digestIntervalMs, run: () => runDigests() },
        ],
        logger,
        { trace: tracing && ((name, pass) => tracing.job(name, pass)) },
      );
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => resolve());
      });
      if (ownMetricsServer) {
        const own = await ownMetricsServer.listen(config.metrics.port!, config.host);
        metricsUrl = `${listenUrl(own.address, own.port)}${METRICS_PATH}`;
      }
      const address = httpServer.address() as AddressInfo;
      if (!config.mail.publicUrl) configureMail({ from: config.mail.from, publicUrl: listenUrl(address.address, address.port) });
      // Emails queued from here on go out at once, not at the next interval.
      delivery?.start(() => jobs?.wake(MAIL_JOB));
      return `${listenUrl(address.address, address.port)}${GRAPHQL_PATH}`;
    },
    async stop() {
      if (!started) return;
      started = false;
      stopping = true;
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      // Node keeps a keep-alive connection open for keepAliveTimeout (5 s) after its in-flight
      // response, even when the server is closing: say `Connection: close` on the responses still
      // to be sent, and drop connections as they fall idle.
      for (const res of responses) if (!res.headersSent) res.setHeader('connection', 'close');
      const idleSweep = setInterval(() => httpServer.closeIdleConnections(), 200);
      // The deadline covers everything below: a WebSocket client that never answers the close
      // frame would otherwise hold graphql-ws's dispose for ws's own 30 s close timeout.
      const timer = setTimeout(() => {
        logger.warn('shutdown timeout: closing remaining connections');
        for (const client of wsServer.clients) client.terminate();
        for (const socket of sockets) socket.destroy();
      }, config.shutdownTimeoutMs);
      try {
        // graphql-ws closes each socket with 1001 Going Away; clients know to reconnect elsewhere.
        // In-flight HTTP requests finish meanwhile; Yoga is disposed only once they have.
        const wsClosed = wsCleanup.dispose();
        // Then end the live subscriptions, so SSE responses complete instead of holding the drain
        // until the timeout. WebSockets are closing already and get no `complete`: a client
        // should reconnect and resume from its cursor, not think its subscription is over.
        endActivitySubscriptions();
        await Promise.all([wsClosed, closed]);
        await yoga.dispose();
      } finally {
        clearTimeout(timer);
        clearInterval(idleSweep);
      }
      stopWaking?.();
      stopBadges?.();
      await jobs?.stop();
      mailDelivery?.stop();
      await fanOut?.stop();
      await signals?.stop();
      await closeEventBus();
      await closeThrottle();
      await ownMetricsServer?.close();
      metrics?.stop();
      await closeDatabase();
      // What this instance traced reaches the collector before it goes (main.ts shuts tracing down).
      await tracing?.flush().catch((err: unknown) => logger.warn({ err }, 'tracing: could not export the last spans'));
    },
  };
}

// Signed JSON pushed by other systems, beside /graphql (see webhooks.ts).
const WEBHOOKS: Record<string, Webhook> = {
  '/ingest/cases': receiveCaseWebhook,
  '/ingest/mentions': receiveMentionWebhook,
};

/** A readiness query slower than this counts as the database not answering. */
const READY_QUERY_TIMEOUT_MS = 2000;

/**
 * Why this instance should not get traffic now, or undefined: the database must answer, and
 * with Redis, Redis must answer and this instance must hold its subscription to live events.
 */
async function readiness(logger: Logger): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const database = Promise.race([
    // Inside the promise chain: prisma() throws synchronously when the database is closed,
    // and that must be a 503, not an uncaught exception that takes the process down.
    Promise.resolve().then(() => prisma().$queryRaw`SELECT 1`),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${READY_QUERY_TIMEOUT_MS} ms`)), READY_QUERY_TIMEOUT_MS))),
  ]).then(
    () => undefined,
    (err: unknown) => (logger.warn({ err }, 'readiness check failed'), 'database is not answering'),
  );
  const reasons = await Promise.all([database.finally(() => clearTimeout(timer)), eventBusHealth()]);
  return reasons.filter(Boolean).join('; ') || undefined;
}

/** http://HOST:PORT, an IPv6 host in brackets. */
function listenUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** One structured log line per operation: its name, type and duration. */
function useOperationLog(logger: Logger): Plugin {
  return {
    // Operations refused before execution (invalid, too deep, too costly) get their line too.
    onValidate({ params, context }) {
      const started = performance.now();
      return ({ valid, result }) => {
        if (valid) return;
        const requested = (context as { params?: { operationName?: string | null } }).params?.operationName;
        const operation = operationName({ document: params.documentAST, operationName: requested ?? undefined } as ExecutionArgs);
        logger.info({ operation, type: 'rejected', durationMs: round(performance.now() - started), errors: result.length }, 'graphql operation');
      };
    },
    onExecute({ args }) {
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result && result.errors ? result.errors.length : 0;
          logger.info({ operation: operationName(args), type: 'execute', durationMs: round(performance.now() - started), errors }, 'graphql operation');
        },
      };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      logger.info({ operation: operationName(args), type: 'subscribe' }, 'graphql subscription started');
      return {
        onSubscribeResult() {
          return {
            onEnd() {
              logger.info({ operation: operationName(args), type: 'subscribe', durationMs: round(performance.now() - started) }, 'graphql subscription ended');
            },
          };
        },
      };
    },
  };
}

function operationName(args: ExecutionArgs): string {
  if (args.operationName) return args.operationName;
  const op = args.document.definitions.find((d) => d.kind === 'OperationDefinition');
  return op && 'name' in op && op.name ? op.name.value : 'anonymous';
}

const round = (ms: number) => Math.round(ms * 100) / 100;
