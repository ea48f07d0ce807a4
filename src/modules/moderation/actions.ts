import { z } from 'zod';
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { ModerationAction, Space } from '../../generated/prisma/client.js';
import type { ActivityVisibility, HideClassifier, LockReason, ModerationActionKind, ModerationStatus } from '../../generated/prisma/enums.js';
import { parseInput } from '../../validation.js';
import * as community from '../community/community.service.js';
import type { ContentRef } from '../community/community.service.js';
import { PUBLISHED_STATUSES } from '../community/policy.js';
import { setSuspension } from '../identity/identity.service.js';
import { requireModerator } from '../identity/guards.js';
import { assertMayModerateUser } from './policy.js';
import { resolveLockedSubject, type ResolvedSubject, type SubjectRef } from './subjects.js';

// Moderation actions: hide, remove, restore, lock, unlock, warn, suspend, unsuspend and bulk,
// each one entry in the moderation log.

export const reason = z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters');

type ActionSpec = {
  kind: ModerationActionKind;
  subject: ResolvedSubject;
  reason: string;
  classifier?: HideClassifier | null;
  lockReason?: LockReason | null;
  until?: Date | null;
  decidedAppealId?: number;
  /** APPEAL_REVERSED of a suspension: lift it. */
  liftSuspension?: boolean;
  /** Taken by the system on `actor`'s behalf (a trusted member's spam report): no actor recorded. */
  bySystem?: boolean;
};

/**
 * Applies one action in the caller's transaction: checks the subject's state allows it,
 * changes it, writes the ModerationAction row, and records the events.
 */
export async function applyAction(tx: Tx, activity: ActivityRecorder, actor: Viewer, spec: ActionSpec): Promise<ModerationAction> {
  const { subject } = spec;
  const name = `${subject.ref.typename} ${subject.ref.id}`;
  let space: Space | null = null;
  let targetUserId: number;
  let published = false;
  let access: { suspendedUntil: string | null } | undefined;
  // One instant for the change and its log entry: approved content counts as published then.
  const at = new Date();
  if (subject.kind === 'content') {
    const { content, ref } = subject;
    space = content.space;
    targetUserId = content.authorId;
    const status = content.moderationStatus;
    const setState = async (next: ModerationStatus, classifier: HideClassifier | null = null) => {
      await community.setModerationState(tx, ref, { status: next, classifier, reason: next === 'VISIBLE' ? null : spec.reason }, at);
      content.moderationStatus = next;
      content.moderationClassifier = classifier;
    };
    switch (spec.kind) {
      case 'HIDE':
        if (status !== 'VISIBLE' && status !== 'HIDDEN') throw new ConflictError(`${name} is ${status.toLowerCase()}; restore it first`);
        if (status === 'HIDDEN' && content.moderationClassifier === spec.classifier) throw new ConflictError(`${name} is already hidden as ${spec.classifier}`);
        await setState('HIDDEN', spec.classifier!);
        break;
      case 'REMOVE':
        if (status === 'REMOVED') throw new ConflictError(`${name} is already removed`);
        await setState('REMOVED');
        break;
      case 'RESTORE':
      case 'APPROVE':
        if (status === 'VISIBLE') throw new ConflictError(`${name} is not hidden, removed or held`);
        await setState('VISIBLE');
        break;
      case 'LOCK':
      case 'UNLOCK': {
        if (ref.typename !== 'Thread') throw ValidationError.field('input.threadId', 'must be the id of a Thread');
        const [from, to] = spec.kind === 'LOCK' ? (['OPEN', 'LOCKED'] as const) : (['LOCKED', 'OPEN'] as const);
        if (content.threadStatus !== from) throw new ConflictError(`${name} is ${content.threadStatus.toLowerCase()}`);
        await community.setThreadStatus(tx, ref.id, to);
        content.threadStatus = to;
        break;
      }
      case 'APPEAL_UPHELD':
      case 'APPEAL_REVERSED':
        break;
      default:
        throw ValidationError.field('input.subjectId', `must be the id of a User to ${spec.kind.toLowerCase()}`);
    }
    published = PUBLISHED_STATUSES.includes(content.moderationStatus);
  } else {
    const { user } = subject;
    targetUserId = user.id;
    assertMayModerateUser(actor, user, spec.kind);
    const suspended = !!user.suspendedUntil && user.suspendedUntil > new Date();
    switch (spec.kind) {
      case 'WARN':
      case 'APPEAL_UPHELD':
        break;
      case 'SUSPEND':
        await setSuspension(tx, user.id, spec.until!, spec.reason);
        access = { suspendedUntil: spec.until!.toISOString() };
        break;
      case 'UNSUSPEND':
      case 'APPEAL_REVERSED':
        if (spec.kind === 'UNSUSPEND' && !suspended) throw new ConflictError(`User ${user.id} is not suspended`);
        if (suspended && (spec.kind === 'UNSUSPEND' || spec.liftSuspension)) {
          await setSuspension(tx, user.id, null, null);
          access = { suspendedUntil: null };
        }
        break;
      default:
        throw ValidationError.field('input.subjectId', `must be the id of a Thread or Post to ${spec.kind.toLowerCase()}`);
    }
  }
  const content = subject.kind === 'content' ? subject.content : null;
  const action = await tx.moderationAction.create({
    data: {
      kind: spec.kind,
      actorId: spec.bySystem ? null : actor.id,
      subjectType: subject.ref.typename,
      subjectId: subject.ref.id,
      threadId: content?.threadId ?? null,
      postId: content?.typename === 'Post' ? content.id : null,
      spaceId: space?.id ?? null,
      targetUserId,
      reason: spec.reason,
      classifier: spec.classifier ?? null,
      lockReason: spec.lockReason ?? null,
      until: spec.until ?? null,
      decidedAppealId: spec.decidedAppealId ?? null,
      createdAt: at,
    },
  });
  // Public (what and why) to those who can see the content; about removed or held content,
  // or about a user, to moderators only. The user acted on hears it on their own stream.
  const visibility: ActivityVisibility = content && published ? 'SPACE' : 'MODERATORS';
  await activity.record({
    kind: 'MODERATION_ACTION',
    actorId: spec.bySystem ? null : actor.id,
    subject: { type: 'ModerationAction', id: action.id },
    space,
    threadId: content?.threadId ?? null,
    visibility,
  });
  await activity.record({
    kind: 'USER_MODERATED',
    actorId: spec.bySystem ? null : actor.id,
    subject: { type: 'User', id: targetUserId },
    visibility: 'SUBJECT_USER',
    ...(access && { access }),
  });
  return action;
}

const hideInput = z.object({
  classifier: z.enum(['SPAM', 'ABUSE', 'OFF_TOPIC', 'OUTDATED', 'DUPLICATE', 'RESOLVED', 'LOW_QUALITY']),
  reason,
});

export async function hideContent(viewer: Viewer | null, subject: ContentRef, input: { classifier: HideClassifier; reason: string }) {
  const actor = requireModerator(viewer);
  const data = parseInput(hideInput, input);
  return writeWithActivity(async (tx, activity) =>
    applyAction(tx, activity, actor, { kind: 'HIDE', subject: await resolveLockedSubject(tx, subject), reason: data.reason, classifier: data.classifier }),
  );
}

export async function removeContent(viewer: Viewer | null, subject: ContentRef, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'REMOVE', subject, input);
}

/** Publishes hidden, removed or held content again (held content: an APPROVE entry). */
export async function restoreContent(viewer: Viewer | null, subject: ContentRef, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'RESTORE', subject, input);
}

export async function unlockThread(viewer: Viewer | null, threadId: number, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'UNLOCK', { typename: 'Thread', id: threadId }, input);
}

async function reasonOnlyAction(viewer: Viewer | null, kind: ModerationActionKind, subject: SubjectRef, input: { reason: string }) {
  const actor = requireModerator(viewer);
  const data = parseInput(z.object({ reason }), input);
  return writeWithActivity(async (tx, activity) => {
    const resolved = await resolveLockedSubject(tx, subject);
    const effective = kind === 'RESTORE' && resolved.kind === 'content' && resolved.content.moderationStatus === 'HELD' ? 'APPROVE' : kind;
    return applyAction(tx, activity, actor, { kind: effective, subject: resolved, reason: data.reason });
  });
}

const lockInput = z.object({
  reason: z.enum(['OFF_TOPIC', 'TOO_HEATED', 'RESOLVED', 'SPAM']),
  note: z.string().trim().max(1000, 'must be at most 1000 characters').optional(),
});

/** The reason is one of four; the optional note explains it further (the log's reason text). */
export async function lockThread(viewer: Viewer | null, threadId: number, input: { reason: LockReason; note?: string | null }) {
  const actor = requireModerator(viewer);
  const data = parseInput(lockInput, { reason: input.reason, note: input.note ?? undefined });
  return writeWithActivity(async (tx, activity) =>
    applyAction(tx, activity, actor, {
      kind: 'LOCK',
      subject: await resolveLockedSubject(tx, { typename: 'Thread', id: threadId }),
      reason: data.note || data.reason,
      lockReason: data.reason,
    }),
  );
}

export async function warnUser(viewer: Viewer | null, userId: number, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'WARN', { typename: 'User', id: userId }, input);
}

export async function unsuspendUser(viewer: Viewer | null, userId: number, input: { reason: string }) {
  return reasonOnlyAction(viewer, 'UNSUSPEND', { typename: 'User', id: userId }, input);
}

const MAX_SUSPENSION_MS = 10 * 365 * 86_400_000;

export async function suspendUser(viewer: Viewer | null, userId: number, input: { until: Date; reason: string }) {
  const actor = requireModerator(viewer);
  const data = parseInput(
    z.object({
      until: z
        .date()
        .refine((until) => until.getTime() > Date.now(), 'must be in the future')
        .refine((until) => until.getTime() < Date.now() + MAX_SUSPENSION_MS, 'must be within 10 years'),
      reason,
    }),
    input,
  );
  return writeWithActivity(async (tx, activity) =>
    applyAction(tx, activity, actor, {
      kind: 'SUSPEND',
      subject: await resolveLockedSubject(tx, { typename: 'User', id: userId }),
      reason: data.reason,
      until: data.until,
    }),
  );
}

const MAX_BULK = 100;

/**
 * One action on up to 100 threads and posts, all or nothing: one transaction, so one missing
 * subject or one that can't take the action leaves every other as it was.
 */
export async function bulkModerate(
  viewer: Viewer | null,
  subjects: ContentRef[],
  input: { action: 'HIDE' | 'REMOVE' | 'RESTORE'; classifier?: HideClassifier | null; reason: string },
): Promise<ModerationAction[]> {
  const actor = requireModerator(viewer);
  const data = parseInput(
    z
      .object({
        action: z.enum(['HIDE', 'REMOVE', 'RESTORE']),
        classifier: hideInput.shape.classifier.optional(),
        reason,
        subjectIds: z.array(z.unknown()).min(1, 'give at least one subject').max(MAX_BULK, `must be at most ${MAX_BULK} subjects`),
      })
      .refine((value) => value.action !== 'HIDE' || value.classifier, { message: 'is required to hide', path: ['classifier'] }),
    { action: input.action, classifier: input.classifier ?? undefined, reason: input.reason, subjectIds: subjects },
  );
  const keys = subjects.map((s) => `${s.typename}:${s.id}`);
  const duplicate = keys.findIndex((key, i) => keys.indexOf(key) !== i);
  if (duplicate >= 0) throw ValidationError.field(`input.subjectIds.${duplicate}`, 'is listed twice');
  return writeWithActivity(async (tx, activity) => {
    // All locked up front, in the one order every writer uses (no deadlock with single actions).
    await community.lockContent(tx, subjects);
    const found = await community.findModeratedContent(tx, subjects);
    const actions: ModerationAction[] = [];
    for (const ref of subjects) {
      const content = found.get(`${ref.typename}:${ref.id}`);
      if (!content) throw new NotFoundError(ref.typename, String(ref.id));
      const kind = data.action === 'RESTORE' && content.moderationStatus === 'HELD' ? 'APPROVE' : data.action;
      actions.push(await applyAction(tx, activity, actor, { kind, subject: { kind: 'content', ref, content }, reason: data.reason, classifier: data.classifier }));
    }
    return actions;
  });
}
