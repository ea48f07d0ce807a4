import type { Tx } from '../../db/client.js';
import type { ActivityRecorder } from '../../events/activity.js';
import type { SupportCase } from '../../generated/prisma/client.js';
import type { ActivityKind, CaseEventKind } from '../../generated/prisma/enums.js';

// A case's timeline (CaseEvent rows) and the activity events that go with them. Below cases.ts,
// assignment.ts and departments.ts, which all write timeline entries.

type Entry = {
  kind: CaseEventKind;
  actorId: number | null;
  summary: string;
  internal?: boolean;
  reason?: string | null;
  reasonInternal?: boolean;
  messageId?: number;
};

const ACTIVITY_KIND: Record<CaseEventKind, ActivityKind> = {
  OPENED: 'CASE_OPENED',
  REPLY: 'CASE_REPLIED',
  NOTE: 'CASE_NOTE_ADDED',
  STATUS_CHANGED: 'CASE_STATUS_CHANGED',
  ASSIGNED: 'CASE_ASSIGNED',
  UNASSIGNED: 'CASE_ASSIGNED',
  TRANSFERRED: 'CASE_TRANSFERRED',
  ESCALATED: 'CASE_ESCALATED',
  RATED: 'CASE_RATED',
  ROUTED: 'CASE_ROUTED',
  SLA_AT_RISK: 'SLA_AT_RISK',
  SLA_BREACHED: 'SLA_BREACHED',
};

/**
 * Collects a write's timeline entries; `flush` appends their activity events as the write's
 * last step (the activity log's append lock is held from the first event until commit).
 */
export class CaseLog {
  private readonly pending: Parameters<ActivityRecorder['record']>[0][] = [];
  constructor(private readonly tx: Tx) {}

  async add(kase: Pick<SupportCase, 'id' | 'departmentId' | 'requesterId'>, entry: Entry): Promise<void> {
    const event = await this.tx.caseEvent.create({
      data: {
        caseId: kase.id,
        kind: entry.kind,
        actorId: entry.actorId,
        internal: entry.internal ?? false,
        summary: entry.summary,
        reason: entry.reason ?? null,
        reasonInternal: entry.reasonInternal ?? false,
        messageId: entry.messageId ?? null,
      },
    });
    this.pending.push({
      kind: ACTIVITY_KIND[entry.kind],
      actorId: entry.actorId,
      subject: { type: 'CaseTimelineEntry', id: event.id },
      visibility: entry.internal ? 'CASE_STAFF' : 'CASE',
      departmentId: kase.departmentId,
      caseId: kase.id,
      requesterId: kase.requesterId,
    });
  }

  /** An event for someone in particular (a lead told of an escalation). */
  notify(userId: number, kase: Pick<SupportCase, 'id' | 'departmentId'>, kind: ActivityKind, actorId: number | null): void {
    this.pending.push({
      kind,
      actorId,
      subject: { type: 'User', id: userId },
      visibility: 'SUBJECT_USER',
      departmentId: kase.departmentId,
      caseId: kase.id,
    });
  }

  async flush(activity: ActivityRecorder): Promise<void> {
    for (const input of this.pending.splice(0)) await activity.record(input);
  }
}

export async function displayName(tx: Tx, userId: number): Promise<string> {
  return (await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { displayName: true } })).displayName;
}
