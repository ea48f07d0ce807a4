import { DateTime } from 'luxon';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { writeWithActivity, type ActivityInput, type ActivityRecorder } from '../../events/activity.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { Department, Prisma } from '../../generated/prisma/client.js';
import { parseInput, withoutNulls } from '../../validation.js';
import { requireManager, requireRole } from '../identity/guards.js';
import { STAFF_ROLES } from '../identity/roles.js';
import { canJoinDepartment, SUPPORT_SETUP } from './policy.js';
import { autoAssign, setAssignee } from './assignment.js';
import { isValidTimeZone, type WeeklyInterval } from './business-hours.js';
import { CaseLog } from './timeline.js';

// Departments: the teams that handle cases, their business hours and their members.

const WEEKDAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;
/** departments: staff only (managers change them). */
export function departmentListWhere(viewer: Viewer | null): Prisma.DepartmentWhereInput {
  requireRole(viewer, STAFF_ROLES);
  return {};
}

export type Weekday = (typeof WEEKDAYS)[number];

const TIME = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;
const clockTime = z
  .string()
  .regex(TIME, 'must be a 24-hour time "HH:MM" from 00:00 to 24:00')
  .transform((value) => Number(value.slice(0, 2)) * 60 + Number(value.slice(3)));

export const name = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
/** Holidays a department may list (more than the 100 items a list argument takes by default). */
export const MAX_HOLIDAYS = 2000;
const timeZone = z.string().trim().refine(isValidTimeZone, 'must be an IANA time zone such as "Europe/Madrid"');
const weeklyHours = z
  .array(z.object({ day: z.enum(WEEKDAYS), opens: clockTime, closes: clockTime }))
  .max(70, 'at most 70 intervals')
  .superRefine((intervals, ctx) => {
    intervals.forEach((interval, i) => {
      // zod still runs this when a time failed to parse; those already have their error.
      if (typeof interval.opens !== 'number' || typeof interval.closes !== 'number') return;
      if (interval.opens >= interval.closes) {
        ctx.addIssue({ code: 'custom', path: [i, 'closes'], message: 'must be after opens' });
        return;
      }
      const overlapping = intervals.some(
        (other, j) => j < i && other.day === interval.day && other.opens < interval.closes && interval.opens < other.closes,
      );
      if (overlapping) ctx.addIssue({ code: 'custom', path: [i], message: `overlaps another interval on ${interval.day}` });
    });
  })
  .transform((intervals): WeeklyInterval[] =>
    intervals.map(({ day, opens, closes }) => ({ day: WEEKDAYS.indexOf(day) + 1, opens, closes })),
  );
const holidays = z
  .array(
    z
      .string()
      .refine((value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value).isValid, 'must be a date "YYYY-MM-DD"'),
  )
  .max(MAX_HOLIDAYS, `at most ${MAX_HOLIDAYS} dates`)
  .transform((dates) => [...new Set(dates)].sort());

const createDepartmentInput = z.object({ name, timeZone, weeklyHours, holidays: holidays.default([]), autoAssign: z.boolean().default(false) });
const updateDepartmentInput = z.object({
  autoAssign: z.boolean().optional(),
  name: name.optional(),
  timeZone: timeZone.optional(),
  weeklyHours: weeklyHours.optional(),
  holidays: holidays.optional(),
});

type WeeklyHoursInput = { day: Weekday; opens: string; closes: string }[];
type DepartmentInput = {
  name: string;
  timeZone: string;
  weeklyHours: WeeklyHoursInput;
  holidays?: string[] | null;
  autoAssign?: boolean | null;
};

export async function createDepartment(viewer: Viewer | null, input: DepartmentInput): Promise<Department> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  const data = parseInput(createDepartmentInput, withoutNulls(input));
  return writeWithActivity(async (tx, activity) => {
    await assertDepartmentNameFree(tx, data.name);
    const department = await tx.department.create({ data });
    await activity.record({ kind: 'DEPARTMENT_CREATED', actorId: actor.id, subject: { type: 'Department', id: department.id }, visibility: 'STAFF' });
    return department;
  });
}

export async function updateDepartment(
  viewer: Viewer | null,
  departmentId: number,
  input: Partial<{ [K in keyof DepartmentInput]: DepartmentInput[K] | null }>,
): Promise<Department> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  const data = parseInput(updateDepartmentInput, withoutNulls(input));
  return writeWithActivity(async (tx, activity) => {
    const existing = await tx.department.findUnique({ where: { id: departmentId } });
    if (!existing) throw new NotFoundError('Department', String(departmentId));
    if (data.name && data.name !== existing.name) await assertDepartmentNameFree(tx, data.name);
    const department = await tx.department.update({ where: { id: departmentId }, data });
    await activity.record({ kind: 'DEPARTMENT_UPDATED', actorId: actor.id, subject: { type: 'Department', id: department.id }, visibility: 'STAFF' });
    return department;
  });
}

async function assertDepartmentNameFree(tx: Tx, departmentName: string): Promise<void> {
  if (await tx.department.findUnique({ where: { name: departmentName }, select: { id: true } })) {
    throw new ConflictError(`A department named "${departmentName}" already exists`);
  }
}

/** Adds a member, or changes whether an existing member is a lead. */
export async function addDepartmentMember(
  viewer: Viewer | null,
  input: { departmentId: number; userId: number; lead?: boolean | null },
): Promise<Department> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  return writeWithActivity(async (tx, activity) => {
    const department = await tx.department.findUnique({ where: { id: input.departmentId } });
    if (!department) throw new NotFoundError('Department', String(input.departmentId));
    const user = await tx.user.findUnique({ where: { id: input.userId }, select: { id: true, role: true } });
    if (!user) throw new NotFoundError('User', String(input.userId));
    if (!canJoinDepartment(user.role)) {
      throw new ValidationError([{ path: ['input', 'userId'], message: `must be an AGENT, COMMUNITY_MANAGER or ADMIN (this user is a ${user.role})` }]);
    }
    const key = { departmentId_userId: { departmentId: department.id, userId: user.id } };
    const existing = await tx.departmentMember.findUnique({ where: key });
    const lead = input.lead ?? existing?.lead ?? false;
    if (existing && existing.lead === lead) return department;
    await tx.departmentMember.upsert({ where: key, create: { departmentId: department.id, userId: user.id, lead }, update: { lead } });
    // About the member, with the department: live subscriptions of that user start (or stop)
    // receiving the department's case events from here on (see applyAccessChange).
    await activity.record({
      kind: 'DEPARTMENT_MEMBER_ADDED',
      actorId: actor.id,
      subject: { type: 'User', id: user.id },
      departmentId: department.id,
      visibility: 'STAFF',
    });
    return department;
  });
}

export async function removeDepartmentMember(
  viewer: Viewer | null,
  input: { departmentId: number; userId: number },
): Promise<Department> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  return writeWithActivity(async (tx, activity) => {
    const department = await tx.department.findUnique({ where: { id: input.departmentId } });
    if (!department) throw new NotFoundError('Department', String(input.departmentId));
    const log = new CaseLog(tx);
    if (!(await leaveDepartment(tx, log, department.id, input.userId, actor.id, 'The assignee left the department'))) {
      throw new NotFoundError('DepartmentMember', String(input.userId));
    }
    // The member hears they left first: the entries of the cases they held are no longer theirs.
    await activity.record(memberRemoved(actor.id, input.userId, department.id));
    await log.flush(activity);
    return department;
  });
}

/**
 * Someone leaves the support staff (see policy.ts): every membership ends in the caller's
 * transaction (a role change), with the same effects as removeDepartmentMember, one department
 * after the other. Called before the caller records its own events (the log's lock comes last).
 */
export async function leaveSupportStaff(tx: Tx, activity: ActivityRecorder, userId: number, actorId: number): Promise<void> {
  const memberships = await tx.departmentMember.findMany({ where: { userId }, select: { departmentId: true }, orderBy: { departmentId: 'asc' } });
  const log = new CaseLog(tx);
  for (const { departmentId } of memberships) await leaveDepartment(tx, log, departmentId, userId, actorId, 'The assignee left the support staff');
  for (const { departmentId } of memberships) await activity.record(memberRemoved(actorId, userId, departmentId));
  await log.flush(activity);
}

/**
 * Ends one membership. Only members may be assigned, so the cases the user held there go back
 * to the department: to the next on-duty agent where it auto-assigns, else to its queue. The
 * cases are locked before the membership row, in the order the SLA job takes them (case, then
 * members), so the two never wait on each other. False if the user was not a member.
 */
async function leaveDepartment(tx: Tx, log: CaseLog, departmentId: number, userId: number, actorId: number, reason: string): Promise<boolean> {
  await tx.$queryRaw`SELECT "id" FROM "SupportCase" WHERE "departmentId" = ${departmentId} AND "assigneeId" = ${userId} ORDER BY "id" FOR UPDATE`;
  const { count } = await tx.departmentMember.deleteMany({ where: { departmentId, userId } });
  if (count === 0) return false;
  const held = await tx.supportCase.findMany({ where: { departmentId, assigneeId: userId }, orderBy: { id: 'asc' } });
  for (const kase of held) await autoAssign(tx, log, await setAssignee(tx, log, kase, null, actorId, reason));
  return true;
}

// About the member, with the department: live subscriptions of that user stop receiving the
// department's case events from here on (see applyAccessChange).
const memberRemoved = (actorId: number, userId: number, departmentId: number): ActivityInput => ({
  kind: 'DEPARTMENT_MEMBER_REMOVED',
  actorId,
  subject: { type: 'User', id: userId },
  departmentId,
  visibility: 'STAFF',
});

/** Stored minutes as the API shows them: { day: 'MONDAY', opens: '09:00', closes: '17:00' }. */
export function weeklyHoursView(department: Pick<Department, 'weeklyHours'>): { day: Weekday; opens: string; closes: string }[] {
  const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return (department.weeklyHours as WeeklyInterval[])
    .slice()
    .sort((a, b) => a.day - b.day || a.opens - b.opens)
    .map(({ day, opens, closes }) => ({ day: WEEKDAYS[day - 1], opens: hhmm(opens), closes: hhmm(closes) }));
}
