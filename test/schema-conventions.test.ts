import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
  isUnionType,
  type GraphQLObjectType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/schema.js';

// Conventions a client can rely on across the whole schema; a new field that breaks one fails here.

const types = Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__'));
const connections = types.filter((t): t is GraphQLObjectType => isObjectType(t) && t.name.endsWith('Connection'));

describe('the schema', () => {
  it('has one connection type per node type, each with edges, nodes, pageInfo and totalCount', () => {
    // Not counted: the activity log grows without end; the attention queue and segments are computed.
    const uncounted = ['ActivityConnection', 'AttentionConnection', 'SegmentMemberConnection'];
    const byNode = new Map<string, string[]>();
    for (const connection of connections) {
      const fields = uncounted.includes(connection.name) ? ['edges', 'nodes', 'pageInfo'] : ['edges', 'nodes', 'pageInfo', 'totalCount'];
      expect(Object.keys(connection.getFields()).sort(), connection.name).toEqual(fields);
      const node = getNamedType(connection.getFields().nodes.type).name;
      byNode.set(node, [...(byNode.get(node) ?? []), connection.name]);
    }
    expect([...byNode].filter(([, names]) => names.length > 1)).toEqual([]);
  });

  it('pages every connection with first, last, after and before', () => {
    for (const type of [schema.getQueryType()!, ...connections.map((c) => getNamedType(c.getFields().nodes.type))].filter(isObjectType)) {
      for (const field of Object.values(type.getFields())) {
        if (!getNamedType(field.type).name.endsWith('Connection')) continue;
        expect(field.args.map((a) => a.name), `${type.name}.${field.name}`).toEqual(expect.arrayContaining(['after', 'before', 'first', 'last']));
      }
    }
  });

  it('answers every mutation with a <Mutation>Result union: one payload, the shared errors, and errors of its own', () => {
    const shared = ['ConflictError', 'ForbiddenError', 'NotFoundError', 'UnauthenticatedError', 'ValidationError'];
    for (const field of Object.values(schema.getMutationType()!.getFields())) {
      const result = getNamedType(field.type);
      const name = `${field.name[0].toUpperCase()}${field.name.slice(1)}Result`;
      expect(result.name, field.name).toBe(name);
      if (!isUnionType(result)) throw new Error(`${name} is not a union`);
      const members = result.getTypes();
      const isError = (t: GraphQLObjectType) => t.getInterfaces().some((i) => i.name === 'Error');
      expect(members.filter((m) => shared.includes(m.name)).map((m) => m.name).sort(), name).toEqual(shared);
      expect(members.filter((m) => !isError(m)).map((m) => m.name), name).toEqual([expect.stringMatching(/Payload$/)]);
    }
  });

  it('describes every type, field, argument, input field and enum value, boilerplate included', () => {
    expect(undescribed(), 'these need a description in their *.schema.ts (or, for plugin boilerplate, in src/schema-docs.ts)').toEqual([]);
  });
});

/** What the docs pane would show without a description, as `Type`, `Type.field`, `Type.field(arg:)` or `Enum.VALUE`. */
function undescribed(): string[] {
  const missing: string[] = [];
  const check = (description: string | null | undefined, path: string) => {
    if (!description?.trim()) missing.push(path);
  };
  for (const type of types) {
    if (isSpecifiedScalarType(type)) continue;
    check(type.description, type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(field.description, `${type.name}.${field.name}`);
        for (const arg of field.args) check(arg.description, `${type.name}.${field.name}(${arg.name}:)`);
      }
    }
    if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) check(field.description, `${type.name}.${field.name}`);
    if (isEnumType(type)) for (const value of type.getValues()) check(value.description, `${type.name}.${value.name}`);
  }
  return missing;
}
