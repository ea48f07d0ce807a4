import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import { unansweredThreads } from '../community/community.service.js';
import { canManageCommunity } from '../identity/roles.js';
import { requireRole } from '../identity/guards.js';
import { viewerDepartmentIds } from './policy.js';
import { STAFF_ROLES } from '../identity/roles.js';

// The attention queue: who is waiting on the team, oldest wait first. Cases whose requester
// wrote last (never answered, or answered before their latest message) and public threads no
// one but their author has answered after their space's threshold. Each source is read with one
// keyset-paged statement and the two are merged, so a page costs two statements however long.

export type AttentionKind = 'CASE' | 'THREAD';
export type AttentionReason = 'FIRST_RESPONSE' | 'NEXT_RESPONSE' | 'FIRST_REPLY';
export type AttentionItem = { kind: AttentionKind; id: number; waitingSince: Date; waitingFor: AttentionReason; now: Date };
export type AttentionFilter = { departmentId?: number; spaceId?: number; kinds?: AttentionKind[] };

// Within one instant, cases come before threads, then by id: a total order for the cursor.
const KIND_ORDER: Record<AttentionKind, number> = { CASE: 0, THREAD: 1 };
type Position = { waitingSince: Date; kind: AttentionKind; id: number };

export function encodeAttentionCursor(item: Position): string {
  return Buffer.from(`attention:${item.waitingSince.getTime()}:${item.kind}:${item.id}`).toString('base64url');
}

function decodeAttentionCursor(cursor: string): Position {
  const match = /^attention:(\d+):(CASE|THREAD):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw ValidationError.field('after', 'is not an attention queue cursor');
  return { waitingSince: new Date(Number(match[1])), kind: match[2] as AttentionKind, id: Number(match[3]) };
}

export async function attentionQueue(
  viewer: Viewer | null,
  filter: AttentionFilter,
  page: { first: number; after?: string | null },
  now = new Date(),
): Promise<{ items: AttentionItem[]; hasNextPage: boolean }> {
  const actor = requireRole(viewer, STAFF_ROLES);
  const after = page.after ? decodeAttentionCursor(page.after) : undefined;
  const limit = page.first + 1;
  const wants = (kind: AttentionKind) => !filter.kinds?.length || filter.kinds.includes(kind);
  const [cases, threads] = await Promise.all([
    wants('CASE') ? waitingCases(actor, filter, after, limit) : [],
    wants('THREAD') ? waitingThreads(filter, after, limit, now) : [],
  ]);
  const merged = [...cases, ...threads].sort(
    (a, b) => a.waitingSince.getTime() - b.waitingSince.getTime() || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id - b.id,
  );
  return { items: merged.slice(0, page.first).map((item) => ({ ...item, now })), hasNextPage: merged.length > page.first };
}

async function waitingCases(viewer: Viewer, filter: AttentionFilter, after: Position | undefined, limit: number) {
  const everyDepartment = canManageCommunity(viewer.role);
  const departmentIds = everyDepartment ? [] : await viewerDepartmentIds(viewer);
  // After a thread at instant T, the next case is strictly later than T (cases sort first).
  const afterTime = after?.waitingSince ?? null;
  const afterId = after ? (after.kind === 'CASE' ? after.id : Number.MAX_SAFE_INTEGER) : 0;
  const rows = await prisma().$queryRaw<{ id: number; waitingSince: Date; neverAnswered: boolean }[]>`
    SELECT c."id", w."since" AS "waitingSince", (c."firstResponseAt" IS NULL) AS "neverAnswered"
    FROM "SupportCase" c
    CROSS JOIN LATERAL (
      SELECT min(m."createdAt") AS "since" FROM "CaseMessage" m
      WHERE m."caseId" = c."id" AND NOT m."internal" AND m."authorId" = c."requesterId"
        AND m."createdAt" > coalesce(
          (SELECT max(s."createdAt") FROM "CaseMessage" s WHERE s."caseId" = c."id" AND NOT s."internal" AND s."authorId" <> c."requesterId"),
          '-infinity'::timestamp)
    ) w
    WHERE c."status" IN ('NEW', 'OPEN') AND w."since" IS NOT NULL
      AND (${everyDepartment} OR c."departmentId" = ANY(${departmentIds}::int[]))
      AND (${filter.departmentId ?? null}::int IS NULL OR c."departmentId" = ${filter.departmentId ?? null}::int)
      AND (${filter.spaceId ?? null}::int IS NULL OR c."spaceId" = ${filter.spaceId ?? null}::int)
      AND (${afterTime === null} OR w."since" > ${afterTime ?? new Date(0)} OR (w."since" = ${afterTime ?? new Date(0)} AND c."id" > ${afterId}))
    ORDER BY w."since", c."id"
    LIMIT ${limit}`;
  return rows.map((row) => ({
    kind: 'CASE' as const,
    id: row.id,
    waitingSince: row.waitingSince,
    waitingFor: (row.neverAnswered ? 'FIRST_RESPONSE' : 'NEXT_RESPONSE') as AttentionReason,
  }));
}

async function waitingThreads(filter: AttentionFilter, after: Position | undefined, limit: number, now: Date) {
  let spaceIds = filter.spaceId !== undefined ? [filter.spaceId] : undefined;
  if (filter.departmentId !== undefined) {
    // A department answers in the forum spaces of its channels.
    const channels = await prisma().supportChannel.findMany({
      where: { defaultDepartmentId: filter.departmentId, spaceId: { not: null } },
      select: { spaceId: true },
    });
    const linked = channels.map((channel) => channel.spaceId!);
    spaceIds = spaceIds ? spaceIds.filter((id) => linked.includes(id)) : linked;
    if (spaceIds.length === 0) return [];
  }
  const rows = await unansweredThreads({
    now,
    spaceIds,
    after: after && { waitingSince: after.waitingSince, threadId: after.kind === 'THREAD' ? after.id : 0 },
    limit,
  });
  return rows.map((row) => ({ kind: 'THREAD' as const, id: row.threadId, waitingSince: row.waitingSince, waitingFor: 'FIRST_REPLY' as AttentionReason }));
}
