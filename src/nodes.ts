import { brandWithType } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { isInterfaceType, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import type { Context } from './context.js';
import { prisma } from './db/client.js';

/** Who may see a node type's rows, as a Prisma `where`; `{}` for everyone. */
type Rule = (ctx: Context) => object;

const rules = new Map<string, Rule>();

/**
 * A prismaNode's `findUnique`: its id and `rule`, the where that decides who may see its rows.
 * The rule is registered under the type's name, so `nodes(ids:)` loads many rows of the type in
 * one statement by the same rule (see loadNodes); `node(id:)` and the prisma plugin use the
 * returned function, one row at a time.
 */
export function visibleNode<Where extends object>(typeName: string, rule: (ctx: Context) => Where = () => ({}) as Where) {
  rules.set(typeName, rule);
  return (id: string, ctx: Context) => ({ id: Number(id), AND: [rule(ctx)] });
}

type GlobalId = { id: string; typename: string } | null | undefined;

/**
 * nodes(ids:): the rows of each node type in one `findMany` (what the client selected on that
 * type, the type's visibility rule and `id IN (...)`), not one statement per id. What the rule
 * hides, like what does not exist, is null, at its place in the list.
 */
export async function loadNodes(ids: readonly GlobalId[], ctx: Context, info: GraphQLResolveInfo): Promise<unknown[]> {
  const byType = new Map<string, number[]>();
  ids.forEach((globalId, index) => {
    if (!globalId) return;
    const indexes = byType.get(globalId.typename) ?? [];
    indexes.push(index);
    byType.set(globalId.typename, indexes);
  });
  const results: unknown[] = ids.map(() => null);
  await Promise.all(
    [...byType].map(async ([typename, indexes]) => {
      const rule = rules.get(typename);
      // Every Node type has a rule (checkNodeRules): any other type name names nothing.
      if (!rule) return;
      const rows = await loadRows(typename, rule, indexes.map((i) => ids[i]!), ctx, info);
      indexes.forEach((index, i) => (results[index] = rows[i] ?? null));
    }),
  );
  return results;
}

async function loadRows(typename: string, rule: Rule, ids: { id: string }[], ctx: Context, info: GraphQLResolveInfo) {
  const model = info.schema.getType(typename)!.extensions.pothosPrismaModel as string;
  const delegate = (prisma() as unknown as Record<string, { findMany(args: object): Promise<{ id: number }[]> }>)[
    model[0].toLowerCase() + model.slice(1)
  ];
  // The selection made on this type under nodes, as the plugin's own node(id:) loader plans it.
  const planned: { select?: object } = await queryFromInfo({ context: ctx, info, typeName: typename, awaitSelections: true });
  // The id, to put each row back in its place.
  const query = planned.select ? { ...planned, select: { ...planned.select, id: true } } : planned;
  const rows = await delegate.findMany({ ...query, where: { AND: [{ id: { in: ids.map(({ id }) => Number(id)) } }, rule(ctx)] } });
  // Branded, so the Node interface knows each row's type.
  for (const row of rows) brandWithType(row, typename as Parameters<typeof brandWithType>[1]);
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map(({ id }) => byId.get(Number(id)) ?? null);
}

/** Every Node type has its rule, or nodes(ids:) would load it one row per id: checked as the schema is built. */
export function checkNodeRules(schema: GraphQLSchema): GraphQLSchema {
  const node = schema.getType('Node');
  if (!isInterfaceType(node)) return schema;
  const missing = schema.getPossibleTypes(node).filter((type) => !rules.has(type.name));
  if (missing.length) throw new Error(`Node types without a visibleNode rule: ${missing.map((t) => t.name).join(', ')}`);
  return schema;
}
