import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { Role } from '../../generated/prisma/enums.js';
import { textFieldErrors } from '../../validation.js';
import { canSeeSpace, PUBLISHED_STATUSES } from '../community/policy.js';
import { escapeLike, fold } from './handles.js';

// The member directory: users(filter:, orderBy:), and @-autocomplete through its `query`.
//
// Who is listed: every account, suspended ones included (a suspension is not public; their
// profile and handle stay as they are, as for user(handle:)). With `spaceId`: the members who
// have published (VISIBLE or HIDDEN, not deleted) a thread or a reply in that space, if the
// viewer can see it.
//
// The prefix search reads two btree indexes over COLLATE "C" columns (User.handle and
// User.nameKey, the display name folded: lower case, no accents), so `LIKE 'an%'` is an index
// range scan whatever the database's collation; bench/RESULTS.md has the plan on 100,000 users.

export const QUERY_MAX = 64;

export type DirectoryFilter = { query?: string | null; roles?: Role[] | null; spaceId?: number | null };
export type DirectoryOrder = 'HANDLE' | 'NEWEST' | 'LAST_SEEN';

/** The prefix as searched: folded, without a leading "@"; null when there is nothing to search. */
export function directoryPrefix(query: string | null | undefined): string | null {
  if (query == null) return null;
  const trimmed = query.trim();
  if (trimmed.length > QUERY_MAX) throw ValidationError.field('filter.query', `must be at most ${QUERY_MAX} characters`);
  const [unusable] = textFieldErrors(trimmed, ['filter', 'query']);
  if (unusable) throw new ValidationError([unusable]);
  const prefix = fold(trimmed.replace(/^@/, ''));
  return prefix.length ? prefix : null;
}

export async function directoryWhere(viewer: Viewer | null, filter: DirectoryFilter | null | undefined): Promise<Prisma.UserWhereInput> {
  const where: Prisma.UserWhereInput[] = [];
  const prefix = directoryPrefix(filter?.query);
  if (prefix) {
    // Prisma's startsWith is LIKE '<value>%' without escaping: "_" would match any character.
    const literal = escapeLike(prefix);
    where.push({
      OR: [
        ...(/^[a-z0-9_]+$/.test(prefix) ? [{ handle: { startsWith: literal } }] : []),
        { nameKey: { startsWith: literal } },
      ],
    });
  }
  if (filter?.roles?.length) where.push({ role: { in: filter.roles } });
  if (filter?.spaceId != null) {
    const space = await prisma().space.findUnique({ where: { id: filter.spaceId }, select: { visibility: true } });
    // A space the viewer cannot see has no members to show them.
    if (!space || !canSeeSpace(viewer, space.visibility)) return { id: { in: [] } };
    const published = { deletedAt: null, moderationStatus: { in: PUBLISHED_STATUSES } };
    where.push({
      OR: [
        { threads: { some: { spaceId: filter.spaceId, ...published } } },
        { posts: { some: { ...published, thread: { spaceId: filter.spaceId, moderationStatus: { in: PUBLISHED_STATUSES } } } } },
      ],
    });
  }
  return where.length ? { AND: where } : {};
}

export function directoryOrder(order: DirectoryOrder | null | undefined): Prisma.UserOrderByWithRelationInput[] {
  switch (order) {
    case 'NEWEST':
      return [{ createdAt: 'desc' }, { id: 'desc' }];
    case 'LAST_SEEN':
      return [{ lastSeenAt: { sort: 'desc', nulls: 'last' } }, { id: 'desc' }];
    default:
      return [{ handle: 'asc' }, { id: 'asc' }];
  }
}
