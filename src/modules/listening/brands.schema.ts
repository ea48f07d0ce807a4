import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { BrandKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import * as policy from './policy.js';
import { archiveTrackedBrand, createTrackedBrand, listBrandsWhere, updateTrackedBrand } from './brands.js';

// Tracked brands: their type, the list and the changes (managers).

const BrandKindEnum = builder.enumType(BrandKind, {
  name: 'BrandKind',
  description: 'OWN: our product. COMPETITOR: theirs.',
  values: { OWN: { description: 'Our own brand or product.' }, COMPETITOR: { description: "A competitor's brand or product." } },
});

export const TrackedBrandType = builder.prismaNode('TrackedBrand', {
  id: { field: 'id' },
  nullable: true,
  description: 'A brand whose mentions are tracked: ours or a competitor. Visible to staff.',
  findUnique: visibleNode('TrackedBrand', (ctx) => policy.staffRowsWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique.' }),
    kind: t.expose('kind', { type: BrandKindEnum, description: 'Ours or a competitor.' }),
    keywords: t.exposeStringList('keywords', { description: 'Whole words, case- and accent-insensitive.' }),
    exclusionKeywords: t.exposeStringList('exclusionKeywords', { description: 'A mention containing any of these is not this brand.' }),
    archivedAt: t.expose('archivedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was archived: it matches no new mention and leaves the default report; null while active.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  trackedBrands: t.prismaConnection(
    {
      type: 'TrackedBrand',
      cursor: 'id',
      description: 'Staff. By name.',
      args: { includeArchived: t.arg.boolean({ defaultValue: false, description: 'Also archived brands.' }) },
      resolve: (query, _root, args, ctx) => {
        return prisma().trackedBrand.findMany({
          ...query,
          where: listBrandsWhere(ctx.viewer, !!args.includeArchived),
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
        });
      },
      totalCount: (_root, args, ctx) => prisma().trackedBrand.count({ where: listBrandsWhere(ctx.viewer, !!args.includeArchived) }),
    },
    { name: 'TrackedBrandConnection' },
    { name: 'TrackedBrandEdge' },
  ),
}));

const KEYWORDS = 'Each 1 to 100 characters; matched as whole words, case- and accent-insensitive.';
const CreateBrandInput = builder.inputType('CreateTrackedBrandInput', {
  description: 'A brand to track. Its keywords apply to mentions ingested from now on.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters; unique.' }),
    kind: t.field({ type: BrandKindEnum, required: true, description: 'Ours or a competitor.' }),
    keywords: t.stringList({ required: true, description: '1 to 50; whole words, case- and accent-insensitive.' }),
    exclusionKeywords: t.stringList({ description: `Up to 50; a mention with any of them is not this brand. ${KEYWORDS}` }),
  }),
});
const UpdateBrandInput = builder.inputType('UpdateTrackedBrandInput', {
  description: 'Changes to a tracked brand, with the rules of CreateTrackedBrandInput; omitted fields keep their value.',
  fields: (t) => ({
    brandId: t.id({ required: true, description: 'The global id of the TrackedBrand.' }),
    name: t.string({ description: '1 to 100 characters; unique.' }),
    kind: t.field({ type: BrandKindEnum, description: 'Ours or a competitor.' }),
    keywords: t.stringList({ description: `1 to 50, replacing the old ones. ${KEYWORDS}` }),
    exclusionKeywords: t.stringList({ description: 'Up to 50, replacing the old ones.' }),
  }),
});
const BrandIdInput = builder.inputType('ArchiveTrackedBrandInput', {
  description: 'The brand to archive; archiving it again changes nothing.',
  fields: (t) => ({ brandId: t.id({ required: true, description: 'The global id of the TrackedBrand.' }) }),
});

const BrandPayload = builder.simpleObject('TrackedBrandPayload', { fields: (t) => ({ brand: t.field({ type: TrackedBrandType }) }) });

const id = (value: string, typename: string, path: string) => decodeId(value, [typename], path).id;

builder.mutationFields((t) => ({
  createTrackedBrand: t.field({
    type: BrandPayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateBrandInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ brand: await createTrackedBrand(ctx.viewer, input) }),
  }),
  updateTrackedBrand: t.field({
    type: BrandPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. New keywords apply to mentions ingested from now on.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateBrandInput, required: true }) },
    resolve: async (_root, { input: { brandId, ...changes } }, ctx) => ({
      brand: await updateTrackedBrand(ctx.viewer, id(brandId, 'TrackedBrand', 'input.brandId'), changes),
    }),
  }),
  archiveTrackedBrand: t.field({
    type: BrandPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Stops matching new mentions; history stays.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: BrandIdInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      brand: await archiveTrackedBrand(ctx.viewer, id(input.brandId, 'TrackedBrand', 'input.brandId')),
    }),
  }),
}));
