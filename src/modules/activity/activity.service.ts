import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { subscribeActivity, type ActivityMessage } from '../../events/bus.js';
import { toActivityMessage } from '../../events/activity.js';
import { Deadlines, type Deadline } from '../../deadlines.js';
import { CursorExpiredError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { ActivityKind } from '../../generated/prisma/enums.js';
import { canManageCommunity, canModerate, isAdmin, isStaff } from '../identity/roles.js';
import { canSeeSpace, visibleSpaceVisibilities } from '../community/policy.js';
import { membershipCounts, viewerDepartmentIds } from '../support/policy.js';

export type ActivityFilter = { kinds?: ActivityKind[]; spaceIds?: number[]; threadId?: number };

/** A viewer as a live subscription sees it: with the support departments they belong to. */
export type ActivityViewer = Viewer & { departmentIds?: number[] };

// ---- Delivery rules: `canReceive` for one live event, `visibleActivityWhere` for reads from the
// log. The same rule in two forms; test/activity.test.ts and activity-replay.test.ts check both.

/** Whether this viewer may receive this event: checked per event, at delivery time. */
export function canReceive(viewer: ActivityViewer | null, event: ActivityMessage): boolean {
  switch (event.visibility) {
    case 'CASE':
      return !!viewer && (viewer.id === event.requesterId || isCaseStaff(viewer, event));
    case 'CASE_STAFF':
      return !!viewer && isCaseStaff(viewer, event);
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

// Staff of a case: members of its department, managers and admins (see support/policy.ts). The
// role is the one of this moment: a membership counts only while the role can join departments.
function isCaseStaff(viewer: ActivityViewer, event: ActivityMessage): boolean {
  return (
    canManageCommunity(viewer.role) ||
    (event.departmentId != null && membershipCounts(viewer.role) && !!viewer.departmentIds?.includes(event.departmentId))
  );
}

/**
 * Keeps an open subscription's viewer current: a role change applies from the next event on, and
 * signing out the session the subscription was opened with ends it (the iterator fails with
 * UnauthenticatedError). Both arrive in the ordered event stream, on every instance.
 */
export function applyAccessChange(viewer: ActivityViewer | null, event: ActivityMessage, whileSuspended = false): void {
  if (viewer && event.subjectType === 'User' && event.subjectId === viewer.id && event.departmentId != null) {
    // Joining or leaving a support department changes which case events reach this viewer.
    const others = (viewer.departmentIds ?? []).filter((id) => id !== event.departmentId);
    if (event.kind === 'DEPARTMENT_MEMBER_ADDED') viewer.departmentIds = [...others, event.departmentId];
    if (event.kind === 'DEPARTMENT_MEMBER_REMOVED') viewer.departmentIds = others;
  }
  if (!viewer || !event.access || event.subjectType !== 'User' || event.subjectId !== viewer.id) return;
  if (event.access.revokedSessionId === viewer.sessionId || event.access.revokedSessionIds?.includes(viewer.sessionId)) {
    throw new UnauthenticatedError('This access token was revoked; sign in again and resubscribe');
  }
  if (event.access.role) viewer.role = event.access.role;
  if (event.access.suspendedUntil !== undefined) {
    viewer.suspendedUntil = event.access.suspendedUntil === null ? null : new Date(event.access.suspendedUntil);
    if (!whileSuspended) assertSubscriberNotSuspended(viewer);
  }
}

/** A suspended user's subscriptions end (and new ones are refused) until the suspension ends. */
function assertSubscriberNotSuspended(viewer: Viewer | null): void {
  if (viewer?.suspendedUntil && viewer.suspendedUntil > new Date()) {
    throw new ForbiddenError(`Your account is suspended until ${viewer.suspendedUntil.toISOString()}; live activity is paused`);
  }
}

function matchesFilter(filter: ActivityFilter, event: ActivityMessage): boolean {
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
  if (viewer && canManageCommunity(viewer.role)) allowed.push({ visibility: { in: ['CASE', 'CASE_STAFF'] } });
  else if (viewer) {
    // Department membership as it is now, the same set a live subscription starts from.
    const inDepartment: Prisma.ActivityWhereInput = membershipCounts(viewer.role)
      ? { department: { members: { some: { userId: viewer.id } } } }
      : { id: -1n };
    allowed.push({ visibility: 'CASE', OR: [{ requesterId: viewer.id }, inDepartment] }, { visibility: 'CASE_STAFF', ...inDepartment });
  }
  return {
    OR: allowed,
    // The events of a removed or held thread or post are for moderators only (withdrawThreadEvents).
    ...(!(viewer && canModerate(viewer.role)) && { withdrawn: false }),
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
  /**
   * The operation's viewer (its context's). The stream puts its own copy here, the one role
   * changes update, so each event's fields are resolved with the rights the viewer has when it
   * is delivered: a demoted admin stops reading emails, a demoted moderator hidden bodies.
   */
  viewer?: Viewer | null;
};

// Module-level, not an inline default: a closure in a parameter default is allocated per call.
const everyEvent = () => true;

// Every open stream's token expiry, on one timer: an idle subscription holds a heap entry, not a Timeout.
const tokenExpiries = new Deadlines();

/** Live streams waiting for their token to expire (each open stream of a signed-in viewer has one). */
export function pendingTokenExpiries(): number {
  return tokenExpiries.size;
}

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
  scope: {
    /** Narrows the stream further (one support case's entries, say). */
    only?: (event: ActivityMessage) => boolean;
    /** Stays open while the viewer is suspended (their own support cases: see support/policy.ts). */
    whileSuspended?: boolean;
  } = {},
): Promise<AsyncIterableIterator<ActivityMessage>> {
  const { only = everyEvent, whileSuspended = false } = scope;
  // A suspended user's live activity is paused until the suspension ends.
  if (!whileSuspended) assertSubscriberNotSuspended(signedIn);
  if (after) await assertResumableCursor(after.id, after.cursor);
  // A copy: role and department changes seen in the stream update this subscription's rights only.
  const viewer: ActivityViewer | null = signedIn && { ...signedIn, departmentIds: [] };
  if (transport.viewer !== undefined) transport.viewer = viewer;
  // Kept as long as the stream: lists sized to their contents (GraphQL builds argument lists by
  // push, with room for 17).
  const kept: ActivityFilter = { kinds: filter.kinds?.slice(), spaceIds: filter.spaceIds?.slice(), threadId: filter.threadId };
  let expiry: Deadline | undefined;
  // Subscribed before any replay, so what commits during the replay is not lost.
  const live = subscribeActivity(
    (event) => {
      applyAccessChange(viewer, event, whileSuspended);
      return matchesFilter(kept, event) && only(event) && canReceive(viewer, event);
    },
    // Methods, not arrow properties: tsx (keepNames) gives each instance of a named arrow its own
    // `name` property, a dictionary of about 256 bytes per subscription.
    {
      transportBytes: transport.transportBufferedBytes,
      onOverflow(error) {
        // 1008 Policy Violation: the client reads slower than events arrive.
        transport.closeConnection?.(1008, error.message);
      },
      onEnd() {
        if (expiry) tokenExpiries.cancel(expiry);
      },
    },
  );
  if (viewer) {
    // Support departments, read once subscribed so a membership change in between is not lost;
    // later changes arrive as DEPARTMENT_MEMBER_* events (applyAccessChange).
    try {
      viewer.departmentIds = await viewerDepartmentIds(viewer);
    } catch (error) {
      await live.return?.();
      throw error;
    }
    // Not for a stream that ended meanwhile: its onEnd has run, and nothing would cancel this.
    if (!live.ended) {
      expiry = tokenExpiries.add(viewer.sessionExpiresAt.getTime(), () =>
        live.fail(new UnauthenticatedError('This access token has expired; sign in again and resubscribe')),
      );
    }
  }
  return after ? replayThenLive(viewer, kept, after.id, live) : live;
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
