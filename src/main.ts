import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startTracing } from './observability/tracing.js';

// The process entry: the only file that listens. Exit 0 on SIGTERM/SIGINT after a clean stop.
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // Before the logger, whose lines carry the trace id; loads nothing when tracing is off.
  const tracing = await startTracing(config.tracing);
  const logger = createLogger(config.logLevel, { mixin: tracing?.logFields });
  tracing?.reportTo({ warn: (msg) => logger.warn(msg), error: (msg) => logger.error(msg) });
  const app = buildApp(config, logger, { tracing });
  let url: string;
  try {
    url = await app.start();
  } catch (error) {
    // Release what start() opened (the database, the DATA_DIR lock) before giving up: a port
    // already in use must not leave the embedded database half-open.
    await app.stop().catch(() => {});
    await tracing?.shutdown().catch(() => {});
    throw error;
  }
  logger.info({ url, database: config.databaseUrl ? 'postgresql' : `pglite:${config.dataDir}`, redis: !!config.redisUrl }, `Tertulia is listening on ${url}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // pino writes stdout asynchronously, and process.exit() with a write still in flight lets that
    // earlier line land after the ones flushed at exit. So end by letting the event loop drain (it
    // waits for pending writes); the unref'd timer ends it if a handle would hold it open, by
    // then a write in flight has long landed.
    const exit = (code: number) => {
      process.exitCode = code;
      setTimeout(() => process.exit(code), 250).unref();
    };
    app
      .stop()
      .then(() => tracing?.shutdown())
      .then(
        () => {
          logger.info('stopped');
          exit(0);
        },
        (error) => {
          logger.error({ err: error }, 'shutdown failed');
          exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`Tertulia failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
