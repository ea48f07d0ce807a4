import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

export type TestApp = {
  app: App;
  url: string;
  wsUrl: string;
  /** Runs a typed operation over HTTP POST and returns the parsed body. */
  request<R, V>(document: TypedDocumentNode<R, V>, variables?: V, token?: string | null): Promise<FormattedExecutionResult<R>>;
  /** Like request, but fails the test on any GraphQL error and returns `data`. */
  query<R, V>(document: TypedDocumentNode<R, V>, variables?: V, token?: string | null): Promise<R>;
  wsClient(token?: string | null): Client;
  stop(): Promise<void>;
};

/** Something that answers GraphQL over HTTP: all the fixtures need of a TestApp. */
export type Endpoint = Pick<TestApp, 'url' | 'wsUrl' | 'request' | 'query'>;

/** Typed GraphQL over HTTP POST to `url` (this process's app or another instance). */
export function httpEndpoint(url: string): Endpoint {
  async function request<R, V>(document: TypedDocumentNode<R, V>, variables?: V, token?: string | null) {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return (await response.json()) as FormattedExecutionResult<R>;
  }
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    request,
    async query(document, variables, token) {
      const result = await request(document, variables, token);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data!;
    },
  };
}

/**
 * Starts the real app on port 0: embedded PGlite in memory by default; with DATABASE_URL, a
 * fresh PostgreSQL database of its own (dropped afterwards); with REDIS_URL, events over Redis
 * on channels of its own.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const isolated = env.DATABASE_URL ? undefined : await isolatedDatabase();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: ':memory:',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: isolated?.url,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_CHANNEL_PREFIX: `tertulia-test-${randomBytes(6).toString('hex')}:`,
    // The participation job (signals, then badges and trust levels) writes events and notifications
    // of its own a moment after each write; other domains' tests count theirs exactly, so it runs
    // only where a test turns it on (the participation suites do).
    SIGNALS_POLL_MS: '0',
    ...env,
  });
  const app = buildApp(config, createLogger(config.logLevel));
  const url = await app.start();
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];

  return {
    ...httpEndpoint(url),
    app,
    wsClient(token) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        lazy: true,
        retryAttempts: 0,
        connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
      await isolated?.drop();
    },
  };
}

/** With DATABASE_URL set, a fresh empty database of its own (drop it when done); else undefined. */
export async function isolatedDatabase(
  prefix = 'tertulia_test',
): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const base = process.env.DATABASE_URL;
  if (!base) return undefined;
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Subscribes over graphql-ws and collects results; `next(n)` waits for the n-th one. */
export function subscribe<R, V>(client: Client, document: TypedDocumentNode<R, V>, variables?: V) {
  const received: FormattedExecutionResult<R, unknown>[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let error: unknown;
  let completed = false;
  const dispose = client.subscribe<R>(
    { query: print(document), variables: variables as Record<string, unknown> | undefined },
    {
      next(value) {
        received.push(value);
        for (const w of waiters.filter((w) => received.length >= w.count)) w.resolve();
      },
      error(err) {
        error = err;
        for (const w of waiters) w.resolve();
      },
      complete() {
        completed = true;
        for (const w of waiters) w.resolve();
      },
    },
  );
  return {
    received,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    async next(count: number, timeoutMs = 5000): Promise<FormattedExecutionResult<R, unknown>[]> {
      if (received.length < count && !error && !completed) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} events, got ${received.length}`)), timeoutMs);
          waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
        });
      }
      if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
      return received.slice(0, count);
    },
    dispose,
  };
}

/** Waits until a graphql-ws client is connected and acknowledged. */
export function connected(client: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const offConnected = client.on('connected', () => {
      offConnected();
      resolve();
    });
    const offClosed = client.on('closed', (event) => {
      offClosed();
      reject(event);
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const uniqueEmail = (prefix = 'user') => `${prefix}-${randomBytes(4).toString('hex')}@example.com`;
