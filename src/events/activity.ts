import type { Tx } from '../db/client.js';
import { prisma } from '../db/client.js';
import { ConflictError } from '../errors.js';
import type { Activity } from '../generated/prisma/client.js';
import type { ActivityKind, ActivityVisibility, SpaceVisibility } from '../generated/prisma/enums.js';
import { publishActivity, type ActivityMessage } from './bus.js';

export type ActivityInput = {
  kind: ActivityKind;
  actorId: number | null;
  subject: { type: 'Thread' | 'Post' | 'User' | 'Space'; id: number };
  space?: { id: number; visibility: SpaceVisibility } | null;
  threadId?: number | null;
  visibility?: ActivityVisibility;
};

export type ActivityRecorder = { record(input: ActivityInput): Promise<void> };

/**
 * Runs a write in one transaction together with the activity rows it appends, then publishes
 * those rows once the transaction has committed (never an event for a rolled-back write).
 */
export async function writeWithActivity<T>(work: (tx: Tx, activity: ActivityRecorder) => Promise<T>): Promise<T> {
  const recorded: ActivityMessage[] = [];
  const result = await runTransaction(async (tx) =>
    work(tx, {
      async record(input) {
        const row = await tx.activity.create({
          data: {
            kind: input.kind,
            actorId: input.actorId,
            subjectType: input.subject.type,
            subjectId: input.subject.id,
            spaceId: input.space?.id ?? null,
            threadId: input.threadId ?? null,
            visibility: input.visibility ?? 'SPACE',
          },
        });
        recorded.push(toMessage(row, input.space?.visibility ?? null));
      },
    }),
  );
  for (const message of recorded) publishActivity(message);
  return result;
}

/**
 * A unique-constraint race (two writers passing the same "is it free?" check at once) is a
 * conflict the client can act on, not an internal error.
 */
async function runTransaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await prisma().$transaction(work);
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') {
      throw new ConflictError('This conflicts with something that already exists; nothing was changed');
    }
    throw error;
  }
}

function toMessage(row: Activity, spaceVisibility: SpaceVisibility | null): ActivityMessage {
  return {
    id: row.id.toString(),
    kind: row.kind,
    actorId: row.actorId,
    subjectType: row.subjectType,
    subjectId: row.subjectId,
    spaceId: row.spaceId,
    spaceVisibility,
    threadId: row.threadId,
    visibility: row.visibility,
    occurredAt: row.occurredAt.toISOString(),
  };
}
