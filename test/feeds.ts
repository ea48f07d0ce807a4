import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';
import type { MultiLogQuery } from './gql/graphql.js';
import { sleep, type Endpoint } from './helpers.js';

// Subscribers of the `activity` stream that tests of several instances (and of outages) compare
// with the log: every event id, once, in order.

const MultiFeed = graphql(`
  subscription MultiFeed($after: String, $filter: ActivityFilter) {
    activity(after: $after, filter: $filter) { id kind subject { id } }
  }
`);
const MultiLog = graphql(`
  query MultiLog($first: Int, $after: String) {
    activityLog(first: $first, after: $after) {
      edges { node { id kind subject { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export type Event = { id: string; kind: string; subject: string | undefined };
export const label = (e: Event) => `${e.kind}:${e.subject}`;

/** Polls `check` until it holds, failing after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

// ---- A subscriber that remembers its last event id and can resume from it -------------------

/**
 * One `activity` subscription at a time over graphql-ws. `events` is everything received, across
 * reconnections, duplicates included (so a test sees them). With `reconnect`, a closed
 * subscription is opened again, at whatever `target()` names then, with `after: <last id>`.
 */
export class Feed {
  readonly events: Event[] = [];
  /** How each subscription ended: a close code, or the errors / 'complete' it ended with. */
  readonly closes: unknown[] = [];
  private client: Client | undefined;
  private disposed = false;
  private readonly reconnect: boolean;
  private cursor: string | undefined;

  constructor(
    private readonly target: () => string | undefined,
    private readonly token: string,
    options: { reconnect?: boolean; after?: string } = {},
  ) {
    this.reconnect = options.reconnect ?? false;
    this.cursor = options.after;
    this.open();
  }

  /** The id of the last event received (or the `after` it started with). */
  get lastId(): string | undefined {
    return this.cursor;
  }

  /** Opens a subscription on the current target, after the last id received. */
  private open(): void {
    if (this.disposed) return;
    const url = this.target();
    if (!url) return void setTimeout(() => this.open(), 100);
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${this.token}` },
    });
    this.client = client;
    const ended = (reason: unknown) => {
      if (this.client !== client) return;
      const code = (reason as { code?: unknown } | undefined)?.code;
      this.closes.push(typeof code === 'number' ? { code } : reason);
      this.client = undefined;
      void client.dispose();
      if (this.reconnect && !this.disposed) setTimeout(() => this.open(), 100);
    };
    client.subscribe<{ activity: { id: string; kind: string; subject: { id: string } | null } }>(
      { query: print(MultiFeed), variables: this.cursor ? { after: this.cursor } : {} },
      {
        next: (result) => {
          if (result.errors?.length || !result.data) return ended(result.errors);
          const { id, kind, subject } = result.data.activity;
          this.events.push({ id, kind, subject: subject?.id });
          this.cursor = id;
        },
        error: ended,
        complete: () => ended('complete'),
      },
    );
  }

  /** The events after the one about `subject` (a probe), as `KIND:subjectId`. */
  since(subject: string): Event[] {
    const index = this.events.findIndex((e) => e.subject === subject);
    if (index < 0) throw new Error(`the feed never saw ${subject}`);
    return this.events.slice(index + 1);
  }

  async waitFor(what: string, check: (events: Event[]) => boolean, timeoutMs = 10_000): Promise<void> {
    await until(what, () => check(this.events), timeoutMs);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const client = this.client;
    this.client = undefined;
    await client?.dispose();
  }
}

/** The log after `afterId` (null: all of it), read over HTTP from `on`, as `token`'s user sees it. */
export async function logAfter(on: Endpoint, token: string, afterId: string | null): Promise<Event[]> {
  const events: Event[] = [];
  let after: string | null = afterId;
  for (;;) {
    const { activityLog }: MultiLogQuery = await on.query(MultiLog, { first: 100, after }, token);
    events.push(...activityLog.edges.map(({ node }) => ({ id: node.id, kind: node.kind, subject: node.subject?.id })));
    if (!activityLog.pageInfo.hasNextPage) return events;
    after = activityLog.pageInfo.endCursor!;
  }
}

export const ids = (events: Event[]) => events.map((e) => e.id);

/** Each id once, in increasing order. */
export function expectOrdered(events: Event[]): void {
  expect([...ids(events)].sort()).toEqual(ids(events));
  expect(new Set(ids(events)).size).toBe(events.length);
}
