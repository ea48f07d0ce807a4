import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Department, SupportCase } from '../../generated/prisma/client.js';
import { requireManager, requireViewer } from '../identity/guards.js';
import { CaseLog, displayName } from './timeline.js';

// Round-robin assignment among a department's on-duty members, for departments with autoAssign,
// and re-assignment of cases whose assignee has not answered in time (run by the SLA job).

/**
 * The on-duty member assigned least recently (never first, then by id), other than `skip`. The
 * department's member rows are locked for the rest of the transaction, so two cases opened at
 * once go to two different people.
 */
async function nextOnDuty(tx: Tx, departmentId: number, skip: number | null, at: Date): Promise<number | null> {
  // All of them locked, not just the one picked: a second transaction waits here and then reads
  // the first one's new lastAssignedAt, so it picks the next person.
  const onDuty = await tx.$queryRaw<{ userId: number; lastAssignedAt: Date | null }[]>`
    SELECT "userId", "lastAssignedAt" FROM "DepartmentMember"
    WHERE "departmentId" = ${departmentId} AND "onDuty"
    ORDER BY "userId"
    FOR UPDATE`;
  const [member] = onDuty
    .filter((m) => m.userId !== skip)
    .sort((a, b) => (a.lastAssignedAt?.getTime() ?? -Infinity) - (b.lastAssignedAt?.getTime() ?? -Infinity) || a.userId - b.userId);
  if (!member) return null;
  await tx.departmentMember.update({
    where: { departmentId_userId: { departmentId, userId: member.userId } },
    data: { lastAssignedAt: at },
  });
  return member.userId;
}

/** A new (or newly transferred) unassigned case of an auto-assigning department gets its next agent. */
export async function autoAssign(tx: Tx, log: CaseLog, kase: SupportCase): Promise<SupportCase> {
  if (kase.assigneeId !== null) return kase;
  const department = await tx.department.findUniqueOrThrow({ where: { id: kase.departmentId }, select: { autoAssign: true } });
  if (!department.autoAssign) return kase;
  const next = await nextOnDuty(tx, kase.departmentId, null, new Date());
  if (next === null) return kase;
  return setAssignee(tx, log, kase, next, null, 'Assigned automatically: round robin among the on-duty agents');
}

/** Goes on or off duty: members for themselves, managers and admins for anyone. */
export async function setOnDuty(
  viewer: Viewer | null,
  input: { departmentId: number; userId?: number; onDuty: boolean },
): Promise<Department> {
  const actor = requireViewer(viewer);
  const userId = input.userId ?? actor.id;
  if (userId !== actor.id) requireManager(actor, 'set the duty of others');
  const key = { departmentId_userId: { departmentId: input.departmentId, userId } };
  const member = await prisma().departmentMember.findUnique({ where: key });
  if (!member) throw new NotFoundError('DepartmentMember', String(userId));
  return writeWithActivity(async (tx, activity) => {
    await tx.departmentMember.update({ where: key, data: { onDuty: input.onDuty } });
    await activity.record({
      kind: 'DEPARTMENT_UPDATED',
      actorId: actor.id,
      subject: { type: 'Department', id: input.departmentId },
      visibility: 'STAFF',
    });
    return tx.department.findUniqueOrThrow({ where: { id: input.departmentId } });
  });
}

/**
 * Cases of auto-assigning departments, waiting on the team (NEW or OPEN), whose assignee has not
 * written a public reply since being assigned `afterMinutes` ago, go to the next on-duty agent;
 * the timeline says why. Claimed with FOR UPDATE SKIP LOCKED and re-checked inside the
 * transaction, so concurrent runners re-assign a case once.
 */
export async function reassignUnanswered(now: Date, afterMinutes: number): Promise<number> {
  const cutoff = new Date(now.getTime() - afterMinutes * 60_000);
  const candidates = await prisma().$queryRaw<{ id: number }[]>`
    SELECT c."id" FROM "SupportCase" c JOIN "Department" d ON d."id" = c."departmentId"
    WHERE d."autoAssign" AND c."status" IN ('NEW', 'OPEN') AND c."assigneeId" IS NOT NULL AND c."assignedAt" <= ${cutoff}
      AND NOT EXISTS (
        SELECT 1 FROM "CaseMessage" m
        WHERE m."caseId" = c."id" AND m."authorId" = c."assigneeId" AND NOT m."internal" AND m."createdAt" >= c."assignedAt")
    ORDER BY c."assignedAt", c."id"
    LIMIT 200`;
  let moved = 0;
  for (const { id } of candidates) if (await reassign(id, now, cutoff, afterMinutes)) moved++;
  return moved;
}

async function reassign(caseId: number, now: Date, cutoff: Date, afterMinutes: number): Promise<boolean> {
  return writeWithActivity(async (tx, activity) => {
    // NO KEY UPDATE: a row being inserted that references the case (key-share lock) must not make it skip.
    const [claimed] = await tx.$queryRaw<{ id: number }[]>`SELECT "id" FROM "SupportCase" WHERE "id" = ${caseId} FOR NO KEY UPDATE SKIP LOCKED`;
    if (!claimed) return false;
    const kase = await tx.supportCase.findUniqueOrThrow({ where: { id: caseId } });
    // Another runner may have moved it already, or the assignee answered meanwhile.
    if (kase.assigneeId === null || !kase.assignedAt || kase.assignedAt > cutoff || (kase.status !== 'NEW' && kase.status !== 'OPEN')) return false;
    const answered = await tx.caseMessage.count({
      where: { caseId, authorId: kase.assigneeId, internal: false, createdAt: { gte: kase.assignedAt } },
    });
    if (answered > 0) return false;
    const next = await nextOnDuty(tx, kase.departmentId, kase.assigneeId, now);
    if (next === null) return false;
    const previous = await tx.user.findUniqueOrThrow({ where: { id: kase.assigneeId }, select: { displayName: true } });
    const log = new CaseLog(tx);
    await setAssignee(tx, log, kase, next, null, `Re-assigned: ${previous.displayName} had not answered within ${afterMinutes} minutes`, now);
    await log.flush(activity);
    return true;
  });
}

/** Sets (or clears) the assignee, who must belong to the case's department. */
export async function setAssignee(
  tx: Tx,
  log: CaseLog,
  kase: SupportCase,
  assigneeId: number | null,
  actorId: number | null,
  reasonText?: string,
  /** When it happens: now, or the SLA job's own time. */
  at: Date = new Date(),
): Promise<SupportCase> {
  if (assigneeId !== null) {
    const member = await tx.departmentMember.findUnique({
      where: { departmentId_userId: { departmentId: kase.departmentId, userId: assigneeId } },
      select: { department: { select: { name: true } } },
    });
    if (!member) {
      const department = await tx.department.findUniqueOrThrow({ where: { id: kase.departmentId }, select: { name: true } });
      throw new ValidationError([{ path: ['input', 'assigneeId'], message: `must be a member of the case's department (${department.name})` }]);
    }
  }
  const updated = await tx.supportCase.update({
    where: { id: kase.id },
    data: { assigneeId, assignedAt: assigneeId === null ? null : at },
  });
  await log.add(updated, assigneeId === null
    ? { kind: 'UNASSIGNED', actorId, summary: 'No one is handling this case at the moment', reason: reasonText, reasonInternal: true }
    : { kind: 'ASSIGNED', actorId, summary: `${await displayName(tx, assigneeId)} is handling this case`, reason: reasonText, reasonInternal: true });
  return updated;
}
