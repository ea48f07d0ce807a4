import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { NotFoundError } from '../../errors.js';
import type { CaseEvent } from '../../generated/prisma/client.js';
import { requireViewer } from '../identity/guards.js';
import { caseVisibleWhere } from '../support/policy.js';
import { openActivityStream, type StreamTransport } from './activity.service.js';

// caseUpdated: a support case's timeline, live. It sits in the activity layer, above support,
// because it is delivered by the activity stream (which itself reads support's access rules).

/**
 * The case's new timeline entries, live. The activity stream carries them with the case's
 * department and requester, so the same delivery rule as for any activity (canReceive) decides
 * per entry, with the viewer's rights as they are then: a requester never receives an internal
 * entry, an agent stops receiving once the case leaves their department or they leave it.
 */
export async function subscribeToCase(viewer: Viewer | null, caseId: number, transport: StreamTransport): Promise<AsyncIterable<CaseEvent>> {
  const actor = requireViewer(viewer);
  // A suspended requester still follows their own case (support stays open to them, support/policy.ts).
  const live = await openActivityStream(actor, {}, undefined, transport, {
    only: (event) => event.caseId === caseId && event.subjectType === 'CaseTimelineEntry',
    whileSuspended: true,
  });
  // Subscribed first, then checked, so nothing committed in between is lost.
  try {
    const visible = await prisma().supportCase.findFirst({ where: { id: caseId, AND: [caseVisibleWhere(actor)] }, select: { id: true } });
    if (!visible) throw new NotFoundError('SupportCase', String(caseId));
  } catch (error) {
    await live.return?.();
    throw error;
  }
  return (async function* entries() {
    try {
      for await (const event of live) {
        const entry = await prisma().caseEvent.findUnique({ where: { id: event.subjectId } });
        if (entry) yield entry;
      }
    } finally {
      await live.return?.();
    }
  })();
}
