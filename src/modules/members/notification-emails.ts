import { prisma, type Tx } from '../../db/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { NotificationKind } from '../../generated/prisma/enums.js';
import { encodeGlobalID } from '../../ids.js';
import { accountSettings } from '../identity/account-emails.js';
import { emailQueued, mailSettings, newMessageId } from '../mail/outbox.js';
import { DEFAULT_DIGEST, EMAIL_ON, ensureSettings, unsubscribeToken } from './preferences.js';

// Notification emails, through the same outbox as every other email (mail/outbox.ts).
// - IMMEDIATE: one email per notification, queued by the fan-out in the transaction that writes
//   the notification rows, set-based (a few statements per batch, whatever its size). A grouped
//   notification is emailed once, when its group starts: later reactions or replies update it in
//   place and send nothing until it has been read (reading ends the group; the next one is new).
// - HOURLY / DAILY: the digest job (runDigests) sends one email per member and period listing the
//   unread notifications not yet emailed. Its key (NotificationDigest: member + period) makes it
//   safe on many instances and when run again.
// Each notification is emailed at most once (emailedAt). Nothing is emailed about content the
// member can no longer read when the email is written (READABLE, stricter than the inbox: an
// email shows the title, so content held or hidden by moderators is left out), nor to an address
// that was never confirmed.

/** SQL: whether member `u` may still read what notification `n` is about (notificationVisibleWhere, for emails). */
const READABLE = Prisma.sql`
  (n."threadId" IS NULL OR EXISTS (
    SELECT 1 FROM "Thread" t JOIN "Space" s ON s."id" = t."spaceId"
    WHERE t."id" = n."threadId" AND t."deletedAt" IS NULL AND (s."visibility" <> 'STAFF' OR u."role" <> 'MEMBER')
      AND (t."moderationStatus" = 'VISIBLE' OR t."authorId" = u."id" OR u."role" IN ('MODERATOR', 'COMMUNITY_MANAGER', 'ADMIN'))))
  AND (n."postId" IS NULL OR EXISTS (
    SELECT 1 FROM "Post" po WHERE po."id" = n."postId" AND po."deletedAt" IS NULL
      AND (po."moderationStatus" = 'VISIBLE' OR po."authorId" = u."id" OR u."role" IN ('MODERATOR', 'COMMUNITY_MANAGER', 'ADMIN'))))
  AND (n."caseId" IS NULL OR EXISTS (SELECT 1 FROM "SupportCase" c WHERE c."id" = n."caseId" AND c."requesterId" = u."id"))`;

type Row = {
  id: number;
  userId: number;
  kind: NotificationKind;
  threadId: number | null;
  postId: number | null;
  caseId: number | null;
  actorIds: number[];
  actorCount: number;
  detail: string | null;
  email: string;
  locale: 'EN' | 'ES';
  token: string;
};

const COLUMNS = Prisma.sql`n."id", n."userId", n."kind"::text AS "kind", n."threadId", n."postId", n."caseId", n."actorIds", n."actorCount", n."detail",
  u."email", u."locale"::text AS "locale", st."unsubscribeToken" AS "token"`;

/**
 * Called by the fan-out, in its transaction, with the notifications it just wrote (inserted or
 * regrouped): hides those whose kind the member turned off in-app, and queues the emails of
 * members who want them at once. Returns the ids of the ones that stay in the inbox.
 */
export async function afterNotificationsWritten(tx: Tx, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const hidden = await tx.$queryRaw<{ id: number }[]>`
    UPDATE "Notification" n SET "inApp" = false
    FROM "NotificationPreference" p
    WHERE n."id" = ANY(${ids}::int[]) AND p."userId" = n."userId" AND p."kind" = n."kind" AND NOT p."inApp"
    RETURNING n."id"`;
  const rows = await tx.$queryRaw<Row[]>`
    SELECT ${COLUMNS}
    FROM "Notification" n
    JOIN "User" u ON u."id" = n."userId"
    JOIN "NotificationSettings" st ON st."userId" = n."userId" AND st."digest" = 'IMMEDIATE'
    LEFT JOIN "NotificationPreference" p ON p."userId" = n."userId" AND p."kind" = n."kind"
    WHERE n."id" = ANY(${ids}::int[]) AND n."readAt" IS NULL AND n."emailedAt" IS NULL AND u."emailVerifiedAt" IS NOT NULL
      AND ${EMAIL_ON} AND ${READABLE}`;
  if (rows.length > 0) {
    const { names, titles } = await lookups(tx, rows);
    const emails = rows.map((row) => {
      const text = describe(row, names, titles);
      const unsubscribe = unsubscribeUrl(row.token, row.kind);
      return {
        kind: 'NOTIFICATION' as const,
        toAddress: row.email,
        subject: text,
        text: [text, '', link(row), '', footer(row.locale, unsubscribe, false)].join('\n'),
        messageId: newMessageId(),
        references: [],
        headers: unsubscribeHeaders(unsubscribe),
        userId: row.userId,
      };
    });
    await sendAll(tx, emails, rows.map((row) => row.id));
  }
  const gone = new Set(hidden.map((row) => row.id));
  return new Set(ids.filter((id) => !gone.has(id)));
}

/** Queues the emails and marks the notifications they tell of as emailed; wakes this instance's mail job. */
async function sendAll(tx: Tx, emails: Prisma.OutboundMessageCreateManyInput[], notificationIds: number[]): Promise<void> {
  const queued = await tx.outboundMessage.createManyAndReturn({ data: emails, select: { id: true } });
  await tx.$executeRaw`UPDATE "Notification" SET "emailedAt" = now() WHERE "id" = ANY(${notificationIds}::int[])`;
  for (const row of queued) emailQueued(row.id);
}

/** The actors' names and the threads' titles the texts name, in two statements. */
async function lookups(tx: Tx, rows: Row[]): Promise<{ names: Map<number, string>; titles: Map<number, string> }> {
  const actorIds = [...new Set(rows.flatMap((row) => row.actorIds.slice(0, 1)))];
  const threadIds = [...new Set(rows.flatMap((row) => (row.threadId == null ? [] : [row.threadId])))];
  const [users, threads] = await Promise.all([
    actorIds.length ? tx.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, displayName: true } }) : [],
    threadIds.length ? tx.thread.findMany({ where: { id: { in: threadIds } }, select: { id: true, title: true } }) : [],
  ]);
  return { names: new Map(users.map((u) => [u.id, u.displayName])), titles: new Map(threads.map((t) => [t.id, t.title])) };
}

const appUrl = () => accountSettings().appUrl ?? mailSettings().publicUrl;

/** Where the front end shows what the notification is about. */
function link(row: Pick<Row, 'threadId' | 'postId' | 'caseId'>): string {
  if (row.threadId != null) {
    const post = row.postId != null ? `?post=${encodeURIComponent(encodeGlobalID('Post', row.postId))}` : '';
    return `${appUrl()}/threads/${encodeURIComponent(encodeGlobalID('Thread', row.threadId))}${post}`;
  }
  if (row.caseId != null) return `${appUrl()}/cases/${encodeURIComponent(encodeGlobalID('SupportCase', row.caseId))}`;
  return `${appUrl()}/notifications`;
}

/** The one-click link: on this API (it serves /unsubscribe), not on the front end. */
export function unsubscribeUrl(secret: string, what: NotificationKind | 'ALL'): string {
  return `${mailSettings().publicUrl}/unsubscribe?token=${encodeURIComponent(unsubscribeToken(secret, what))}`;
}

/** RFC 2369 and RFC 8058: mail clients show an "unsubscribe" button that POSTs to the link. */
const unsubscribeHeaders = (url: string) => ({ 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });

const T = {
  EN: {
    someone: 'Someone',
    others: (name: string, n: number) => `${name} and ${n} ${n === 1 ? 'other' : 'others'}`,
    REPLIED: (who: string, title: string) => `${who} replied in "${title}"`,
    MENTIONED: (who: string, title: string) => `${who} mentioned you in "${title}"`,
    ANSWER_ACCEPTED: (who: string, title: string) => `${who} accepted your post as the answer in "${title}"`,
    REACTED: (who: string, title: string) => `${who} reacted to your post in "${title}"`,
    CASE_UPDATED: () => 'There is news on your support case',
    REPORT_RESOLVED: () => 'Moderators reviewed your report',
    moderated: 'A moderator acted on your content',
    PEER_ASK: (title: string) => `Can you help? "${title}" is waiting for an answer`,
    badge: 'You received a badge',
    trustLevel: 'Your trust level changed',
    stopKind: 'Stop emails like this one:',
    stopAll: 'Stop these digests:',
    manage: 'Choose what you are emailed about:',
    digestSubject: (n: number) => `${n} new ${n === 1 ? 'notification' : 'notifications'}`,
    digestIntro: 'Since the last digest:',
  },
  ES: {
    someone: 'Alguien',
    others: (name: string, n: number) => `${name} y ${n} ${n === 1 ? 'persona más' : 'personas más'}`,
    REPLIED: (who: string, title: string) => `${who} respondió en «${title}»`,
    MENTIONED: (who: string, title: string) => `${who} te mencionó en «${title}»`,
    ANSWER_ACCEPTED: (who: string, title: string) => `${who} aceptó tu mensaje como respuesta en «${title}»`,
    REACTED: (who: string, title: string) => `${who} reaccionó a tu mensaje en «${title}»`,
    CASE_UPDATED: () => 'Hay novedades en tu caso de soporte',
    REPORT_RESOLVED: () => 'Los moderadores revisaron tu denuncia',
    moderated: 'Un moderador actuó sobre tu contenido',
    PEER_ASK: (title: string) => `¿Puedes ayudar? «${title}» espera una respuesta`,
    badge: 'Recibiste una insignia',
    trustLevel: 'Tu nivel de confianza cambió',
    stopKind: 'Dejar de recibir correos como este:',
    stopAll: 'Dejar de recibir estos resúmenes:',
    manage: 'Elige sobre qué te escribimos:',
    digestSubject: (n: number) => `${n} ${n === 1 ? 'notificación nueva' : 'notificaciones nuevas'}`,
    digestIntro: 'Desde el último resumen:',
  },
};

const words = (locale: string) => T[locale === 'ES' ? 'ES' : 'EN'];

/** What happened, in the member's language: one line. */
function describe(row: Row, names: Map<number, string>, titles: Map<number, string>): string {
  const w = words(row.locale);
  const first = row.actorIds.length ? names.get(row.actorIds[0]) : undefined;
  const who = !first ? w.someone : row.actorCount > 1 ? w.others(first, row.actorCount - 1) : first;
  const title = (row.threadId != null && titles.get(row.threadId)) || '';
  switch (row.kind) {
    case 'REPLIED':
    case 'MENTIONED':
    case 'ANSWER_ACCEPTED':
    case 'REACTED':
      return w[row.kind](who, title);
    case 'CASE_UPDATED':
    case 'REPORT_RESOLVED':
      return w[row.kind]();
    case 'APPEAL_DECIDED':
    case 'CONTENT_MODERATED':
      return row.detail ?? w.moderated;
    case 'PEER_ASK':
      return w.PEER_ASK(title);
    case 'BADGE_AWARDED':
      return row.detail ?? w.badge;
    case 'TRUST_LEVEL_CHANGED':
      return row.detail ?? w.trustLevel;
  }
}

function footer(locale: string, unsubscribe: string, digest: boolean): string {
  const w = words(locale);
  return ['--', `${digest ? w.stopAll : w.stopKind} ${unsubscribe}`, `${w.manage} ${appUrl()}/settings/notifications`].join('\n');
}

// ---- Digests ---------------------------------------------------------------------------------------

type Frequency = 'HOURLY' | 'DAILY';
const PERIOD_MS: Record<Frequency, number> = { HOURLY: 3600_000, DAILY: 86_400_000 };
/** How far back a digest looks: the period, and more after a time the job did not run (at most a day). */
const LOOKBACK_MS = 86_400_000;
/** Members per transaction. */
const DIGEST_BATCH = 100;
/** Notifications listed in one digest (the newest); the rest are marked emailed with them. */
const DIGEST_MAX_ITEMS = 50;

/** The last period that has ended at `now` (UTC hours and days): its key and end. */
export function lastPeriod(frequency: Frequency, now: Date): { key: string; end: Date } {
  const ms = PERIOD_MS[frequency];
  const end = new Date(Math.floor(now.getTime() / ms) * ms);
  const iso = end.toISOString();
  return { key: frequency === 'HOURLY' ? `H:${iso.slice(0, 13)}` : `D:${iso.slice(0, 10)}`, end };
}

/**
 * The digest job: for HOURLY and DAILY members, one email for the period that ended last, with
 * their unread notifications not yet emailed. Safe on many instances: a member's digest for a
 * period is claimed by inserting its key, so it is sent at most once.
 */
export async function runDigests(now: Date = new Date()): Promise<{ digests: number }> {
  let digests = 0;
  for (const frequency of ['HOURLY', 'DAILY'] as const) {
    const { key, end } = lastPeriod(frequency, now);
    const since = new Date(end.getTime() - Math.max(LOOKBACK_MS, PERIOD_MS[frequency]));
    for (;;) {
      const { claimed, sent } = await digestBatch(frequency, key, since, end);
      digests += sent;
      if (claimed < DIGEST_BATCH) break;
    }
  }
  return { digests };
}

async function digestBatch(frequency: Frequency, key: string, since: Date, end: Date): Promise<{ claimed: number; sent: number }> {
  return prisma().$transaction(
    async (tx) => {
      // Members with something to tell, whose digest for this period nobody has claimed yet.
      const due = await tx.$queryRaw<{ userId: number }[]>`
        SELECT DISTINCT n."userId" FROM "Notification" n
        JOIN "User" u ON u."id" = n."userId"
        LEFT JOIN "NotificationSettings" st ON st."userId" = n."userId"
        LEFT JOIN "NotificationPreference" p ON p."userId" = n."userId" AND p."kind" = n."kind"
        WHERE n."readAt" IS NULL AND n."emailedAt" IS NULL AND n."updatedAt" >= ${since}::timestamp AND n."updatedAt" < ${end}::timestamp
          AND COALESCE(st."digest", ${DEFAULT_DIGEST}::"EmailDigest") = ${frequency}::"EmailDigest"
          AND u."emailVerifiedAt" IS NOT NULL AND ${EMAIL_ON}
          AND NOT EXISTS (SELECT 1 FROM "NotificationDigest" d WHERE d."userId" = n."userId" AND d."period" = ${key})
        ORDER BY n."userId" LIMIT ${DIGEST_BATCH}`;
      if (due.length === 0) return { claimed: 0, sent: 0 };
      // The claim: another instance inserting the same keys waits for us, then inserts nothing.
      const claimed = await tx.$queryRaw<{ userId: number }[]>`
        INSERT INTO "NotificationDigest" ("userId", "period")
        SELECT unnest(${due.map((row) => row.userId)}::int[]), ${key}
        ON CONFLICT DO NOTHING RETURNING "userId"`;
      const userIds = claimed.map((row) => row.userId);
      if (userIds.length === 0) return { claimed: due.length, sent: 0 };
      await ensureSettings(tx, userIds);
      const rows = await tx.$queryRaw<Row[]>`
        SELECT ${COLUMNS}
        FROM "Notification" n
        JOIN "User" u ON u."id" = n."userId"
        JOIN "NotificationSettings" st ON st."userId" = n."userId"
        LEFT JOIN "NotificationPreference" p ON p."userId" = n."userId" AND p."kind" = n."kind"
        WHERE n."userId" = ANY(${userIds}::int[]) AND n."readAt" IS NULL AND n."emailedAt" IS NULL
          AND n."updatedAt" >= ${since}::timestamp AND n."updatedAt" < ${end}::timestamp
          AND ${EMAIL_ON} AND ${READABLE}
        ORDER BY n."userId", n."lastActivityId" DESC, n."id" DESC`;
      if (rows.length === 0) return { claimed: due.length, sent: 0 };
      const { names, titles } = await lookups(tx, rows);
      const byUser = new Map<number, Row[]>();
      for (const row of rows) byUser.set(row.userId, [...(byUser.get(row.userId) ?? []), row]);
      const emails = [...byUser.values()].map((mine) => {
        const [first] = mine;
        const w = words(first.locale);
        const unsubscribe = unsubscribeUrl(first.token, 'ALL');
        const items = mine.slice(0, DIGEST_MAX_ITEMS).map((row) => `- ${describe(row, names, titles)}\n  ${link(row)}`);
        return {
          kind: 'DIGEST' as const,
          toAddress: first.email,
          subject: w.digestSubject(mine.length),
          text: [w.digestIntro, '', ...items, '', footer(first.locale, unsubscribe, true)].join('\n'),
          messageId: newMessageId(),
        references: [],
          headers: unsubscribeHeaders(unsubscribe),
          userId: first.userId,
        };
      });
      await sendAll(tx, emails, rows.map((row) => row.id));
      return { claimed: due.length, sent: emails.length };
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
}
