import { randomBytes } from 'node:crypto';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';
import { NotificationKind, type EmailDigest } from '../../generated/prisma/enums.js';
import { requireViewer } from '../identity/guards.js';

// Notification preferences: per kind, in the inbox (in-app) and/or by email, and how emails go out
// (IMMEDIATE, an HOURLY or DAILY digest, NEVER). Rows only for what a member changed; everything
// else follows DEFAULTS. The fan-out and the digest job read them in SQL (EMAIL_ON below), so a
// 10,000-watcher reply stays set-based.

export type KindPreference = { kind: NotificationKind; inApp: boolean; email: boolean };
export type Preferences = { kinds: KindPreference[]; digest: EmailDigest };

const KINDS = Object.values(NotificationKind);

/** Everything in the inbox; by email all but reactions (too often to be worth one) and badges (no news to act on). */
export const DEFAULTS: Record<NotificationKind, { inApp: boolean; email: boolean }> = Object.fromEntries(
  KINDS.map((kind) => [kind, { inApp: true, email: kind !== 'REACTED' && kind !== 'BADGE_AWARDED' }]),
) as Record<NotificationKind, { inApp: boolean; email: boolean }>;

/** A day's digest: a member who never chose gets at most one email a day. */
export const DEFAULT_DIGEST: EmailDigest = 'DAILY';

const EMAIL_OFF_BY_DEFAULT = KINDS.filter((kind) => !DEFAULTS[kind].email);

/**
 * SQL: whether notification `n`'s kind is emailed to its recipient, with `p` the LEFT JOINed
 * NotificationPreference row of (n.userId, n.kind).
 */
export const EMAIL_ON = Prisma.sql`COALESCE(p."email", n."kind"::text <> ALL(${EMAIL_OFF_BY_DEFAULT}::text[]))`;

export async function preferencesOf(userId: number): Promise<Preferences> {
  const [rows, settings] = await Promise.all([
    prisma().notificationPreference.findMany({ where: { userId } }),
    prisma().notificationSettings.findUnique({ where: { userId }, select: { digest: true } }),
  ]);
  const chosen = new Map(rows.map((row) => [row.kind, row]));
  return {
    kinds: KINDS.map((kind) => ({ kind, inApp: chosen.get(kind)?.inApp ?? DEFAULTS[kind].inApp, email: chosen.get(kind)?.email ?? DEFAULTS[kind].email })),
    digest: settings?.digest ?? DEFAULT_DIGEST,
  };
}

const newToken = () => randomBytes(24).toString('base64url');

/** Makes sure each of these users has a settings row (and so an unsubscribe token). */
export async function ensureSettings(tx: Tx, userIds: number[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.notificationSettings.createMany({ data: userIds.map((userId) => ({ userId, unsubscribeToken: newToken() })), skipDuplicates: true });
}

/** Changes the viewer's preferences: the kinds listed (others stay as they are) and, if given, the digest. */
export async function updatePreferences(
  signedIn: Viewer | null,
  input: { kinds?: KindPreference[] | null; digest?: EmailDigest | null },
): Promise<Preferences> {
  const viewer = requireViewer(signedIn);
  const kinds = input.kinds ?? [];
  const seen = new Set<NotificationKind>();
  kinds.forEach((entry, i) => {
    if (seen.has(entry.kind)) throw ValidationError.field(`input.kinds.${i}.kind`, 'is listed twice');
    seen.add(entry.kind);
  });
  await prisma().$transaction(async (tx) => {
    for (const entry of kinds) {
      await tx.notificationPreference.upsert({
        where: { userId_kind: { userId: viewer.id, kind: entry.kind } },
        create: { userId: viewer.id, kind: entry.kind, inApp: entry.inApp, email: entry.email },
        update: { inApp: entry.inApp, email: entry.email },
      });
    }
    await tx.notificationSettings.upsert({
      where: { userId: viewer.id },
      create: { userId: viewer.id, unsubscribeToken: newToken(), digest: input.digest ?? DEFAULT_DIGEST },
      update: input.digest ? { digest: input.digest } : {},
    });
  });
  return preferencesOf(viewer.id);
}

/** The token of an unsubscribe link: the member's secret, then what to switch off (a kind, or ALL). */
const LINK_TOKEN = /^([A-Za-z0-9_-]{20,64})\.([A-Z_]{3,40})$/;

export const unsubscribeToken = (secret: string, what: NotificationKind | 'ALL') => `${secret}.${what}`;

/**
 * One-click unsubscribe (no sign-in: the link's token is the proof): switches off the email of one
 * kind, or every notification email (digest NEVER). Null, and nothing changed, for a token that is
 * not one of ours.
 */
export async function unsubscribe(token: string, apply: boolean): Promise<{ what: NotificationKind | 'ALL' } | null> {
  const match = LINK_TOKEN.exec(token);
  if (!match) return null;
  const what = match[2] as NotificationKind | 'ALL';
  if (what !== 'ALL' && !KINDS.includes(what)) return null;
  const settings = await prisma().notificationSettings.findUnique({ where: { unsubscribeToken: match[1] }, select: { userId: true } });
  if (!settings) return null;
  if (!apply) return { what };
  const { userId } = settings;
  if (what === 'ALL') await prisma().notificationSettings.update({ where: { userId }, data: { digest: 'NEVER' } });
  else {
    await prisma().notificationPreference.upsert({
      where: { userId_kind: { userId, kind: what } },
      create: { userId, kind: what, inApp: DEFAULTS[what].inApp, email: false },
      update: { email: false },
    });
  }
  return { what };
}
