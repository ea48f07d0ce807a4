import { z } from 'zod';
import { prisma } from '../../db/client.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { foldText } from '../../text.js';
import { DATE_RANGE, DATE_RANGE_MESSAGE, parseInput, toWellFormed, withoutNulls } from '../../validation.js';
import { analyzeSentiment, detectLanguage } from './analysis.js';
import { activeBrandMatcher, type BrandMatcher } from './brands.js';

// Ingestion: a batch of mentions, validated, analysed, matched to brands and stored in one
// statement. Polling, the webhook and ingestMentions all end here.

/** Mentions one ingestMentions call or webhook delivery may carry. */
export const MAX_MENTIONS_PER_BATCH = 500;
export const withoutNul = (text: string) => toWellFormed(text.replaceAll('\u0000', ''));

export type MentionInput = {
  externalId?: string | null;
  url?: string | null;
  title?: string | null;
  body: string;
  author?: string | null;
  publishedAt?: Date | null;
};

/** A mention's or a source's address: http(s) only. */
export const url = z
  .string()
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .url('must be an http(s) URL')
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http(s) URL');

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
