import { reassignUnanswered } from '../modules/support/assignment.js';
import { raiseDueSlaAlerts } from '../modules/support/sla-alerts.js';

// The SLA job (scheduled by app.ts every SLA_JOB_INTERVAL_MS): raise the SLA alerts that have
// come due and move the cases whose assignee has not answered within SUPPORT_REASSIGN_AFTER_MINUTES.
// Each instance runs its own; they may overlap freely (sla-alerts.ts and assignment.ts say why
// each effect happens once).

type SlaJobResult = { atRisk: number; breached: number; reassigned: number };

/** One pass at `now` (tests pass an explicit time). */
export async function runSlaJob(now: Date = new Date(), options: { reassignAfterMinutes?: number } = {}): Promise<SlaJobResult> {
  const alerts = await raiseDueSlaAlerts(now);
  const reassigned = options.reassignAfterMinutes ? await reassignUnanswered(now, options.reassignAfterMinutes) : 0;
  return { ...alerts, reassigned };
}
