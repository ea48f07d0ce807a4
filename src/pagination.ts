import type { Plugin } from '@envelop/core';
import {
  getArgumentValues,
  getNamedType,
  getOperationAST,
  GraphQLError,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
} from 'graphql';

export const MAX_PAGE_SIZE = 100;

/**
 * Every connection needs an explicit page size: `first` (or `last` when paging backwards),
 * from 0 to 100. Pothos would silently clamp; a client asking for 500 should hear why not.
 * Applied to every connection an operation selects by usePageSizeCheck, so resolvers need not.
 */
function checkPageArgs(args: { first?: number | null; last?: number | null }): void {
  if (args.first == null && args.last == null) {
    throw badInput(`Pass \`first\` (or \`last\`) to say how many items you want, at most ${MAX_PAGE_SIZE}`);
  }
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw badInput(`\`${name}\` must be between 0 and ${MAX_PAGE_SIZE}, got ${value}`);
    }
  }
}

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

/**
 * Holds every connection field the operation selects to checkPageArgs, before anything runs.
 * In resolvers the check missed connections whose resolver never ran: a page that selects only
 * `totalCount` is answered without fetching rows, so `spaces(first: 500) { totalCount }` passed.
 */
export function usePageSizeCheck(): Plugin {
  const check = ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: ExecutionResult) => void }) => {
    const error = pageSizeError(args);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return { onExecute: check, onSubscribe: check };
}

function pageSizeError({ schema, document, operationName, variableValues }: ExecutionArgs): GraphQLError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined; // the executor reports it
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // The operation and the fragments it reaches, not other operations in the same document.
  const reached = new Set<FragmentDefinitionNode>();
  const reach = (node: ASTNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !reached.has(fragment)) {
          reached.add(fragment);
          reach(fragment);
        }
      },
    });
  reach(operation);
  const typeInfo = new TypeInfo(schema);
  let found: GraphQLError | undefined;
  for (const root of [operation, ...reached]) {
    visit(
      root,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const field = typeInfo.getFieldDef();
          if (found || !field || !getNamedType(field.type).name.endsWith('Connection')) return;
          try {
            checkPageArgs(getArgumentValues(field, node, variableValues ?? undefined));
          } catch (error) {
            found = error instanceof GraphQLError ? new GraphQLError(error.message, { nodes: [node], extensions: error.extensions }) : undefined;
          }
        },
      }),
    );
  }
  return found;
}
