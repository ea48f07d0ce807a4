import { brandWithType } from '@pothos/core';
import { cursorToOffset, resolveOffsetConnection } from '@pothos/plugin-relay';
import { builder } from '../../builder.js';
import { ValidationError } from '../../errors.js';
import { PostType, ThreadType } from '../community/community.schema.js';
import * as searchService from './search.service.js';

const SearchHitUnion = builder.unionType('SearchHit', {
  description: 'A thread or a post matching a search.',
  types: [ThreadType, PostType],
});

builder.queryField('search', (t) =>
  t.connection(
    {
      type: SearchHitUnion,
      description:
        'Full-text search over threads and posts you can see, best match first. Understands English and Spanish word forms and web-search syntax ("exact phrase", or, -exclude).',
      args: { query: t.arg.string({ required: true, description: 'What to look for, 1 to 200 characters once trimmed.' }) },

      resolve: async (_root, args, ctx) => {
        checkCursor('after', args.after);
        checkCursor('before', args.before);
        const text = searchService.searchText(args.query);
        const page = (totalCount: number | undefined) =>
          resolveOffsetConnection({ args, totalCount }, async ({ offset, limit }) => {
            const hits = await searchService.findHits(ctx.viewer, text, { offset, limit });
            return hits.map((hit) => {
              brandWithType(hit.record, hit.typename === 'Thread' ? ThreadType : PostType);
              return hit.record;
            });
          });
        // `last` without `before` counts back from the end, so it needs the total first.
        const [connection, totalCount] =
          args.last != null && args.before == null
            ? await searchService.countHits(ctx.viewer, text).then(async (total) => [await page(total), total] as const)
            : await Promise.all([page(undefined), searchService.countHits(ctx.viewer, text)]);
        // An empty page has no cursors (Pothos would make up ones for offsets 0 and -1).
        const empty = connection.edges.length === 0;
        const pageInfo = { ...connection.pageInfo, ...(empty && { startCursor: null, endCursor: null }) };
        // The brand set above is what resolves the union; TypeScript can't see it on the array.
        return { ...connection, pageInfo, totalCount } as never;
      },
    },
    {
      name: 'SearchConnection',
      fields: (c) => ({
        totalCount: c.int({ resolve: (connection) => (connection as { totalCount: number }).totalCount }),
      }),
    },
    { name: 'SearchEdge' },
  ),
);

/** A cursor must be one this connection handed out: a made-up one would reach SQL as a bad OFFSET. */
function checkCursor(name: 'after' | 'before', cursor: string | null | undefined): void {
  if (cursor == null) return;
  let offset: number;
  try {
    offset = cursorToOffset(cursor);
  } catch {
    offset = Number.NaN;
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw ValidationError.field(name, 'is not a cursor of this search');
}
