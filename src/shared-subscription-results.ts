import type { Plugin } from '@envelop/core';
import { buildExecutionContext, execute, subscribe } from '@graphql-tools/executor';
import { isAsyncIterable, mapAsyncIterator } from '@graphql-tools/utils';
import { createSourceEventStream, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Context } from './context.js';

/**
 * Executes a subscription event's selection once for all the subscribers who would get the same
 * answer, instead of once per subscriber.
 *
 * The event bus hands one event object to every subscription of the process. A thousand
 * consoles holding the same subscription document would otherwise run the same execution a
 * thousand times per event (most of the server's CPU per delivery; bench/RESULTS.md). Who
 * receives an event is still decided per subscriber by the subscription's own stream (its
 * `subscribe` resolver, with the subscriber's context), before anything here runs.
 *
 * What a subscriber sees can depend on who they are (removed content, a role's fields, their own
 * reactions), so an execution runs with a context that records what it read of the viewer and
 * of the context, and its result is shared only with subscribers for whom all those reads give
 * the same values: same reads, same answer. An execution that read the viewer's id is shared
 * with that user's other subscriptions only; one that read nothing of the viewer, with all.
 */
export function useSharedSubscriptionResults(): Plugin<Context> {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribeSharingResults as Parameters<typeof setSubscribeFn>[0]);
    },
  };
}

async function subscribeSharingResults(args: ExecutionArgs) {
  // Bad arguments (variables of the wrong type, say): the executor's own answer and codes.
  const checked = buildExecutionContext(args);
  if (!('schema' in checked)) return subscribe(args);
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream;
  const operation = checked.operation;
  const key = sharingKey(args);
  const context = args.contextValue as Context;
  return mapAsyncIterator(
    stream as AsyncIterable<unknown>,
    (event) => resultFor(event, key, args, context),
    // As the executor does: the stream's failure (an expired token, say) is the operation's error.
    (error: Error) => {
      throw new GraphQLError(error.message, { originalError: error, nodes: [operation] });
    },
  );
}

/**
 * One subscription's document, operation and variables: only these may share an execution.
 * The document by identity (Yoga's parser cache hands out one DocumentNode per query text), so
 * each subscription keeps a short key rather than its own copy of the query text.
 */
function sharingKey(args: ExecutionArgs): string {
  return `${documentNumber(args.document)}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? null)}`;
}

const documentNumbers = new WeakMap<object, number>();
let documentsSeen = 0;
function documentNumber(document: object): number {
  let n = documentNumbers.get(document);
  if (n === undefined) documentNumbers.set(document, (n = ++documentsSeen));
  return n;
}

type Reads = { context: Map<PropertyKey, unknown>; viewer: Map<PropertyKey, unknown> };
type Done = { reads: Reads; result: ExecutionResult };
type Execution = Promise<Done>;
/** Which properties an execution read, of the context and of the viewer. */
type Shape = { signature: string; context: PropertyKey[]; viewer: PropertyKey[] };

/**
 * One event's executions for one sharing key. The first execution (the probe) tells which reads
 * matter; later ones are indexed by the values of those reads, so finding a subscriber's
 * execution costs a few Map lookups however many viewers there are, not a scan of them all.
 */
type EventExecutions = { probe?: Execution; shapes: Shape[]; byValues: Map<string, Execution> };

// They go when the event object does.
const executionsByEvent = new WeakMap<object, Map<string, EventExecutions>>();

async function resultFor(event: unknown, key: string, args: ExecutionArgs, context: Context): Promise<ExecutionResult> {
  // A payload that is not an object can't be told apart from another: executed for this subscriber.
  if (typeof event !== 'object' || event === null) return (await executeEvent(event, args, context)).result;
  let byKey = executionsByEvent.get(event);
  if (!byKey) executionsByEvent.set(event, (byKey = new Map()));
  let executions = byKey.get(key);
  if (!executions) byKey.set(key, (executions = { shapes: [], byValues: new Map() }));
  if (!executions.probe) {
    executions.probe = start(event, args, context, executions);
    return (await executions.probe).result;
  }
  await executions.probe.catch(() => undefined);
  // An execution found by the values of one shape's reads is used only if every read it made
  // agrees with this subscriber (it may have read more than that shape).
  const tried = new Set<Execution>();
  for (let shape = 0; shape < executions.shapes.length; shape++) {
    const found = executions.byValues.get(valuesKey(executions.shapes[shape], context));
    if (!found || tried.has(found)) continue;
    tried.add(found);
    const done = await found.catch(() => undefined);
    if (done && sameReads(done.reads, context)) return done.result;
  }
  return (await start(event, args, context, executions)).result;
}

/** Executes for this subscriber; subscribers with the same values of the probe's reads wait for it rather than execute again. */
function start(event: object, args: ExecutionArgs, context: Context, executions: EventExecutions): Execution {
  const predicted = executions.shapes.length ? valuesKey(executions.shapes[0], context) : undefined;
  const execution: Execution = executeEvent(event, args, context).then(
    (done) => {
      const actual = readsKey(shapeOf(done.reads, executions.shapes), done.reads);
      if (!executions.byValues.has(actual)) executions.byValues.set(actual, execution);
      return done;
    },
    (error: unknown) => {
      if (predicted !== undefined && executions.byValues.get(predicted) === execution) executions.byValues.delete(predicted);
      throw error;
    },
  );
  if (predicted !== undefined && !executions.byValues.has(predicted)) executions.byValues.set(predicted, execution);
  return execution;
}

/** The shape of these reads: one already seen for this event, or a new one added to them. */
function shapeOf(reads: Reads, shapes: Shape[]): Shape {
  const context = [...reads.context.keys()];
  const viewer = [...reads.viewer.keys()];
  const signature = `${context.map(String).join(',')}|${viewer.map(String).join(',')}`;
  let shape = shapes.find((known) => known.signature === signature);
  if (!shape) shapes.push((shape = { signature, context, viewer }));
  return shape;
}

/** This subscriber's values of a shape's reads, as a Map key; equal keys are then checked read by read. */
function valuesKey(shape: Shape, context: Context): string {
  let key = shape.signature;
  for (const property of shape.context) key += `\u0000${valueKey(contextValue(context, property))}`;
  const viewer = context.viewer;
  for (const property of shape.viewer) key += `\u0000${viewer ? valueKey(viewerValue(viewer, property)) : 'none'}`;
  return key;
}

/** The same key, from an execution's own reads (the values as they were read). */
function readsKey(shape: Shape, reads: Reads): string {
  let key = shape.signature;
  for (const property of shape.context) key += `\u0000${valueKey(reads.context.get(property))}`;
  for (const property of shape.viewer) key += `\u0000${valueKey(reads.viewer.get(property))}`;
  return key;
}

function valueKey(value: unknown): string {
  if (value instanceof Date) return `date:${value.getTime()}`;
  if ((typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'symbol') {
    return `ref:${referenceNumber(value)}`;
  }
  return `${typeof value}:${String(value)}`;
}

const referenceNumbers = new WeakMap<object, number>();
// Symbols live as long as the process; only a few (PRESENT, ABSENT) are ever read.
const symbolNumbers = new Map<symbol, number>();
let referencesSeen = 0;
function referenceNumber(value: object | symbol): number {
  if (typeof value === 'symbol') {
    let n = symbolNumbers.get(value);
    if (n === undefined) symbolNumbers.set(value, (n = ++referencesSeen));
    return n;
  }
  let n = referenceNumbers.get(value);
  if (n === undefined) referenceNumbers.set(value, (n = ++referencesSeen));
  return n;
}

async function executeEvent(event: unknown, args: ExecutionArgs, context: Context): Promise<Done> {
  const reads: Reads = { context: new Map(), viewer: new Map() };
  const result = await execute({ ...args, rootValue: event, contextValue: recordingContext(context, reads) });
  // @defer and @stream are not enabled in this schema, so an execution has one result.
  if (!('data' in result) && !('errors' in result)) throw new Error('An incremental result in a subscription event');
  return { reads, result: result as ExecutionResult };
}

/**
 * The subscriber's context as an execution sees it, recording every read. Writes, and the
 * per-request DataLoaders, stay with this one execution: a loader that cached one viewer's
 * answer in an earlier event must not answer for another viewer without a recorded read.
 */
function recordingContext(context: Context, reads: Reads): Context {
  const own = new Map<PropertyKey, unknown>([['loaders', new Map()]]);
  const viewer = context.viewer && recordingViewer(context.viewer, reads.viewer);
  return new Proxy(context, {
    get(target, property) {
      if (own.has(property)) return own.get(property);
      if (property === 'viewer') {
        reads.context.set('viewer', target.viewer ? PRESENT : null);
        return viewer;
      }
      const value = Reflect.get(target, property);
      reads.context.set(property, value === undefined && !Reflect.has(target, property) ? ABSENT : value);
      return value;
    },
    has(target, property) {
      if (own.has(property)) return true;
      const present = Reflect.has(target, property);
      reads.context.set(property, present ? Reflect.get(target, property) : ABSENT);
      return present;
    },
    set(_target, property, value) {
      own.set(property, value);
      return true;
    },
    defineProperty(_target, property, descriptor) {
      own.set(property, descriptor.value);
      return true;
    },
  });
}

function recordingViewer<T extends object>(viewer: T, reads: Map<PropertyKey, unknown>): T {
  return new Proxy(viewer, {
    get(target, property) {
      const value = Reflect.get(target, property);
      reads.set(property, viewerValue(target, property));
      return value;
    },
    has(target, property) {
      reads.set(property, viewerValue(target, property));
      return Reflect.has(target, property);
    },
    set() {
      throw new Error('The viewer is read-only while a subscription event is executed');
    },
  });
}

const PRESENT = Symbol('present');
const ABSENT = Symbol('absent');

function sameReads(reads: Reads, context: Context): boolean {
  for (const [property, value] of reads.context) if (!sameValue(contextValue(context, property), value)) return false;
  const viewer = context.viewer;
  for (const [property, value] of reads.viewer) {
    if (!viewer || !sameValue(viewerValue(viewer, property), value)) return false;
  }
  return true;
}

/** What was read of the viewer: its value, or ABSENT for a property it does not have. */
function viewerValue(viewer: object, property: PropertyKey): unknown {
  return Reflect.has(viewer, property) ? Reflect.get(viewer, property) : ABSENT;
}

/** What an execution with this context would have recorded for `property` (see recordingContext). */
function contextValue(context: Context, property: PropertyKey): unknown {
  if (property === 'viewer') return context.viewer ? PRESENT : null;
  return property in context ? Reflect.get(context, property) : ABSENT;
}

const sameValue = (a: unknown, b: unknown): boolean =>
  Object.is(a, b) || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime());
