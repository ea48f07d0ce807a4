import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { NotFoundError } from '../../errors.js';
import type { Role } from '../../generated/prisma/enums.js';
import * as community from '../community/community.service.js';
import type { ContentRef } from '../community/community.service.js';
import { visiblePostWhere, visibleThreadWhere } from '../community/policy.js';

// What moderation acts on: a thread, a post or a user, resolved (and row-locked) in the
// caller's transaction.

export type SubjectRef = { typename: 'Thread' | 'Post' | 'User'; id: number };

export type ResolvedSubject =
  | { kind: 'content'; ref: ContentRef; content: community.ModeratedContent }
  | { kind: 'user'; ref: SubjectRef; user: { id: number; role: Role; suspendedUntil: Date | null } };

export async function resolveSubject(tx: Tx, ref: SubjectRef): Promise<ResolvedSubject> {
  if (ref.typename === 'User') {
    const user = await tx.user.findUnique({ where: { id: ref.id }, select: { id: true, role: true, suspendedUntil: true } });
    if (!user) throw new NotFoundError('User', String(ref.id));
    return { kind: 'user', ref, user };
  }
  const content = (await community.findModeratedContent(tx, [ref as ContentRef])).get(`${ref.typename}:${ref.id}`);
  if (!content) throw new NotFoundError(ref.typename, String(ref.id));
  return { kind: 'content', ref: ref as ContentRef, content };
}

/**
 * The subject, row-locked until the transaction ends: an action checks the subject's state,
 * then changes it, so two at once must not both pass the check (two removals of one post would
 * count its reply off twice; two unsuspensions would both apply).
 */
export async function resolveLockedSubject(tx: Tx, ref: SubjectRef): Promise<ResolvedSubject> {
  if (ref.typename === 'User') await tx.$queryRaw`SELECT 1 FROM "User" WHERE "id" = ${ref.id} FOR NO KEY UPDATE`;
  else await community.lockContent(tx, [ref as ContentRef]);
  return resolveSubject(tx, ref);
}

/** Reads any subject records by id for moderators (everything) or applying visibility. */
export async function loadSubjects(viewer: Viewer | null, typename: SubjectRef['typename'], ids: readonly number[]) {
  const where = { id: { in: [...ids] } };
  const rows: { id: number }[] =
    typename === 'Thread' ? await prisma().thread.findMany({ where: { ...where, AND: [visibleThreadWhere(viewer)] } })
    : typename === 'Post' ? await prisma().post.findMany({ where: { ...where, AND: [visiblePostWhere(viewer)] } })
    : await prisma().user.findMany({ where });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
