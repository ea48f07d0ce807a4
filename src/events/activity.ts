import type { Tx } from '../db/client.js';
import { prisma } from '../db/client.js';
import { ConflictError } from '../errors.js';
import type { Activity, Prisma } from '../generated/prisma/client.js';
import type { ActivityKind, ActivityVisibility, SpaceVisibility } from '../generated/prisma/enums.js';
import { publishActivity, type AccessChange, type ActivityLogReader, type ActivityMessage } from './bus.js';

export type ActivityInput = {
  kind: ActivityKind;
  actorId: number | null;
  subject: {
    type:
      | 'Thread'
      | 'Post'
      | 'User'
      | 'Space'
      | 'ListeningAlert'
      | 'ModerationQueueItem'
      | 'ModerationAction'
      | 'Appeal'
      | 'Department'
      | 'SupportChannel'
      | 'SupportCase'
      | 'CaseTimelineEntry'
      | 'RoutingRule'
      | 'AutomodRule'
      | 'Badge'
      | 'BadgeAward';
    id: number;
  };
  space?: { id: number; visibility: SpaceVisibility } | null;
  threadId?: number | null;
  visibility?: ActivityVisibility;
  access?: AccessChange;
  /** Support events: who may receive them (see canReceive). */
  departmentId?: number | null;
  caseId?: number | null;
  requesterId?: number | null;
  /** About removed or held content: moderators only until it is restored (withdrawThreadEvents). */
  withdrawn?: boolean;
};

export type ActivityRecorder = { record(input: ActivityInput): Promise<void> };

/**
 * A transferred case's past events follow it: they now reach the new department's members (and
 * no longer the old one's), on every path that reads the log, as its timeline does. Only the
 * delivery rule of the rows changes; what happened and in which order stays as written.
 */
export async function moveCaseEvents(tx: Tx, caseId: number, departmentId: number): Promise<void> {
  await tx.activity.updateMany({ where: { caseId, visibility: { in: ['CASE', 'CASE_STAFF'] } }, data: { departmentId } });
}

/**
 * Removed (or held) content takes its events out of the log for all but moderators, on every
 * path that reads it (activityLog, replay, the bus's catch-up); restored or approved, they come
 * back. A thread withdraws every event in it; a post, the events whose subject it is (created,
 * edited, reacted to). Events written while content is withdrawn are written withdrawn (see
 * community.service unpublishedActivity), so they too come back with it.
 *
 * A thread coming back leaves withdrawn the events of its posts that still are (`keptPostIds`).
 */
export async function withdrawThreadEvents(tx: Tx, threadId: number, withdrawn: boolean, keptPostIds: number[] = []): Promise<void> {
  const kept: Prisma.ActivityWhereInput = { NOT: { subjectType: 'Post', subjectId: { in: keptPostIds } } };
  await tx.activity.updateMany({
    where: { threadId, withdrawn: !withdrawn, ...(!withdrawn && keptPostIds.length > 0 && kept) },
    data: { withdrawn },
  });
}

/** See withdrawThreadEvents; `threadId` keeps the update on the log's thread index. */
export async function withdrawPostEvents(tx: Tx, threadId: number, postId: number, withdrawn: boolean): Promise<void> {
  await tx.activity.updateMany({ where: { threadId, subjectType: 'Post', subjectId: postId, withdrawn: !withdrawn }, data: { withdrawn } });
}

/**
 * Runs a write in one transaction together with the activity rows it appends, then publishes
 * those rows once the transaction has committed (never an event for a rolled-back write).
 *
 * Activity ids come from a sequence at insert time, not in commit order: two concurrent writers
 * could commit ids 8 and 7 in that order, and a live stream (or a reader paging `id > cursor`)
 * would see 8 before 7, or never see 7. So appending to the log takes one transaction-scoped
 * advisory lock, held until commit: ids are handed out in commit order. `record` is the last
 * step of every write, so the lock covers only the insert and the commit. Within this process,
 * events are then published in the order the lock was granted (see `takeTurn`).
 */
export async function writeWithActivity<T>(work: (tx: Tx, activity: ActivityRecorder) => Promise<T>): Promise<T> {
  const recorded: ActivityMessage[] = [];
  let turn: Turn | undefined;
  let result: T;
  try {
    result = await runTransaction(async (tx) =>
      work(tx, {
        async record(input) {
          if (!turn) {
            await tx.$executeRaw`SELECT pg_advisory_xact_lock(7302)`;
            turn = takeTurn();
          }
          const row = await tx.activity.create({
            data: {
              kind: input.kind,
              actorId: input.actorId,
              subjectType: input.subject.type,
              subjectId: input.subject.id,
              spaceId: input.space?.id ?? null,
              threadId: input.threadId ?? null,
              visibility: input.visibility ?? 'SPACE',
              access: input.access,
              departmentId: input.departmentId ?? null,
              caseId: input.caseId ?? null,
              requesterId: input.requesterId ?? null,
              withdrawn: input.withdrawn ?? false,
            },
          });
          recorded.push(toActivityMessage(row, input.space?.visibility ?? null));
        },
      }),
    );
  } catch (error) {
    turn?.done([]);
    throw error;
  }
  turn?.done(recorded);
  return result;
}

type Turn = { messages: ActivityMessage[] | undefined; done(messages: ActivityMessage[]): void };
const turns: Turn[] = [];

/**
 * A place in the publishing queue, taken right after the append lock is granted, so in id order.
 * A turn publishes its events once it and every earlier turn are done (committed or rolled back).
 */
function takeTurn(): Turn {
  const turn: Turn = {
    messages: undefined,
    done(messages) {
      turn.messages = messages;
      while (turns.length > 0 && turns[0].messages !== undefined) {
        for (const message of turns.shift()!.messages!) publishActivity(message);
      }
    },
  };
  turns.push(turn);
  return turn;
}

/**
 * A unique-constraint race (two writers passing the same "is it free?" check at once) is a
 * conflict the client can act on, not an internal error.
 */
async function runTransaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    // Writes queue for the log's append lock; under a burst, waiting for a connection or the
    // lock can take longer than Prisma's 2 s default, which would fail the write.
    return await prisma().$transaction(work, { maxWait: 10_000, timeout: 15_000 });
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') {
      throw new ConflictError('This conflicts with something that already exists; nothing was changed');
    }
    throw error;
  }
}

/** Log rows after `afterId` (and before `beforeId`), oldest first, at most `take`, as bus messages. */
async function readActivityBetween(afterId: bigint, beforeId: bigint | undefined, take: number): Promise<ActivityMessage[]> {
  const rows = await prisma().activity.findMany({
    where: { id: { gt: afterId, ...(beforeId !== undefined && { lt: beforeId }) } },
    include: { space: { select: { visibility: true } } },
    orderBy: { id: 'asc' },
    take,
  });
  return rows.map((row) => toActivityMessage(row, row.space?.visibility ?? null));
}

/** What the event bus reads to deliver in order and to catch up after a Redis outage. */
export const activityLogReader: ActivityLogReader = {
  readBetween: readActivityBetween,
  async latestId() {
    const newest = await prisma().activity.findFirst({ select: { id: true }, orderBy: { id: 'desc' } });
    return newest?.id ?? 0n;
  },
};

export function toActivityMessage(row: Activity, spaceVisibility: SpaceVisibility | null): ActivityMessage {
  return {
    id: row.id.toString(),
    kind: row.kind,
    actorId: row.actorId,
    subjectType: row.subjectType,
    subjectId: row.subjectId,
    spaceId: row.spaceId,
    spaceVisibility,
    threadId: row.threadId,
    // Withdrawn, a space's event reaches moderators only, live as in the log (visibleActivityWhere).
    visibility: row.withdrawn && row.visibility === 'SPACE' ? 'MODERATORS' : row.visibility,
    occurredAt: row.occurredAt.toISOString(),
    departmentId: row.departmentId,
    caseId: row.caseId,
    requesterId: row.requesterId,
    ...(row.access != null && { access: row.access as AccessChange }),
  };
}
