import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { MentionSentiment, MentionStatus } from '../../generated/prisma/enums.js';
import { AutomodBlockedError } from '../../errors.js';
import { decodeId } from '../../ids.js';
import { loader } from '../../context.js';
import { visibleNode } from '../../nodes.js';
import { ThreadType } from '../community/community.schema.js';
import { canSeeThread } from '../community/policy.js';
import { caseVisibleWhere } from '../support/policy.js';
import { SupportCaseType } from '../support/cases.schema.js';
import { CasePriorityEnum } from '../support/support.schema.js';
import * as policy from './policy.js';
import { type MentionFilter, assignMention, convertMentionToCase, convertMentionToThread, mentionsWhere, setMentionStatus } from './mentions.js';
import { TrackedBrandType } from './brands.schema.js';
import { ListeningSourceType } from './sources.schema.js';

// Mentions: their type, where a thread or case came from, the list and triage.

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

builder.queryFields((t) => ({
  mentions: t.prismaConnection(
    {
      type: 'Mention',
      cursor: 'id',
      description: 'Staff. Newest first.',
      args: { filter: t.arg({ type: MentionFilterInput, description: 'Omitted: mentions of tracked brands, all statuses.' }) },
      resolve: async (query, _root, args, ctx) => {
        return prisma().mention.findMany({
          ...query,
          where: await mentionsWhere(ctx.viewer, mentionFilter(args.filter)),
          orderBy: [{ publishedAt: 'desc' }, { id: 'desc' }],
        });
      },
      totalCount: async (_root, args, ctx) =>
        prisma().mention.count({ where: await mentionsWhere(ctx.viewer, mentionFilter(args.filter)) }),
    },
    { name: 'MentionConnection' },
    { name: 'MentionEdge' },
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

function mentionFilter(filter: MentionFilterArg): MentionFilter {
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

const id = (value: string, typename: string, path: string) => decodeId(value, [typename], path).id;

builder.mutationFields((t) => ({
  setMentionStatus: t.field({
    type: MentionPayload,
    description: 'Staff.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetStatusInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      mention: await setMentionStatus(ctx.viewer, id(input.mentionId, 'Mention', 'input.mentionId'), input.status),
    }),
  }),
  assignMention: t.field({
    type: MentionPayload,
    description: 'Staff.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AssignMentionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      mention: await assignMention(
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
      convertMentionToThread(ctx.viewer, {
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
      convertMentionToCase(ctx.viewer, {
        mentionId: id(input.mentionId, 'Mention', 'input.mentionId'),
        channelId: id(input.channelId, 'SupportChannel', 'input.channelId'),
        priority: input.priority,
      }),
  }),
}));
