import type { Plugin } from '@envelop/core';

/**
 * Work stops when its client has gone: the executor gets an AbortSignal and runs no resolver
 * after it fires (those already running finish; their results are dropped). Over HTTP it is the
 * request's, which Yoga aborts when the connection closes; over graphql-ws, the operation's own
 * (ws.ts), aborted when the socket closes. Yoga's useExecutionCancellation does the HTTP half
 * only, and would set the graphql-ws signal to undefined.
 *
 * Queries and mutations only: a subscription ends with its client anyway, and each event's
 * selection is executed once for many subscribers (shared-subscription-results.ts), so no one
 * subscriber's signal may stop it.
 */
export function useCancellation(): Plugin {
  return {
    onExecute({ args }) {
      const withSignal = args as typeof args & { signal?: AbortSignal };
      withSignal.signal ??= (args.contextValue as { request?: Request } | undefined)?.request?.signal;
    },
  };
}
