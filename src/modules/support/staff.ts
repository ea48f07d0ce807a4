import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { writeWithActivity } from '../../events/activity.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { User } from '../../generated/prisma/client.js';
import type { Role } from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import { requireAdmin } from '../identity/guards.js';
import { canJoinDepartment } from './policy.js';
import { leaveSupportStaff } from './departments.js';

// setUserRole (an identity mutation) lives here, in the support layer, not in identity.service.ts:
// leaving the support staff ends the user's department memberships in the same transaction, and
// identity sits below support (see ARCHITECTURE.md, "Layers"), so it cannot import departments.ts.

const setUserRoleInput = z.object({
  userId: z.number().int(),
  role: z.enum(['MEMBER', 'MODERATOR', 'AGENT', 'COMMUNITY_MANAGER', 'ADMIN']),
});

export async function setUserRole(signedIn: Viewer | null, input: { userId: number; role: Role }): Promise<User> {
  const viewer = requireAdmin(signedIn, 'change roles');
  const data = parseInput(setUserRoleInput, input);
  return writeWithActivity(async (tx, activity) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7301)`;
    const user = await tx.user.findUnique({ where: { id: data.userId } });
    if (!user) throw new NotFoundError('User', String(data.userId));
    if (user.role === data.role) return user;
    if (user.role === 'ADMIN' && (await tx.user.count({ where: { role: 'ADMIN' } })) === 1) {
      throw new ConflictError('The last ADMIN cannot change role; promote another ADMIN first');
    }
    const updated = await tx.user.update({ where: { id: user.id }, data: { role: data.role } });
    // Leaving the support staff ends its access at once, and the cases held go back to the team.
    if (canJoinDepartment(user.role) && !canJoinDepartment(data.role)) await leaveSupportStaff(tx, activity, user.id, viewer.id);
    await activity.record({
      kind: 'USER_ROLE_CHANGED',
      actorId: viewer.id,
      subject: { type: 'User', id: user.id },
      visibility: 'SUBJECT_USER',
      access: { role: data.role },
    });
    return updated;
  });
}
