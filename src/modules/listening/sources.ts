import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { ListeningSource, Prisma } from '../../generated/prisma/client.js';
import type { ListeningSourceKind } from '../../generated/prisma/enums.js';
import { DATE_RANGE, parseInput, textFieldErrors, withoutNulls } from '../../validation.js';
import { requireManager } from '../identity/guards.js';
import { FeedError, fetchFeed, type FeedItem, type FeedLimits } from './feeds.js';
import { ingest, url, withoutNul, type IngestResult, type MentionInput } from './ingest.js';

// Listening sources: their setup, their feeds polled on a schedule (with backoff), and batches
// pushed to them.

let feedLimits: FeedLimits = {
  timeoutMs: 10_000,
  maxBytes: 5 * 1024 * 1024,
  maxRedirects: 5,
  maxItems: 500,
  allowPrivateNetworks: false,
};
export function configureListening(limits: Partial<FeedLimits>): void {
  feedLimits = { ...feedLimits, ...limits };
}

/** The longest wait between polls of a failing feed. */
const MAX_BACKOFF_MINUTES = 24 * 60;

const sourceFields = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  url,
  pollIntervalMinutes: z.number().int().min(1, 'must be at least 1').max(10_080, 'must be at most 10080 (a week)'),
  enabled: z.boolean(),
};
const createSourceInput = z
  .object({
    name: sourceFields.name,
    kind: z.enum(['RSS', 'ATOM', 'JSON_FEED', 'WEBHOOK']),
    url: sourceFields.url.optional(),
    pollIntervalMinutes: sourceFields.pollIntervalMinutes.default(15),
    enabled: sourceFields.enabled.default(true),
  })
  .superRefine((value, ctx) => {
    if (value.kind !== 'WEBHOOK' && !value.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `is required for a ${value.kind} source` });
    if (value.kind === 'WEBHOOK' && value.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is not used by a WEBHOOK source' });
  });

type SourceInput = {
  name: string;
  kind: ListeningSourceKind;
  url?: string | null;
  pollIntervalMinutes?: number | null;
  enabled?: boolean | null;
};

/** A new source; a WEBHOOK source also gets its signing secret, shown this once. */
export async function createListeningSource(
  viewer: Viewer | null,
  input: SourceInput,
): Promise<{ source: ListeningSource; webhookSecret: string | null }> {
  requireManager(viewer, 'manage listening sources');
  const data = parseInput(createSourceInput, withoutNulls(input));
  const webhookSecret = data.kind === 'WEBHOOK' ? `whsec_${randomBytes(32).toString('base64url')}` : null;
  const source = await prisma().listeningSource.create({ data: { ...data, webhookSecret } });
  return { source, webhookSecret };
}

export async function updateListeningSource(
  viewer: Viewer | null,
  sourceId: number,
  input: { name?: string | null; url?: string | null; pollIntervalMinutes?: number | null; enabled?: boolean | null },
): Promise<ListeningSource> {
  requireManager(viewer, 'manage listening sources');
  const data = parseInput(
    z.object({
      name: sourceFields.name.optional(),
      url: sourceFields.url.optional(),
      pollIntervalMinutes: sourceFields.pollIntervalMinutes.optional(),
      enabled: sourceFields.enabled.optional(),
    }),
    withoutNulls(input),
  );
  const source = await findSource(sourceId);
  if (data.url && source.kind === 'WEBHOOK') throw ValidationError.field('input.url', 'is not used by a WEBHOOK source');
  const moved = data.url !== undefined && data.url !== source.url;
  return prisma().listeningSource.update({
    where: { id: sourceId },
    data: {
      ...data,
      // A new address starts afresh: no validators of the old one, no back-off, polled soon.
      ...(moved && { etag: null, lastModified: null, consecutiveFailures: 0, lastError: null, nextFetchAt: new Date() }),
      ...(data.enabled === true && !source.enabled && { nextFetchAt: new Date() }),
    },
  });
}

/** Polls one feed now (outside its schedule) and returns it with the outcome recorded. */
export async function pollListeningSourceNow(viewer: Viewer | null, sourceId: number): Promise<ListeningSource> {
  requireManager(viewer, 'poll listening sources');
  const source = await findSource(sourceId);
  if (source.kind === 'WEBHOOK') throw ValidationError.field('input.sourceId', 'is a WEBHOOK source, which is pushed to, not polled');
  await pollSource(source, new Date());
  return findSource(sourceId);
}

/** listeningSources: managers only. */
export function sourceListWhere(viewer: Viewer | null): Prisma.ListeningSourceWhereInput {
  requireManager(viewer, 'see listening sources');
  return {};
}

async function findSource(sourceId: number): Promise<ListeningSource> {
  const source = await prisma().listeningSource.findUnique({ where: { id: sourceId } });
  if (!source) throw new NotFoundError('ListeningSource', String(sourceId));
  return source;
}

/** The source a webhook delivery names, with its secret; null when there is no such WEBHOOK source. */
export function findWebhookSource(sourceId: number): Promise<ListeningSource | null> {
  return prisma().listeningSource.findFirst({ where: { id: sourceId, kind: 'WEBHOOK', enabled: true } });
}

/** How many sources one pass of the poller takes at most, and fetches at once. */
const POLL_BATCH = 20;
const POLL_CONCURRENCY = 4;
/** A claimed source is not claimed again for this long, should its poller die mid-fetch. */
const CLAIM_LEASE_MS = 10 * 60_000;

/**
 * One pass of the feed poller: claims the enabled feeds that are due (FOR UPDATE SKIP LOCKED, and
 * a lease on nextFetchAt, so instances running this at once never take the same source), fetches
 * them a few at a time, and records each outcome. A failure never escapes: it is stored on the
 * source, which is retried with exponential back-off.
 */
export async function pollDueSources(now = new Date()): Promise<{ polled: number; failed: number }> {
  const claimed = await prisma().$queryRaw<ListeningSource[]>`
    UPDATE "ListeningSource" SET "nextFetchAt" = ${new Date(now.getTime() + CLAIM_LEASE_MS)}
    WHERE "id" IN (
      SELECT "id" FROM "ListeningSource"
      WHERE "enabled" AND "kind" <> 'WEBHOOK' AND "nextFetchAt" <= ${now}
      ORDER BY "nextFetchAt" LIMIT ${POLL_BATCH}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING *`;
  let failed = 0;
  for (let i = 0; i < claimed.length; i += POLL_CONCURRENCY) {
    const outcomes = await Promise.all(claimed.slice(i, i + POLL_CONCURRENCY).map((source) => pollSource(source, now)));
    failed += outcomes.filter((ok) => !ok).length;
  }
  return { polled: claimed.length, failed };
}

/** Fetches one feed and ingests what is new; records success or failure on the source. */
async function pollSource(source: ListeningSource, now: Date): Promise<boolean> {
  const every = source.pollIntervalMinutes * 60_000;
  try {
    const fetched = await fetchFeed(
      { url: source.url!, kind: source.kind as Exclude<ListeningSourceKind, 'WEBHOOK'>, etag: source.etag, lastModified: source.lastModified },
      feedLimits,
    );
    if (!fetched.notModified) await ingest(source.id, fetched.items.map(feedItemInput), now);
    await prisma().listeningSource.update({
      where: { id: source.id },
      data: {
        lastFetchedAt: now,
        lastError: null,
        consecutiveFailures: 0,
        nextFetchAt: new Date(now.getTime() + every),
        ...(!fetched.notModified && { etag: fetched.etag, lastModified: fetched.lastModified }),
      },
    });
    return true;
  } catch (error) {
    const failures = source.consecutiveFailures + 1;
    const backoffMinutes = Math.min(source.pollIntervalMinutes * 2 ** Math.min(failures, 16), MAX_BACKOFF_MINUTES);
    await prisma().listeningSource.update({
      where: { id: source.id },
      data: {
        lastFetchedAt: now,
        lastError: error instanceof FeedError || error instanceof ValidationError ? error.message : 'Unexpected error while ingesting the feed',
        consecutiveFailures: failures,
        nextFetchAt: new Date(now.getTime() + backoffMinutes * 60_000),
      },
    });
    if (!(error instanceof FeedError) && !(error instanceof ValidationError)) throw error;
    return false;
  }
}

function feedItemInput(item: FeedItem): MentionInput {
  const title = withoutNul(item.title);
  return {
    externalId: withoutNul(item.externalId).slice(0, 500),
    url: item.url && /^https?:\/\//i.test(item.url) && item.url.length <= 2000 && textFieldErrors(item.url, []).length === 0 ? item.url : null,
    title: title.slice(0, 500),
    body: (withoutNul(item.body) || title).slice(0, 20_000) || '(empty)',
    author: item.author == null ? null : withoutNul(item.author).slice(0, 200),
    // A date PostgreSQL cannot store (year 0) is as good as none: the time it was fetched.
    publishedAt: item.publishedAt && item.publishedAt >= DATE_RANGE.min && item.publishedAt <= DATE_RANGE.max ? item.publishedAt : null,
  };
}

/**
 * A feed is someone else's text: NUL characters (which PostgreSQL text cannot hold) are dropped,
 * and lone surrogates (no characters at all) become U+FFFD, not refused.
 */

/** ingestMentions: a batch pushed by a manager or an integration acting as one. */
export async function ingestMentions(viewer: Viewer | null, sourceId: number, items: MentionInput[]): Promise<IngestResult> {
  requireManager(viewer, 'ingest mentions');
  await findSource(sourceId);
  return ingest(sourceId, items);
}
