import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { Prisma, type Badge, type BadgeAward } from '../../generated/prisma/client.js';
import { parseInput } from '../../validation.js';
import { requireManager, requireStaff } from '../identity/guards.js';
import { canManageCommunity } from '../identity/roles.js';
import { detectLanguage } from '../listening/analysis.js';
import { signalsFor, type Signals } from './signals.js';

// Badges: built-in ones, awarded by rules over the signals (an onSignalsUpdated listener), and
// custom ones that community managers create and any staff member awards by hand. Each award has
// a unique key (badge, member, grant key): "once" for a non-repeatable badge, so however many
// evaluations race (two instances' job passes) a badge is awarded exactly once. Rules never take
// a badge back when the signals drop, and never give back one a manager revoked (the revoked row
// keeps its key).

/** The grant key of a non-repeatable badge. */
export const ONCE = 'once';

export const THRESHOLDS = {
  WELCOMER: 10,
  HELPFUL: 10,
  VERY_HELPFUL: 50,
  RELIABLE_REPORTER: 5,
  CONVERSATION_STARTER: 10,
  APPRECIATED: 25,
} as const;

type Rule = { key: string; earned: (s: Signals) => boolean; reason: string };

/** The built-in badges decided by the signals alone (all time, all spaces); BILINGUAL reads the answers. */
const RULES: Rule[] = [
  { key: 'FIRST_REPLY', earned: (s) => s.replies >= 1, reason: 'Wrote a first reply' },
  { key: 'FIRST_ACCEPTED_ANSWER', earned: (s) => s.acceptedAnswers >= 1, reason: 'A first reply accepted as the answer' },
  { key: 'WELCOMER', earned: (s) => s.firstRepliesToNewcomers >= THRESHOLDS.WELCOMER, reason: `${THRESHOLDS.WELCOMER} first replies to newcomers` },
  { key: 'HELPFUL', earned: (s) => s.acceptedAnswers >= THRESHOLDS.HELPFUL, reason: `${THRESHOLDS.HELPFUL} accepted answers` },
  { key: 'VERY_HELPFUL', earned: (s) => s.acceptedAnswers >= THRESHOLDS.VERY_HELPFUL, reason: `${THRESHOLDS.VERY_HELPFUL} accepted answers` },
  { key: 'RELIABLE_REPORTER', earned: (s) => s.reportsConfirmed >= THRESHOLDS.RELIABLE_REPORTER, reason: `${THRESHOLDS.RELIABLE_REPORTER} reports upheld by moderators` },
  { key: 'CONVERSATION_STARTER', earned: (s) => s.threads >= THRESHOLDS.CONVERSATION_STARTER, reason: `${THRESHOLDS.CONVERSATION_STARTER} threads started` },
  { key: 'APPRECIATED', earned: (s) => s.reactionsReceived >= THRESHOLDS.APPRECIATED, reason: `${THRESHOLDS.APPRECIATED} reactions received` },
];
const BILINGUAL = 'BILINGUAL';
/** Accepted answers read per member when looking for both languages. */
const ANSWERS_READ = 200;

type Grant = { badgeId: number; userId: number; grantKey: string; reason: string };

/**
 * Awards the built-in badges the members have earned and do not hold yet. Idempotent: it reads
 * the signals, not what changed, and inserts with ON CONFLICT DO NOTHING; an event is recorded
 * only for the rows this call inserted.
 */
export async function awardBuiltInBadges(userIds: number[], now: Date = new Date()): Promise<number> {
  if (userIds.length === 0) return 0;
  const ids = [...new Set(userIds)].sort((a, b) => a - b);
  const badges = await prisma().badge.findMany({ where: { kind: 'BUILT_IN', archivedAt: null, key: { not: null } } });
  if (badges.length === 0) return 0;
  const byKey = new Map(badges.map((badge) => [badge.key!, badge]));
  const [signals, held] = await Promise.all([
    signalsFor(ids, { window: 'ALL', now }),
    prisma().badgeAward.findMany({
      where: { userId: { in: ids }, badgeId: { in: badges.map((b) => b.id) }, grantKey: ONCE },
      select: { userId: true, badgeId: true },
    }),
  ]);
  const holds = new Set(held.map((a) => `${a.badgeId}:${a.userId}`));
  const grants: Grant[] = [];
  for (const userId of ids) {
    const s = signals.get(userId);
    if (!s) continue;
    for (const rule of RULES) {
      const badge = byKey.get(rule.key);
      if (badge && !holds.has(`${badge.id}:${userId}`) && rule.earned(s)) grants.push({ badgeId: badge.id, userId, grantKey: ONCE, reason: rule.reason });
    }
  }
  const bilingual = byKey.get(BILINGUAL);
  if (bilingual) {
    const candidates = ids.filter((id) => !holds.has(`${bilingual.id}:${id}`) && (signals.get(id)?.acceptedAnswers ?? 0) >= 2);
    for (const userId of await answeredInBothLanguages(candidates)) {
      grants.push({ badgeId: bilingual.id, userId, grantKey: ONCE, reason: 'Accepted answers in both Spanish and English' });
    }
  }
  if (grants.length === 0) return 0;
  grants.sort((a, b) => a.badgeId - b.badgeId || a.userId - b.userId);
  return writeWithActivity(async (tx, activity) => {
    const inserted = await insertGrants(tx, grants, null);
    for (const award of inserted) await recordAwarded(activity, award.id, null);
    return inserted.length;
  });
}

/** The members (of `userIds`) with accepted answers detected as Spanish and as English: one statement. */
async function answeredInBothLanguages(userIds: number[]): Promise<number[]> {
  if (userIds.length === 0) return [];
  const rows = await prisma().$queryRaw<{ userId: number; body: string }[]>`
    SELECT x."userId", x."body" FROM (
      SELECT a."userId", p."body", row_number() OVER (PARTITION BY a."userId" ORDER BY a."postId" DESC) AS n
      FROM "SignalAnswer" a JOIN "Post" p ON p."id" = a."postId"
      WHERE a."userId" = ANY(${userIds}::int[]) AND p."deletedAt" IS NULL
    ) x WHERE x.n <= ${ANSWERS_READ}`;
  const languages = new Map<number, Set<string>>();
  for (const row of rows) {
    const language = detectLanguage(row.body);
    if (!language) continue;
    const seen = languages.get(row.userId) ?? new Set<string>();
    seen.add(language);
    languages.set(row.userId, seen);
  }
  return [...languages].filter(([, seen]) => seen.has('es') && seen.has('en')).map(([userId]) => userId);
}

/** Inserts the grants that are not there yet (in key order, so racing writers never deadlock). */
async function insertGrants(tx: Tx, grants: Grant[], awardedById: number | null): Promise<{ id: number; userId: number }[]> {
  return tx.$queryRaw<{ id: number; userId: number }[]>`
    INSERT INTO "BadgeAward" ("badgeId", "userId", "grantKey", "reason", "awardedById", "awardedAt")
    SELECT g."badgeId", g."userId", g."grantKey", g."reason", ${awardedById}::int, now()
    FROM unnest(${grants.map((g) => g.badgeId)}::int[], ${grants.map((g) => g.userId)}::int[], ${grants.map((g) => g.grantKey)}::text[], ${grants.map((g) => g.reason)}::text[])
      AS g("badgeId", "userId", "grantKey", "reason")
    ORDER BY g."badgeId", g."userId", g."grantKey"
    ON CONFLICT ("badgeId", "userId", "grantKey") DO NOTHING
    RETURNING "id", "userId"`;
}

// Live to community managers (and admins); the member hears of it by notification, and everyone
// sees the badge on their profile.
const recordAwarded = (activity: ActivityRecorder, awardId: number, actorId: number | null) =>
  activity.record({ kind: 'BADGE_AWARDED', actorId, subject: { type: 'BadgeAward', id: awardId }, visibility: 'MANAGERS' });

// ---- Custom badges ----------------------------------------------------------------------------

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const createInput = z.object({
  name: text(60),
  description: text(500),
  icon: text(200).nullable().default(null),
  repeatable: z.boolean().default(false),
});
const updateInput = z
  .object({ name: text(60).optional(), description: text(500).optional(), icon: text(200).nullable().optional() })
  .refine((input) => Object.values(input).some((value) => value !== undefined), { message: 'give at least one field to change' });
const awardInput = z.object({
  reason: text(500),
  grantKey: text(100).nullable().optional(),
});

export type BadgeInput = { name: string; description: string; icon?: string | null; repeatable?: boolean | null };

export async function createBadge(viewer: Viewer | null, input: BadgeInput): Promise<Badge> {
  const actor = requireManager(viewer, 'create badges');
  const data = parseInput(createInput, { ...input, repeatable: input.repeatable ?? undefined });
  return writeWithActivity(async (tx, activity) => {
    const badge = await tx.badge.create({ data: { ...data, kind: 'CUSTOM', createdById: actor.id } });
    await activity.record({ kind: 'BADGES_CHANGED', actorId: actor.id, subject: { type: 'Badge', id: badge.id }, visibility: 'SPACE' });
    return badge;
  });
}

/** A custom badge, locked for the change; built-in ones belong to their rules. */
async function loadCustom(tx: Tx, badgeId: number, globalId: string): Promise<Badge> {
  const [row] = await tx.$queryRaw<{ id: number }[]>`SELECT "id" FROM "Badge" WHERE "id" = ${badgeId}::int FOR NO KEY UPDATE`;
  const badge = row && (await tx.badge.findUnique({ where: { id: badgeId } }));
  if (!badge) throw new NotFoundError('Badge', globalId);
  if (badge.kind !== 'CUSTOM') throw ValidationError.field('input.badgeId', 'is a built-in badge: it is awarded by its rule and cannot be changed');
  return badge;
}

export async function updateBadge(
  viewer: Viewer | null,
  badgeId: number,
  globalId: string,
  input: { name?: string | null; description?: string | null; icon?: string | null },
): Promise<Badge> {
  const actor = requireManager(viewer, 'change badges');
  const data = parseInput(updateInput, {
    name: input.name ?? undefined,
    description: input.description ?? undefined,
    // An explicit null clears the icon; an omitted one keeps it.
    icon: input.icon === undefined ? undefined : input.icon,
  });
  return writeWithActivity(async (tx, activity) => {
    await loadCustom(tx, badgeId, globalId);
    const badge = await tx.badge.update({ where: { id: badgeId }, data: { ...data, updatedAt: new Date() } });
    await activity.record({ kind: 'BADGES_CHANGED', actorId: actor.id, subject: { type: 'Badge', id: badge.id }, visibility: 'SPACE' });
    return badge;
  });
}

/** No longer awarded; those who hold it keep it. */
export async function archiveBadge(viewer: Viewer | null, badgeId: number, globalId: string): Promise<Badge> {
  const actor = requireManager(viewer, 'archive badges');
  return writeWithActivity(async (tx, activity) => {
    const existing = await loadCustom(tx, badgeId, globalId);
    if (existing.archivedAt) throw ValidationError.field('input.badgeId', 'is already archived');
    const badge = await tx.badge.update({ where: { id: badgeId }, data: { archivedAt: new Date(), updatedAt: new Date() } });
    await activity.record({ kind: 'BADGES_CHANGED', actorId: actor.id, subject: { type: 'Badge', id: badge.id }, visibility: 'SPACE' });
    return badge;
  });
}

/**
 * By the staff of any department: support rewards the member who solved a customer's problem.
 * Custom, unarchived badges only; a non-repeatable one once per member (a revoked award is given
 * back); a repeatable one once per grant key (a new grant each time when none is given).
 */
export async function awardBadge(
  viewer: Viewer | null,
  ids: { badgeId: number; badgeGlobalId: string; userId: number; userGlobalId: string },
  input: { reason: string; grantKey?: string | null },
): Promise<BadgeAward> {
  const actor = requireStaff(viewer, 'award badges');
  const data = parseInput(awardInput, input);
  if (ids.userId === actor.id) throw ValidationError.field('input.userId', 'you cannot award a badge to yourself');
  return writeWithActivity(async (tx, activity) => {
    const badge = await tx.badge.findUnique({ where: { id: ids.badgeId } });
    if (!badge) throw new NotFoundError('Badge', ids.badgeGlobalId);
    if (badge.kind !== 'CUSTOM') throw ValidationError.field('input.badgeId', 'is a built-in badge: it is awarded by its rule');
    if (badge.archivedAt) throw ValidationError.field('input.badgeId', 'is archived: it is no longer awarded');
    if (!badge.repeatable && data.grantKey != null) throw ValidationError.field('input.grantKey', 'only a repeatable badge takes a grant key');
    const user = await tx.user.findUnique({ where: { id: ids.userId }, select: { id: true } });
    if (!user) throw new NotFoundError('User', ids.userGlobalId);
    const grantKey = badge.repeatable ? `g:${data.grantKey ?? randomUUID()}` : ONCE;
    const key = { badgeId_userId_grantKey: { badgeId: badge.id, userId: user.id, grantKey } };
    const existing = await tx.badgeAward.findUnique({ where: key });
    if (existing && !existing.revokedAt) {
      throw new ConflictError(badge.repeatable ? 'This grant of the badge was already awarded' : 'The member already holds this badge');
    }
    const fields = { reason: data.reason, awardedById: actor.id, awardedAt: new Date(), revokedAt: null, revokedById: null };
    const award = existing
      ? await tx.badgeAward.update({ where: key, data: fields })
      : await tx.badgeAward.create({ data: { badgeId: badge.id, userId: user.id, grantKey, ...fields } });
    await recordAwarded(activity, award.id, actor.id);
    return award;
  });
}

/** Managers take an award back (built-in ones too: a rule never gives it again). */
export async function revokeBadge(viewer: Viewer | null, awardId: number, globalId: string): Promise<BadgeAward> {
  const actor = requireManager(viewer, 'revoke badges');
  return writeWithActivity(async (tx, activity) => {
    const [row] = await tx.$queryRaw<{ id: number }[]>`
      SELECT "id" FROM "BadgeAward" WHERE "id" = ${awardId}::int AND "revokedAt" IS NULL FOR NO KEY UPDATE`;
    if (!row) throw new NotFoundError('BadgeAward', globalId);
    const award = await tx.badgeAward.update({ where: { id: awardId }, data: { revokedAt: new Date(), revokedById: actor.id } });
    await activity.record({ kind: 'BADGE_REVOKED', actorId: actor.id, subject: { type: 'BadgeAward', id: award.id }, visibility: 'MANAGERS' });
    return award;
  });
}

// ---- Reading ----------------------------------------------------------------------------------

/** Awards anyone may see: not revoked (managers also see revoked ones through node(id)). */
export function awardVisibleWhere(viewer: Viewer | null): Prisma.BadgeAwardWhereInput {
  return viewer && canManageCommunity(viewer.role) ? {} : { revokedAt: null };
}

/** Distinct members holding each badge (revoked awards left out): one statement for a page of badges. */
export async function holderCounts(badgeIds: readonly number[]): Promise<number[]> {
  const rows = await prisma().$queryRaw<{ badgeId: number; n: number }[]>`
    SELECT "badgeId", count(DISTINCT "userId")::int AS "n" FROM "BadgeAward"
    WHERE "badgeId" = ANY(${[...badgeIds]}::int[]) AND "revokedAt" IS NULL GROUP BY "badgeId"`;
  const byId = new Map(rows.map((row) => [row.badgeId, row.n]));
  return badgeIds.map((id) => byId.get(id) ?? 0);
}
