import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import {
  BrandKind,
  ListeningAlertKind,
  ListeningSourceKind,
  MentionSentiment,
  MentionStatus,
} from '../../generated/prisma/enums.js';
import { AutomodBlockedError } from '../../errors.js';
import { decodeId } from '../../ids.js';
import { loader, type Context } from '../../context.js';
import { visibleNode } from '../../nodes.js';
import { ThreadType } from '../community/community.schema.js';
import { canSeeThread } from '../community/policy.js';
import { caseVisibleWhere } from '../support/policy.js';
import { SupportCaseType } from '../support/cases.schema.js';
import { CasePriorityEnum } from '../support/support.schema.js';
import * as listening from './listening.service.js';
import * as policy from './policy.js';

const BrandKindEnum = builder.enumType(BrandKind, {
  name: 'BrandKind',
  description: 'OWN: our product. COMPETITOR: theirs.',
  values: { OWN: { description: 'Our own brand or product.' }, COMPETITOR: { description: "A competitor's brand or product." } },
});
const SourceKindEnum = builder.enumType(ListeningSourceKind, {
  name: 'ListeningSourceKind',
  description: 'RSS, ATOM and JSON_FEED are polled; WEBHOOK sources push to POST /ingest/mentions.',
  values: {
    RSS: { description: 'An RSS feed at `url`, polled.' },
    ATOM: { description: 'An Atom feed at `url`, polled.' },
    JSON_FEED: { description: 'A JSON Feed at `url`, polled.' },
    WEBHOOK: { description: 'Pushes signed batches to POST /ingest/mentions; never polled.' },
  },
});
const SentimentEnum = builder.enumType(MentionSentiment, {
  name: 'MentionSentiment',
  description: 'The label of Mention.sentimentScore: POSITIVE above 0.05, NEGATIVE below -0.05, NEUTRAL between.',
  values: {
    POSITIVE: { description: 'sentimentScore above 0.05.' },
    NEUTRAL: { description: 'sentimentScore from -0.05 to 0.05.' },
    NEGATIVE: { description: 'sentimentScore below -0.05.' },
  },
});
const MentionStatusEnum = builder.enumType(MentionStatus, {
  name: 'MentionStatus',
  description: "Where the team's triage of a mention stands.",
  values: {
    NEW: { description: 'Not looked at yet: every mention starts here.' },
    REVIEWED: { description: 'Looked at; nothing more needed for now.' },
    ENGAGED: { description: 'Answered: set when it becomes a thread or a support case, or by hand.' },
    IGNORED: { description: 'Not worth a response.' },
  },
});
const AlertKindEnum = builder.enumType(ListeningAlertKind, {
  name: 'ListeningAlertKind',
  description: 'VOLUME_SPIKE and NEGATIVE_SPIKE against a trailing baseline; KEYWORD when a watched term appears.',
  values: {
    VOLUME_SPIKE: { description: 'Brand-matched mentions in a window reach spikeFactor times the baseline, and minVolume.' },
    NEGATIVE_SPIKE: { description: 'The same, counting NEGATIVE mentions only.' },
    KEYWORD: { description: 'The keyword appears, as a whole word, in a brand-matched mention of the window.' },
  },
});
const ReportBucketEnum = builder.enumType('ListeningReportBucket', {
  description: 'The length of each point of a report series, aligned on UTC hours, days or ISO weeks (Monday).',
  values: {
    HOUR: { description: 'One point per UTC hour.' },
    DAY: { description: 'One point per UTC day.' },
    WEEK: { description: 'One point per ISO week, from Monday 00:00 UTC.' },
  } as const,
});


const TrackedBrandType = builder.prismaNode('TrackedBrand', {
  id: { field: 'id' },
  nullable: true,
  description: 'A brand whose mentions are tracked: ours or a competitor. Visible to staff.',
  findUnique: visibleNode('TrackedBrand', (ctx) => policy.staffRowsWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique.' }),
    kind: t.expose('kind', { type: BrandKindEnum, description: 'Ours or a competitor.' }),
    keywords: t.exposeStringList('keywords', { description: 'Whole words, case- and accent-insensitive.' }),
    exclusionKeywords: t.exposeStringList('exclusionKeywords', { description: 'A mention containing any of these is not this brand.' }),
    archivedAt: t.expose('archivedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was archived: it matches no new mention and leaves the default report; null while active.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ListeningSourceType = builder.prismaNode('ListeningSource', {
  id: { field: 'id' },
  nullable: true,
  description: 'Where mentions come from. Visible to COMMUNITY_MANAGER and ADMIN.',
  findUnique: visibleNode('ListeningSource', (ctx) => policy.managerRowsWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its display name, 1 to 100 characters.' }),
    kind: t.expose('kind', { type: SourceKindEnum, description: 'A polled feed format, or WEBHOOK.' }),
    url: t.exposeString('url', { nullable: true, description: 'The feed polled; null for WEBHOOK sources.' }),
    pollIntervalMinutes: t.exposeInt('pollIntervalMinutes', { description: 'Minutes between polls while they succeed (WEBHOOK sources are never polled).' }),
    enabled: t.exposeBoolean('enabled', { description: 'Disabled sources are not polled, and their webhook deliveries are refused.' }),
    lastFetchedAt: t.expose('lastFetchedAt', { type: 'DateTime', nullable: true, description: 'The last poll, good or failed; null if never polled.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last poll failed; null after a good one.' }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', {
      description: 'Failed polls in a row; each doubles the wait before the next, up to a day. 0 after a good one.',
    }),
    nextFetchAt: t.expose('nextFetchAt', { type: 'DateTime', description: 'Later than the interval after failures (back-off).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const MentionType = builder.prismaNode('Mention', {
  id: { field: 'id' },
  nullable: true,
  description: 'Something said on the web, with its language, sentiment and the brands it names. Visible to staff.',
  findUnique: visibleNode('Mention', (ctx) => policy.staffRowsWhere(ctx.viewer)),
  fields: (t) => ({
    source: t.field({
      type: ListeningSourceType,
      nullable: true,
      description: 'Where it came from: COMMUNITY_MANAGER and ADMIN, who may see sources (null for other staff).',
      select: { source: true },
      resolve: (mention, _args, ctx) => (policy.canSeeSources(ctx.viewer) ? mention.source : null),
    }),
    externalId: t.exposeString('externalId', {
      description: "The item's id at its source, or its URL when it had none; unique per source, so it is never ingested twice.",
    }),
    url: t.exposeString('url', { nullable: true, description: 'Where it was published; null if unknown.' }),
    title: t.exposeString('title', { description: 'Empty when the item had none.' }),
    body: t.exposeString('body', { description: 'The text of the item, up to 20000 characters.' }),
    author: t.exposeString('author', { nullable: true, description: "The author's name as the source gave it; null if unknown." }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime', description: 'As the source dated it; when it was ingested if undated. Reports and alerts count by it.' }),
    ingestedAt: t.expose('ingestedAt', { type: 'DateTime', description: 'When Tertulia stored it.' }),
    language: t.exposeString('language', { nullable: true, description: 'ISO 639-1 ("en", "es"); null when undetermined.' }),
    sentimentScore: t.exposeFloat('sentimentScore', { description: 'Average word polarity, about -5 to 5; near 0 is neutral.' }),
    sentiment: t.expose('sentiment', { type: SentimentEnum, description: 'sentimentScore as a label.' }),
    status: t.expose('status', { type: MentionStatusEnum, description: "Where the team's triage of it stands." }),
    assignee: t.relation('assignee', { nullable: true, description: 'The team member asked to look at it; null when unassigned.' }),
    thread: t.field({
      type: ThreadType,
      nullable: true,
      description: 'The community thread started from it, if you can see it (not once removed, unless you moderate).',
      select: { thread: { include: { space: { select: { visibility: true } } } } },
      resolve: (mention, _args, ctx) => (mention.thread && canSeeThread(ctx.viewer, mention.thread) ? mention.thread : null),
    }),
    supportCase: t.field({
      type: SupportCaseType,
      nullable: true,
      description: 'The support case opened from it, if you may see that case.',
      // One statement for a page of mentions, with the case visibility rule applied.
      resolve: (mention, _args, ctx) =>
        mention.caseId == null
          ? null
          : loader(ctx, 'mentionCases', async (ids: readonly number[]) => {
              const found = await prisma().supportCase.findMany({ where: { id: { in: [...ids] }, AND: [caseVisibleWhere(ctx.viewer)] } });
              return ids.map((id) => found.find((kase) => kase.id === id) ?? null);
            }).load(mention.caseId),
    }),
    brands: t.field({
      type: [TrackedBrandType],
      description: 'The tracked brands it named when ingested, by id; empty for an unmatched mention.',
      select: { brands: { select: { brand: true }, orderBy: { brandId: 'asc' } } },
      resolve: (mention) => mention.brands.map((link) => link.brand),
    }),
  }),
});

builder.prismaObjectField('Thread', 'sourceMention', (t) =>
  t.field({
    type: MentionType,
    nullable: true,
    description: 'The web mention this thread was started from. Staff only; null for others.',
    select: { sourceMention: true },
    resolve: (thread, _args, ctx) => (policy.staffReads(ctx.viewer) ? thread.sourceMention : null),
  }),
);

builder.prismaObjectField('SupportCase', 'sourceMention', (t) =>
  t.field({
    type: MentionType,
    nullable: true,
    description: 'The web mention this case was opened from. Staff only; null for others.',
    select: { sourceMention: true },
    resolve: (kase, _args, ctx) => (policy.staffReads(ctx.viewer) ? kase.sourceMention : null),
  }),
);

const AlertRuleType = builder.prismaNode('ListeningAlertRule', {
  id: { field: 'id' },
  nullable: true,
  description:
    'When to raise a listening alert; evaluated every LISTENING_JOB_INTERVAL_MS over windows aligned on the epoch. Visible to COMMUNITY_MANAGER and ADMIN.',
  findUnique: visibleNode('ListeningAlertRule', (ctx) => policy.managerRowsWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its display name, 1 to 100 characters.' }),
    kind: t.expose('kind', { type: AlertKindEnum, description: 'What it watches for; fixed at creation.' }),
    brand: t.relation('brand', { nullable: true, description: 'Null: every brand-matched mention.' }),
    keyword: t.exposeString('keyword', { nullable: true, description: 'KEYWORD rules: the watched term, whole word, case- and accent-insensitive; null for others.' }),
    windowMinutes: t.exposeInt('windowMinutes', { description: 'The length of a window, in minutes; at most one alert per window.' }),
    spikeFactor: t.exposeFloat('spikeFactor', { description: 'Spikes: how many times the baseline a window must reach.' }),
    minVolume: t.exposeInt('minVolume', { description: 'Spikes: the fewest mentions in a window that can be one.' }),
    baselineWindows: t.exposeInt('baselineWindows', { description: 'Spikes: the baseline is the average of this many windows before the current one.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Disabled rules raise nothing.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ListeningAlertType = builder.prismaNode('ListeningAlert', {
  id: { field: 'id' },
  nullable: true,
  description: 'What a listening alert rule found in one window. Visible to COMMUNITY_MANAGER and ADMIN; deleted with its rule.',
  findUnique: visibleNode('ListeningAlert', (ctx) => policy.managerRowsWhere(ctx.viewer)),
  fields: (t) => ({
    rule: t.relation('rule', { description: 'The rule that raised it.' }),
    brand: t.relation('brand', { nullable: true, description: "The rule's brand; null when it watches every brand-matched mention." }),
    kind: t.expose('kind', { type: AlertKindEnum, description: "The rule's kind." }),
    windowStart: t.expose('windowStart', { type: 'DateTime', description: 'The window counted: from windowStart, inclusive.' }),
    windowEnd: t.expose('windowEnd', { type: 'DateTime', description: 'To windowEnd, exclusive. The alert may be raised before the window is over.' }),
    observed: t.exposeInt('observed', { description: 'Mentions counted in the window.' }),
    baseline: t.exposeFloat('baseline', { description: 'Average per window over the trailing baseline (0 for KEYWORD).' }),
    message: t.exposeString('message', { description: 'What happened, in plain English.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the alert was raised.' }),
    acknowledgedAt: t.expose('acknowledgedAt', { type: 'DateTime', nullable: true, description: 'null until someone acknowledges it.' }),
    acknowledgedBy: t.relation('acknowledgedBy', { nullable: true, description: 'null until someone acknowledges it.' }),
  }),
});

// ---- Report ---------------------------------------------------------------------------------

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
const BrandReportType = builder.objectRef<listening.BrandReport>('BrandListeningReport').implement({
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

// ---- Queries --------------------------------------------------------------------------------

const MentionFilterInput = builder.inputType('MentionFilter', {
  description: 'Narrows mentions(...): the given conditions must all hold; a list matches any of its values.',
  fields: (t) => ({
    brandIds: t.idList({ description: 'Mentions of any of these brands.' }),
    sourceIds: t.idList({ description: 'Mentions from any of these sources.' }),
    sentiments: t.field({ type: [SentimentEnum], description: 'Mentions with any of these sentiments.' }),
    languages: t.stringList({ description: 'ISO 639-1 codes, e.g. ["es"].' }),
    statuses: t.field({ type: [MentionStatusEnum], description: 'Mentions in any of these triage statuses.' }),
    assigneeId: t.id({ description: 'Mentions assigned to this user.' }),
    from: t.field({ type: 'DateTime', description: 'Published at or after.' }),
    to: t.field({ type: 'DateTime', description: 'Published before.' }),
    query: t.string({ description: 'Full-text, English and Spanish word forms, web-search syntax; 1 to 200 characters. Looks at the newest 10000 matches.' }),
    includeUnmatched: t.boolean({ description: 'Also mentions that name no tracked brand (left out by default).' }),
  }),
});

/** true: only acknowledged alerts; false: only open ones; null: all. */
builder.queryFields((t) => ({
  trackedBrands: t.prismaConnection(
    {
      type: 'TrackedBrand',
      cursor: 'id',
      description: 'Staff. By name.',
      args: { includeArchived: t.arg.boolean({ defaultValue: false, description: 'Also archived brands.' }) },
      resolve: (query, _root, args, ctx) => {
        return prisma().trackedBrand.findMany({
          ...query,
          where: listening.listBrandsWhere(ctx.viewer, !!args.includeArchived),
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
        });
      },
      totalCount: (_root, args, ctx) => prisma().trackedBrand.count({ where: listening.listBrandsWhere(ctx.viewer, !!args.includeArchived) }),
    },
    { name: 'TrackedBrandConnection' },
    { name: 'TrackedBrandEdge' },
  ),
  listeningSources: t.prismaConnection(
    {
      type: 'ListeningSource',
      cursor: 'id',
      description: 'COMMUNITY_MANAGER and ADMIN. Oldest first.',
      resolve: (query, _root, _args, ctx) => {
        return prisma().listeningSource.findMany({ ...query, where: listening.sourceListWhere(ctx.viewer), orderBy: { id: 'asc' } });
      },
      totalCount: (_root, _args, ctx) => prisma().listeningSource.count({ where: listening.sourceListWhere(ctx.viewer) }),
    },
    { name: 'ListeningSourceConnection' },
    { name: 'ListeningSourceEdge' },
  ),
  mentions: t.prismaConnection(
    {
      type: 'Mention',
      cursor: 'id',
      description: 'Staff. Newest first.',
      args: { filter: t.arg({ type: MentionFilterInput, description: 'Omitted: mentions of tracked brands, all statuses.' }) },
      resolve: async (query, _root, args, ctx) => {
        return prisma().mention.findMany({
          ...query,
          where: await listening.mentionsWhere(ctx.viewer, mentionFilter(args.filter)),
          orderBy: [{ publishedAt: 'desc' }, { id: 'desc' }],
        });
      },
      totalCount: async (_root, args, ctx) =>
        prisma().mention.count({ where: await listening.mentionsWhere(ctx.viewer, mentionFilter(args.filter)) }),
    },
    { name: 'MentionConnection' },
    { name: 'MentionEdge' },
  ),
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
      listening.listeningReport(ctx.viewer, {
        from: args.from,
        to: args.to,
        bucket: args.bucket,
        brandIds: args.brandIds?.map((id, i) => decodeId(id, ['TrackedBrand'], `brandIds.${i}`).id),
      }),
  }),
  listeningAlertRules: t.prismaConnection(
    {
      type: 'ListeningAlertRule',
      cursor: 'id',
      description: 'COMMUNITY_MANAGER and ADMIN.',
      resolve: (query, _root, _args, ctx) => {
        return prisma().listeningAlertRule.findMany({ ...query, where: listening.alertRuleListWhere(ctx.viewer), orderBy: { id: 'asc' } });
      },
      totalCount: (_root, _args, ctx) => prisma().listeningAlertRule.count({ where: listening.alertRuleListWhere(ctx.viewer) }),
    },
    { name: 'ListeningAlertRuleConnection' },
    { name: 'ListeningAlertRuleEdge' },
  ),
  listeningAlerts: t.prismaConnection(
    {
      type: 'ListeningAlert',
      cursor: 'id',
      description: 'COMMUNITY_MANAGER and ADMIN. Newest first.',
      args: { acknowledged: t.arg.boolean({ description: 'true: only acknowledged; false: only open ones.' }) },
      resolve: (query, _root, args, ctx) => {
        return prisma().listeningAlert.findMany({ ...query, where: listening.alertListWhere(ctx.viewer, args.acknowledged), orderBy: { id: 'desc' } });
      },
      totalCount: (_root, args, ctx) => prisma().listeningAlert.count({ where: listening.alertListWhere(ctx.viewer, args.acknowledged) }),
    },
    { name: 'ListeningAlertConnection' },
    { name: 'ListeningAlertEdge' },
  ),
}));

type MentionFilterArg = {
  brandIds?: string[] | null;
  sourceIds?: string[] | null;
  sentiments?: MentionSentiment[] | null;
  languages?: string[] | null;
  statuses?: MentionStatus[] | null;
  assigneeId?: string | null;
  from?: Date | null;
  to?: Date | null;
  query?: string | null;
  includeUnmatched?: boolean | null;
} | null | undefined;

function mentionFilter(filter: MentionFilterArg): listening.MentionFilter {
  return {
    brandIds: filter?.brandIds?.map((id, i) => decodeId(id, ['TrackedBrand'], `filter.brandIds.${i}`).id),
    sourceIds: filter?.sourceIds?.map((id, i) => decodeId(id, ['ListeningSource'], `filter.sourceIds.${i}`).id),
    sentiments: filter?.sentiments ?? undefined,
    languages: filter?.languages ?? undefined,
    statuses: filter?.statuses ?? undefined,
    assigneeId: filter?.assigneeId ? decodeId(filter.assigneeId, ['User'], 'filter.assigneeId').id : undefined,
    from: filter?.from ?? undefined,
    to: filter?.to ?? undefined,
    query: filter?.query ?? undefined,
    includeUnmatched: filter?.includeUnmatched ?? false,
  };
}

// ---- Mutations ------------------------------------------------------------------------------

const KEYWORDS = 'Each 1 to 100 characters; matched as whole words, case- and accent-insensitive.';
const CreateBrandInput = builder.inputType('CreateTrackedBrandInput', {
  description: 'A brand to track. Its keywords apply to mentions ingested from now on.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters; unique.' }),
    kind: t.field({ type: BrandKindEnum, required: true, description: 'Ours or a competitor.' }),
    keywords: t.stringList({ required: true, description: '1 to 50; whole words, case- and accent-insensitive.' }),
    exclusionKeywords: t.stringList({ description: `Up to 50; a mention with any of them is not this brand. ${KEYWORDS}` }),
  }),
});
const UpdateBrandInput = builder.inputType('UpdateTrackedBrandInput', {
  description: 'Changes to a tracked brand, with the rules of CreateTrackedBrandInput; omitted fields keep their value.',
  fields: (t) => ({
    brandId: t.id({ required: true, description: 'The global id of the TrackedBrand.' }),
    name: t.string({ description: '1 to 100 characters; unique.' }),
    kind: t.field({ type: BrandKindEnum, description: 'Ours or a competitor.' }),
    keywords: t.stringList({ description: `1 to 50, replacing the old ones. ${KEYWORDS}` }),
    exclusionKeywords: t.stringList({ description: 'Up to 50, replacing the old ones.' }),
  }),
});
const BrandIdInput = builder.inputType('ArchiveTrackedBrandInput', {
  description: 'The brand to archive; archiving it again changes nothing.',
  fields: (t) => ({ brandId: t.id({ required: true, description: 'The global id of the TrackedBrand.' }) }),
});
const CreateSourceInput = builder.inputType('CreateListeningSourceInput', {
  description: 'A new listening source.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters.' }),
    kind: t.field({ type: SourceKindEnum, required: true, description: 'A feed format to poll, or WEBHOOK; cannot change later.' }),
    url: t.string({ description: 'An http(s) URL up to 2000 characters. Required for feeds; not used by WEBHOOK.' }),
    pollIntervalMinutes: t.int({ description: 'Defaults to 15 (1 to 10080).' }),
    enabled: t.boolean({ description: 'Defaults to true.' }),
  }),
});
const UpdateSourceInput = builder.inputType('UpdateListeningSourceInput', {
  description: 'Changes to a listening source; omitted fields keep their value. Its kind cannot change.',
  fields: (t) => ({
    sourceId: t.id({ required: true, description: 'The global id of the ListeningSource.' }),
    name: t.string({ description: '1 to 100 characters.' }),
    url: t.string({ description: 'An http(s) URL up to 2000 characters; not for WEBHOOK sources.' }),
    pollIntervalMinutes: t.int({ description: '1 to 10080.' }),
    enabled: t.boolean({ description: 'Enabling a disabled feed polls it soon.' }),
  }),
});
const PollSourceInput = builder.inputType('PollListeningSourceInput', {
  description: 'The feed to poll now (not a WEBHOOK source).',
  fields: (t) => ({ sourceId: t.id({ required: true, description: 'The global id of the ListeningSource.' }) }),
});
const MentionItemInput = builder.inputType('MentionInput', {
  description: 'One mention to ingest. Text fields are trimmed.',
  fields: (t) => ({
    externalId: t.string({ description: 'The id at the source, up to 500 characters; the URL is used when absent. One of the two is required.' }),
    url: t.string({ description: 'An http(s) URL up to 2000 characters.' }),
    title: t.string({ description: 'Up to 500 characters; defaults to empty.' }),
    body: t.string({ required: true, description: '1 to 20000 characters.' }),
    author: t.string({ description: 'Up to 200 characters.' }),
    publishedAt: t.field({ type: 'DateTime', description: 'Defaults to now.' }),
  }),
});
const IngestInput = builder.inputType('IngestMentionsInput', {
  description: 'A batch of mentions from one source; a repeated externalId counts as a duplicate.',
  fields: (t) => ({
    sourceId: t.id({ required: true, description: 'The ListeningSource they come from, of any kind.' }),
    mentions: t.field({
      type: [MentionItemInput],
      required: true,
      description: `1 to ${listening.MAX_MENTIONS_PER_BATCH}.`,
      extensions: { maxItems: listening.MAX_MENTIONS_PER_BATCH },
    }),
  }),
});
const SetStatusInput = builder.inputType('SetMentionStatusInput', {
  description: "A mention's new triage status; any status may follow any other.",
  fields: (t) => ({
    mentionId: t.id({ required: true, description: 'The global id of the Mention.' }),
    status: t.field({ type: MentionStatusEnum, required: true, description: 'The new status.' }),
  }),
});
const AssignMentionInput = builder.inputType('AssignMentionInput', {
  description: 'Who should look at a mention.',
  fields: (t) => ({
    mentionId: t.id({ required: true, description: 'The global id of the Mention.' }),
    assigneeId: t.id({ description: 'A team member (any role above MEMBER); null to unassign.' }),
  }),
});
const ToThreadInput = builder.inputType('ConvertMentionToThreadInput', {
  description: 'A mention without a thread yet, and where to start one. The body is the mention\'s, with its URL.',
  fields: (t) => ({
    mentionId: t.id({ required: true, description: 'The global id of the Mention.' }),
    spaceId: t.id({ required: true, description: 'A space you can see.' }),
    title: t.string({ description: "Defaults to the mention's title (or the start of its body); cut to 200 characters." }),
  }),
});
const ToCaseInput = builder.inputType('ConvertMentionToCaseInput', {
  description: 'A mention without a case yet, and where to open one.',
  fields: (t) => ({
    mentionId: t.id({ required: true, description: 'The global id of the Mention.' }),
    channelId: t.id({ required: true, description: 'The support channel the case belongs to; routing rules apply.' }),
    priority: t.field({ type: CasePriorityEnum, description: 'Defaults to HIGH for a negative mention, NORMAL otherwise.' }),
  }),
});
const CreateRuleInput = builder.inputType('CreateListeningAlertRuleInput', {
  description: 'A new listening alert rule.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters.' }),
    kind: t.field({ type: AlertKindEnum, required: true, description: 'Cannot be changed later.' }),
    brandId: t.id({ description: 'Watch one brand; all brand-matched mentions when omitted. Cannot be changed later.' }),
    keyword: t.string({ description: 'KEYWORD rules (required there, refused elsewhere): the watched term, 1 to 100 characters.' }),
    windowMinutes: t.int({ description: 'Defaults to 60 (5 to 10080).' }),
    spikeFactor: t.float({ description: 'Defaults to 3 (three times the baseline); 1 to 1000.' }),
    minVolume: t.int({ description: 'Defaults to 5 (1 to 1000000).' }),
    baselineWindows: t.int({ description: 'Defaults to 24 (1 to 720).' }),
    enabled: t.boolean({ description: 'Defaults to true.' }),
  }),
});
const UpdateRuleInput = builder.inputType('UpdateListeningAlertRuleInput', {
  description: 'Changes to a listening alert rule, with the rules of CreateListeningAlertRuleInput; omitted fields keep their value.',
  fields: (t) => ({
    ruleId: t.id({ required: true, description: 'The global id of the ListeningAlertRule.' }),
    name: t.string({ description: '1 to 100 characters.' }),
    keyword: t.string({ description: 'KEYWORD rules only: 1 to 100 characters.' }),
    windowMinutes: t.int({ description: '5 to 10080.' }),
    spikeFactor: t.float({ description: '1 to 1000.' }),
    minVolume: t.int({ description: '1 to 1000000.' }),
    baselineWindows: t.int({ description: '1 to 720.' }),
    enabled: t.boolean({ description: 'Disabled rules raise nothing.' }),
  }),
});
const RuleIdInput = builder.inputType('DeleteListeningAlertRuleInput', {
  description: 'The listening alert rule to delete, with its alerts.',
  fields: (t) => ({ ruleId: t.id({ required: true, description: 'The global id of the ListeningAlertRule.' }) }),
});
const AlertIdInput = builder.inputType('AcknowledgeListeningAlertInput', {
  description: 'The alert to acknowledge; acknowledging it again changes nothing.',
  fields: (t) => ({ alertId: t.id({ required: true, description: 'The global id of the ListeningAlert.' }) }),
});

const BrandPayload = builder.simpleObject('TrackedBrandPayload', { fields: (t) => ({ brand: t.field({ type: TrackedBrandType }) }) });
const SourcePayload = builder.simpleObject('ListeningSourcePayload', { fields: (t) => ({ source: t.field({ type: ListeningSourceType }) }) });
const CreatedSourcePayload = builder.simpleObject('CreateListeningSourcePayload', {
  description: 'What createListeningSource answers when it succeeds.',
  fields: (t) => ({
    source: t.field({ type: ListeningSourceType, description: 'The source created.' }),
    webhookSecret: t.string({ nullable: true, description: 'WEBHOOK sources: the signing secret, shown only now.' }),
  }),
});
const IngestPayload = builder.simpleObject('IngestMentionsPayload', {
  description: 'What ingestMentions answers when it succeeds: how many mentions of the batch were new.',
  fields: (t) => ({
    accepted: t.int({ description: 'New mentions stored.' }),
    duplicates: t.int({ description: 'Already there (same source and external id); left unchanged.' }),
  }),
});
const MentionPayload = builder.simpleObject('MentionPayload', { fields: (t) => ({ mention: t.field({ type: MentionType }) }) });
const ToThreadPayload = builder.simpleObject('ConvertMentionToThreadPayload', {
  description: 'What convertMentionToThread answers when it succeeds.',
  fields: (t) => ({
    mention: t.field({ type: MentionType, description: 'The mention, now ENGAGED and linked to the thread.' }),
    thread: t.field({ type: ThreadType, description: 'The thread started from it.' }),
  }),
});
const ToCasePayload = builder.simpleObject('ConvertMentionToCasePayload', {
  description: 'What convertMentionToCase answers when it succeeds.',
  fields: (t) => ({
    mention: t.field({ type: MentionType, description: 'The mention, now ENGAGED and linked to the case.' }),
    supportCase: t.field({ type: SupportCaseType, description: 'The case opened from it.' }),
  }),
});
const RulePayload = builder.simpleObject('ListeningAlertRulePayload', {
  description: 'What a write to a listening alert rule answers when it succeeds.',
  fields: (t) => ({ rule: t.field({ type: AlertRuleType, description: 'The rule as it is now; after deleteListeningAlertRule, as it was.' }) }),
});

const AlertPayload = builder.simpleObject('ListeningAlertPayload', { fields: (t) => ({ alert: t.field({ type: ListeningAlertType }) }) });

const id = (value: string, typename: string, path: string) => decodeId(value, [typename], path).id;

builder.mutationFields((t) => ({
  createTrackedBrand: t.field({
    type: BrandPayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateBrandInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ brand: await listening.createTrackedBrand(ctx.viewer, input) }),
  }),
  updateTrackedBrand: t.field({
    type: BrandPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. New keywords apply to mentions ingested from now on.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateBrandInput, required: true }) },
    resolve: async (_root, { input: { brandId, ...changes } }, ctx) => ({
      brand: await listening.updateTrackedBrand(ctx.viewer, id(brandId, 'TrackedBrand', 'input.brandId'), changes),
    }),
  }),
  archiveTrackedBrand: t.field({
    type: BrandPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Stops matching new mentions; history stays.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: BrandIdInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      brand: await listening.archiveTrackedBrand(ctx.viewer, id(input.brandId, 'TrackedBrand', 'input.brandId')),
    }),
  }),
  createListeningSource: t.field({
    type: CreatedSourcePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateSourceInput, required: true }) },
    resolve: (_root, { input }, ctx) => listening.createListeningSource(ctx.viewer, input),
  }),
  updateListeningSource: t.field({
    type: SourcePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. A new url starts afresh (no validators, no back-off).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateSourceInput, required: true }) },
    resolve: async (_root, { input: { sourceId, ...changes } }, ctx) => ({
      source: await listening.updateListeningSource(ctx.viewer, id(sourceId, 'ListeningSource', 'input.sourceId'), changes),
    }),
  }),
  pollListeningSource: t.field({
    type: SourcePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Polls a feed now; the outcome is on the source (lastError).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: PollSourceInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      source: await listening.pollListeningSourceNow(ctx.viewer, id(input.sourceId, 'ListeningSource', 'input.sourceId')),
    }),
  }),
  ingestMentions: t.field({
    type: IngestPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Idempotent by source and external id; all or nothing.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: IngestInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      listening.ingestMentions(ctx.viewer, id(input.sourceId, 'ListeningSource', 'input.sourceId'), input.mentions),
  }),
  setMentionStatus: t.field({
    type: MentionPayload,
    description: 'Staff.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetStatusInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      mention: await listening.setMentionStatus(ctx.viewer, id(input.mentionId, 'Mention', 'input.mentionId'), input.status),
    }),
  }),
  assignMention: t.field({
    type: MentionPayload,
    description: 'Staff.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AssignMentionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      mention: await listening.assignMention(
        ctx.viewer,
        id(input.mentionId, 'Mention', 'input.mentionId'),
        input.assigneeId ? id(input.assigneeId, 'User', 'input.assigneeId') : null,
      ),
    }),
  }),
  convertMentionToThread: t.field({
    type: ToThreadPayload,
    description: 'Staff. Starts a thread from the mention (linked both ways); the mention becomes ENGAGED.',
    errors: { types: [...WRITE_ERRORS, AutomodBlockedError] },
    args: { input: t.arg({ type: ToThreadInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      listening.convertMentionToThread(ctx.viewer, {
        mentionId: id(input.mentionId, 'Mention', 'input.mentionId'),
        spaceId: id(input.spaceId, 'Space', 'input.spaceId'),
        title: input.title,
      }),
  }),
  convertMentionToCase: t.field({
    type: ToCasePayload,
    description:
      'Staff. Opens a support case from the mention (linked both ways), with you as its requester, following it up for the person who wrote it; the mention becomes ENGAGED.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: ToCaseInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      listening.convertMentionToCase(ctx.viewer, {
        mentionId: id(input.mentionId, 'Mention', 'input.mentionId'),
        channelId: id(input.channelId, 'SupportChannel', 'input.channelId'),
        priority: input.priority,
      }),
  }),
  createListeningAlertRule: t.field({
    type: RulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateRuleInput, required: true }) },
    resolve: async (_root, { input: { brandId, ...fields } }, ctx) => ({
      rule: await listening.createAlertRule(ctx.viewer, {
        ...fields,
        brandId: brandId ? id(brandId, 'TrackedBrand', 'input.brandId') : null,
      }),
    }),
  }),
  updateListeningAlertRule: t.field({
    type: RulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateRuleInput, required: true }) },
    resolve: async (_root, { input: { ruleId, ...changes } }, ctx) => ({
      rule: await listening.updateAlertRule(ctx.viewer, id(ruleId, 'ListeningAlertRule', 'input.ruleId'), changes),
    }),
  }),
  deleteListeningAlertRule: t.field({
    type: RulePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Its alerts go with it.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: RuleIdInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      rule: await listening.deleteAlertRule(ctx.viewer, id(input.ruleId, 'ListeningAlertRule', 'input.ruleId')),
    }),
  }),
  acknowledgeListeningAlert: t.field({
    type: AlertPayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AlertIdInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      alert: await listening.acknowledgeAlert(ctx.viewer, id(input.alertId, 'ListeningAlert', 'input.alertId')),
    }),
  }),
}));
