import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type {
  ListeningAlert,
  ListeningAlertRule,
  ListeningSource,
  Mention,
  Prisma,
  SupportCase,
  Thread,
  TrackedBrand,
} from '../../generated/prisma/client.js';
import type {
  BrandKind,
  CasePriority,
  ListeningAlertKind,
  ListeningSourceKind,
  MentionSentiment,
  MentionStatus,
} from '../../generated/prisma/enums.js';
import { foldedWords, foldText, wholeWordMatcher } from '../../text.js';
import { DATE_RANGE, DATE_RANGE_MESSAGE, parseInput, textFieldErrors, toWellFormed, withoutNulls } from '../../validation.js';
import { createThreadWith } from '../community/community.service.js';
import { requireManager, requireStaff } from '../identity/guards.js';
import { recordingBlocks } from '../moderation/automod.js';
import { searchText } from '../search/search.service.js';
import { createCaseWith } from '../support/cases.js';
import { isStaff } from '../identity/roles.js';
import { analyzeSentiment, detectLanguage } from './analysis.js';
import { FeedError, fetchFeed, type FeedItem, type FeedLimits } from './feeds.js';

// ---- Settings -------------------------------------------------------------------------------

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

/** Mentions one ingestMentions call or webhook delivery may carry. */
export const MAX_MENTIONS_PER_BATCH = 500;
/** The longest wait between polls of a failing feed. */
const MAX_BACKOFF_MINUTES = 24 * 60;

// ---- Brands ---------------------------------------------------------------------------------

// Matched as whole words (see wholeWordMatcher): one without a letter or digit could never match.
const keyword = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .refine((value) => foldedWords(value).length > 0, 'must contain a word');
const brandFields = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  kind: z.enum(['OWN', 'COMPETITOR']),
  keywords: z.array(keyword).min(1, 'give at least one keyword').max(50, 'at most 50 keywords'),
  exclusionKeywords: z.array(keyword).max(50, 'at most 50 exclusion keywords'),
};
const createBrandInput = z.object({ ...brandFields, exclusionKeywords: brandFields.exclusionKeywords.default([]) });
const updateBrandInput = z.object({
  name: brandFields.name.optional(),
  kind: brandFields.kind.optional(),
  keywords: brandFields.keywords.optional(),
  exclusionKeywords: brandFields.exclusionKeywords.optional(),
});

export type BrandInput = { name: string; kind: BrandKind; keywords: string[]; exclusionKeywords?: string[] | null };

export async function createTrackedBrand(viewer: Viewer | null, input: BrandInput): Promise<TrackedBrand> {
  requireManager(viewer, 'manage tracked brands');
  const data = parseInput(createBrandInput, withoutNulls(input));
  await assertBrandNameFree(data.name);
  return prisma().trackedBrand.create({ data });
}

export async function updateTrackedBrand(
  viewer: Viewer | null,
  brandId: number,
  input: { name?: string | null; kind?: BrandKind | null; keywords?: string[] | null; exclusionKeywords?: string[] | null },
): Promise<TrackedBrand> {
  requireManager(viewer, 'manage tracked brands');
  const data = parseInput(updateBrandInput, withoutNulls(input));
  const brand = await findBrand(brandId);
  if (data.name && data.name !== brand.name) await assertBrandNameFree(data.name);
  return prisma().trackedBrand.update({ where: { id: brandId }, data });
}

/** Archived brands match no new mention and leave the default report; their history stays. */
export async function archiveTrackedBrand(viewer: Viewer | null, brandId: number): Promise<TrackedBrand> {
  requireManager(viewer, 'manage tracked brands');
  const brand = await findBrand(brandId);
  if (brand.archivedAt) return brand;
  return prisma().trackedBrand.update({ where: { id: brandId }, data: { archivedAt: new Date() } });
}

export function listBrandsWhere(viewer: Viewer | null, includeArchived: boolean): Prisma.TrackedBrandWhereInput {
  requireStaff(viewer, 'see listening');
  return includeArchived ? {} : { archivedAt: null };
}

async function findBrand(brandId: number): Promise<TrackedBrand> {
  const brand = await prisma().trackedBrand.findUnique({ where: { id: brandId } });
  if (!brand) throw new NotFoundError('TrackedBrand', String(brandId));
  return brand;
}

async function assertBrandNameFree(name: string): Promise<void> {
  if (await prisma().trackedBrand.findUnique({ where: { name }, select: { id: true } })) {
    throw new ConflictError(`A tracked brand is already named "${name}"`);
  }
}

export type BrandMatcher = (foldedText: string) => number[];

/** Which of `brands` a text names: a keyword as a whole word, and no exclusion keyword. */
export function brandMatcher(brands: readonly Pick<TrackedBrand, 'id' | 'keywords' | 'exclusionKeywords'>[]): BrandMatcher {
  const compiled = brands.flatMap((brand) => {
    const matches = wholeWordMatcher(brand.keywords);
    return matches ? [{ id: brand.id, matches, excluded: wholeWordMatcher(brand.exclusionKeywords) }] : [];
  });
  return (folded) => compiled.filter((b) => b.matches(folded) && !b.excluded?.(folded)).map((b) => b.id);
}

async function activeBrandMatcher(): Promise<BrandMatcher> {
  return brandMatcher(await prisma().trackedBrand.findMany({ where: { archivedAt: null } }));
}

// ---- Sources --------------------------------------------------------------------------------

const url = z
  .string()
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .url('must be an http(s) URL')
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http(s) URL');
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

// ---- Polling --------------------------------------------------------------------------------

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
const withoutNul = (text: string) => toWellFormed(text.replaceAll('\u0000', ''));

// ---- Ingestion ------------------------------------------------------------------------------

export type MentionInput = {
  externalId?: string | null;
  url?: string | null;
  title?: string | null;
  body: string;
  author?: string | null;
  publishedAt?: Date | null;
};

const mentionInput = z
  .object({
    externalId: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional(),
    url: url.optional(),
    title: z.string().trim().max(500, 'must be at most 500 characters').default(''),
    body: z.string().trim().min(1, 'must not be empty').max(20_000, 'must be at most 20000 characters'),
    author: z.string().trim().max(200, 'must be at most 200 characters').optional(),
    publishedAt: z.date().min(DATE_RANGE.min, DATE_RANGE_MESSAGE).max(DATE_RANGE.max, DATE_RANGE_MESSAGE).optional(),
  })
  .refine((value) => value.externalId !== undefined || value.url !== undefined, {
    message: 'give an externalId or a url, so the same mention is never ingested twice',
    path: ['externalId'],
  });
const batchInput = z.array(mentionInput).min(1, 'give at least one mention').max(MAX_MENTIONS_PER_BATCH, `at most ${MAX_MENTIONS_PER_BATCH} mentions at a time`);

export type IngestResult = { accepted: number; duplicates: number };

/** ingestMentions: a batch pushed by a manager or an integration acting as one. */
export async function ingestMentions(viewer: Viewer | null, sourceId: number, items: MentionInput[]): Promise<IngestResult> {
  requireManager(viewer, 'ingest mentions');
  await findSource(sourceId);
  return ingest(sourceId, items);
}

/** A batch's rows as they are stored, by external id, with the brands each names. */
type PreparedMentions = {
  /** Items in the batch, repeats included (they count as duplicates). */
  count: number;
  rows: Map<string, { mention: Prisma.MentionCreateManyInput; brandIds: number[] }>;
};

/**
 * Validates a batch and computes what is stored for each mention: language, sentiment, folded
 * text and the brands it names. No database: `ingest` stores the result (and so does the
 * listening benchmark's raw baseline, to insert the very rows the app would).
 */
export function prepareMentions(sourceId: number, items: MentionInput[], brandsOf: BrandMatcher, now: Date, root = 'input.mentions'): PreparedMentions {
  const valid = parseInput(batchInput, items.map((item) => withoutNulls(item)), root);
  const rows: PreparedMentions['rows'] = new Map();
  for (const item of valid) {
    const externalId = item.externalId ?? item.url!;
    if (rows.has(externalId)) continue; // the same item twice in one batch
    const text = item.title ? `${item.title}\n${item.body}` : item.body;
    const language = detectLanguage(text);
    const sentiment = analyzeSentiment(text, language);
    const normalizedText = foldText(text);
    const brandIds = brandsOf(normalizedText);
    rows.set(externalId, {
      brandIds,
      mention: {
        sourceId,
        externalId,
        url: item.url ?? null,
        title: item.title,
        body: item.body,
        author: item.author ?? null,
        publishedAt: item.publishedAt ?? now,
        ingestedAt: now,
        language,
        sentimentScore: sentiment.score,
        sentiment: sentiment.label,
        normalizedText,
        matched: brandIds.length > 0,
      },
    });
  }
  return { count: valid.length, rows };
}

/**
 * Processes and stores a batch of mentions of one source: language, sentiment, brands matched.
 * Idempotent by source + external id (else URL): what is already there is counted as a duplicate
 * and left unchanged. All or nothing: a batch with an invalid item writes nothing.
 */
export async function ingest(sourceId: number, items: MentionInput[], now = new Date(), root = 'input.mentions'): Promise<IngestResult> {
  const { count, rows } = prepareMentions(sourceId, items, await activeBrandMatcher(), now, root);
  const mentions = [...rows.values()].map((row) => row.mention);
  const column = <K extends keyof Prisma.MentionCreateManyInput>(key: K) => mentions.map((m) => m[key] ?? null);
  // Timestamps as ISO text: a "timestamp" column takes the UTC wall time and ignores the "Z".
  const iso = (dates: (Date | string | null)[]) => dates.map((d) => (d === null ? null : new Date(d).toISOString()));
  const links = [...rows].flatMap(([externalId, row]) => row.brandIds.map((brandId) => ({ externalId, brandId })));
  // One statement, so all or nothing without a transaction, with the batch as one array per
  // column: a batch through createManyAndReturn + createMany spent ~70% of the server's CPU in
  // Prisma's query compiler and interpreter (bench/listening-ingest.ts), ~0.4 ms per mention.
  // Mentions already there are skipped (ON CONFLICT) and so are their brand links.
  const [{ accepted }] = await prisma().$queryRaw<{ accepted: number }[]>`
    WITH input AS (
      SELECT * FROM unnest(
        ${column('externalId')}::text[], ${column('url')}::text[], ${column('title')}::text[], ${column('body')}::text[],
        ${column('author')}::text[], ${iso(column('publishedAt'))}::timestamp(3)[], ${column('language')}::text[],
        ${column('sentimentScore')}::float8[], ${column('sentiment')}::text[]::"MentionSentiment"[], ${column('normalizedText')}::text[],
        ${column('matched')}::boolean[]
      ) AS i("externalId", "url", "title", "body", "author", "publishedAt", "language", "sentimentScore", "sentiment", "normalizedText", "matched")
    ), inserted AS (
      INSERT INTO "Mention" ("sourceId", "externalId", "url", "title", "body", "author", "publishedAt", "ingestedAt",
                             "language", "sentimentScore", "sentiment", "normalizedText", "matched")
      SELECT ${sourceId}, i."externalId", i."url", i."title", i."body", i."author", i."publishedAt", ${now.toISOString()}::timestamp(3),
             i."language", i."sentimentScore", i."sentiment", i."normalizedText", i."matched"
      FROM input i
      ON CONFLICT DO NOTHING
      RETURNING "id", "externalId", "publishedAt"
    ), linked AS (
      INSERT INTO "MentionBrand" ("mentionId", "brandId", "publishedAt")
      SELECT m."id", l."brandId", m."publishedAt"
      FROM inserted m JOIN unnest(${links.map((l) => l.externalId)}::text[], ${links.map((l) => l.brandId)}::int[]) AS l("externalId", "brandId")
        ON l."externalId" = m."externalId"
    )
    SELECT count(*)::int AS "accepted" FROM inserted`;
  return { accepted, duplicates: count - accepted };
}

// ---- Reading and triage ---------------------------------------------------------------------

export type MentionFilter = {
  brandIds?: number[];
  sourceIds?: number[];
  sentiments?: MentionSentiment[];
  languages?: string[];
  statuses?: MentionStatus[];
  assigneeId?: number;
  from?: Date;
  to?: Date;
  query?: string;
  includeUnmatched?: boolean;
};

/** How many of the newest full-text matches `query` considers. */
const QUERY_MATCH_LIMIT = 10_000;

/** The rows `mentions(...)` returns: staff only; brand-matched ones unless asked otherwise. */
export async function mentionsWhere(viewer: Viewer | null, filter: MentionFilter): Promise<Prisma.MentionWhereInput> {
  requireStaff(viewer, 'see mentions');
  if (filter.from && filter.to && filter.from >= filter.to) throw ValidationError.field('filter.to', 'must be after `from`');
  const where: Prisma.MentionWhereInput = {
    ...(!filter.includeUnmatched && { matched: true }),
    ...(filter.brandIds?.length && { brands: { some: { brandId: { in: filter.brandIds } } } }),
    ...(filter.sourceIds?.length && { sourceId: { in: filter.sourceIds } }),
    ...(filter.sentiments?.length && { sentiment: { in: filter.sentiments } }),
    ...(filter.languages?.length && { language: { in: filter.languages } }),
    ...(filter.statuses?.length && { status: { in: filter.statuses } }),
    ...(filter.assigneeId !== undefined && { assigneeId: filter.assigneeId }),
    ...((filter.from || filter.to) && { publishedAt: { ...(filter.from && { gte: filter.from }), ...(filter.to && { lt: filter.to }) } }),
  };
  if (filter.query !== undefined) {
    const text = searchText(filter.query, 'filter.query');
    // Read as English and as Spanish (web-search syntax), like the mention's own vector.
    const hits = await prisma().$queryRaw<{ id: number }[]>`
      SELECT "id" FROM "Mention"
      WHERE "searchVector" @@ (websearch_to_tsquery('english', ${text}) || websearch_to_tsquery('spanish', ${text}))
      ORDER BY "publishedAt" DESC LIMIT ${QUERY_MATCH_LIMIT}`;
    where.id = { in: hits.map((hit) => hit.id) };
  }
  return where;
}

export async function setMentionStatus(viewer: Viewer | null, mentionId: number, status: MentionStatus): Promise<Mention> {
  requireStaff(viewer, 'triage mentions');
  await findMention(mentionId);
  return prisma().mention.update({ where: { id: mentionId }, data: { status } });
}

/** Gives a mention to a team member (staff), or takes it back with null. */
export async function assignMention(viewer: Viewer | null, mentionId: number, assigneeId: number | null): Promise<Mention> {
  requireStaff(viewer, 'triage mentions');
  await findMention(mentionId);
  if (assigneeId !== null) {
    const assignee = await prisma().user.findUnique({ where: { id: assigneeId }, select: { role: true } });
    if (!assignee) throw new NotFoundError('User', String(assigneeId));
    if (!isStaff(assignee.role)) throw ValidationError.field('input.assigneeId', 'must be a team member (a role above MEMBER)');
  }
  return prisma().mention.update({ where: { id: mentionId }, data: { assigneeId } });
}

/**
 * Starts a community thread from a mention, in the space given, and links the two both ways;
 * the mention becomes ENGAGED. One thread per mention.
 */
export async function convertMentionToThread(
  viewer: Viewer | null,
  input: { mentionId: number; spaceId: number; title?: string | null },
): Promise<{ mention: Mention; thread: Thread }> {
  const actor = requireStaff(viewer, 'turn mentions into threads');
  // The thread is screened by automod like any other; a BLOCK's hits are kept after the rollback.
  return recordingBlocks(() => writeWithActivity(async (tx, activity) => {
    // Locks the mention: two conversions at once make one thread.
    await tx.$queryRaw`SELECT 1 FROM "Mention" WHERE "id" = ${input.mentionId} FOR UPDATE`;
    const mention = await tx.mention.findUnique({ where: { id: input.mentionId } });
    if (!mention) throw new NotFoundError('Mention', String(input.mentionId));
    if (mention.threadId !== null) throw new ConflictError('This mention already has a thread');
    const title = (input.title?.trim() || mention.title || mention.body).slice(0, 200);
    const body = mention.url ? `${mention.body}\n\nSource: ${mention.url}` : mention.body;
    const thread = await createThreadWith(tx, activity, actor, input.spaceId, { title, body: body.slice(0, 50_000) });
    const updated = await tx.mention.update({ where: { id: mention.id }, data: { threadId: thread.id, status: 'ENGAGED' } });
    return { mention: updated, thread };
  }));
}

/**
 * Opens a support case from a mention on the channel given, and links the two both ways; the
 * mention becomes ENGAGED. The person who asked on the web has no account here, so the case's
 * requester is the team member who opened it, following it up on their behalf. One case per
 * mention.
 */
export async function convertMentionToCase(
  viewer: Viewer | null,
  input: { mentionId: number; channelId: number; priority?: CasePriority | null },
): Promise<{ mention: Mention; supportCase: SupportCase }> {
  const actor = requireStaff(viewer, 'turn mentions into cases');
  return writeWithActivity(async (tx, activity) => {
    // Locks the mention: two conversions at once make one case.
    await tx.$queryRaw`SELECT 1 FROM "Mention" WHERE "id" = ${input.mentionId} FOR UPDATE`;
    const mention = await tx.mention.findUnique({ where: { id: input.mentionId }, include: { source: { select: { name: true } } } });
    if (!mention) throw new NotFoundError('Mention', String(input.mentionId));
    if (mention.caseId !== null) throw new ConflictError('This mention already has a case');
    const by = mention.author ? ` by ${mention.author}` : '';
    const supportCase = await createCaseWith(tx, activity, {
      channelId: input.channelId,
      requesterId: actor.id,
      actorId: actor.id,
      subject: (mention.title || mention.body).slice(0, 200),
      body: [mention.body, `Web mention${by} on ${mention.source.name}${mention.url ? `: ${mention.url}` : ''}`].join('\n\n'),
      priority: input.priority ?? (mention.sentiment === 'NEGATIVE' ? 'HIGH' : 'NORMAL'),
      reason: 'Opened from a web mention',
    });
    const { source: _source, ...updated } = await tx.mention.update({
      where: { id: mention.id },
      data: { caseId: supportCase.id, status: 'ENGAGED' },
      include: { source: { select: { name: true } } },
    });
    return { mention: updated, supportCase };
  });
}

async function findMention(mentionId: number): Promise<Mention> {
  const mention = await prisma().mention.findUnique({ where: { id: mentionId } });
  if (!mention) throw new NotFoundError('Mention', String(mentionId));
  return mention;
}

// ---- Report ---------------------------------------------------------------------------------

type ReportBucket = 'HOUR' | 'DAY' | 'WEEK';
const MAX_BUCKETS = 1000;
const BUCKET_MS: Record<ReportBucket, number> = { HOUR: 3600_000, DAY: 86_400_000, WEEK: 7 * 86_400_000 };

export type BrandReport = {
  brand: TrackedBrand;
  volume: number;
  shareOfVoice: number;
  positive: number;
  neutral: number;
  negative: number;
  netSentiment: number;
  series: { start: Date; volume: number; positive: number; neutral: number; negative: number }[];
  risingTerms: { term: string; count: number; previousCount: number }[];
};

/**
 * Per brand over [from, to): volume per bucket (UTC, empty buckets included), share of voice among
 * the brands reported, sentiment counts and net sentiment ((positive - negative) / volume), and
 * the terms (other than the brand's own keywords) that rose most against the previous period of
 * the same length, ranked by (count + 1) / (previous count + 1). Computed in the database from the
 * mentions' stored lexemes.
 */
export async function listeningReport(
  viewer: Viewer | null,
  input: { from: Date; to: Date; bucket: ReportBucket; brandIds?: number[] },
): Promise<BrandReport[]> {
  requireStaff(viewer, 'see listening reports');
  if (input.from >= input.to) throw ValidationError.field('to', 'must be after `from`');
  const buckets = Math.ceil((input.to.getTime() - input.from.getTime()) / BUCKET_MS[input.bucket]);
  if (buckets > MAX_BUCKETS) throw ValidationError.field('bucket', `makes ${buckets} buckets; at most ${MAX_BUCKETS}: use a larger bucket or a shorter period`);
  const brands = await prisma().trackedBrand.findMany({
    where: input.brandIds?.length ? { id: { in: input.brandIds } } : { archivedAt: null },
    orderBy: [{ name: 'asc' }],
  });
  if (input.brandIds?.length && brands.length !== new Set(input.brandIds).size) {
    const missing = input.brandIds.find((id) => !brands.some((b) => b.id === id))!;
    throw new NotFoundError('TrackedBrand', String(missing));
  }
  if (brands.length === 0) return [];
  const ids = brands.map((b) => b.id);
  const unit = input.bucket.toLowerCase();
  const step = `1 ${unit}`;
  const previousFrom = new Date(2 * input.from.getTime() - input.to.getTime());
  const [series, rising] = await Promise.all([
    prisma().$queryRaw<{ brandId: number; start: Date; volume: number; positive: number; neutral: number; negative: number }[]>`
      WITH buckets AS (
        SELECT generate_series(date_trunc(${unit}, ${input.from}::timestamp), ${input.to}::timestamp - interval '1 millisecond', ${step}::interval) AS "start"
      ), counts AS (
        SELECT mb."brandId", date_trunc(${unit}, mb."publishedAt") AS "start", count(*)::int AS "volume",
               count(*) FILTER (WHERE m."sentiment" = 'POSITIVE')::int AS "positive",
               count(*) FILTER (WHERE m."sentiment" = 'NEUTRAL')::int AS "neutral",
               count(*) FILTER (WHERE m."sentiment" = 'NEGATIVE')::int AS "negative"
        FROM "MentionBrand" mb JOIN "Mention" m ON m."id" = mb."mentionId"
        WHERE mb."brandId" = ANY(${ids}::int[]) AND mb."publishedAt" >= ${input.from} AND mb."publishedAt" < ${input.to}
        GROUP BY 1, 2
      )
      SELECT b."brandId", k."start", coalesce(c."volume", 0) AS "volume", coalesce(c."positive", 0) AS "positive",
             coalesce(c."neutral", 0) AS "neutral", coalesce(c."negative", 0) AS "negative"
      FROM unnest(${ids}::int[]) AS b("brandId") CROSS JOIN buckets k
      LEFT JOIN counts c ON c."brandId" = b."brandId" AND c."start" = k."start"
      ORDER BY b."brandId", k."start"`,
    prisma().$queryRaw<{ brandId: number; term: string; count: number; previousCount: number }[]>`
      WITH terms AS (
        SELECT mb."brandId", t.term, (mb."publishedAt" >= ${input.from}) AS "current", count(DISTINCT m."id")::int AS n
        FROM "MentionBrand" mb JOIN "Mention" m ON m."id" = mb."mentionId" JOIN "TrackedBrand" b ON b."id" = mb."brandId",
             unnest(tsvector_to_array(m."searchVector")) AS t(term)
        WHERE mb."brandId" = ANY(${ids}::int[]) AND mb."publishedAt" >= ${previousFrom} AND mb."publishedAt" < ${input.to}
          AND length(t.term) > 2 AND t.term !~ '^[0-9]+$'
          -- The brand's own keywords rise with its volume: they say nothing new.
          AND t.term <> ALL(tsvector_to_array(to_tsvector('english', array_to_string(b."keywords", ' ')) || to_tsvector('spanish', array_to_string(b."keywords", ' '))))
        GROUP BY 1, 2, 3
      ), compared AS (
        SELECT cur."brandId", cur.term, cur.n AS "count", coalesce(prev.n, 0) AS "previousCount",
               row_number() OVER (PARTITION BY cur."brandId"
                 ORDER BY (cur.n + 1)::float / (coalesce(prev.n, 0) + 1) DESC, cur.n DESC, cur.term) AS rank
        FROM terms cur LEFT JOIN terms prev ON prev."brandId" = cur."brandId" AND prev.term = cur.term AND NOT prev."current"
        WHERE cur."current" AND cur.n >= 2 AND cur.n > coalesce(prev.n, 0)
      )
      SELECT "brandId", term, "count", "previousCount" FROM compared WHERE rank <= 10 ORDER BY "brandId", rank`,
  ]);
  const totals = new Map<number, { volume: number; positive: number; neutral: number; negative: number }>();
  for (const row of series) {
    const total = totals.get(row.brandId) ?? { volume: 0, positive: 0, neutral: 0, negative: 0 };
    total.volume += row.volume;
    total.positive += row.positive;
    total.neutral += row.neutral;
    total.negative += row.negative;
    totals.set(row.brandId, total);
  }
  const allVolume = [...totals.values()].reduce((sum, t) => sum + t.volume, 0);
  return brands.map((brand) => {
    const total = totals.get(brand.id) ?? { volume: 0, positive: 0, neutral: 0, negative: 0 };
    return {
      brand,
      ...total,
      shareOfVoice: allVolume ? round(total.volume / allVolume) : 0,
      netSentiment: total.volume ? round((total.positive - total.negative) / total.volume) : 0,
      series: series
        .filter((row) => row.brandId === brand.id)
        .map(({ start, volume, positive, neutral, negative }) => ({ start, volume, positive, neutral, negative })),
      risingTerms: rising.filter((row) => row.brandId === brand.id).map(({ term, count, previousCount }) => ({ term, count, previousCount })),
    };
  });
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

// ---- Alerts ---------------------------------------------------------------------------------

const ruleFields = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  keyword: keyword,
  windowMinutes: z.number().int().min(5, 'must be at least 5').max(10_080, 'must be at most 10080 (a week)'),
  spikeFactor: z.number().min(1, 'must be at least 1').max(1000, 'must be at most 1000'),
  minVolume: z.number().int().min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000'),
  baselineWindows: z.number().int().min(1, 'must be at least 1').max(720, 'must be at most 720'),
  enabled: z.boolean(),
};

type AlertRuleInput = {
  name: string;
  kind: ListeningAlertKind;
  brandId?: number | null;
  keyword?: string | null;
  windowMinutes?: number | null;
  spikeFactor?: number | null;
  minVolume?: number | null;
  baselineWindows?: number | null;
  enabled?: boolean | null;
};

export async function createAlertRule(viewer: Viewer | null, input: AlertRuleInput): Promise<ListeningAlertRule> {
  requireManager(viewer, 'manage listening alert rules');
  const data = parseInput(
    z
      .object({
        name: ruleFields.name,
        kind: z.enum(['VOLUME_SPIKE', 'NEGATIVE_SPIKE', 'KEYWORD']),
        brandId: z.number().int().optional(),
        keyword: ruleFields.keyword.optional(),
        windowMinutes: ruleFields.windowMinutes.default(60),
        spikeFactor: ruleFields.spikeFactor.default(3),
        minVolume: ruleFields.minVolume.default(5),
        baselineWindows: ruleFields.baselineWindows.default(24),
        enabled: ruleFields.enabled.default(true),
      })
      .superRefine((value, ctx) => {
        if (value.kind === 'KEYWORD' && !value.keyword) ctx.addIssue({ code: 'custom', path: ['keyword'], message: 'is required for a KEYWORD rule' });
        if (value.kind !== 'KEYWORD' && value.keyword) ctx.addIssue({ code: 'custom', path: ['keyword'], message: 'is only for KEYWORD rules' });
      }),
    withoutNulls(input),
  );
  if (data.brandId !== undefined) await findBrand(data.brandId);
  return prisma().listeningAlertRule.create({ data });
}

export async function updateAlertRule(
  viewer: Viewer | null,
  ruleId: number,
  input: { [K in Exclude<keyof AlertRuleInput, 'kind' | 'brandId'>]?: AlertRuleInput[K] | null },
): Promise<ListeningAlertRule> {
  requireManager(viewer, 'manage listening alert rules');
  const data = parseInput(
    z.object({
      name: ruleFields.name.optional(),
      keyword: ruleFields.keyword.optional(),
      windowMinutes: ruleFields.windowMinutes.optional(),
      spikeFactor: ruleFields.spikeFactor.optional(),
      minVolume: ruleFields.minVolume.optional(),
      baselineWindows: ruleFields.baselineWindows.optional(),
      enabled: ruleFields.enabled.optional(),
    }),
    withoutNulls(input),
  );
  const rule = await findRule(ruleId);
  if (data.keyword && rule.kind !== 'KEYWORD') throw ValidationError.field('input.keyword', 'is only for KEYWORD rules');
  return prisma().listeningAlertRule.update({ where: { id: ruleId }, data });
}

/** Deletes a rule and the alerts it raised. */
export async function deleteAlertRule(viewer: Viewer | null, ruleId: number): Promise<ListeningAlertRule> {
  requireManager(viewer, 'manage listening alert rules');
  await findRule(ruleId);
  return prisma().listeningAlertRule.delete({ where: { id: ruleId } });
}

async function findRule(ruleId: number): Promise<ListeningAlertRule> {
  const rule = await prisma().listeningAlertRule.findUnique({ where: { id: ruleId } });
  if (!rule) throw new NotFoundError('ListeningAlertRule', String(ruleId));
  return rule;
}

/** listeningAlertRules: managers only. */
export function alertRuleListWhere(viewer: Viewer | null): Prisma.ListeningAlertRuleWhereInput {
  requireManager(viewer, 'see listening alerts');
  return {};
}

/** listeningAlerts: managers only; all, only acknowledged ones, or only open ones. */
export function alertListWhere(viewer: Viewer | null, acknowledged: boolean | null | undefined): Prisma.ListeningAlertWhereInput {
  requireManager(viewer, 'see listening alerts');
  return acknowledged == null ? {} : { acknowledgedAt: acknowledged ? { not: null } : null };
}

export async function acknowledgeAlert(viewer: Viewer | null, alertId: number): Promise<ListeningAlert> {
  const actor = requireManager(viewer, 'acknowledge listening alerts');
  return writeWithActivity(async (tx, activity) => {
    // Locks the alert: of several acknowledgements at once the first stands, the others see it.
    await tx.$queryRaw`SELECT 1 FROM "ListeningAlert" WHERE "id" = ${alertId} FOR UPDATE`;
    const alert = await tx.listeningAlert.findUnique({ where: { id: alertId } });
    if (!alert) throw new NotFoundError('ListeningAlert', String(alertId));
    if (alert.acknowledgedAt) return alert;
    const updated = await tx.listeningAlert.update({
      where: { id: alertId },
      data: { acknowledgedAt: new Date(), acknowledgedById: actor.id },
    });
    await activity.record({
      kind: 'LISTENING_ALERT_ACKNOWLEDGED',
      actorId: actor.id,
      subject: { type: 'ListeningAlert', id: alertId },
      visibility: 'MANAGERS',
    });
    return updated;
  });
}

/**
 * One pass of alert evaluation at `now`, for every enabled rule, over the rule's current window
 * (windows are aligned on the epoch, so every instance computes the same ones). A spike is the
 * window's count reaching spikeFactor times the average of the trailing baselineWindows windows,
 * and at least minVolume; KEYWORD fires when the term appears in a mention of the window. An alert
 * is stored once per rule and window (a unique key, so instances racing raise it once) and
 * streams to community managers as LISTENING_ALERT.
 */
export async function evaluateAlerts(now = new Date()): Promise<number> {
  const rules = await prisma().listeningAlertRule.findMany({ where: { enabled: true }, include: { brand: true } });
  let raised = 0;
  for (const rule of rules) {
    const size = rule.windowMinutes * 60_000;
    const windowStart = new Date(Math.floor(now.getTime() / size) * size);
    const windowEnd = new Date(windowStart.getTime() + size);
    const baselineFrom = new Date(windowStart.getTime() - rule.baselineWindows * size);
    const [counts] = await prisma().$queryRaw<{ observed: number; before: number }[]>`
      SELECT count(*) FILTER (WHERE m."publishedAt" >= ${windowStart})::int AS "observed",
             count(*) FILTER (WHERE m."publishedAt" < ${windowStart})::int AS "before"
      FROM "Mention" m
      WHERE m."matched" AND m."publishedAt" >= ${rule.kind === 'KEYWORD' ? windowStart : baselineFrom} AND m."publishedAt" < ${windowEnd}
        AND (${rule.brandId}::int IS NULL OR EXISTS (SELECT 1 FROM "MentionBrand" mb WHERE mb."mentionId" = m."id" AND mb."brandId" = ${rule.brandId}::int))
        AND (${rule.kind !== 'NEGATIVE_SPIKE'} OR m."sentiment" = 'NEGATIVE')
        AND (${rule.kind !== 'KEYWORD'} OR m."normalizedText" ~ ${keywordPattern(rule.keyword ?? '')})`;
    const baseline = rule.kind === 'KEYWORD' ? 0 : counts.before / rule.baselineWindows;
    const fires =
      rule.kind === 'KEYWORD'
        ? counts.observed > 0
        : counts.observed >= rule.minVolume && counts.observed >= rule.spikeFactor * baseline;
    if (!fires) continue;
    const about = rule.brand ? ` for ${rule.brand.name}` : '';
    const message =
      rule.kind === 'KEYWORD'
        ? `"${rule.keyword}" appeared in ${counts.observed} mention${counts.observed === 1 ? '' : 's'}${about}`
        : `${counts.observed} ${rule.kind === 'NEGATIVE_SPIKE' ? 'negative ' : ''}mentions${about} in ${rule.windowMinutes} minutes, against an average of ${baseline.toFixed(1)}`;
    const created = await writeWithActivity(async (tx, activity) => {
      const [alert] = await tx.listeningAlert.createManyAndReturn({
        data: [{ ruleId: rule.id, brandId: rule.brandId, kind: rule.kind, windowStart, windowEnd, observed: counts.observed, baseline, message }],
        skipDuplicates: true,
      });
      if (!alert) return false;
      await activity.record({ kind: 'LISTENING_ALERT', actorId: null, subject: { type: 'ListeningAlert', id: alert.id }, visibility: 'MANAGERS' });
      return true;
    });
    if (created) raised++;
  }
  return raised;
}

/** A PostgreSQL regular expression for the term as a whole word of folded text. */
function keywordPattern(term: string): string {
  const escaped = foldText(term).trim().split(/\s+/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+');
  return `(^|[^[:alnum:]])${escaped}([^[:alnum:]]|$)`;
}
