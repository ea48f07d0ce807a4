import { brandWithType } from '@pothos/core';
import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { builder } from '../../builder.js';
import { checkPageArgs } from '../../pagination.js';
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
      args: { query: t.arg.string({ required: true }) },
      resolve: async (_root, args, ctx) => {
        checkPageArgs(args);
        let totalCount = 0;
        const connection = await resolveOffsetConnection({ args }, async ({ offset, limit }) => {
          const result = await searchService.search(ctx.viewer, args.query, { offset, limit });
          totalCount = result.totalCount;
          return result.hits.map((hit) => {
            brandWithType(hit.record, hit.typename === 'Thread' ? ThreadType : PostType);
            return hit.record;
          });
        });
        // The brand set above is what resolves the union; TypeScript can't see it on the array.
        return { ...connection, totalCount } as never;
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
