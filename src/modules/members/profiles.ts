import { IANAZone } from 'luxon';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { NotFoundError } from '../../errors.js';
import type { User } from '../../generated/prisma/client.js';
import type { Locale, SpaceVisibility } from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import { visibleSpaceVisibilities } from '../community/policy.js';
import { changeHandle, fold, handleSchema } from './handles.js';
import { requireActiveViewer } from '../identity/guards.js';

export const BIO_MAX = 500;
export const AVATAR_URL_MAX = 500;
export const DISPLAY_NAME_MAX = 64;

const avatarUrl = z
  .string()
  .trim()
  .max(AVATAR_URL_MAX, `must be at most ${AVATAR_URL_MAX} characters`)
  .refine((value) => {
    try {
      const url = new URL(value);
      // https only (no mixed content, no javascript: or data:), a real host, no credentials in it.
      return url.protocol === 'https:' && url.hostname.length > 0 && !url.username && !url.password;
    } catch {
      return false;
    }
  }, 'must be an https:// URL with a host and no user name or password');

const updateProfileInput = z.object({
  displayName: z.string().trim().min(1, 'must not be empty').max(DISPLAY_NAME_MAX, `must be at most ${DISPLAY_NAME_MAX} characters`).optional(),
  handle: handleSchema.optional(),
  bio: z.string().trim().max(BIO_MAX, `must be at most ${BIO_MAX} characters`).optional(),
  avatarUrl: avatarUrl.nullable().optional(),
  locale: z.enum(['ES', 'EN']).optional(),
  timeZone: z
    .string()
    .trim()
    .max(64, 'must be at most 64 characters')
    .refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone name, e.g. "Europe/Madrid"')
    .optional(),
});

export type UpdateProfileInput = {
  displayName?: string | null;
  handle?: string | null;
  bio?: string | null;
  /** An explicit null removes the avatar; omitted keeps it. */
  avatarUrl?: string | null;
  locale?: Locale | null;
  timeZone?: string | null;
};

/**
 * Changes the viewer's own profile (there is no way to name another user's). Omitted fields keep
 * their value. Suspended members cannot change it (a profile is public writing too). A new handle
 * follows changeHandle's rules: free (ConflictError), outside the cooldown (HandleCooldownError).
 */
export async function updateProfile(signedIn: Viewer | null, input: UpdateProfileInput): Promise<User> {
  const viewer = requireActiveViewer(signedIn);
  const { avatarUrl: avatar, ...rest } = input;
  const data = parseInput(updateProfileInput, {
    ...Object.fromEntries(Object.entries(rest).filter(([, value]) => value != null)),
    ...(avatar !== undefined && { avatarUrl: avatar }),
  });
  return writeWithActivity(async (tx, activity) => {
    const user = await tx.user.findUnique({ where: { id: viewer.id } });
    if (!user) throw new NotFoundError('User', String(viewer.id));
    const { handle, displayName, ...fields } = data;
    const changes: Partial<User> = { ...fields };
    if (displayName !== undefined) Object.assign(changes, { displayName, nameKey: fold(displayName) });
    if (handle !== undefined && handle !== user.handle) {
      Object.assign(changes, { handle, handleChangedAt: await changeHandle(tx, user, handle) });
    }
    const changed = Object.entries(changes).some(([key, value]) => (user as Record<string, unknown>)[key] !== value);
    if (!changed) return user;
    const updated = await tx.user.update({ where: { id: user.id }, data: changes });
    // Public: names and handles are what others display and mention.
    await activity.record({ kind: 'USER_PROFILE_UPDATED', actorId: user.id, subject: { type: 'User', id: user.id } });
    return updated;
  });
}

export type ProfileCounts = { threadCount: number; postCount: number; acceptedAnswerCount: number };

/**
 * Public counts for many users in one statement: threads and replies published (VISIBLE or
 * HIDDEN) and not deleted by their author, in spaces the viewer can see (a reply also needs its
 * thread published), and accepted answers among those replies. Counted when read, so removal,
 * restoration and deletion keep them right without counters to maintain; Thread.authorId and
 * Post.authorId are indexed.
 */
export async function profileCounts(viewer: Viewer | null, userIds: readonly number[]): Promise<ProfileCounts[]> {
  const visibilities: SpaceVisibility[] = visibleSpaceVisibilities(viewer);
  const rows = await prisma().$queryRaw<(ProfileCounts & { id: number })[]>`
    SELECT u.id,
      (SELECT count(*) FROM "Thread" t JOIN "Space" s ON s.id = t."spaceId"
        WHERE t."authorId" = u.id AND t."deletedAt" IS NULL AND t."moderationStatus" IN ('VISIBLE', 'HIDDEN')
          AND s.visibility::text = ANY(${visibilities}::text[]))::int AS "threadCount",
      (SELECT count(*) FROM "Post" p JOIN "Thread" t ON t.id = p."threadId" JOIN "Space" s ON s.id = t."spaceId"
        WHERE p."authorId" = u.id AND p."deletedAt" IS NULL AND p."moderationStatus" IN ('VISIBLE', 'HIDDEN')
          AND t."moderationStatus" IN ('VISIBLE', 'HIDDEN') AND s.visibility::text = ANY(${visibilities}::text[]))::int AS "postCount",
      (SELECT count(*) FROM "Post" p JOIN "Thread" t ON t."answerPostId" = p.id JOIN "Space" s ON s.id = t."spaceId"
        WHERE p."authorId" = u.id AND p."deletedAt" IS NULL AND p."moderationStatus" IN ('VISIBLE', 'HIDDEN')
          AND t."moderationStatus" IN ('VISIBLE', 'HIDDEN') AND s.visibility::text = ANY(${visibilities}::text[]))::int AS "acceptedAnswerCount"
    FROM unnest(${[...userIds]}::int[]) AS u(id)`;
  const byId = new Map(rows.map((row) => [row.id, row]));
  return userIds.map((id) => byId.get(id) ?? { threadCount: 0, postCount: 0, acceptedAnswerCount: 0 });
}
