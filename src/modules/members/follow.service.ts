import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { NotFoundError } from '../../errors.js';
import type { FollowLevel, FollowReason } from '../../generated/prisma/enums.js';
import { visibleSpaceVisibilities, visibleThreadWhere } from '../community/policy.js';
import { requireViewer } from '../identity/guards.js';

// Follow levels, as Discourse has them. A thread's level for a member is its own row (set by them,
// or by creating or replying to it), else the level they chose for its space, else NORMAL.
// Only WATCHING is told of every reply (notification.fanout.ts); MUTED hears nothing of it.

/** Why a level applies: the member's own choice or deed on the thread, the space's level, or nothing. */
export type FollowSource = 'CREATED' | 'REPLIED' | 'CHOSE' | 'SPACE' | 'DEFAULT';
export type FollowState = { level: FollowLevel; source: FollowSource };

const DEFAULT_STATE: FollowState = { level: 'NORMAL', source: 'DEFAULT' };

/** Sets the viewer's level for a thread they can see; it replaces any level creating or replying set. */
export async function setThreadLevel(viewer: Viewer | null, threadId: number, level: FollowLevel) {
  const member = requireViewer(viewer);
  const thread = await prisma().thread.findFirst({ where: { id: threadId, ...visibleThreadWhere(member) } });
  if (!thread) throw new NotFoundError('Thread', String(threadId));
  await prisma().threadSubscription.upsert({
    where: { userId_threadId: { userId: member.id, threadId } },
    create: { userId: member.id, threadId, level, reason: 'CHOSE' },
    update: { level, reason: 'CHOSE' },
  });
  return thread;
}

/** Sets the viewer's level for a space they can see: it applies to its threads that have none of their own. */
export async function setSpaceLevel(viewer: Viewer | null, spaceId: number, level: FollowLevel) {
  const member = requireViewer(viewer);
  const space = await prisma().space.findFirst({ where: { id: spaceId, visibility: { in: visibleSpaceVisibilities(member) } } });
  if (!space) throw new NotFoundError('Space', String(spaceId));
  await prisma().spaceSubscription.upsert({
    where: { userId_spaceId: { userId: member.id, spaceId } },
    create: { userId: member.id, spaceId, level },
    update: { level },
  });
  return space;
}

/**
 * The viewer's effective level for each thread (given with its space), in two statements however
 * many threads: their rows for these threads, and their levels for these spaces.
 */
export async function threadStates(userId: number, threads: readonly { id: number; spaceId: number }[]): Promise<FollowState[]> {
  const [own, spaces] = await Promise.all([
    prisma().threadSubscription.findMany({ where: { userId, threadId: { in: threads.map((t) => t.id) } } }),
    prisma().spaceSubscription.findMany({ where: { userId, spaceId: { in: [...new Set(threads.map((t) => t.spaceId))] } } }),
  ]);
  const byThread = new Map(own.map((row) => [row.threadId, row]));
  const bySpace = new Map(spaces.map((row) => [row.spaceId, row.level]));
  return threads.map((thread) => {
    const row = byThread.get(thread.id);
    if (row) return { level: row.level, source: row.reason };
    const spaceLevel = bySpace.get(thread.spaceId);
    return spaceLevel ? { level: spaceLevel, source: 'SPACE' } : DEFAULT_STATE;
  });
}

/** The viewer's level for each space, in one statement. */
export async function spaceStates(userId: number, spaceIds: readonly number[]): Promise<FollowState[]> {
  const rows = await prisma().spaceSubscription.findMany({ where: { userId, spaceId: { in: [...spaceIds] } } });
  const bySpace = new Map(rows.map((row) => [row.spaceId, row.level]));
  return spaceIds.map((id) => {
    const level = bySpace.get(id);
    return level ? { level, source: 'CHOSE' } : DEFAULT_STATE;
  });
}

/**
 * What creating or replying does to the writer's level (the fan-out job calls it for each
 * THREAD_CREATED and POST_CREATED, after commit): authors watch their threads, repliers track the
 * threads they reply to. A level already there (chosen, or set by an earlier deed) stays: this
 * never downgrades, and never overrides a choice. Idempotent, so a re-run changes nothing.
 */
export async function followForDeed(tx: Tx, userId: number, threadId: number, reason: Extract<FollowReason, 'CREATED' | 'REPLIED'>): Promise<void> {
  const level: FollowLevel = reason === 'CREATED' ? 'WATCHING' : 'TRACKING';
  await tx.$executeRaw`
    INSERT INTO "ThreadSubscription" ("userId", "threadId", "level", "reason", "updatedAt")
    VALUES (${userId}, ${threadId}, ${level}::"FollowLevel", ${reason}::"FollowReason", now())
    ON CONFLICT ("userId", "threadId") DO NOTHING`;
}
