import { MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  getNamedType,
  getNullableType,

  GraphQLObjectType,
  GraphQLUnionType,
  isObjectType,
  type GraphQLFieldConfig,
  type GraphQLSchema,
} from 'graphql';

export const GLOBAL_ID_DESCRIPTION = 'The global id: pass it to node(id:), and wherever an input asks for this object.';

/**
 * Descriptions of the boilerplate that the Pothos plugins generate and that their options can
 * only describe with one fixed text, not per type: `<Node>Connection` and `<Node>Edge` types and
 * `totalCount`, `<Mutation>Result` unions (the errors plugin's defaultUnionOptions is one string
 * for all), `<Name>Payload` types of a single object, each mutation's `input` argument, and `id`,
 * `createdAt` and `updatedAt` of the types that have them. Texts common to every connection
 * (PageInfo, cursors, first/last/after/before, node/nodes) are relay options in builder.ts.
 *
 * It fills only what is still empty, so a description written by hand wins, and it never
 * describes a domain field: those are written where they are defined, in each *.schema.ts.
 */
export function describeBoilerplate(schema: GraphQLSchema): GraphQLSchema {
  const mutationType = schema.getMutationType();
  return mapSchema(schema, {
    [MapperKind.OBJECT_TYPE]: (type) => {
      const config = type.toConfig();
      const describe = (name: string, text: string) => {
        const field = config.fields[name];
        if (field && !field.description) config.fields[name] = { ...field, description: text };
      };
      const isNode = type.getInterfaces().some((i) => i.name === 'Node');
      const connection = type.name.endsWith('Connection') && config.fields.nodes && config.fields.pageInfo;
      const edge = type.name.endsWith('Edge') && config.fields.node && config.fields.cursor;
      const payloadOf = type.name.endsWith('Payload') ? singleObjectField(config.fields) : undefined;

      if (connection) {
        const node = getNamedType(config.fields.nodes.type).name;
        config.description ||= `A page of ${node} items, with the cursors to fetch the pages around it.`;
        describe('totalCount', `How many ${node} items the list holds in all, across every page.`);
      }
      if (edge) config.description ||= `One ${getNamedType(config.fields.node.type).name} in a page, with its cursor.`;
      if (payloadOf) {
        config.description ||= `What a write answers when it succeeds: the ${payloadOf.type} as it is now.`;
        describe(payloadOf.field, `The ${payloadOf.type}, as it is after the write.`);
      }
      if (isNode) describe('id', GLOBAL_ID_DESCRIPTION);
      describe('createdAt', `When this ${type.name} was created.`);
      describe('updatedAt', `When this ${type.name} last changed.`);
      if (type.name === mutationType?.name) {
        for (const [name, field] of Object.entries(config.fields)) {
          const input = field.args?.input;
          if (input && !input.description) {
            const inputName = getNamedType(input.type).name;
            config.fields[name] = { ...field, args: { ...field.args, input: { ...input, description: `What ${name} needs; each field is described on ${inputName}.` } } };
          }
        }
      }
      return new GraphQLObjectType(config);
    },
    [MapperKind.UNION_TYPE]: (type) => {
      const config = type.toConfig();
      const mutation = type.name.endsWith('Result') && mutationType?.getFields()[`${type.name[0].toLowerCase()}${type.name.slice(1, -'Result'.length)}`];
      if (!mutation || config.description) return type;
      const payload = config.types.find((member) => !member.getInterfaces().some((i) => i.name === 'Error'));
      config.description = `What ${mutation.name} answers: ${payload ? `a ${payload.name} when it succeeds` : 'its result'}, or one of the errors it can end in, each implementing Error.`;
      return new GraphQLUnionType(config);
    },
  });
}

/** The one field of a payload when it holds one object (not a list), e.g. ThreadPayload.thread. */
function singleObjectField(fields: Record<string, GraphQLFieldConfig<unknown, unknown>>): { field: string; type: string } | undefined {
  const entries = Object.entries(fields);
  if (entries.length !== 1) return undefined;
  const [field, config] = entries[0];
  const type = getNullableType(config.type);
  return isObjectType(type) ? { field, type: type.name } : undefined;
}
