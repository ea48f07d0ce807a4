import type { Viewer } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { ModerationActionKind } from '../../generated/prisma/enums.js';
import { actionVisibleWhere } from './policy.js';
import type { SubjectRef } from './subjects.js';

// The moderation log: the ModerationAction rows, filtered.

export type LogFilter = { subject?: SubjectRef; targetUserId?: number; kinds?: ModerationActionKind[]; spaceId?: number };

export function logWhere(viewer: Viewer | null, filter: LogFilter): Prisma.ModerationActionWhereInput {
  return {
    AND: [
      actionVisibleWhere(viewer),
      {
        ...(filter.subject && { subjectType: filter.subject.typename, subjectId: filter.subject.id }),
        ...(filter.targetUserId !== undefined && { targetUserId: filter.targetUserId }),
        ...(filter.kinds?.length && { kind: { in: filter.kinds } }),
        ...(filter.spaceId !== undefined && { spaceId: filter.spaceId }),
      },
    ],
  };
}
