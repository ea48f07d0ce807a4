import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import type { SlaAlertKind, SlaMetric } from '../../generated/prisma/enums.js';
import { CaseLog } from './timeline.js';

// SLA_AT_RISK and SLA_BREACHED alerts, raised by the SLA job (src/jobs/sla-job.ts) even when
// no request touches the case. Safe with many runners: a candidate is claimed with
// FOR UPDATE SKIP LOCKED, and the alert row's unique key (case, metric, cycle, kind) with
// ON CONFLICT DO NOTHING makes the alert, its timeline entry and its activity event happen once.

const METRIC_WORDS: Record<SlaMetric, string> = {
  FIRST_RESPONSE: 'First response',
  NEXT_RESPONSE: 'Next response',
  PERIODIC_UPDATE: 'Update to the requester',
  RESOLUTION: 'Resolution',
};

type Candidate = { id: number; kind: SlaAlertKind; caseId: number };

const BATCH = 200;

/** Raises every alert due at `now`; returns how many of each this runner raised. */
export async function raiseDueSlaAlerts(now: Date): Promise<{ atRisk: number; breached: number }> {
  const raised = { atRisk: 0, breached: 0 };
  for (;;) {
    // Paused clocks are skipped for AT_RISK; a paused clock keeps a due time only if it was
    // already past it when paused, and that breach is still owed its alert.
    const candidates = await prisma().$queryRaw<Candidate[]>`
      SELECT c."id", 'BREACHED'::"SlaAlertKind" AS "kind", c."caseId" FROM "SlaClock" c
      WHERE c."stoppedAt" IS NULL AND c."dueAt" <= ${now}
        AND NOT EXISTS (SELECT 1 FROM "SlaAlert" a WHERE a."caseId" = c."caseId" AND a."metric" = c."metric" AND a."cycle" = c."cycle" AND a."kind" = 'BREACHED')
      UNION ALL
      SELECT c."id", 'AT_RISK'::"SlaAlertKind", c."caseId" FROM "SlaClock" c
      WHERE c."stoppedAt" IS NULL AND c."resumedAt" IS NOT NULL AND c."atRiskAt" <= ${now} AND c."dueAt" > ${now}
        AND NOT EXISTS (SELECT 1 FROM "SlaAlert" a WHERE a."caseId" = c."caseId" AND a."metric" = c."metric" AND a."cycle" = c."cycle" AND a."kind" = 'AT_RISK')
      ORDER BY 1, 2
      LIMIT ${BATCH}`;
    let progress = 0;
    for (const candidate of candidates) {
      if (await raiseAlert(candidate, now)) {
        progress++;
        if (candidate.kind === 'AT_RISK') raised.atRisk++;
        else raised.breached++;
      }
    }
    // A full batch that another runner took entirely: stop here, the next tick goes on.
    if (candidates.length < BATCH || progress === 0) return raised;
  }
}

type ClockRow = { id: number; caseId: number; metric: SlaMetric; cycle: number; resumedAt: Date | null; dueAt: Date | null; atRiskAt: Date | null };

async function raiseAlert(candidate: Candidate, now: Date): Promise<boolean> {
  return writeWithActivity(async (tx, activity) => {
    // The case first, as every request that changes it does (its row, then its clocks): a reply
    // stopping this clock meanwhile would otherwise hold the case while waiting for the clock,
    // and this pass the clock while its timeline entry waits for the case (a deadlock). A case
    // being changed is skipped; the next pass sees what that change left. NO KEY UPDATE, which
    // still excludes every request's FOR UPDATE, so that a row merely referencing the case (a
    // notification or an email being inserted holds a key-share lock) does not make it skip.
    const [free] = await tx.$queryRaw<{ id: number }[]>`SELECT "id" FROM "SupportCase" WHERE "id" = ${candidate.caseId} FOR NO KEY UPDATE SKIP LOCKED`;
    if (!free) return false;
    // Another runner holding this clock is raising its alert: skip it rather than wait.
    const [clock] = await tx.$queryRaw<ClockRow[]>`
      SELECT "id", "caseId", "metric", "cycle", "resumedAt", "dueAt", "atRiskAt" FROM "SlaClock"
      WHERE "id" = ${candidate.id} AND "stoppedAt" IS NULL
      FOR UPDATE SKIP LOCKED`;
    if (!clock || !clock.dueAt) return false;
    // The clock may have changed since the candidates were read (answered, paused, rescheduled).
    const due = clock.dueAt <= now;
    if (candidate.kind === 'BREACHED' ? !due : due || !clock.resumedAt || !clock.atRiskAt || clock.atRiskAt > now) return false;
    const inserted = await tx.$executeRaw`
      INSERT INTO "SlaAlert" ("caseId", "metric", "cycle", "kind", "dueAt", "occurredAt")
      VALUES (${clock.caseId}, ${clock.metric}::"SlaMetric", ${clock.cycle}, ${candidate.kind}::"SlaAlertKind", ${clock.dueAt}, ${now})
      ON CONFLICT ("caseId", "metric", "cycle", "kind") DO NOTHING`;
    if (inserted === 0) return false;
    if (candidate.kind === 'BREACHED') await tx.slaClock.update({ where: { id: clock.id }, data: { breached: true } });
    const kase = await tx.supportCase.findUniqueOrThrow({ where: { id: clock.caseId } });
    const log = new CaseLog(tx);
    const what = METRIC_WORDS[clock.metric];
    await log.add(kase, {
      kind: candidate.kind === 'BREACHED' ? 'SLA_BREACHED' : 'SLA_AT_RISK',
      actorId: null,
      // Staff-only: the clocks are the team's promise to itself.
      internal: true,
      summary:
        candidate.kind === 'BREACHED'
          ? `${what} SLA breached: it was due at ${clock.dueAt.toISOString()}`
          : `${what} SLA at risk: 80% of the time is used, due at ${clock.dueAt.toISOString()}`,
    });
    await log.flush(activity);
    return true;
  });
}
