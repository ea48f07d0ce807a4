import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { CaseStatus, SlaMetric } from '../../generated/prisma/enums.js';
import { canManageCommunity } from '../identity/roles.js';
import { requireRole } from '../identity/guards.js';
import { viewerDepartmentIds } from './policy.js';
import { SLA_METRICS } from './sla.js';
import { STAFF_ROLES } from '../identity/roles.js';

// Support metrics, computed in SQL (medians and p90 with percentile_cont), for the cases opened
// in [from, to), optionally of one department (where they are now).

export type DurationStats = { count: number; medianMinutes: number | null; p90Minutes: number | null };
export type SupportMetrics = {
  from: Date;
  to: Date;
  departmentId: number | null;
  firstResponse: DurationStats;
  resolution: DurationStats;
  slaCompliance: { metric: SlaMetric; met: number; breached: number; ratio: number | null }[];
  backlog: { status: CaseStatus; count: number }[];
  reassignments: number;
  csat: { good: number; bad: number; ratio: number | null };
};

const STATUSES: CaseStatus[] = ['NEW', 'OPEN', 'PENDING', 'ON_HOLD', 'RESOLVED', 'CLOSED'];

export async function supportMetrics(viewer: Viewer | null, range: { from: Date; to: Date; departmentId?: number }): Promise<SupportMetrics> {
  const actor = requireRole(viewer, STAFF_ROLES);
  if (range.to <= range.from) throw ValidationError.field('to', 'must be after from');
  if (!canManageCommunity(actor.role)) {
    // Agents measure their own departments, one at a time.
    if (range.departmentId === undefined || !(await viewerDepartmentIds(actor)).includes(range.departmentId)) {
      throw new ForbiddenError('Agents see the metrics of their own departments: pass one of them as departmentId');
    }
  }
  // As listeningReport does for brands: an unknown department is not a department with no cases.
  if (range.departmentId !== undefined && !(await prisma().department.findUnique({ where: { id: range.departmentId }, select: { id: true } }))) {
    throw new NotFoundError('Department', String(range.departmentId));
  }
  const { from, to } = range;
  const department = range.departmentId ?? null;

  const [durations] = await prisma().$queryRaw<
    { frCount: number; frMedian: number | null; frP90: number | null; resCount: number; resMedian: number | null; resP90: number | null; good: number; bad: number }[]
  >`
    WITH scope AS (
      SELECT * FROM "SupportCase"
      WHERE "createdAt" >= ${from} AND "createdAt" < ${to} AND (${department}::int IS NULL OR "departmentId" = ${department}::int)
    ), fr AS (
      SELECT extract(epoch FROM "firstResponseAt" - "createdAt") / 60 AS minutes FROM scope WHERE "firstResponseAt" IS NOT NULL
    ), res AS (
      SELECT extract(epoch FROM "resolvedAt" - "createdAt") / 60 AS minutes FROM scope WHERE "resolvedAt" IS NOT NULL
    )
    SELECT
      (SELECT count(*)::int FROM fr) AS "frCount",
      (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes)::float8 FROM fr) AS "frMedian",
      (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY minutes)::float8 FROM fr) AS "frP90",
      (SELECT count(*)::int FROM res) AS "resCount",
      (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes)::float8 FROM res) AS "resMedian",
      (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY minutes)::float8 FROM res) AS "resP90",
      (SELECT count(*)::int FROM scope WHERE "rating" = 'GOOD') AS "good",
      (SELECT count(*)::int FROM scope WHERE "rating" = 'BAD') AS "bad"`;

  // A clock counts once it is decided: met (stopped in time) or breached (ran out, stopped or not).
  const compliance = await prisma().$queryRaw<{ metric: SlaMetric; met: number; breached: number }[]>`
    SELECT k."metric",
           count(*) FILTER (WHERE k."stoppedAt" IS NOT NULL AND NOT k."breached")::int AS "met",
           count(*) FILTER (WHERE k."breached")::int AS "breached"
    FROM "SlaClock" k JOIN "SupportCase" c ON c."id" = k."caseId"
    WHERE c."createdAt" >= ${from} AND c."createdAt" < ${to} AND (${department}::int IS NULL OR c."departmentId" = ${department}::int)
    GROUP BY k."metric"`;

  // The backlog is now, whatever the age of the cases.
  const backlog = await prisma().$queryRaw<{ status: CaseStatus; count: number }[]>`
    SELECT "status", count(*)::int AS "count" FROM "SupportCase"
    WHERE (${department}::int IS NULL OR "departmentId" = ${department}::int)
    GROUP BY "status"`;

  // A re-assignment: an assignment of a case that had been assigned before, within the period.
  const [{ reassignments }] = await prisma().$queryRaw<{ reassignments: number }[]>`
    SELECT count(*)::int AS "reassignments" FROM "CaseEvent" e JOIN "SupportCase" c ON c."id" = e."caseId"
    WHERE e."kind" = 'ASSIGNED' AND e."createdAt" >= ${from} AND e."createdAt" < ${to}
      AND (${department}::int IS NULL OR c."departmentId" = ${department}::int)
      AND EXISTS (SELECT 1 FROM "CaseEvent" p WHERE p."caseId" = e."caseId" AND p."kind" = 'ASSIGNED' AND p."id" < e."id")`;

  const stats = (count: number, median: number | null, p90: number | null): DurationStats => ({ count, medianMinutes: median, p90Minutes: p90 });
  const ratio = (a: number, b: number) => (a + b === 0 ? null : a / (a + b));
  return {
    from,
    to,
    departmentId: department,
    firstResponse: stats(durations.frCount, durations.frMedian, durations.frP90),
    resolution: stats(durations.resCount, durations.resMedian, durations.resP90),
    slaCompliance: SLA_METRICS.map((metric) => {
      const row = compliance.find((r) => r.metric === metric);
      return { metric, met: row?.met ?? 0, breached: row?.breached ?? 0, ratio: ratio(row?.met ?? 0, row?.breached ?? 0) };
    }),
    backlog: STATUSES.map((status) => ({ status, count: backlog.find((r) => r.status === status)?.count ?? 0 })),
    reassignments,
    csat: { good: durations.good, bad: durations.bad, ratio: ratio(durations.good, durations.bad) },
  };
}
