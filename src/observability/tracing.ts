import type http from 'node:http';
import type { Plugin } from 'graphql-yoga';

// OpenTelemetry traces, exported over OTLP/HTTP when an endpoint is configured. Every OTel
// package is imported here with a dynamic import(), and only then: without an endpoint the
// server loads none of them and adds no plugin, so tracing costs nothing when it is off.

/** What config.ts reads from the standard OTEL_* variables. */
export type TracingSettings = { tracesUrl: string | undefined; serviceName: string };

export type Tracing = {
  /** Yoga plugins: spans for parse and validate, and the envelop plugin's for execute and subscribe. */
  plugins: Plugin[];
  /** For each log line (a pino mixin): the ids of the span active where the line is written. */
  logFields(): Record<string, string>;
  /** Sends the tracing SDK's own problems (an unreachable collector, say) to the application log. */
  reportTo(log: { warn(message: string): void; error(message: string): void }): void;
  /** Handles an HTTP request inside a server span, continuing the caller's `traceparent` if any. */
  http(req: http.IncomingMessage, res: http.ServerResponse, route: string | undefined, handle: () => void): void;
  /** Runs one pass of a background job as a root span `job <name>`. */
  job<T>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * Exports the spans ended so far (app.stop() calls it, so a stopping instance loses none);
   * gives up after a few seconds, so a collector that does not answer cannot hold a shutdown.
   */
  flush(): Promise<void>;
  /** Flushes; the process-wide registration is released when its last user shuts down. */
  shutdown(): Promise<void>;
};

type Runtime = Omit<Tracing, 'shutdown'> & { release(): Promise<void> };

/** How long flush() waits for the collector; the final shutdown (after a flush) waits less. */
const FLUSH_TIMEOUT_MS = 3000;
const SHUTDOWN_TIMEOUT_MS = 1000;

function bounded(work: Promise<unknown>, what: string, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: the collector did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work.then(() => undefined), deadline]).finally(() => clearTimeout(timer));
}

// The tracer provider and context manager are process-wide (OTel's globals): one runtime is
// shared by every app of the process (tests start several) and counted by its users.
let shared: { tracesUrl: string; runtime: Promise<Runtime>; users: number } | undefined;

/** Turns tracing on (once per process) when `settings.tracesUrl` is set; undefined otherwise. */
export async function startTracing(settings: TracingSettings): Promise<Tracing | undefined> {
  const { tracesUrl } = settings;
  if (!tracesUrl) return undefined;
  if (shared && shared.tracesUrl !== tracesUrl) {
    throw new Error(`Tracing already exports to ${shared.tracesUrl} in this process; one endpoint per process`);
  }
  const entry = (shared ??= { tracesUrl, runtime: load(tracesUrl, settings.serviceName), users: 0 });
  entry.users += 1;
  let runtime: Runtime;
  try {
    runtime = await entry.runtime;
  } catch (error) {
    entry.users -= 1;
    if (shared === entry) shared = undefined;
    throw error;
  }
  let released = false;
  return {
    ...runtime,
    async shutdown() {
      if (released) return;
      released = true;
      entry.users -= 1;
      if (entry.users > 0) return runtime.flush();
      if (shared === entry) shared = undefined;
      await runtime.release();
    },
  };
}

async function load(tracesUrl: string, serviceName: string): Promise<Runtime> {
  const [api, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, sdk, resources, { OTLPTraceExporter }, { PrismaInstrumentation }, envelop] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@prisma/instrumentation'),
      import('@envelop/opentelemetry'),
    ]);
  const { context, diag, propagation, trace, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode } = api;

  // OTEL_RESOURCE_ATTRIBUTES are kept; the service name is the config's (OTEL_SERVICE_NAME or its default).
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(resources.resourceFromAttributes({ 'service.name': serviceName }));
  // The exporter reads the other standard variables (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, ...)
  // itself; the batch processor reads OTEL_BSP_*. The URL comes from the config.
  const provider = new sdk.BasicTracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl }))],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  let report: { warn(message: string): void; error(message: string): void } | undefined;
  // An export that failed (the collector down, say) costs spans, not requests: a warning, written
  // outside any span so that it does not carry the trace id of whatever was running.
  const warn = (message: unknown, args: unknown[]) =>
    context.with(ROOT_CONTEXT, () => report?.warn(`opentelemetry: ${[message, ...args].map(String).join(' ')}`));
  diag.setLogger(
    {
      error: (message, ...args) => warn(message, args),
      warn: (message, ...args) => warn(message, args),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  // SQL spans come from Prisma Client itself (prisma:client:db_query, with the statement); the
  // instrumentation only hands it the tracer provider, whichever database adapter is in use.
  const prisma = new PrismaInstrumentation({ enabled: false });
  prisma.setTracerProvider(provider);
  prisma.enable();

  const tracer = provider.getTracer('tertulia');
  const fail = (span: import('@opentelemetry/api').Span, error: unknown) => {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  };

  // Parse and validate run inside the request's context, so these are children of its span.
  const phases: Plugin = {
    onParse() {
      const span = tracer.startSpan('graphql.parse');
      return ({ result }) => {
        if (result instanceof Error) fail(span, result);
        span.end();
      };
    },
    onValidate() {
      const span = tracer.startSpan('graphql.validate');
      return ({ valid, result }) => {
        if (!valid) {
          span.setAttribute('graphql.validation.errors', result.length);
          span.setStatus({ code: SpanStatusCode.ERROR, message: result[0]?.message });
        }
        span.end();
      };
    },
  };
  // Execute and subscribe spans named `<type>.<operation>`. Not per resolver (a span per field of
  // a long list costs more than it tells), nor variables or results, which may hold personal data.
  const operations = envelop.useOpenTelemetry({ resolvers: false, variables: false, result: false, document: true }, provider, SpanKind.INTERNAL);

  return {
    plugins: [phases, operations as Plugin],
    logFields(): Record<string, string> {
      const span = trace.getSpan(context.active());
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    reportTo(log) {
      report = log;
    },
    http(req, res, route, handle) {
      const method = req.method ?? 'GET';
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const span = tracer.startSpan(
        route ? `${method} ${route}` : method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': method,
            'url.path': (req.url ?? '/').split('?')[0],
            ...(route ? { 'http.route': route } : {}),
            ...(req.headers['user-agent'] ? { 'user_agent.original': req.headers['user-agent'] } : {}),
          },
        },
        parent,
      );
      res.once('close', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        if (!res.writableFinished) span.setAttribute('http.response.aborted', true);
        span.end();
      });
      context.with(trace.setSpan(parent, span), handle);
    },
    job(name, work) {
      // A root even when woken from inside a request: the pass is not part of that request.
      return tracer.startActiveSpan(`job ${name}`, { root: true, attributes: { 'job.name': name } }, ROOT_CONTEXT, async (span) => {
        try {
          return await work();
        } catch (error) {
          fail(span, error);
          throw error;
        } finally {
          span.end();
        }
      });
    },
    flush() {
      return bounded(provider.forceFlush(), 'exporting spans', FLUSH_TIMEOUT_MS);
    },
    async release() {
      prisma.disable();
      await bounded(provider.shutdown(), 'tracing shutdown', SHUTDOWN_TIMEOUT_MS).catch((error: unknown) => report?.warn(String(error)));
      trace.disable();
      propagation.disable();
      context.disable();
      diag.disable();
    },
  };
}
