import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { subscribeActivity, type ActivityMessage } from '../../events/bus.js';
import { toActivityMessage } from '../../events/activity.js';
import { CursorExpiredError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { ActivityKind } from '../../generated/prisma/enums.js';
import { canManageCommunity, canModerate, isAdmin, isStaff } from '../identity/roles.js';
import { canSeeSpace, visibleSpaceVisibilities } from '../community/visibility.js';

export type ActivityFilter = { kinds?: ActivityKind[]; spaceIds?: number[]; threadId?: number };

// ---- Delivery rules: `canReceive` for one live event, `visibleActivityWhere` for reads from the
// log. The same rule in two forms; test/activity.test.ts and activity-replay.test.ts check both.

/** Whether this viewer may receive this event: checked per event, at delivery time. */
export function canReceive(viewer: Viewer | null, event: ActivityMessage): boolean {
  switch (event.visibility) {
    case 'STAFF':
      return !!viewer && isStaff(viewer.role);
    case 'MODERATORS':
      return !!viewer && canModerate(viewer.role);
    case 'SUBJECT_USER':
      return !!viewer && ((event.subjectType === 'User' && event.subjectId === viewer.id) || isAdmin(viewer.role));
    case 'MANAGERS':
      return !!viewer && canManageCommunity(viewer.role);
    case 'SPACE':
      return event.spaceVisibility == null || canSeeSpace(viewer, event.spaceVisibility);
  }
}

/**
 * Keeps an open subscription's viewer current: a role change applies from the next event on, and
 * signing out the session the subscription was opened with ends it (the iterator fails with
 * UnauthenticatedError). Both arrive in the ordered event stream, on every instance.
 */
export function applyAccessChange(viewer: Viewer | null, event: ActivityMessage): void {
  if (!viewer || !event.access || event.subjectType !== 'User' || event.subjectId !== viewer.id) return;
  if (event.access.revokedSessionId === viewer.sessionId) {
    throw new UnauthenticatedError('This access token was revoked; sign in again and resubscribe');
  }
  if (event.access.role) viewer.role = event.access.role;
  if (event.access.suspendedUntil !== undefined) {
    viewer.suspendedUntil = event.access.suspendedUntil === null ? null : new Date(event.access.suspendedUntil);
    assertSubscriberNotSuspended(viewer);
  }
}

/** A suspended user's subscriptions end (and new ones are refused) until the suspension ends. */
export function assertSubscriberNotSuspended(viewer: Viewer | null): void {
  if (viewer?.suspendedUntil && viewer.suspendedUntil > new Date()) {
    throw new ForbiddenError(`Your account is suspended until ${viewer.suspendedUntil.toISOString()}; live activity is paused`);
  }
}

export function matchesFilter(filter: ActivityFilter, event: ActivityMessage): boolean {
  if (filter.kinds?.length && !filter.kinds.includes(event.kind)) return false;
  if (filter.spaceIds?.length && (event.spaceId == null || !filter.spaceIds.includes(event.spaceId))) return false;
  if (filter.threadId !== undefined && event.threadId !== filter.threadId) return false;
  return true;
}

function visibleActivityWhere(viewer: Viewer | null, filter: ActivityFilter): Prisma.ActivityWhereInput {
  const allowed: Prisma.ActivityWhereInput[] = [
    { visibility: 'SPACE', OR: [{ spaceId: null }, { space: { visibility: { in: visibleSpaceVisibilities(viewer) } } }] },
  ];
  if (viewer && isStaff(viewer.role)) allowed.push({ visibility: 'STAFF' });
  if (viewer && canManageCommunity(viewer.role)) allowed.push({ visibility: 'MANAGERS' });
  if (viewer && canModerate(viewer.role)) allowed.push({ visibility: 'MODERATORS' });
  if (viewer && isAdmin(viewer.role)) allowed.push({ visibility: 'SUBJECT_USER' });
  else if (viewer) allowed.push({ visibility: 'SUBJECT_USER', subjectType: 'User', subjectId: viewer.id });
  return {
    OR: allowed,
    ...(filter.kinds?.length && { kind: { in: filter.kinds } }),
    ...(filter.spaceIds?.length && { spaceId: { in: filter.spaceIds } }),
    ...(filter.threadId !== undefined && { threadId: filter.threadId }),
  };
}

// ---- Cursors ------------------------------------------------------------------------------------

// Fixed-width hex of the log id: opaque to clients, and a later event's cursor sorts after an
// earlier one's even as plain strings.
const CURSOR = /^act_([0-9a-f]{16})$/;

export function encodeActivityCursor(id: string | bigint): string {
  return `act_${BigInt(id).toString(16).padStart(16, '0')}`;
}

export function decodeActivityCursor(cursor: string, path: string): bigint {
  const match = CURSOR.exec(cursor);
  if (!match) throw ValidationError.field(path, 'is not an activity cursor (an ActivityEvent id)');
  return BigInt(`0x${match[1]}`);
}

/**
 * A cursor the log never handed out is an error, not a silent restart from "now"; so is one older
 * than what retention kept (see jobs/activity-retention.ts): replaying from it would skip events.
 */
export async function assertResumableCursor(id: bigint, cursor: string): Promise<void> {
  const [bounds] = await prisma().$queryRaw<{ newest: bigint | null; prunedThrough: bigint | null }[]>`
    SELECT (SELECT max("id") FROM "Activity") AS "newest",
           (SELECT "prunedThroughId" FROM "ActivityPruning" WHERE "id" = 1) AS "prunedThrough"`;
  if (bounds.newest == null || id > bounds.newest) throw new NotFoundError('ActivityEvent', cursor);
  if (bounds.prunedThrough != null && id < bounds.prunedThrough) throw new CursorExpiredError(cursor);
}

// ---- Reads --------------------------------------------------------------------------------------

const REPLAY_PAGE = 500;

/** Events after `afterId` that the viewer may see, oldest first, one page at a time. */
export async function* replayActivity(
  viewer: Viewer | null,
  filter: ActivityFilter,
  afterId: bigint,
): AsyncGenerator<ActivityMessage> {
  let cursor = afterId;
  for (;;) {
    const page = await readLog(viewer, filter, { after: cursor, take: REPLAY_PAGE });
    for (const event of page) yield event;
    if (page.length < REPLAY_PAGE) return;
    cursor = BigInt(page[page.length - 1].id);
  }
}

/**
 * Replays what the viewer missed since `afterId`, then continues with `live` (subscribed before
 * the replay started, so nothing committed meanwhile is lost), skipping what the replay already
 * sent. Log ids are handed out in commit order (see writeWithActivity), so "greater id" is "later".
 */
export async function* replayThenLive(
  viewer: Viewer | null,
  filter: ActivityFilter,
  afterId: bigint,
  live: AsyncIterableIterator<ActivityMessage>,
): AsyncGenerator<ActivityMessage> {
  let last = afterId;
  try {
    for await (const event of replayActivity(viewer, filter, afterId)) {
      last = BigInt(event.id);
      yield event;
    }
    for await (const event of live) {
      if (BigInt(event.id) <= last) continue;
      last = BigInt(event.id);
      yield event;
    }
  } finally {
    await live.return?.();
  }
}

export type StreamTransport = {
  /** Closes the client's connection (graphql-ws), e.g. when it reads too slowly. */
  closeConnection?: (code: number, reason: string) => void;
  /** Bytes the transport holds for the client, counted against the subscriber's bound. */
  transportBufferedBytes?: () => number;
};

/**
 * The `activity` subscription: live events the viewer may receive, filtered, checked as each one
 * arrives with the viewer's rights as they are then; with `afterId`, what was missed first. It
 * ends when the viewer's token expires or is revoked, and when the client reads too slowly.
 */
export async function openActivityStream(
  signedIn: Viewer | null,
  filter: ActivityFilter,
  after: { id: bigint; cursor: string } | undefined,
  transport: StreamTransport,
): Promise<AsyncIterableIterator<ActivityMessage>> {
  // A suspended user's live activity is paused until the suspension ends.
  assertSubscriberNotSuspended(signedIn);
  if (after) await assertResumableCursor(after.id, after.cursor);
  // A copy: role changes seen in the stream update this subscription's rights only.
  const viewer = signedIn && { ...signedIn };
  let expiry: { cancel(): void } | undefined;
  // Subscribed before any replay, so what commits during the replay is not lost.
  const live = subscribeActivity(
    (event) => {
      applyAccessChange(viewer, event);
      return matchesFilter(filter, event) && canReceive(viewer, event);
    },
    {
      transportBytes: transport.transportBufferedBytes,
      // 1008 Policy Violation: the client reads slower than events arrive.
      onOverflow: (error) => transport.closeConnection?.(1008, error.message),
      onEnd: () => expiry?.cancel(),
    },
  );
  if (viewer) {
    expiry = onExpiry(viewer.sessionExpiresAt, () =>
      live.fail(new UnauthenticatedError('This access token has expired; sign in again and resubscribe')),
    );
  }
  return after ? replayThenLive(viewer, filter, after.id, live) : live;
}

// setTimeout takes at most 2^31-1 ms (about 24.8 days); tokens live longer, so wait in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

function onExpiry(at: Date, expire: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = at.getTime() - Date.now();
    if (left <= 0) return expire();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/** A page of the log for `activityLog`: after/before a cursor, oldest first. */
export async function readLog(
  viewer: Viewer | null,
  filter: ActivityFilter,
  page: { after?: bigint; before?: bigint; take: number; newestFirst?: boolean },
): Promise<ActivityMessage[]> {
  const rows = await prisma().activity.findMany({
    where: {
      ...visibleActivityWhere(viewer, filter),
      id: { ...(page.after !== undefined && { gt: page.after }), ...(page.before !== undefined && { lt: page.before }) },
    },
    include: { space: { select: { visibility: true } } },
    orderBy: { id: page.newestFirst ? 'desc' : 'asc' },
    take: page.take,
  });
  const events = rows.map((row) => toActivityMessage(row, row.space?.visibility ?? null));
  return page.newestFirst ? events.reverse() : events;
}
