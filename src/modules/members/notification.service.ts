import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { onNotificationNotice, SubscriberTooSlowError } from '../../events/bus.js';
import { probe } from '../../observability/probes.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { Prisma, type Notification } from '../../generated/prisma/client.js';
import type { NotificationKind } from '../../generated/prisma/enums.js';
import { openActivityStream, type StreamTransport } from '../activity/activity.service.js';
import { visibleContentWhere, visibleThreadWhere } from '../community/policy.js';
import { requireViewer } from '../identity/guards.js';

// Reading notifications: each member reads only their own, and never one whose subject they can
// no longer read (its thread or post removed or held, its space closed to them, the case no longer
// theirs, or deleted by its author). That is decided at read time, by the same rules as the content itself, so a restore
// brings the notification back; lists, counts, node(id) and the live stream use one `where`.

/** The viewer's notifications they may still read, as a Prisma where (node(id), lists, counts). */
export function notificationVisibleWhere(viewer: Viewer | null): Prisma.NotificationWhereInput {
  if (!viewer) return { id: -1 };
  return {
    userId: viewer.id,
    // Its kind turned off in-app (preferences.ts): kept only for email.
    inApp: true,
    AND: [
      // Content its author deleted is gone from the inbox too: only its place is left to show.
      { OR: [{ threadId: null }, { thread: { ...visibleThreadWhere(viewer), deletedAt: null } }] },
      { OR: [{ postId: null }, { post: { ...visibleContentWhere(viewer), deletedAt: null } }] },
      { OR: [{ caseId: null }, { supportCase: { requesterId: viewer.id } }] },
    ],
  };
}

export type NotificationFilter = { unread?: boolean | null; kinds?: NotificationKind[] | null };

function listWhere(viewer: Viewer, filter: NotificationFilter): Prisma.NotificationWhereInput {
  return {
    ...notificationVisibleWhere(viewer),
    ...(filter.unread === true && { readAt: null }),
    ...(filter.unread === false && { readAt: { not: null } }),
    ...(filter.kinds?.length && { kind: { in: filter.kinds } }),
  };
}

// Cursor: the place in the inbox (newest event first), then the id: "ntf_<event hex>_<id>".
const CURSOR = /^ntf_([0-9a-f]{1,16})_([0-9]{1,10})$/;
export const encodeNotificationCursor = (row: Pick<Notification, 'lastActivityId' | 'id'>) =>
  `ntf_${row.lastActivityId.toString(16)}_${row.id}`;

function decodeCursor(cursor: string): { lastActivityId: bigint; id: number } {
  const match = CURSOR.exec(cursor);
  if (!match) throw ValidationError.field('after', 'is not a notification cursor');
  return { lastActivityId: BigInt(`0x${match[1]}`), id: Number(match[2]) };
}

/** A page of the viewer's inbox, newest first; one statement. */
export async function listNotifications(
  viewer: Viewer,
  filter: NotificationFilter,
  page: { first: number; after?: string | null },
): Promise<{ rows: Notification[]; hasNextPage: boolean }> {
  const after = page.after ? decodeCursor(page.after) : undefined;
  const rows = await prisma().notification.findMany({
    where: {
      ...listWhere(viewer, filter),
      ...(after && {
        OR: [{ lastActivityId: { lt: after.lastActivityId } }, { lastActivityId: after.lastActivityId, id: { lt: after.id } }],
      }),
    },
    orderBy: [{ lastActivityId: 'desc' }, { id: 'desc' }],
    take: page.first + 1,
  });
  return { rows: rows.slice(0, page.first), hasNextPage: rows.length > page.first };
}

/** The viewer's notifications the filter matches (the connection's totalCount). */
export function countNotifications(viewer: Viewer, filter: NotificationFilter): Promise<number> {
  return prisma().notification.count({ where: listWhere(viewer, filter) });
}

/** Unread notifications the viewer may read: one count over the (userId, readAt) index. */
export function unreadCount(viewer: Viewer): Promise<number> {
  return prisma().notification.count({ where: { ...notificationVisibleWhere(viewer), readAt: null } });
}

/**
 * Marks the viewer's notifications read: these ids (each must be theirs, or nothing is marked),
 * or every one last updated at or before `before`. A grouped one leaves its group, so the next
 * event of that kind starts a new notification instead of reviving a read one.
 */
export async function markRead(signedIn: Viewer | null, target: { ids: number[] } | { before: Date }): Promise<{ marked: number; unread: number }> {
  const viewer = requireViewer(signedIn);
  let which: Prisma.Sql;
  if ('ids' in target) {
    const ids = [...new Set(target.ids)];
    const mine = await prisma().notification.findMany({ where: { id: { in: ids }, userId: viewer.id }, select: { id: true } });
    const found = new Set(mine.map((row) => row.id));
    const missing = ids.find((id) => !found.has(id));
    // Another member's notification is "not found", like one that does not exist.
    if (missing !== undefined) throw new NotFoundError('Notification', String(missing));
    which = Prisma.sql`"id" = ANY(${ids}::int[])`;
  } else {
    which = Prisma.sql`"updatedAt" <= ${target.before}::timestamp`;
  }
  const marked = await prisma().$executeRaw`
    UPDATE "Notification"
    SET "readAt" = now(), "groupKey" = CASE WHEN "groupKey" LIKE 'g:%' THEN NULL ELSE "groupKey" END
    WHERE "userId" = ${viewer.id}::int AND "readAt" IS NULL AND ${which}`;
  return { marked, unread: await unreadCount(viewer) };
}


// ---- Live -----------------------------------------------------------------------------------------

export type NotificationAdded = { notification: Notification; unreadCount: number };

/**
 * `notificationAdded`: the viewer's new (or regrouped) notifications as the fan-out writes them,
 * on any instance, each with the new unread count. It ends as the activity stream does: when the
 * session is signed out or expires, or the user is suspended (an activity stream that lets no
 * event through watches for those, see applyAccessChange).
 */
export async function openNotificationStream(signedIn: Viewer | null, transport: StreamTransport): Promise<AsyncIterableIterator<NotificationAdded>> {
  const viewer = requireViewer(signedIn, 'Sign in to receive your notifications');
  const guard = await openActivityStream(viewer, {}, undefined, transport, { only: () => false });
  // The guard's copy of the viewer: role changes seen in the stream apply to what is shown.
  const current = (transport.viewer ?? viewer) as Viewer;
  return new NotificationStream(current, guard);
}

/** Notifications that may wait for a client that does not read. */
const MAX_WAITING = 1000;

class NotificationStream implements AsyncIterableIterator<NotificationAdded> {
  private readonly ready: NotificationAdded[] = [];
  private waiting: { resolve(r: IteratorResult<NotificationAdded>): void; reject(e: unknown): void } | undefined;
  private failure: unknown;
  private ended = false;
  private loading = Promise.resolve();
  private readonly stopListening: () => void;

  constructor(
    private readonly viewer: Viewer,
    private readonly guard: AsyncIterableIterator<unknown>,
  ) {
    this.stopListening = onNotificationNotice(viewer.id, (id) => {
      // One at a time, in the order announced.
      this.loading = this.loading.then(() => this.load(id)).catch((error: unknown) => this.finish(error));
    });
    // The guard lets nothing through: it only ever ends (signed out, expired, suspended).
    guard.next().then(
      () => this.finish(),
      (error: unknown) => this.finish(error),
    );
  }

  private async load(id: number): Promise<void> {
    if (this.ended) return;
    const notification = await prisma().notification.findFirst({ where: { id, ...notificationVisibleWhere(this.viewer) } });
    if (!notification || this.ended) return;
    this.push({ notification, unreadCount: await unreadCount(this.viewer) });
  }

  private push(value: NotificationAdded): void {
    if (this.ended) return;
    const reader = this.waiting;
    this.waiting = undefined;
    if (reader) reader.resolve({ value, done: false });
    // Bounded: a client that does not read is ended, as the activity streams' slow readers are.
    else if (this.ready.push(value) > MAX_WAITING) {
      this.finish(new SubscriberTooSlowError(MAX_WAITING));
      probe.slowConsumer('notifications');
    }
  }

  private finish(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.stopListening();
    void this.guard.return?.();
    const reader = this.waiting;
    this.waiting = undefined;
    if (reader) {
      if (error === undefined) reader.resolve({ value: undefined, done: true });
      else reader.reject(error);
    } else this.failure = error;
  }

  next(): Promise<IteratorResult<NotificationAdded>> {
    const value = this.ready.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.failure !== undefined) {
      const error = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<NotificationAdded>> {
    this.finish();
    this.failure = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
