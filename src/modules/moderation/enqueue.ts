import type { Tx } from '../../db/client.js';
import type { ActivityRecorder } from '../../events/activity.js';
import type { SubjectRef } from './subjects.js';

// How a subject joins the moderation queue, and its priority there. It reads no content and
// imports no community code, so automod (which community's writes call) can open items
// without a runtime import cycle back into community.

// One day waiting weighs as much as one report from a TL1 reporter (flag weight 1).
const AGE_WEIGHT_PER_HOUR = 1 / 24;
// An automod FLAG or HOLD weighs as one ordinary report.
const AUTOMOD_WEIGHT = 1;

/**
 * Adds weight to the subject's open (OPEN or CLAIMED) queue item, creating it if there is
 * none, in one statement: two reports of one subject at once still make one item.
 */
export async function joinQueue(
  tx: Tx,
  input: { subject: SubjectRef; spaceId: number | null; weight: number; reports: number; ruleId: number | null },
): Promise<number> {
  const [row] = await tx.$queryRaw<{ id: number }[]>`
    INSERT INTO "ModerationQueueItem" ("subjectType", "subjectId", "spaceId", "status", "reportCount", "weight", "rank", "automodRuleId", "createdAt", "updatedAt")
    VALUES (${input.subject.typename}, ${input.subject.id}, ${input.spaceId}, 'OPEN', ${input.reports}, ${input.weight},
            ${input.weight} - ${AGE_WEIGHT_PER_HOUR} * extract(epoch FROM now()) / 3600, ${input.ruleId}, now(), now())
    ON CONFLICT ("subjectType", "subjectId") WHERE "status" IN ('OPEN', 'CLAIMED') DO UPDATE SET
      "reportCount" = "ModerationQueueItem"."reportCount" + EXCLUDED."reportCount",
      "weight" = "ModerationQueueItem"."weight" + EXCLUDED."weight",
      "rank" = "ModerationQueueItem"."rank" + EXCLUDED."weight",
      "automodRuleId" = coalesce("ModerationQueueItem"."automodRuleId", EXCLUDED."automodRuleId"),
      "updatedAt" = now()
    RETURNING id`;
  return row.id;
}

/** Automod's FLAG or HOLD: the content joins the queue (called by automod.recordScreening). */
export async function openQueueItemForAutomod(
  tx: Tx,
  activity: ActivityRecorder,
  subject: { typename: 'Thread' | 'Post'; id: number; spaceId: number; threadId: number; ruleId: number },
): Promise<void> {
  const itemId = await joinQueue(tx, { subject, spaceId: subject.spaceId, weight: AUTOMOD_WEIGHT, reports: 0, ruleId: subject.ruleId });
  const space = await tx.space.findUniqueOrThrow({ where: { id: subject.spaceId } });
  await activity.record({
    kind: 'AUTOMOD_FLAGGED',
    actorId: null,
    subject: { type: 'ModerationQueueItem', id: itemId },
    space,
    threadId: subject.threadId,
    visibility: 'MODERATORS',
  });
}

/** The priority shown for an item now: its weight plus a day's weight per day waited. */
export function queuePriority(item: { weight: number; createdAt: Date }): number {
  const hours = (Date.now() - item.createdAt.getTime()) / 3_600_000;
  return Math.round((item.weight + AGE_WEIGHT_PER_HOUR * hours) * 1000) / 1000;
}
