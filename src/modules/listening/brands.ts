import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Prisma, TrackedBrand } from '../../generated/prisma/client.js';
import type { BrandKind } from '../../generated/prisma/enums.js';
import { foldedWords, wholeWordMatcher } from '../../text.js';
import { parseInput, withoutNulls } from '../../validation.js';
import { requireManager, requireStaff } from '../identity/guards.js';

// Tracked brands: what listening looks for, and the matcher every ingested mention goes through.

// Matched as whole words (see wholeWordMatcher): one without a letter or digit could never match.
export const keyword = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .refine((value) => foldedWords(value).length > 0, 'must contain a word');
const brandFields = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  kind: z.enum(['OWN', 'COMPETITOR']),
  keywords: z.array(keyword).min(1, 'give at least one keyword').max(50, 'at most 50 keywords'),
  exclusionKeywords: z.array(keyword).max(50, 'at most 50 exclusion keywords'),
};
const createBrandInput = z.object({ ...brandFields, exclusionKeywords: brandFields.exclusionKeywords.default([]) });
const updateBrandInput = z.object({
  name: brandFields.name.optional(),
  kind: brandFields.kind.optional(),
  keywords: brandFields.keywords.optional(),
  exclusionKeywords: brandFields.exclusionKeywords.optional(),
});

export type BrandInput = { name: string; kind: BrandKind; keywords: string[]; exclusionKeywords?: string[] | null };

export async function createTrackedBrand(viewer: Viewer | null, input: BrandInput): Promise<TrackedBrand> {
  requireManager(viewer, 'manage tracked brands');
  const data = parseInput(createBrandInput, withoutNulls(input));
  await assertBrandNameFree(data.name);
  return prisma().trackedBrand.create({ data });
}

export async function updateTrackedBrand(
  viewer: Viewer | null,
  brandId: number,
  input: { name?: string | null; kind?: BrandKind | null; keywords?: string[] | null; exclusionKeywords?: string[] | null },
): Promise<TrackedBrand> {
  requireManager(viewer, 'manage tracked brands');
  const data = parseInput(updateBrandInput, withoutNulls(input));
  const brand = await findBrand(brandId);
  if (data.name && data.name !== brand.name) await assertBrandNameFree(data.name);
  return prisma().trackedBrand.update({ where: { id: brandId }, data });
}

/** Archived brands match no new mention and leave the default report; their history stays. */
export async function archiveTrackedBrand(viewer: Viewer | null, brandId: number): Promise<TrackedBrand> {
  requireManager(viewer, 'manage tracked brands');
  const brand = await findBrand(brandId);
  if (brand.archivedAt) return brand;
  return prisma().trackedBrand.update({ where: { id: brandId }, data: { archivedAt: new Date() } });
}

export function listBrandsWhere(viewer: Viewer | null, includeArchived: boolean): Prisma.TrackedBrandWhereInput {
  requireStaff(viewer, 'see listening');
  return includeArchived ? {} : { archivedAt: null };
}

export async function findBrand(brandId: number): Promise<TrackedBrand> {
  const brand = await prisma().trackedBrand.findUnique({ where: { id: brandId } });
  if (!brand) throw new NotFoundError('TrackedBrand', String(brandId));
  return brand;
}

async function assertBrandNameFree(name: string): Promise<void> {
  if (await prisma().trackedBrand.findUnique({ where: { name }, select: { id: true } })) {
    throw new ConflictError(`A tracked brand is already named "${name}"`);
  }
}

export type BrandMatcher = (foldedText: string) => number[];

/** Which of `brands` a text names: a keyword as a whole word, and no exclusion keyword. */
export function brandMatcher(brands: readonly Pick<TrackedBrand, 'id' | 'keywords' | 'exclusionKeywords'>[]): BrandMatcher {
  const compiled = brands.flatMap((brand) => {
    const matches = wholeWordMatcher(brand.keywords);
    return matches ? [{ id: brand.id, matches, excluded: wholeWordMatcher(brand.exclusionKeywords) }] : [];
  });
  return (folded) => compiled.filter((b) => b.matches(folded) && !b.excluded?.(folded)).map((b) => b.id);
}

export async function activeBrandMatcher(): Promise<BrandMatcher> {
  return brandMatcher(await prisma().trackedBrand.findMany({ where: { archivedAt: null } }));
}
