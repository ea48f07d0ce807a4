import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import { textFieldErrors } from '../../validation.js';
import type { Post, Thread } from '../../generated/prisma/client.js';
import { fullReader, visibleSpaceVisibilities } from '../community/policy.js';

export type SearchHit = { typename: 'Thread'; record: Thread } | { typename: 'Post'; record: Post };

/** The query as searched: trimmed, 1 to 200 characters, or a ValidationError on `path`. */
export function searchText(query: string, path = 'query'): string {
  const text = query.trim();
  if (text.length === 0 || text.length > 200) throw ValidationError.field(path, 'must be 1 to 200 characters');
  const [unusable] = textFieldErrors(text, path.split('.'));
  if (unusable) throw new ValidationError([unusable]);
  return text;
}

/** How many threads and posts the viewer can see match `text` (already checked by searchText). */
export async function countHits(viewer: Viewer | null, text: string): Promise<number> {
  const visibilities = visibleSpaceVisibilities(viewer);
  const { everything, viewerId } = fullReader(viewer);
  const counted = await prisma().$queryRaw<{ total: number }[]>`
    WITH q AS (SELECT websearch_to_tsquery('english', ${text}) || websearch_to_tsquery('spanish', ${text}) AS query)
    SELECT (
      (SELECT count(*) FROM "Thread" t JOIN "Space" s ON s.id = t."spaceId", q
        WHERE t."searchVector" @@ q.query AND s.visibility::text = ANY(${visibilities}::text[])
        AND (${everything} OR t."moderationStatus" = 'VISIBLE' OR t."authorId" = ${viewerId}) AND (${everything} OR t."deletedAt" IS NULL)) +
      (SELECT count(*) FROM "Post" p JOIN "Thread" t ON t.id = p."threadId" JOIN "Space" s ON s.id = t."spaceId", q
        WHERE p."searchVector" @@ q.query AND s.visibility::text = ANY(${visibilities}::text[])
        AND (${everything} OR p."moderationStatus" = 'VISIBLE' OR p."authorId" = ${viewerId}) AND (${everything} OR p."deletedAt" IS NULL)
        AND (${everything} OR t."moderationStatus" IN ('VISIBLE', 'HIDDEN') OR t."authorId" = ${viewerId}))
    )::int AS total`;
  return counted[0]?.total ?? 0;
}

// Moderation: words of hidden content are searchable only by those who read it in full (its
// author and moderators); removed and held content only by them too. A post in a removed
// thread goes with it. Words of content deleted by its author are found by moderators only.

/**
 * One page of the threads and posts the viewer can see that match `text`, best first (a title
 * match weighs more than a body match; ties: newest first). The query is read as both English
 * and Spanish (web-search syntax: quotes, OR, -word), matching the lexemes the search triggers
 * store.
 */
export async function findHits(
  viewer: Viewer | null,
  text: string,
  page: { offset: number; limit: number },
): Promise<SearchHit[]> {
  const visibilities = visibleSpaceVisibilities(viewer);
  const { everything, viewerId } = fullReader(viewer);
  const rows = await prisma().$queryRaw<{ kind: 'Thread' | 'Post'; id: number }[]>`
    WITH q AS (SELECT websearch_to_tsquery('english', ${text}) || websearch_to_tsquery('spanish', ${text}) AS query)
    SELECT kind, id FROM (
      SELECT 'Thread' AS kind, t.id, ts_rank_cd(t."searchVector", q.query) AS rank, t."createdAt"
      FROM "Thread" t JOIN "Space" s ON s.id = t."spaceId", q
      WHERE t."searchVector" @@ q.query AND s.visibility::text = ANY(${visibilities}::text[])
        AND (${everything} OR t."moderationStatus" = 'VISIBLE' OR t."authorId" = ${viewerId}) AND (${everything} OR t."deletedAt" IS NULL)
      UNION ALL
      SELECT 'Post', p.id, ts_rank_cd(p."searchVector", q.query), p."createdAt"
      FROM "Post" p JOIN "Thread" t ON t.id = p."threadId" JOIN "Space" s ON s.id = t."spaceId", q
      WHERE p."searchVector" @@ q.query AND s.visibility::text = ANY(${visibilities}::text[])
        AND (${everything} OR p."moderationStatus" = 'VISIBLE' OR p."authorId" = ${viewerId}) AND (${everything} OR p."deletedAt" IS NULL)
        AND (${everything} OR t."moderationStatus" IN ('VISIBLE', 'HIDDEN') OR t."authorId" = ${viewerId})
    ) hits
    ORDER BY rank DESC, "createdAt" DESC, kind, id
    LIMIT ${page.limit} OFFSET ${page.offset}`;
  const threadIds = rows.filter((r) => r.kind === 'Thread').map((r) => r.id);
  const postIds = rows.filter((r) => r.kind === 'Post').map((r) => r.id);
  const [threads, posts] = await Promise.all([
    threadIds.length ? prisma().thread.findMany({ where: { id: { in: threadIds } } }) : [],
    postIds.length ? prisma().post.findMany({ where: { id: { in: postIds } } }) : [],
  ]);
  const threadById = new Map(threads.map((t) => [t.id, t]));
  const postById = new Map(posts.map((p) => [p.id, p]));
  const hits = rows.flatMap((row): SearchHit[] => {
    const record = row.kind === 'Thread' ? threadById.get(row.id) : postById.get(row.id);
    if (!record) return [];
    return [row.kind === 'Thread' ? { typename: 'Thread', record: record as Thread } : { typename: 'Post', record: record as Post }];
  });
  return hits;
}
