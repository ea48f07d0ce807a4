import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { Mention, Prisma, SupportCase, Thread } from '../../generated/prisma/client.js';
import type { CasePriority, MentionSentiment, MentionStatus } from '../../generated/prisma/enums.js';
import { createThreadWith } from '../community/community.service.js';
import { requireStaff } from '../identity/guards.js';
import { recordingBlocks } from '../moderation/automod.js';
import { searchText } from '../search/search.service.js';
import { createCaseWith } from '../support/cases.js';
import { isStaff } from '../identity/roles.js';

// Mentions: the team reads, filters and triages them, and turns them into threads or cases.

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
