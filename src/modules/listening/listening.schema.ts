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
import { ThreadType } from '../community/community.schema.js';
import { canSeeThread } from '../community/visibility.js';
import { caseVisibleWhere } from '../support/cases.js';
import { SupportCaseType } from '../support/cases.schema.js';
import { CasePriorityEnum } from '../support/support.schema.js';
import { canManageCommunity, isStaff } from '../identity/roles.js';
import * as listening from './listening.service.js';

const BrandKindEnum = builder.enumType(BrandKind, { name: 'BrandKind', description: 'OWN: our product. COMPETITOR: theirs.' });
const SourceKindEnum = builder.enumType(ListeningSourceKind, {
  name: 'ListeningSourceKind',
  description: 'RSS, ATOM and JSON_FEED are polled; WEBHOOK sources push to POST /ingest/mentions.',
});
const SentimentEnum = builder.enumType(MentionSentiment, { name: 'MentionSentiment' });
const MentionStatusEnum = builder.enumType(MentionStatus, { name: 'MentionStatus' });
const AlertKindEnum = builder.enumType(ListeningAlertKind, {
  name: 'ListeningAlertKind',
  description: 'VOLUME_SPIKE and NEGATIVE_SPIKE against a trailing baseline; KEYWORD when a watched term appears.',
});
const ReportBucketEnum = builder.enumType('ListeningReportBucket', { values: ['HOUR', 'DAY', 'WEEK'] as const });

// node(id) answers null to those who may not see a listening record: the unique lookup gets a
// filter that matches nothing.
const MATCH_NOTHING = { AND: [{ id: { lt: 0 } }] };
const staffOnly = (ctx: Context) => (ctx.viewer && isStaff(ctx.viewer.role) ? {} : MATCH_NOTHING);
const managersOnly = (ctx: Context) => (ctx.viewer && canManageCommunity(ctx.viewer.role) ? {} : MATCH_NOTHING);

export const TrackedBrandType = builder.prismaNode('TrackedBrand', {
  id: { field: 'id' },
  nullable: true,
  description: 'A brand whose mentions are tracked: ours or a competitor. Visible to staff.',
  findUnique: (id, ctx) => ({ id: Number(id), ...staffOnly(ctx) }),
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: BrandKindEnum }),
    keywords: t.exposeStringList('keywords', { description: 'Whole words, case- and accent-insensitive.' }),
    exclusionKeywords: t.exposeStringList('exclusionKeywords', { description: 'A mention containing any of these is not this brand.' }),
    archivedAt: t.expose('archivedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ListeningSourceType = builder.prismaNode('ListeningSource', {
  id: { field: 'id' },
  nullable: true,
  description: 'Where mentions come from. Visible to COMMUNITY_MANAGER and ADMIN.',
  findUnique: (id, ctx) => ({ id: Number(id), ...managersOnly(ctx) }),
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: SourceKindEnum }),
    url: t.exposeString('url', { nullable: true }),
    pollIntervalMinutes: t.exposeInt('pollIntervalMinutes'),
    enabled: t.exposeBoolean('enabled'),
    lastFetchedAt: t.expose('lastFetchedAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last poll failed; null after a good one.' }),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    nextFetchAt: t.expose('nextFetchAt', { type: 'DateTime', description: 'Later than the interval after failures (back-off).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const MentionType = builder.prismaNode('Mention', {
  id: { field: 'id' },
  nullable: true,
  description: 'Something said on the web, with its language, sentiment and the brands it names. Visible to staff.',
  findUnique: (id, ctx) => ({ id: Number(id), ...staffOnly(ctx) }),
  fields: (t) => ({
    source: t.field({
      type: ListeningSourceType,
      nullable: true,
      description: 'Where it came from: COMMUNITY_MANAGER and ADMIN, who may see sources (null for other staff).',
      select: { source: true },
      resolve: (mention, _args, ctx) => (listening.canSeeSources(ctx.viewer) ? mention.source : null),
    }),
    externalId: t.exposeString('externalId'),
    url: t.exposeString('url', { nullable: true }),
    title: t.exposeString('title'),
    body: t.exposeString('body'),
    author: t.exposeString('author', { nullable: true }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime' }),
    ingestedAt: t.expose('ingestedAt', { type: 'DateTime' }),
    language: t.exposeString('language', { nullable: true, description: 'ISO 639-1 ("en", "es"); null when undetermined.' }),
    sentimentScore: t.exposeFloat('sentimentScore', { description: 'Average word polarity, about -5 to 5; near 0 is neutral.' }),
    sentiment: t.expose('sentiment', { type: SentimentEnum }),
    status: t.expose('status', { type: MentionStatusEnum }),
    assignee: t.relation('assignee', { nullable: true }),
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
    resolve: (thread, _args, ctx) => (ctx.viewer && isStaff(ctx.viewer.role) ? thread.sourceMention : null),
  }),
);

builder.prismaObjectField('SupportCase', 'sourceMention', (t) =>
  t.field({
    type: MentionType,
    nullable: true,
    description: 'The web mention this case was opened from. Staff only; null for others.',
    select: { sourceMention: true },
    resolve: (kase, _args, ctx) => (ctx.viewer && isStaff(ctx.viewer.role) ? kase.sourceMention : null),
  }),
);

const AlertRuleType = builder.prismaNode('ListeningAlertRule', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id: Number(id), ...managersOnly(ctx) }),
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: AlertKindEnum }),
    brand: t.relation('brand', { nullable: true, description: 'Null: every brand-matched mention.' }),
    keyword: t.exposeString('keyword', { nullable: true }),
    windowMinutes: t.exposeInt('windowMinutes'),
    spikeFactor: t.exposeFloat('spikeFactor'),
    minVolume: t.exposeInt('minVolume'),
    baselineWindows: t.exposeInt('baselineWindows'),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ListeningAlertType = builder.prismaNode('ListeningAlert', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id: Number(id), ...managersOnly(ctx) }),
  fields: (t) => ({
    rule: t.relation('rule'),
    brand: t.relation('brand', { nullable: true }),
    kind: t.expose('kind', { type: AlertKindEnum }),
    windowStart: t.expose('windowStart', { type: 'DateTime' }),
    windowEnd: t.expose('windowEnd', { type: 'DateTime' }),
    observed: t.exposeInt('observed', { description: 'Mentions counted in the window.' }),
    baseline: t.exposeFloat('baseline', { description: 'Average per window over the trailing baseline (0 for KEYWORD).' }),
    message: t.exposeString('message'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    acknowledgedAt: t.expose('acknowledgedAt', { type: 'DateTime', nullable: true }),
    acknowledgedBy: t.relation('acknowledgedBy', { nullable: true }),
  }),
});

// ---- Report ---------------------------------------------------------------------------------

const ReportPointType = builder.simpleObject('ListeningReportPoint', {
  fields: (t) => ({
    start: t.field({ type: 'DateTime' }),
    volume: t.int(),
    positive: t.int(),
    neutral: t.int(),
    negative: t.int(),
  }),
});
const RisingTermType = builder.simpleObject('RisingTerm', {
  description: 'A term (a stemmed word) mentioned more than in the previous period of the same length.',
  fields: (t) => ({ term: t.string(), count: t.int(), previousCount: t.int() }),
});
const BrandReportType = builder.objectRef<listening.BrandReport>('BrandListeningReport').implement({
  fields: (t) => ({
    brand: t.field({ type: TrackedBrandType, resolve: (r) => r.brand }),
    volume: t.exposeInt('volume'),
    shareOfVoice: t.exposeFloat('shareOfVoice', { description: "This brand's share (0..1) of the volume of the brands reported." }),
    positive: t.exposeInt('positive'),
    neutral: t.exposeInt('neutral'),
    negative: t.exposeInt('negative'),
    netSentiment: t.exposeFloat('netSentiment', { description: '(positive - negative) / volume, from -1 to 1.' }),
    series: t.field({ type: [ReportPointType], description: 'Volume per bucket, oldest first, empty buckets included.', resolve: (r) => r.series }),
    risingTerms: t.field({ type: [RisingTermType], description: 'At most 10, most risen first.', resolve: (r) => r.risingTerms }),
  }),
});

// ---- Queries --------------------------------------------------------------------------------

const MentionFilterInput = builder.inputType('MentionFilter', {
  fields: (t) => ({
    brandIds: t.idList({ description: 'Mentions of any of these brands.' }),
    sourceIds: t.idList(),
    sentiments: t.field({ type: [SentimentEnum] }),
    languages: t.stringList({ description: 'ISO 639-1 codes, e.g. ["es"].' }),
    statuses: t.field({ type: [MentionStatusEnum] }),
    assigneeId: t.id(),
    from: t.field({ type: 'DateTime', description: 'Published at or after.' }),
    to: t.field({ type: 'DateTime', description: 'Published before.' }),
    query: t.string({ description: 'Full-text, English and Spanish word forms, web-search syntax.' }),
    includeUnmatched: t.boolean({ description: 'Also mentions that name no tracked brand (left out by default).' }),
  }),
});

/** true: only acknowledged alerts; false: only open ones; null: all. */
const alertsWhere = (acknowledged: boolean | null | undefined) =>
  acknowledged == null ? {} : { acknowledgedAt: acknowledged ? { not: null } : null };

builder.queryFields((t) => ({
  trackedBrands: t.prismaConnection(
    {
      type: 'TrackedBrand',
      cursor: 'id',
      description: 'Staff. By name.',
      args: { includeArchived: t.arg.boolean({ defaultValue: false }) },
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
      resolve: (query, _root, args, ctx) => {
        listening.assertCanSeeSources(ctx.viewer);
        return prisma().listeningSource.findMany({ ...query, orderBy: { id: 'asc' } });
      },
      totalCount: (_root, _args, ctx) => {
        listening.assertCanSeeSources(ctx.viewer);
        return prisma().listeningSource.count();
      },
    },
    { name: 'ListeningSourceConnection' },
    { name: 'ListeningSourceEdge' },
  ),
  mentions: t.prismaConnection(
    {
      type: 'Mention',
      cursor: 'id',
      description: 'Staff. Newest first.',
      args: { filter: t.arg({ type: MentionFilterInput }) },
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
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      bucket: t.arg({ type: ReportBucketEnum, required: true }),
      brandIds: t.arg.idList(),
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
      resolve: (query, _root, args, ctx) => {
        listening.assertCanManageAlerts(ctx.viewer);
        return prisma().listeningAlertRule.findMany({ ...query, orderBy: { id: 'asc' } });
      },
      totalCount: (_root, _args, ctx) => {
        listening.assertCanManageAlerts(ctx.viewer);
        return prisma().listeningAlertRule.count();
      },
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
        listening.assertCanManageAlerts(ctx.viewer);
        return prisma().listeningAlert.findMany({ ...query, where: alertsWhere(args.acknowledged), orderBy: { id: 'desc' } });
      },
      totalCount: (_root, args, ctx) => {
        listening.assertCanManageAlerts(ctx.viewer);
        return prisma().listeningAlert.count({ where: alertsWhere(args.acknowledged) });
      },
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

const CreateBrandInput = builder.inputType('CreateTrackedBrandInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: BrandKindEnum, required: true }),
    keywords: t.stringList({ required: true, description: '1 to 50; whole words, case- and accent-insensitive.' }),
    exclusionKeywords: t.stringList(),
  }),
});
const UpdateBrandInput = builder.inputType('UpdateTrackedBrandInput', {
  fields: (t) => ({
    brandId: t.id({ required: true }),
    name: t.string(),
    kind: t.field({ type: BrandKindEnum }),
    keywords: t.stringList(),
    exclusionKeywords: t.stringList(),
  }),
});
const BrandIdInput = builder.inputType('ArchiveTrackedBrandInput', { fields: (t) => ({ brandId: t.id({ required: true }) }) });
const CreateSourceInput = builder.inputType('CreateListeningSourceInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: SourceKindEnum, required: true }),
    url: t.string({ description: 'Required for feeds; not used by WEBHOOK.' }),
    pollIntervalMinutes: t.int({ description: 'Defaults to 15.' }),
    enabled: t.boolean(),
  }),
});
const UpdateSourceInput = builder.inputType('UpdateListeningSourceInput', {
  fields: (t) => ({
    sourceId: t.id({ required: true }),
    name: t.string(),
    url: t.string(),
    pollIntervalMinutes: t.int(),
    enabled: t.boolean(),
  }),
});
const PollSourceInput = builder.inputType('PollListeningSourceInput', { fields: (t) => ({ sourceId: t.id({ required: true }) }) });
const MentionItemInput = builder.inputType('MentionInput', {
  fields: (t) => ({
    externalId: t.string({ description: 'The id at the source; the URL is used when absent. One of the two is required.' }),
    url: t.string(),
    title: t.string(),
    body: t.string({ required: true }),
    author: t.string(),
    publishedAt: t.field({ type: 'DateTime', description: 'Defaults to now.' }),
  }),
});
const IngestInput = builder.inputType('IngestMentionsInput', {
  fields: (t) => ({
    sourceId: t.id({ required: true }),
    mentions: t.field({ type: [MentionItemInput], required: true, description: `1 to ${listening.MAX_MENTIONS_PER_BATCH}.` }),
  }),
});
const SetStatusInput = builder.inputType('SetMentionStatusInput', {
  fields: (t) => ({ mentionId: t.id({ required: true }), status: t.field({ type: MentionStatusEnum, required: true }) }),
});
const AssignMentionInput = builder.inputType('AssignMentionInput', {
  fields: (t) => ({ mentionId: t.id({ required: true }), assigneeId: t.id({ description: 'A team member; null to unassign.' }) }),
});
const ToThreadInput = builder.inputType('ConvertMentionToThreadInput', {
  fields: (t) => ({
    mentionId: t.id({ required: true }),
    spaceId: t.id({ required: true }),
    title: t.string({ description: "Defaults to the mention's title." }),
  }),
});
const ToCaseInput = builder.inputType('ConvertMentionToCaseInput', {
  fields: (t) => ({
    mentionId: t.id({ required: true }),
    channelId: t.id({ required: true, description: 'The support channel the case belongs to; routing rules apply.' }),
    priority: t.field({ type: CasePriorityEnum, description: 'Defaults to HIGH for a negative mention, NORMAL otherwise.' }),
  }),
});
const CreateRuleInput = builder.inputType('CreateListeningAlertRuleInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: AlertKindEnum, required: true }),
    brandId: t.id({ description: 'Watch one brand; all brand-matched mentions when omitted.' }),
    keyword: t.string({ description: 'KEYWORD rules: the watched term.' }),
    windowMinutes: t.int({ description: 'Defaults to 60.' }),
    spikeFactor: t.float({ description: 'Defaults to 3 (three times the baseline).' }),
    minVolume: t.int({ description: 'Defaults to 5.' }),
    baselineWindows: t.int({ description: 'Defaults to 24.' }),
    enabled: t.boolean(),
  }),
});
const UpdateRuleInput = builder.inputType('UpdateListeningAlertRuleInput', {
  fields: (t) => ({
    ruleId: t.id({ required: true }),
    name: t.string(),
    keyword: t.string(),
    windowMinutes: t.int(),
    spikeFactor: t.float(),
    minVolume: t.int(),
    baselineWindows: t.int(),
    enabled: t.boolean(),
  }),
});
const RuleIdInput = builder.inputType('DeleteListeningAlertRuleInput', { fields: (t) => ({ ruleId: t.id({ required: true }) }) });
const AlertIdInput = builder.inputType('AcknowledgeListeningAlertInput', { fields: (t) => ({ alertId: t.id({ required: true }) }) });

const BrandPayload = builder.simpleObject('TrackedBrandPayload', { fields: (t) => ({ brand: t.field({ type: TrackedBrandType }) }) });
const SourcePayload = builder.simpleObject('ListeningSourcePayload', { fields: (t) => ({ source: t.field({ type: ListeningSourceType }) }) });
const CreatedSourcePayload = builder.simpleObject('CreateListeningSourcePayload', {
  fields: (t) => ({
    source: t.field({ type: ListeningSourceType }),
    webhookSecret: t.string({ nullable: true, description: 'WEBHOOK sources: the signing secret, shown only now.' }),
  }),
});
const IngestPayload = builder.simpleObject('IngestMentionsPayload', {
  fields: (t) => ({
    accepted: t.int({ description: 'New mentions stored.' }),
    duplicates: t.int({ description: 'Already there (same source and external id); left unchanged.' }),
  }),
});
const MentionPayload = builder.simpleObject('MentionPayload', { fields: (t) => ({ mention: t.field({ type: MentionType }) }) });
const ToThreadPayload = builder.simpleObject('ConvertMentionToThreadPayload', {
  fields: (t) => ({ mention: t.field({ type: MentionType }), thread: t.field({ type: ThreadType }) }),
});
const ToCasePayload = builder.simpleObject('ConvertMentionToCasePayload', {
  fields: (t) => ({ mention: t.field({ type: MentionType }), supportCase: t.field({ type: SupportCaseType }) }),
});
const RulePayload = builder.simpleObject('ListeningAlertRulePayload', { fields: (t) => ({ rule: t.field({ type: AlertRuleType }) }) });
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
