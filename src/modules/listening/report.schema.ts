import { builder } from '../../builder.js';
import { decodeId } from '../../ids.js';
import { listeningReport, type BrandReport } from './report.js';
import { TrackedBrandType } from './brands.schema.js';

// The listening report.

const ReportBucketEnum = builder.enumType('ListeningReportBucket', {
  description: 'The length of each point of a report series, aligned on UTC hours, days or ISO weeks (Monday).',
  values: {
    HOUR: { description: 'One point per UTC hour.' },
    DAY: { description: 'One point per UTC day.' },
    WEEK: { description: 'One point per ISO week, from Monday 00:00 UTC.' },
  } as const,
});


const ReportPointType = builder.simpleObject('ListeningReportPoint', {
  description: "One bucket of a brand's report: mentions published in it, by sentiment.",
  fields: (t) => ({
    start: t.field({ type: 'DateTime', description: 'Start of the bucket (UTC); it lasts one ListeningReportBucket.' }),
    volume: t.int({ description: 'Mentions of the brand; positive + neutral + negative.' }),
    positive: t.int({ description: 'POSITIVE mentions in the bucket.' }),
    neutral: t.int({ description: 'NEUTRAL mentions in the bucket.' }),
    negative: t.int({ description: 'NEGATIVE mentions in the bucket.' }),
  }),
});
const RisingTermType = builder.simpleObject('RisingTerm', {
  description: 'A term (a stemmed word) mentioned more than in the previous period of the same length.',
  fields: (t) => ({
    term: t.string({ description: 'The stem, as the search index keeps it (e.g. "crash" for "crashes").' }),
    count: t.int({ description: 'Mentions of the brand with it in the period reported.' }),
    previousCount: t.int({ description: 'The same in the period of equal length just before.' }),
  }),
});
const BrandReportType = builder.objectRef<BrandReport>('BrandListeningReport').implement({
  description: 'What the web said about one brand over the period of listeningReport.',
  fields: (t) => ({
    brand: t.field({ type: TrackedBrandType, description: 'The brand reported.', resolve: (r) => r.brand }),
    volume: t.exposeInt('volume', { description: 'Mentions of the brand published in the period.' }),
    shareOfVoice: t.exposeFloat('shareOfVoice', { description: "This brand's share (0..1) of the volume of the brands reported." }),
    positive: t.exposeInt('positive', { description: 'POSITIVE mentions in the period.' }),
    neutral: t.exposeInt('neutral', { description: 'NEUTRAL mentions in the period.' }),
    negative: t.exposeInt('negative', { description: 'NEGATIVE mentions in the period.' }),
    netSentiment: t.exposeFloat('netSentiment', { description: '(positive - negative) / volume, from -1 to 1.' }),
    series: t.field({ type: [ReportPointType], description: 'Volume per bucket, oldest first, empty buckets included.', resolve: (r) => r.series }),
    risingTerms: t.field({ type: [RisingTermType], description: 'At most 10, most risen first.', resolve: (r) => r.risingTerms }),
  }),
});

builder.queryFields((t) => ({
  listeningReport: t.field({
    type: [BrandReportType],
    description: 'Staff. Volume, share of voice, sentiment and rising terms per brand over [from, to); all active brands unless `brandIds`.',
    args: {
      from: t.arg({ type: 'DateTime', required: true, description: 'Start of the period, inclusive.' }),
      to: t.arg({ type: 'DateTime', required: true, description: 'End of the period, exclusive; after `from`.' }),
      bucket: t.arg({ type: ReportBucketEnum, required: true, description: 'The length of each point of the series; at most 1000 points.' }),
      brandIds: t.arg.idList({ description: 'TrackedBrand ids to report, archived ones included; omitted: every active brand.' }),
    },
    resolve: (_root, args, ctx) =>
      listeningReport(ctx.viewer, {
        from: args.from,
        to: args.to,
        bucket: args.bucket,
        brandIds: args.brandIds?.map((id, i) => decodeId(id, ['TrackedBrand'], `brandIds.${i}`).id),
      }),
  }),
}));
