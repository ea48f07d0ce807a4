import { inBackground, prisma, type Tx } from '../../db/client.js';
import { publishNotificationNotice, type NotificationNotice } from '../../events/bus.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { ActivityKind, ActivityVisibility } from '../../generated/prisma/enums.js';
import type { Logger } from '../../logger.js';
import { followForDeed } from './follow.service.js';
import { approvedMentionsProducer, mentionedProducer } from './mentions.js';
import { afterNotificationsWritten } from './notification-emails.js';

// Notifications are derived from the activity log AFTER the write has committed, never inside the
// write's transaction: a reply in a thread 10,000 members watch commits as fast as any other, and
// its watchers' notifications are written here, in batches, by whichever instance gets there first.
//
// The cursor row ("NotificationCursor") says how far the log has been read. A pass claims it with
// FOR UPDATE SKIP LOCKED, so one instance works at a time and the others skip; it reads the events
// after it, writes their notifications and moves the cursor in one short transaction. Log ids are
// handed out in commit order (writeWithActivity's append lock), so once event n is readable every
// event before it is too: reading `id > cursor` never passes over one that commits later.
// Each notification has a unique key per recipient and event ("a:<event id>") or per recipient and
// group ("g:..."; updated in place only by a newer event), so a pass that is run again after a
// failure, or a second instance, can never write one twice.

/** One event of the log, as the producers read it. */
export type LogEvent = {
  id: bigint;
  kind: ActivityKind;
  actorId: number | null;
  subjectType: string;
  subjectId: number;
  spaceId: number | null;
  threadId: number | null;
  visibility: ActivityVisibility;
  /** Removed or held content: nobody but moderators may read it, so nobody is told of it. */
  withdrawn: boolean;
  caseId: number | null;
  requesterId: number | null;
  occurredAt: Date;
};

/** Who was notified (inserted or updated); `more`: the last user id done, when recipients remain. */
export type Produced = { notified: NotificationNotice['items']; more?: number };

/**
 * Derives the notifications of one event. A producer that can reach many recipients takes them
 * in user-id order, `limit` at a time after `afterUserId`, and says where it stopped (`more`);
 * the others ignore the page. Every producer must be idempotent (see the keys above).
 */
export type Producer = (tx: Tx, event: LogEvent, page: { afterUserId: number; limit: number }) => Promise<Produced>;

const NONE: Produced = { notified: [] };
const published = (event: LogEvent) => event.visibility === 'SPACE' && !event.withdrawn;

type Row = { id: number; userId: number };
const notified = (rows: Row[]): Produced => ({ notified: rows.map((row) => ({ userId: row.userId, notificationId: row.id })) });
const actors = (event: LogEvent) => (event.actorId == null ? Prisma.sql`ARRAY[]::int[]` : Prisma.sql`ARRAY[${event.actorId}::int]`);

/**
 * The columns every insert fills, and what a grouped notification does when a newer event of
 * its group arrives while it is unread: the newest subject, actor first, count of distinct actors.
 */
const COLUMNS = Prisma.sql`("userId", "kind", "subjectType", "subjectId", "threadId", "postId", "caseId", "groupKey", "lastActivityId", "actorIds", "actorCount", "detail", "createdAt", "updatedAt")`;
const ONE_PER_EVENT = Prisma.sql`ON CONFLICT ("userId", "groupKey") DO NOTHING RETURNING "id", "userId"`;
const GROUPED = Prisma.sql`
  ON CONFLICT ("userId", "groupKey") DO UPDATE SET
    "subjectType" = EXCLUDED."subjectType",
    "subjectId" = EXCLUDED."subjectId",
    "postId" = EXCLUDED."postId",
    "actorIds" = EXCLUDED."actorIds" || array_remove("Notification"."actorIds", EXCLUDED."actorIds"[1]),
    "actorCount" = cardinality(EXCLUDED."actorIds" || array_remove("Notification"."actorIds", EXCLUDED."actorIds"[1])),
    "lastActivityId" = EXCLUDED."lastActivityId",
    "updatedAt" = EXCLUDED."updatedAt"
  WHERE "Notification"."lastActivityId" < EXCLUDED."lastActivityId"
  RETURNING "id", "userId"`;

/** Whether the user in `u` may see a space of visibility `s."visibility"` (visibleSpaceVisibilities in SQL). */
const SEES_SPACE = Prisma.sql`(s."visibility" <> 'STAFF' OR u."role" <> 'MEMBER')`;

/** REPLIED: to everyone whose effective level for the thread is WATCHING, but the writer. */
const replied: Producer = async (tx, event, { afterUserId, limit }) => {
  if (!published(event) || event.threadId == null || event.spaceId == null) return NONE;
  const { threadId, spaceId } = event;
  // The thread's own level wins; the space's applies to members with no row for the thread.
  const page = await tx.$queryRaw<{ userId: number }[]>`
    SELECT "userId" FROM (
      SELECT ts."userId" FROM "ThreadSubscription" ts
      WHERE ts."threadId" = ${threadId}::int AND ts."level" = 'WATCHING' AND ts."userId" > ${afterUserId}::int
      UNION
      SELECT ss."userId" FROM "SpaceSubscription" ss
      WHERE ss."spaceId" = ${spaceId}::int AND ss."level" = 'WATCHING' AND ss."userId" > ${afterUserId}::int
        AND NOT EXISTS (SELECT 1 FROM "ThreadSubscription" ts WHERE ts."threadId" = ${threadId}::int AND ts."userId" = ss."userId")
    ) watchers
    ORDER BY "userId" LIMIT ${limit}::int`;
  if (page.length === 0) return NONE;
  const ids = page.map((row) => row.userId);
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT u."id", 'REPLIED'::"NotificationKind", 'Post', ${event.subjectId}::int, ${threadId}::int, ${event.subjectId}::int, NULL, ${`g:REPLIED:Thread:${threadId}`}::text,
           ${event.id}::bigint, ${actors(event)}, 1, NULL, ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM unnest(${ids}::int[]) AS w("userId")
    JOIN "User" u ON u."id" = w."userId"
    JOIN "Space" s ON s."id" = ${spaceId}::int
    WHERE u."id" IS DISTINCT FROM ${event.actorId}::int AND ${SEES_SPACE}
    ${GROUPED}`;
  return { ...notified(rows), ...(page.length === limit && { more: ids[ids.length - 1] }) };
};

/** Authors watch their threads, repliers track what they reply to (never lowering a level). */
const followDeed: (reason: 'CREATED' | 'REPLIED') => Producer = (reason) => async (tx, event) => {
  if (event.actorId != null && event.threadId != null) await followForDeed(tx, event.actorId, event.threadId, reason);
  return NONE;
};

/** ANSWER_ACCEPTED: to the author of the post now marked as the answer. */
const answerAccepted: Producer = async (tx, event) => {
  if (!published(event) || event.threadId == null) return NONE;
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT p."authorId", 'ANSWER_ACCEPTED'::"NotificationKind", 'Post', p."id", t."id", p."id", NULL, ${`a:${event.id}`}::text,
           ${event.id}::bigint, ${actors(event)}, ${event.actorId == null ? 0 : 1}::int, NULL, ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM "Thread" t JOIN "Post" p ON p."id" = t."answerPostId"
    WHERE t."id" = ${event.threadId}::int AND p."authorId" IS DISTINCT FROM ${event.actorId}::int
    ${ONE_PER_EVENT}`;
  return notified(rows);
};

/** REACTED: to the author of the thread or post, grouped per thread or post while unread. */
const reacted: Producer = async (tx, event) => {
  if (!published(event) || (event.subjectType !== 'Post' && event.subjectType !== 'Thread')) return NONE;
  const table = Prisma.raw(event.subjectType === 'Post' ? '"Post"' : '"Thread"');
  const postId = event.subjectType === 'Post' ? event.subjectId : null;
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT c."authorId", 'REACTED'::"NotificationKind", ${event.subjectType}::text, c."id", ${event.threadId}::int, ${postId}::int, NULL,
           ${`g:REACTED:${event.subjectType}:${event.subjectId}`}::text, ${event.id}::bigint, ${actors(event)}, 1, NULL, ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM ${table} c
    WHERE c."id" = ${event.subjectId}::int AND c."authorId" IS DISTINCT FROM ${event.actorId}::int
    ${GROUPED}`;
  return notified(rows);
};

/** CASE_UPDATED: a public entry of a case, by someone else, to its requester (never internal notes); grouped per case while unread. */
const caseUpdated: Producer = async (tx, event) => {
  if (event.visibility !== 'CASE' || event.caseId == null || event.requesterId == null || event.requesterId === event.actorId) return NONE;
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    VALUES (${event.requesterId}::int, 'CASE_UPDATED'::"NotificationKind", 'SupportCase', ${event.caseId}::int, NULL, NULL, ${event.caseId}::int, ${`g:CASE_UPDATED:SupportCase:${event.caseId}`}::text,
            ${event.id}::bigint, ${actors(event)}, ${event.actorId == null ? 0 : 1}::int, NULL, ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp)
    ${GROUPED}`;
  return notified(rows);
};

// Moderation outcomes name no moderator (moderation/policy.ts canSeeEventActor): no actors.

/** REPORT_RESOLVED: to each reporter of the resolved or dismissed queue item. */
const reportResolved: Producer = async (tx, event) => {
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT r."reporterId", 'REPORT_RESOLVED'::"NotificationKind", 'Report', r."id", NULL, NULL, NULL, ${`a:${event.id}`}::text,
           ${event.id}::bigint, ARRAY[]::int[], 0, NULL, ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM "Report" r
    WHERE r."queueItemId" = ${event.subjectId}::int AND r."status" <> 'OPEN' AND r."reporterId" IS DISTINCT FROM ${event.actorId}::int
    ${ONE_PER_EVENT}`;
  return notified(rows);
};

/** APPEAL_DECIDED: to the appellant. */
const appealDecided: Producer = async (tx, event) => {
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT a."appellantId", 'APPEAL_DECIDED'::"NotificationKind", 'Appeal', a."id", NULL, NULL, NULL, ${`a:${event.id}`}::text,
           ${event.id}::bigint, ARRAY[]::int[], 0,
           CASE a."status" WHEN 'UPHELD' THEN 'Your appeal was turned down: the decision stands' ELSE 'Your appeal was upheld: the decision was reversed' END,
           ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM "Appeal" a
    WHERE a."id" = ${event.subjectId}::int AND a."status" <> 'PENDING'
    ${ONE_PER_EVENT}`;
  return notified(rows);
};

/** CONTENT_MODERATED: to the author of the content a moderator (or automod) acted on, with the public reason. */
const contentModerated: Producer = async (tx, event) => {
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT m."targetUserId", 'CONTENT_MODERATED'::"NotificationKind", 'ModerationAction', m."id", NULL, NULL, NULL, ${`a:${event.id}`}::text,
           ${event.id}::bigint, ARRAY[]::int[], 0,
           'A moderator ' || CASE m."kind" WHEN 'HIDE' THEN 'hid' WHEN 'REMOVE' THEN 'removed' WHEN 'RESTORE' THEN 'restored'
             WHEN 'APPROVE' THEN 'approved' WHEN 'LOCK' THEN 'locked' ELSE 'unlocked' END
           || ' your ' || lower(m."subjectType") || ': ' || m."reason",
           ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM "ModerationAction" m
    WHERE m."id" = ${event.subjectId}::int AND m."subjectType" IN ('Thread', 'Post')
      AND m."kind" IN ('HIDE', 'REMOVE', 'RESTORE', 'APPROVE', 'LOCK', 'UNLOCK')
      AND m."actorId" IS DISTINCT FROM m."targetUserId"
    ${ONE_PER_EVENT}`;
  return notified(rows);
};

/** BADGE_AWARDED: to the member who received the badge, naming it. */
const badgeAwarded: Producer = async (tx, event) => {
  if (event.subjectType !== 'BadgeAward') return NONE;
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT a."userId", 'BADGE_AWARDED'::"NotificationKind", 'BadgeAward', a."id", NULL, NULL, NULL, ${`a:${event.id}`}::text,
           ${event.id}::bigint, ${actors(event)}, ${event.actorId == null ? 0 : 1}::int, 'You received the badge ' || b."name",
           ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM "BadgeAward" a JOIN "Badge" b ON b."id" = a."badgeId"
    WHERE a."id" = ${event.subjectId}::int AND a."revokedAt" IS NULL
    ${ONE_PER_EVENT}`;
  return notified(rows);
};
/** TRUST_LEVEL_CHANGED: to the member, saying from which level to which (their newest logged change). */
const trustLevelChanged: Producer = async (tx, event) => {
  if (event.subjectType !== 'User') return NONE;
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT c."userId", 'TRUST_LEVEL_CHANGED'::"NotificationKind", 'User', c."userId", NULL, NULL, NULL, ${`a:${event.id}`}::text,
           ${event.id}::bigint, ARRAY[]::int[], 0,
           'Your trust level is now ' || (${TRUST_LEVEL_NAMES}::text[])[c."toLevel" + 1] || ' (was ' || (${TRUST_LEVEL_NAMES}::text[])[c."fromLevel" + 1] || ')',
           ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM (SELECT * FROM "TrustLevelChange" WHERE "userId" = ${event.subjectId}::int AND "fromLevel" <> "toLevel" ORDER BY "id" DESC LIMIT 1) c
    ${ONE_PER_EVENT}`;
  return notified(rows);
};
const TRUST_LEVEL_NAMES = ['TL0 (new)', 'TL1 (basic)', 'TL2 (member)', 'TL3 (regular)', 'TL4 (leader)'];

const CASE_KINDS: ActivityKind[] = ['CASE_OPENED', 'CASE_REPLIED', 'CASE_STATUS_CHANGED', 'CASE_ASSIGNED', 'CASE_TRANSFERRED', 'CASE_RATED'];

/**
 * What each kind of event produces, in order. A new kind of notification is one more entry here
 * (@mentions: a producer on THREAD_CREATED, POST_CREATED and the edits that reads the text).
 */
/**
 * PEER_ASK: to each expert the peer-routing job asked about the thread (participation's PeerAsk
 * rows, read-only here), once per thread and expert: a later event of the same thread only reaches
 * the experts added since. Still only those who can read the space, and not for withdrawn content.
 */
const peerAsked: Producer = async (tx, event) => {
  if (event.withdrawn || event.subjectType !== 'Thread') return NONE;
  const rows = await tx.$queryRaw<Row[]>`
    INSERT INTO "Notification" ${COLUMNS}
    SELECT u."id", 'PEER_ASK'::"NotificationKind", 'Thread', t."id", t."id", NULL, NULL, ${`g:PEER_ASK:Thread:${event.subjectId}`}::text,
           ${event.id}::bigint, ARRAY[]::int[], 0, NULL, ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM "PeerAsk" a JOIN "User" u ON u."id" = a."userId" JOIN "Thread" t ON t."id" = a."threadId" JOIN "Space" s ON s."id" = t."spaceId"
    WHERE a."threadId" = ${event.subjectId}::int AND ${SEES_SPACE}
    ${ONE_PER_EVENT}`;
  return notified(rows);
};

export const PRODUCERS: Partial<Record<ActivityKind, Producer[]>> = {
  THREAD_CREATED: [followDeed('CREATED'), mentionedProducer],
  THREAD_EDITED: [mentionedProducer],
  POST_CREATED: [followDeed('REPLIED'), replied, mentionedProducer],
  POST_EDITED: [mentionedProducer],
  THREAD_ANSWERED: [answerAccepted],
  REACTION_ADDED: [reacted],
  QUEUE_ITEM_RESOLVED: [reportResolved],
  APPEAL_RESOLVED: [appealDecided],
  MODERATION_ACTION: [contentModerated, approvedMentionsProducer],
  THREAD_ROUTED_TO_EXPERTS: [peerAsked],
  BADGE_AWARDED: [badgeAwarded],
  TRUST_LEVEL_CHANGED: [trustLevelChanged],
  ...Object.fromEntries(CASE_KINDS.map((kind) => [kind, [caseUpdated]])),
};

/** Events read per pass. */
const EVENTS_PER_PASS = 200;

type Step = 'locked' | 'idle' | 'progressed';

/**
 * One short transaction: claim the cursor (or leave it to whoever holds it), derive the
 * notifications of the next events until `batchSize` recipients are done, move the cursor.
 * Announces what it wrote once committed.
 */
async function step(batchSize: number, logger: Logger): Promise<{ step: Step; notified: number }> {
  const notices: NotificationNotice['items'] = [];
  const outcome = await prisma().$transaction(
    async (tx): Promise<Step> => {
      const [cursor] = await tx.$queryRaw<{ activityId: bigint; afterUserId: number }[]>`
        SELECT "activityId", "afterUserId" FROM "NotificationCursor" WHERE "id" = 1 FOR UPDATE SKIP LOCKED`;
      if (!cursor) {
        // Another instance holds it, or (a database from before the table had its row) it is missing.
        const created = await tx.$executeRaw`
          INSERT INTO "NotificationCursor" ("id", "activityId", "afterUserId")
          SELECT 1, COALESCE(max("id"), 0), 0 FROM "Activity" ON CONFLICT ("id") DO NOTHING`;
        return created > 0 ? 'progressed' : 'locked';
      }
      const events = await tx.activity.findMany({
        where: { id: { gt: cursor.activityId } },
        orderBy: { id: 'asc' },
        take: EVENTS_PER_PASS,
        select: {
          id: true, kind: true, actorId: true, subjectType: true, subjectId: true, spaceId: true, threadId: true,
          visibility: true, withdrawn: true, caseId: true, requesterId: true, occurredAt: true,
        },
      });
      if (events.length === 0) return 'idle';
      let done = cursor.activityId;
      let afterUserId = cursor.afterUserId;
      let budget = batchSize;
      for (const event of events) {
        let more: number | undefined;
        const producers = PRODUCERS[event.kind] ?? [];
        // An event whose notifications cannot be written (a bug, a constraint) is logged and
        // passed over, rather than holding up every notification after it.
        if (producers.length) await tx.$executeRaw`SAVEPOINT notification_event`;
        try {
          const written: NotificationNotice['items'] = [];
          for (const produce of producers) {
            const produced = await produce(tx, event, { afterUserId, limit: budget });
            written.push(...produced.notified);
            if (produced.more !== undefined) more = produced.more;
          }
          // Preferences: kinds turned off in-app are hidden (not announced), immediate emails queued.
          const shown = await afterNotificationsWritten(tx, written.map((item) => item.notificationId));
          if (producers.length) await tx.$executeRaw`RELEASE SAVEPOINT notification_event`;
          notices.push(...written.filter((item) => shown.has(item.notificationId)));
          budget -= written.length;
        } catch (error) {
          await tx.$executeRaw`ROLLBACK TO SAVEPOINT notification_event`;
          logger.error({ err: error, activityId: event.id.toString(), kind: event.kind }, 'notifications of an event could not be written; passed over');
          more = undefined;
        }
        if (more !== undefined) {
          // Recipients remain: the next pass goes on from the last one done.
          afterUserId = more;
          break;
        }
        done = event.id;
        afterUserId = 0;
        if (budget <= 0) break;
      }
      await tx.$executeRaw`UPDATE "NotificationCursor" SET "activityId" = ${done}, "afterUserId" = ${afterUserId} WHERE "id" = 1`;
      return 'progressed';
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
  if (notices.length > 0) publishNotificationNotice({ items: notices });
  return { step: outcome, notified: notices.length };
}

export type NotificationFanOut = {
  /** Runs passes until the log is read to its end (or another instance holds the cursor). */
  run(): Promise<{ notified: number }>;
  /** Asks for a pass now (an event was just published); one runs at a time, and one more after it. */
  wake(): void;
  /** Waits for the pass under way; no new one starts. */
  stop(): Promise<void>;
};

export function notificationFanOut(options: { batchSize: number }, logger: Logger): NotificationFanOut {
  let running: Promise<{ notified: number }> | undefined;
  let again = false;
  let stopped = false;
  const drain = async () => {
    let total = 0;
    for (;;) {
      const { step: outcome, notified } = await step(options.batchSize, logger);
      total += notified;
      if (outcome !== 'progressed' || stopped) return { notified: total };
    }
  };
  const run = (): Promise<{ notified: number }> => {
    if (stopped) return Promise.resolve({ notified: 0 });
    if (running) {
      again = true;
      return running;
    }
    // Background work: a request's statement count (test/n-plus-one.test.ts) does not include it.
    running = inBackground(drain).finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        void run().catch((error: unknown) => logger.error({ err: error }, 'notification fan-out failed'));
      }
    });
    return running;
  };
  return {
    run,
    wake() {
      void run().catch((error: unknown) => logger.error({ err: error }, 'notification fan-out failed'));
    },
    async stop() {
      stopped = true;
      await running?.catch(() => undefined);
    },
  };
}
