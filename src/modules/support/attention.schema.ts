import { builder } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import { decodeId } from '../../ids.js';
import '../community/community.schema.js';
import * as attention from './attention.js';
import './cases.schema.js';

const AttentionKindEnum = builder.enumType('AttentionKind', {
  description: 'What is waiting: a support case (supportCase is set) or a forum thread (thread is set).',
  values: {
    CASE: { description: 'A support case waits for an answer from the team.' },
    THREAD: { description: 'A public thread waits for a first reply.' },
  } as const,
});
const AttentionReasonEnum = builder.enumType('AttentionReason', {
  description: 'What the person is waiting for.',
  values: {
    FIRST_RESPONSE: { description: 'A case no one on the team has answered yet.' },
    NEXT_RESPONSE: { description: "A case whose requester wrote again after the team's last answer." },
    FIRST_REPLY: { description: 'A public thread no one but its author has replied to.' },
  } as const,
});

function byIds<T extends { id: number }>(rows: T[], ids: readonly number[]): (T | null)[] {
  const map = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => map.get(id) ?? null);
}
// Loaded with the selection the client asked for (Pothos' `query`), one statement per page; every
// item of the page shares that selection, so the loader key includes it.
const casesById = (ctx: Context, query: object) =>
  loader(ctx, `attentionCases:${JSON.stringify(query)}`, async (ids: readonly number[]) =>
    byIds(await prisma().supportCase.findMany({ ...query, where: { id: { in: [...ids] } } }), ids),
  );
const threadsById = (ctx: Context, query: object) =>
  loader(ctx, `attentionThreads:${JSON.stringify(query)}`, async (ids: readonly number[]) =>
    byIds(await prisma().thread.findMany({ ...query, where: { id: { in: [...ids] } } }), ids),
  );

const AttentionItemType = builder.objectRef<attention.AttentionItem>('AttentionItem').implement({
  description: 'Someone waiting on the team: since when, and for what.',
  fields: (t) => ({
    kind: t.field({ type: AttentionKindEnum, description: 'A case or a thread.', resolve: (item) => item.kind }),
    waitingSince: t.expose('waitingSince', {
      type: 'DateTime',
      description: "A case: the requester's first message since the team's last public reply. A thread: when it was created.",
    }),
    waitingMinutes: t.int({ description: 'Minutes waited so far (wall-clock).', resolve: (item) => Math.floor((item.now.getTime() - item.waitingSince.getTime()) / 60_000) }),
    waitingFor: t.field({ type: AttentionReasonEnum, description: 'What the person is waiting for.', resolve: (item) => item.waitingFor }),
    supportCase: t.prismaField({
      type: 'SupportCase',
      nullable: true,
      description: 'The case waiting; null for a THREAD item.',
      resolve: (query, item, _args, ctx) => (item.kind === 'CASE' ? casesById(ctx, query).load(item.id) : null),
    }),
    thread: t.prismaField({
      type: 'Thread',
      nullable: true,
      description: 'The thread waiting; null for a CASE item.',
      resolve: (query, item, _args, ctx) => (item.kind === 'THREAD' ? threadsById(ctx, query).load(item.id) : null),
    }),
  }),
});

const AttentionFilterInput = builder.inputType('AttentionFilter', {
  description: 'Narrows the attention queue; the given conditions must all hold.',
  fields: (t) => ({
    departmentId: t.id({ description: "Cases of this department, threads in its channels' forum spaces." }),
    spaceId: t.id({ description: 'Cases raised in this space and its threads.' }),
    kinds: t.field({ type: [AttentionKindEnum], description: 'Both when omitted.' }),
  }),
});

builder.queryField('attentionQueue', (t) =>
  t.connection(
    {
      type: AttentionItemType,
      description:
        'Staff: open cases waiting on the team (your departments; all for managers and admins) and public threads no one but their author has answered after their space threshold, oldest wait first. Pages forward only, with `first` and `after`.',
      args: { filter: t.arg({ type: AttentionFilterInput, description: 'Narrows the queue; omitted: everything waiting that you may see.' }) },

      resolve: async (_root, args, ctx) => {
        if (args.first == null) throw ValidationError.field('first', 'is required: the queue pages forward, oldest wait first');
        const filter = {
          departmentId: args.filter?.departmentId ? decodeId(args.filter.departmentId, ['Department'], 'filter.departmentId').id : undefined,
          spaceId: args.filter?.spaceId ? decodeId(args.filter.spaceId, ['Space'], 'filter.spaceId').id : undefined,
          kinds: args.filter?.kinds ?? undefined,
        };
        const { items, hasNextPage } = await attention.attentionQueue(ctx.viewer, filter, { first: args.first, after: args.after });
        const edges = items.map((item) => ({ cursor: attention.encodeAttentionCursor(item), node: item }));
        return {
          edges,
          pageInfo: {
            startCursor: edges[0]?.cursor ?? null,
            endCursor: edges.at(-1)?.cursor ?? null,
            hasNextPage,
            hasPreviousPage: !!args.after,
          },
        };
      },
    },
    { name: 'AttentionConnection' },
    { name: 'AttentionEdge' },
  ),
);
