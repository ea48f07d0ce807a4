import { isAsyncIterable, type Plugin } from '@envelop/core';
import { createCounter, createHistogram, usePrometheus, type FillLabelsFnParams } from '@envelop/prometheus';
import { GraphQLError, getOperationAST, type DocumentNode } from 'graphql';
import { Gauge, Histogram, type Registry } from 'prom-client';
import { AppError } from '../errors.js';
import { codeLabel, type OperationNames } from './labels.js';
import { inScope } from './probes.js';

// GraphQL metrics: the envelop Prometheus plugin's request, error and phase metrics (labels
// bounded by OperationNames), and ours: live subscriptions, and the scope that SQL statements
// are counted in (metrics.ts).
//
// Not enabled: the plugin's resolver histogram (graphql_envelop_execute_resolver). It wraps the
// resolver of every field of the schema in place (@envelop/on-resolve), and our schema is one
// object for the whole process: every field of every request would pay a wrapper even with a
// whitelist, the wrapping could not be undone when the app stops, and each app started in the
// same process (tests) would wrap it once more. The execute histogram covers resolver time per
// operation, and the SQL counters say where most of it goes.

/** Seconds: from sub-millisecond parses to slow executions. */
const PHASE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Phases = 'parse' | 'validate' | 'context' | 'execute' | 'subscribe';

export function graphqlMetricsPlugins(registry: Registry, names: OperationNames): Plugin[] {
  const operationLabels = (params: FillLabelsFnParams) => ({
    operationName: names.label(params.operationName),
    operationType: params.operationType ?? 'unknown',
  });
  const labelNames = ['operationName', 'operationType'] as const;
  const histogram = <P extends Phases>(name: string, help: string, phases?: [P, ...P[]]) =>
    createHistogram<P, (typeof labelNames)[number]>({
      registry,
      histogram: { name, help, labelNames, buckets: PHASE_BUCKETS },
      fillLabelsFn: operationLabels,
      phases,
    });
  const prometheus = usePrometheus({
    registry,
    // GraphiQL's schema fetches are not traffic.
    skipIntrospection: true,
    metrics: {
      graphql_envelop_request: createCounter<'execute' | 'subscribe', (typeof labelNames)[number]>({
        registry,
        counter: { name: 'graphql_envelop_request', help: 'GraphQL operations executed (queries and mutations when done, subscriptions when they end)', labelNames },
        fillLabelsFn: operationLabels,
      }),
      graphql_envelop_request_duration: histogram('graphql_envelop_request_duration', 'Time of a GraphQL operation\'s execution (a subscription: its whole life), seconds'),
      graphql_envelop_phase_parse: histogram('graphql_envelop_phase_parse', 'Time spent parsing an operation, seconds'),
      graphql_envelop_phase_validate: histogram('graphql_envelop_phase_validate', 'Time spent validating an operation (depth, cost and other limits included), seconds'),
      graphql_envelop_phase_execute: histogram('graphql_envelop_phase_execute', 'Time spent executing a query or mutation (all its resolvers), seconds'),
      graphql_envelop_phase_subscribe: histogram('graphql_envelop_phase_subscribe', 'Time spent starting a subscription, seconds'),
      graphql_envelop_error_result: createCounter<Phases, 'operationName' | 'operationType' | 'phase' | 'code', FillLabelsFnParams & { error: unknown; errorPhase: Phases }>({
        registry,
        counter: {
          name: 'graphql_envelop_error_result',
          help: 'GraphQL errors in responses, by phase and error code (errors in a mutation\'s result union are data, not counted here)',
          labelNames: ['operationName', 'operationType', 'phase', 'code'],
        },
        fillLabelsFn: (params) => ({ ...operationLabels(params), phase: params.errorPhase ?? 'unknown', code: errorCode(params.errorPhase, params.error) }),
      }),
    },
  });
  const contextHistogram = new Histogram({
    name: 'graphql_envelop_phase_context',
    help: 'Time spent building the context (authenticating the token), seconds',
    labelNames,
    buckets: PHASE_BUCKETS,
    registers: [registry],
  });
  return [prometheus, useOperationScope(names, contextHistogram), useLiveSubscriptions(registry)];
}

/** The code a client sees for this error (our AppErrors', the executor's and the limits'), as a bounded label. */
function errorCode(phase: string | undefined, error: unknown): string {
  if (phase === 'parse') return 'GRAPHQL_PARSE_FAILED';
  if (phase === 'validate' && !error) return 'GRAPHQL_VALIDATION_FAILED';
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof AppError) return codeLabel(original.code);
  if (error instanceof GraphQLError && error.extensions?.code !== undefined) return codeLabel(error.extensions.code);
  // Anything else thrown by a resolver is masked for the client: an internal error.
  if (original && !(original instanceof GraphQLError)) return 'INTERNAL_SERVER_ERROR';
  return 'GRAPHQL_ERROR';
}

/**
 * Runs context building (the token lookup) and execution inside the operation's scope, so the
 * database client's query events are counted for it (metrics.ts). One envelop context is one
 * operation; its name is read once parsed.
 */
function useOperationScope(names: OperationNames, contextHistogram: Histogram<'operationName' | 'operationType'>): Plugin {
  const scopes = new WeakMap<object, { source: 'graphql'; name: string; type: string }>();
  const run = (context: object, wrapped: () => unknown) => {
    const scope = scopes.get(context);
    return scope ? inScope(scope, wrapped) : wrapped();
  };
  return {
    onParse({ context, params }) {
      return ({ result }) => {
        if (result instanceof Error || !result) return;
        const operation = getOperationAST(result as DocumentNode, params.options?.operationName ?? (context as { params?: { operationName?: string } }).params?.operationName);
        scopes.set(context, { source: 'graphql', name: names.label(operation?.name?.value), type: operation?.operation ?? 'unknown' });
      };
    },
    // Ours rather than the plugin's, which stops its clock as context building starts.
    onContextBuilding({ context }) {
      const scope = scopes.get(context);
      if (!scope) return;
      const started = performance.now();
      return () => contextHistogram.observe({ operationName: scope.name, operationType: scope.type }, (performance.now() - started) / 1000);
    },
    instrumentation: {
      context: ({ context }, wrapped) => void run(context, wrapped),
      execute: ({ context }, wrapped) => run(context, wrapped) as ReturnType<typeof wrapped>,
      subscribe: ({ context }, wrapped) => run(context, wrapped) as ReturnType<typeof wrapped>,
    },
  };
}

/** Live subscriptions by root field and transport: up when one starts streaming, down when it ends. */
function useLiveSubscriptions(registry: Registry): Plugin {
  const live = new Gauge({
    name: 'tertulia_live_subscriptions',
    help: 'Subscriptions streaming now, by root field and transport (websocket, or http for SSE and multipart)',
    labelNames: ['field', 'transport'],
    registers: [registry],
  });
  return {
    onSubscribe({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      const first = operation?.selectionSet.selections[0];
      const field = first?.kind === 'Field' ? first.name.value : 'unknown';
      // graphql-ws hands each operation the socket's closeConnection (ws.ts); HTTP has none.
      const transport = typeof (args.contextValue as { closeConnection?: unknown }).closeConnection === 'function' ? 'websocket' : 'http';
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          const labels = { field, transport };
          live.inc(labels);
          return { onEnd: () => live.dec(labels) };
        },
      };
    },
  };
}
