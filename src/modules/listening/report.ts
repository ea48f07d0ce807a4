import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { TrackedBrand } from '../../generated/prisma/client.js';
import { requireStaff } from '../identity/guards.js';

// The listening report: volume, share of voice, sentiment and rising terms per brand over a period.

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
