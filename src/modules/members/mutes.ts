import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { User } from '../../generated/prisma/client.js';
import { isStaff } from '../identity/roles.js';
import { requireViewer } from '../identity/guards.js';

// Muting: a member stops being notified by another member's @mentions (mutedBy, for the
// notification producers). Staff cannot be muted, as in Discourse: moderators, agents and
// managers must be able to reach every member (a warning, a support answer). A mute made before
// its target joined the staff no longer silences them (mutedBy checks the writer's role now).

/** How many users one user may mute; past it muteUser is a ConflictError. Bounds the table and mutedBy's reads. */
export const MAX_MUTED_USERS = 1000;

export async function muteUser(signedIn: Viewer | null, userId: number): Promise<User> {
  // Suspended members may still mute: it protects them, it says nothing to anyone.
  const viewer = requireViewer(signedIn);
  if (userId === viewer.id) throw ValidationError.field('input.userId', 'you cannot mute yourself');
  const target = await prisma().user.findUnique({ where: { id: userId } });
  if (!target) throw new NotFoundError('User', String(userId));
  if (isStaff(target.role)) throw new ForbiddenError('Staff members cannot be muted: moderators and support must be able to reach you');
  // Private: not written through writeWithActivity, as no one else sees or reacts to a mute.
  await prisma().$transaction(async (tx) => {
    // Serializes one user's mutes, so two at once cannot both pass the limit.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7360, ${viewer.id})`;
    const existing = await tx.userMute.findUnique({ where: { muterId_mutedId: { muterId: viewer.id, mutedId: userId } } });
    if (existing) return;
    if ((await tx.userMute.count({ where: { muterId: viewer.id } })) >= MAX_MUTED_USERS) {
      throw new ConflictError(`You have muted ${MAX_MUTED_USERS} users, the most allowed: unmute someone first`);
    }
    await tx.userMute.create({ data: { muterId: viewer.id, mutedId: userId } });
  });
  return target;
}

/** Idempotent: unmuting someone you did not mute changes nothing. */
export async function unmuteUser(signedIn: Viewer | null, userId: number): Promise<User> {
  const viewer = requireViewer(signedIn);
  const target = await prisma().user.findUnique({ where: { id: userId } });
  if (!target) throw new NotFoundError('User', String(userId));
  await prisma().userMute.deleteMany({ where: { muterId: viewer.id, mutedId: userId } });
  return target;
}

/**
 * For notification producers (@mentions): which of `recipientIds` muted `writerId`, so their
 * notifications from that writer are dropped. Empty when the writer is staff now. One statement;
 * pass the write's transaction as `db` to read inside it.
 */
export async function mutedBy(recipientIds: readonly number[], writerId: number, db: Tx = prisma()): Promise<Set<number>> {
  if (recipientIds.length === 0) return new Set();
  const rows = await db.$queryRaw<{ muterId: number }[]>`
    SELECT m."muterId" FROM "UserMute" m JOIN "User" w ON w."id" = m."mutedId"
    WHERE m."mutedId" = ${writerId} AND m."muterId" = ANY(${[...recipientIds]}::int[]) AND w."role" = 'MEMBER'`;
  return new Set(rows.map((row) => row.muterId));
}

/** Which of `userIds` the viewer muted, for User.viewerHasMuted: one statement per page. */
export async function mutedAmong(viewerId: number, userIds: readonly number[]): Promise<boolean[]> {
  const rows = await prisma().userMute.findMany({ where: { muterId: viewerId, mutedId: { in: [...userIds] } }, select: { mutedId: true } });
  const muted = new Set(rows.map((row) => row.mutedId));
  return userIds.map((id) => muted.has(id));
}
