import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { ListeningSourceKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import * as policy from './policy.js';
import { MAX_MENTIONS_PER_BATCH } from './ingest.js';
import { createListeningSource, ingestMentions, pollListeningSourceNow, sourceListWhere, updateListeningSource } from './sources.js';

// Listening sources: their type, the list (managers), their setup, polling now, and batches pushed to them.

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

export const ListeningSourceType = builder.prismaNode('ListeningSource', {
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

builder.queryFields((t) => ({
  listeningSources: t.prismaConnection(
    {
      type: 'ListeningSource',
      cursor: 'id',
      description: 'COMMUNITY_MANAGER and ADMIN. Oldest first.',
      resolve: (query, _root, _args, ctx) => {
        return prisma().listeningSource.findMany({ ...query, where: sourceListWhere(ctx.viewer), orderBy: { id: 'asc' } });
      },
      totalCount: (_root, _args, ctx) => prisma().listeningSource.count({ where: sourceListWhere(ctx.viewer) }),
    },
    { name: 'ListeningSourceConnection' },
    { name: 'ListeningSourceEdge' },
  ),
}));

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
      description: `1 to ${MAX_MENTIONS_PER_BATCH}.`,
      extensions: { maxItems: MAX_MENTIONS_PER_BATCH },
    }),
  }),
});

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

const id = (value: string, typename: string, path: string) => decodeId(value, [typename], path).id;

builder.mutationFields((t) => ({
  createListeningSource: t.field({
    type: CreatedSourcePayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateSourceInput, required: true }) },
    resolve: (_root, { input }, ctx) => createListeningSource(ctx.viewer, input),
  }),
  updateListeningSource: t.field({
    type: SourcePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. A new url starts afresh (no validators, no back-off).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateSourceInput, required: true }) },
    resolve: async (_root, { input: { sourceId, ...changes } }, ctx) => ({
      source: await updateListeningSource(ctx.viewer, id(sourceId, 'ListeningSource', 'input.sourceId'), changes),
    }),
  }),
  pollListeningSource: t.field({
    type: SourcePayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Polls a feed now; the outcome is on the source (lastError).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: PollSourceInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      source: await pollListeningSourceNow(ctx.viewer, id(input.sourceId, 'ListeningSource', 'input.sourceId')),
    }),
  }),
  ingestMentions: t.field({
    type: IngestPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Idempotent by source and external id; all or nothing.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: IngestInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ingestMentions(ctx.viewer, id(input.sourceId, 'ListeningSource', 'input.sourceId'), input.mentions),
  }),
}));
