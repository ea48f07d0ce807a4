import { pino, type Logger } from 'pino';

export type { Logger };

// Structured JSON lines on stdout; one logger per app so tests can silence or capture it.
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'tertulia' }, timestamp: pino.stdTimeFunctions.isoTime });
}
