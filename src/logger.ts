import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export type LoggerOptions = {
  /** Fields added to each line (tracing's trace and span ids: observability/tracing.ts). */
  mixin?: () => Record<string, unknown>;
  /** Where lines go instead of stdout (tests capture them). */
  destination?: DestinationStream;
};

// Structured JSON lines on stdout; one logger per app so tests can silence or capture it.
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  return pino(
    { level, base: { service: 'tertulia' }, timestamp: pino.stdTimeFunctions.isoTime, ...(options.mixin ? { mixin: options.mixin } : {}) },
    options.destination,
  );
}
