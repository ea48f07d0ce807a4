import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startTracing, type Tracing } from '../src/observability/tracing.js';
import { createSpace, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { httpEndpoint, isolatedDatabase, type TestApp } from './helpers.js';
import { killServers, ServerProcess, START_TIMEOUT, type LogLine } from './processes.js';

// OpenTelemetry traces (src/observability/tracing.ts): a local OTLP/HTTP collector stub receives
// what the app exports, and the span tree of one request is checked; without an endpoint, no
// OTel package is even loaded.

const TracedSpaces = graphql(`query TracedSpaces { spaces(first: 5) { totalCount edges { node { slug } } } }`);

type ExportedSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes: Record<string, unknown> };
type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpBody = {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: { spans?: (Omit<ExportedSpan, 'attributes'> & { attributes?: { key: string; value: OtlpValue }[] })[] }[];
  }[];
};

/** An OTLP/HTTP JSON receiver on 127.0.0.1: what an OpenTelemetry collector would get. */
async function collectorStub() {
  const spans: ExportedSpan[] = [];
  const services = new Set<string>();
  const paths: string[] = [];
  const valueOf = (v: OtlpValue) => v.stringValue ?? v.boolValue ?? v.doubleValue ?? (v.intValue === undefined ? undefined : Number(v.intValue));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody;
      for (const rs of body.resourceSpans ?? []) {
        const name = rs.resource?.attributes?.find((a) => a.key === 'service.name');
        if (name) services.add(String(valueOf(name.value)));
        for (const scope of rs.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            const attributes = Object.fromEntries((span.attributes ?? []).map((a) => [a.key, valueOf(a.value)]));
            spans.push({ traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId || undefined, name: span.name, attributes });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    services,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
type Collector = Awaited<ReturnType<typeof collectorStub>>;

/** The app as main.ts builds it (tracing first, then the logger), its log lines captured. */
async function startApp(env: Record<string, string>) {
  const isolated = await isolatedDatabase();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: ':memory:',
    LOG_LEVEL: 'debug',
    DATABASE_URL: isolated?.url,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_CHANNEL_PREFIX: `tertulia-test-${randomBytes(6).toString('hex')}:`,
    ...env,
  });
  const tracing = await startTracing(config.tracing);
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const app = buildApp(config, createLogger(config.logLevel, { mixin: tracing?.logFields, destination }), { tracing });
  const url = await app.start();
  const t = {
    ...httpEndpoint(url),
    app,
    wsClient: () => {
      throw new Error('not used here');
    },
    async stop() {
      await app.stop();
      await tracing?.shutdown();
      await isolated?.drop();
    },
  } satisfies TestApp;
  return { t, tracing, logs };
}

/** POSTs one operation with a W3C traceparent header, as a traced front end or gateway would. */
async function tracedRequest(url: string, traceId: string, parentId: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentId}-01` },
    body: JSON.stringify({ query: print(TracedSpaces) }),
  });
  return (await response.json()) as unknown;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Flushes until `found()`: a span is exported once it has ended (a response's, just after the client read it). */
async function exported(tracing: Tracing, found: () => boolean) {
  await vi.waitFor(
    async () => {
      await tracing.flush();
      expect(found()).toBe(true);
    },
    { timeout: 20_000, interval: 100 },
  );
}

describe('tracing on: OTLP export to a collector', () => {
  let collector: Collector;
  let started: Awaited<ReturnType<typeof startApp>>;
  let tracing: Tracing;

  beforeAll(async () => {
    collector = await collectorStub();
    started = await startApp({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_SERVICE_NAME: 'tertulia-traced' });
    tracing = started.tracing!;
  });
  afterAll(async () => {
    await started?.t.stop();
    await collector?.close();
  });

  it('exports the span tree of one GraphQL request: HTTP, parse, validate, execute, SQL, in one trace', { timeout: 60_000 }, async () => {
    const { t, logs } = started;
    const admin = await createUser(t, 'Admin');
    await createSpace(t, admin, 'traced-space');

    const traceId = hex(16);
    const callerSpanId = hex(8);
    expect(await tracedRequest(t.url, traceId, callerSpanId)).toEqual({
      data: { spaces: { totalCount: 1, edges: [{ node: { slug: 'traced-space' } }] } },
    });
    await exported(tracing, () => collector.spans.some((s) => s.traceId === traceId && s.name === 'POST /graphql'));

    expect(collector.paths[0]).toBe('POST /v1/traces application/json');
    expect([...collector.services]).toEqual(['tertulia-traced']);
    const trace = collector.spans.filter((s) => s.traceId === traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const childrenOf = (span: ExportedSpan) => trace.filter((s) => s.parentSpanId === span.spanId);
    const isBelow = (span: ExportedSpan, ancestor: ExportedSpan): boolean => {
      for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId)) {
        if (p === ancestor) return true;
      }
      return false;
    };

    // The HTTP server span continues the caller's trace.
    const [root] = trace.filter((s) => s.name === 'POST /graphql');
    expect(root.parentSpanId).toBe(callerSpanId);
    expect(root.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 });
    // The GraphQL phases under it, in this request's trace only.
    expect(childrenOf(root).map((s) => s.name).sort()).toEqual(['graphql.parse', 'graphql.validate', 'query.TracedSpaces']);
    const execute = childrenOf(root).find((s) => s.name === 'query.TracedSpaces')!;
    expect(execute.attributes).toMatchObject({ 'graphql.execute.operationName': 'TracedSpaces', 'graphql.execute.operationType': 'query' });
    // Prisma's SQL spans below the execute span: the page and its count read the spaces table.
    const sql = trace.filter((s) => s.name === 'prisma:client:db_query');
    expect(sql.length).toBeGreaterThanOrEqual(2);
    for (const statement of sql) expect(isBelow(statement, execute)).toBe(true);
    expect(sql.some((s) => /SELECT[\s\S]*"Space"/.test(String(s.attributes['db.query.text'])))).toBe(true);
    // No span of another request or of a job strayed into this trace.
    expect(trace.filter((s) => s !== root).every((s) => isBelow(s, root))).toBe(true);

    // The request's log line carries its trace id, and the id of a span of that trace.
    const line = logs.find((l) => l.msg === 'graphql operation' && l.operation === 'TracedSpaces');
    expect(line).toMatchObject({ trace_id: traceId, type: 'execute' });
    expect(byId.has(String(line!.span_id))).toBe(true);
  });

  it('is counted per user: another user shutting down leaves it on, and one process exports to one endpoint', async () => {
    const other = await startTracing({ tracesUrl: `${collector.endpoint}/v1/traces`, serviceName: 'tertulia-traced' });
    await other!.shutdown();
    const traceId = hex(16);
    await tracedRequest(started.t.url, traceId, hex(8));
    await exported(tracing, () => collector.spans.some((s) => s.traceId === traceId && s.name === 'POST /graphql'));
    expect(collector.spans.filter((s) => s.traceId === traceId).map((s) => s.name)).toEqual(
      expect.arrayContaining(['POST /graphql', 'graphql.parse', 'graphql.validate', 'query.TracedSpaces']),
    );
    await expect(startTracing({ tracesUrl: 'http://127.0.0.1:9/v1/traces', serviceName: 'x' })).rejects.toThrow(/one endpoint per process/);
  });

  it('exports each pass of a background job as a root span `job <name>`, with its SQL and log lines', async () => {
    // Every job runs once at start-up, then on its interval (the notification poll every 2 s).
    const jobs = ['notifications', 'activity-retention', 'listening-feeds', 'listening-alerts', 'support-sla', 'mail', 'notification-digests'];
    const passes = () => collector.spans.filter((s) => s.name.startsWith('job '));
    await exported(tracing, () => jobs.every((job) => passes().some((s) => s.name === `job ${job}`)));
    for (const pass of passes()) {
      expect(pass.parentSpanId).toBeUndefined();
      expect(pass.attributes).toEqual({ 'job.name': pass.name.slice('job '.length) });
    }
    // A pass's statements are in its own trace, under it.
    const withSql = passes().find((p) => collector.spans.some((s) => s.traceId === p.traceId && s.name === 'prisma:client:db_query'));
    expect(withSql).toBeDefined();
    expect(collector.spans.filter((s) => s.traceId === withSql!.traceId && !s.parentSpanId)).toEqual([withSql]);
    // Its log line ('job pass', debug) is written inside the pass, so it carries the pass's trace id.
    const job = withSql!.name.slice('job '.length);
    expect(started.logs.some((l) => l.msg === 'job pass' && l.job === job && l.trace_id === withSql!.traceId)).toBe(true);
  });
});

describe('tracing after a shutdown', () => {
  it('starts again in the same process, to another endpoint, once the last user has shut it down', { timeout: 2 * START_TIMEOUT }, async () => {
    for (let round = 0; round < 2; round++) {
      const collector = await collectorStub();
      const traceId = hex(16);
      try {
        const { t } = await startApp({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint });
        try {
          await tracedRequest(t.url, traceId, hex(8));
        } finally {
          // stop() flushes: what the app traced is exported before it is gone.
          await t.stop();
        }
      } finally {
        await collector.close();
      }
      expect(collector.spans.filter((s) => s.traceId === traceId).map((s) => s.name)).toEqual(
        expect.arrayContaining(['POST /graphql', 'query.TracedSpaces', 'prisma:client:db_query']),
      );
    }
  });
});

describe('tracing settings', () => {
  it('reads the standard OTEL_* variables: the base endpoint gets /v1/traces, the traces endpoint is taken as is', () => {
    expect(loadConfig({}).tracing).toEqual({ tracesUrl: undefined, serviceName: 'tertulia' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'tertulia',
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/spans',
        OTEL_SERVICE_NAME: 'tertulia-eu',
      }).tracing,
    ).toEqual({ tracesUrl: 'https://traces.example.com/otlp/spans', serviceName: 'tertulia-eu' });
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

describe('tracing off', () => {
  it('adds nothing: no tracing object, no trace ids in log lines, a traceparent header ignored', { timeout: START_TIMEOUT }, async () => {
    const { t, tracing, logs } = await startApp({});
    try {
      expect(tracing).toBeUndefined();
      expect(await tracedRequest(t.url, hex(16), hex(8))).toEqual({ data: { spaces: { totalCount: 0, edges: [] } } });
      const line = logs.find((l) => l.msg === 'graphql operation' && l.operation === 'TracedSpaces');
      expect(line).toMatchObject({ type: 'execute', errors: 0 });
      expect(line).not.toHaveProperty('trace_id');
    } finally {
      await t.stop();
    }
  });

  describe('the compiled server (node dist/main.js)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tertulia-tracing-'));
    afterAll(() => {
      killServers();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('starts, answers and stops without loading any OpenTelemetry package', { timeout: START_TIMEOUT + 60_000 }, async () => {
      // Up to date with src/ (scripts/build.mjs builds only when a source is newer).
      await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
      const isolated = await isolatedDatabase();
      const imports = path.join(dir, 'imports.txt');
      const server = new ServerProcess(
        { ...(isolated ? { DATABASE_URL: isolated.url } : { DATA_DIR: path.join(dir, 'data') }), RECORD_IMPORTS_FILE: imports },
        [process.execPath, '--import', './test/record-imports.mjs', 'dist/main.js'],
      );
      try {
        const url = await server.listening();
        expect(await tracedRequest(url, hex(16), hex(8))).toEqual({ data: { spaces: { totalCount: 0, edges: [] } } });
        expect(await server.stop()).toEqual({ code: 0, signal: null });
      } finally {
        await isolated?.drop();
      }
      const loaded = fs.readFileSync(imports, 'utf8').split('\n');
      // The recording works: the server's own packages are in it.
      expect(loaded.some((url) => url.includes('/node_modules/graphql-yoga/'))).toBe(true);
      expect(loaded.some((url) => url.includes('/node_modules/@prisma/client/'))).toBe(true);
      // @opentelemetry/api alone is allowed: prom-client (metrics) imports that no-op API package;
      // no SDK, exporter or instrumentation may load.
      const otel = /\/node_modules\/(@opentelemetry\/(?!api\/)|@prisma\/instrumentation|@envelop\/opentelemetry)/;
      expect(loaded.filter((url) => otel.test(url))).toEqual([]);
      expect(server.logs.filter((l) => 'trace_id' in l)).toEqual([]);
    });
  });
});
