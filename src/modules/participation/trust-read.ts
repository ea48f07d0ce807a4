import { prisma, type Tx } from '../../db/client.js';

// The trust level as other domains read it (automod, the moderation queue, community's wiki rule,
// mentions). Like reads.ts it imports nothing but the database, so the lower layers may call it;
// the rules and writes are in trust.ts.

export const TL0 = 0;
export const TL1 = 1;
export const TL2 = 2;
export const TL3 = 3;
export const TL4 = 4;
export const MAX_TRUST_LEVEL = TL4;

/** Default lowest level that may edit a wiki thread's body (TrustLevelRules.wikiEditLevel). */
export const DEFAULT_WIKI_EDIT_LEVEL = TL2;

/** A member's level (0 without a row). */
export async function trustLevelOf(tx: Tx, userId: number): Promise<number> {
  const row = await tx.memberTrust.findUnique({ where: { userId }, select: { level: true } });
  return row?.level ?? TL0;
}

/** Levels of several members in one statement (0 for those without a row). */
export async function trustLevelsOf(userIds: readonly number[]): Promise<Map<number, number>> {
  const rows = await prisma().memberTrust.findMany({ where: { userId: { in: [...userIds] } }, select: { userId: true, level: true } });
  const byId = new Map(rows.map((row) => [row.userId, row.level]));
  return new Map(userIds.map((id) => [id, byId.get(id) ?? TL0]));
}

/**
 * The weight of a member's flag in the moderation queue, from their trust level:
 * TL0 0.5, TL1 1, TL2 1.25, TL3 1.5, TL4 2.
 */
export const FLAG_WEIGHTS = [0.5, 1, 1.25, 1.5, 2] as const;
export function flagWeight(level: number): number {
  return FLAG_WEIGHTS[Math.max(TL0, Math.min(MAX_TRUST_LEVEL, level))];
}

/** The lowest level whose members may hide spam at once by reporting it. */
export const HIDE_SPAM_LEVEL = TL3;

/** Whether `userId` may edit the body of a wiki thread by their trust level (one statement). */
export async function mayEditWiki(tx: Tx, userId: number): Promise<boolean> {
  const [row] = await tx.$queryRaw<{ ok: boolean }[]>`
    SELECT COALESCE((SELECT "level" FROM "MemberTrust" WHERE "userId" = ${userId}::int), 0)
      >= COALESCE((SELECT "wikiEditLevel" FROM "TrustLevelRules" WHERE "id" = 1), ${DEFAULT_WIKI_EDIT_LEVEL}::int) AS ok`;
  return !!row?.ok;
}

/**
 * Whether the writer is a new member: a MEMBER (staff are never new) at TL0. New members' links
 * and @mentions are limited (automod's belowTrustLevel rules, the TL0 mention cap).
 */
export async function isNewMember(tx: Tx, userId: number): Promise<boolean> {
  const [row] = await tx.$queryRaw<{ isNew: boolean }[]>`
    SELECT u."role" = 'MEMBER' AND COALESCE(t."level", 0) = 0 AS "isNew"
    FROM "User" u LEFT JOIN "MemberTrust" t ON t."userId" = u."id" WHERE u."id" = ${userId}::int`;
  return !!row?.isNew;
}
