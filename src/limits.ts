import type { Plugin } from '@envelop/core';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  isCompositeType,
  isInputObjectType,
  isLeafType,
  isListType,
  Kind,
  visit,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { MAX_PAGE_SIZE } from './pagination.js';

/**
 * Operation limits: what one request may ask of the server, checked before anything runs.
 * Each refusal is one error with a code of its own and a message naming its setting:
 *
 * | code | setting | checked on |
 * |---|---|---|
 * | QUERY_TOO_DEEP | MAX_QUERY_DEPTH | the document |
 * | TOO_MANY_ALIASES | MAX_ALIASES | the document (aliases of `__typename` count) |
 * | TOO_MANY_DIRECTIVES | MAX_DIRECTIVES | the document |
 * | REPEATED_DIRECTIVE | — | the document: a non-repeatable directive used twice in one place |
 * | TOO_MANY_TOKENS | MAX_QUERY_TOKENS | the query text, while it is parsed |
 * | LIST_TOO_LONG | — (100, or the list's own cap) | every list argument and list input field, literal or variable |
 * | QUERY_TOO_COSTLY | MAX_QUERY_COST, MAX_SUBSCRIPTION_COST | the operation with its variables |
 */
export type OperationLimits = {
  maxDepth: number;
  maxCost: number;
  maxSubscriptionCost: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
};

/** Items a list argument or list input field may hold unless its definition says `extensions: { maxItems }`. */
const DEFAULT_MAX_LIST_ITEMS = MAX_PAGE_SIZE;

function limitError(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** The plugins that enforce the limits; put them before anything that executes. */
export function useOperationLimits(limits: OperationLimits): Plugin[] {
  // graphql-armor counts; its own errors read "Syntax Error: ...", so each refusal is re-thrown
  // as ours, with the count armor found.
  const found = (error: GraphQLError) => /found (\d+)/.exec(error.message)?.[1] ?? 'more';
  const refuse = (code: string, message: (found: string) => string) => [
    (_context: unknown, error: GraphQLError) => {
      throw limitError(code, message(found(error)));
    },
  ];
  return [
    EnvelopArmorPlugin({
      maxDepth: {
        n: limits.maxDepth,
        ignoreIntrospection: true,
        onReject: refuse('QUERY_TOO_DEEP', (n) => `The query is ${n} levels deep; at most ${limits.maxDepth} are allowed (MAX_QUERY_DEPTH)`),
      },
      // Ours below: armor's sees neither variables nor list arguments.
      costLimit: { enabled: false },
      maxAliases: {
        n: limits.maxAliases,
        // Armor lets aliases of __typename through by default: 101 of them cost nothing to write.
        allowList: [],
        onReject: refuse('TOO_MANY_ALIASES', (n) => `The query uses ${n} aliases; at most ${limits.maxAliases} are allowed (MAX_ALIASES)`),
      },
      maxDirectives: {
        n: limits.maxDirectives,
        onReject: refuse('TOO_MANY_DIRECTIVES', (n) => `The query uses ${n} directives; at most ${limits.maxDirectives} are allowed (MAX_DIRECTIVES)`),
      },
      maxTokens: {
        n: limits.maxTokens,
        onReject: refuse('TOO_MANY_TOKENS', () => `The query has more than ${limits.maxTokens} tokens (MAX_QUERY_TOKENS)`),
      },
      blockFieldSuggestion: { enabled: true },
    }),
    {
      onValidate({ addValidationRule }) {
        addValidationRule(NoRepeatedDirectives);
      },
    },
    useListAndCostLimits(limits),
  ];
}

/**
 * A directive that is not repeatable (or unknown) used twice in one place refuses the whole
 * document, once: graphql-js would report one error per repetition (`@a@a@a...`), each
 * formatted and sent. Throwing stops validation, as armor's rules do.
 */
const NoRepeatedDirectives: ValidationRule = (context) => ({
  // One pass over the whole document when validation starts, before other rules report anything.
  Document(document) {
    visit(document, {
      enter(node) {
        if (!('directives' in node)) return;
        const seen = new Set<string>();
        for (const directive of node.directives ?? []) {
          const name = directive.name.value;
          if (seen.has(name) && !context.getSchema().getDirective(name)?.isRepeatable) {
            throw limitError('REPEATED_DIRECTIVE', `The directive @${name} is repeated in one place; it may be used there once`);
          }
          seen.add(name);
        }
      },
    });
  },
});

/**
 * Lists and cost, once the variables are known: in onExecute and onSubscribe, not in validation,
 * whose result Yoga caches per document text (the same `nodes(ids: $ids)` with 1 id and with
 * 5,000 is one document).
 */
function useListAndCostLimits(limits: OperationLimits): Plugin {
  const check =
    (maxCost: number, setting: string) =>
    ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: ExecutionResult) => void }) => {
      const error = limitsError(args, maxCost, setting);
      if (error) setResultAndStopExecution({ errors: [error] });
    };
  return {
    onExecute: check(limits.maxCost, 'MAX_QUERY_COST'),
    onSubscribe: check(limits.maxSubscriptionCost, 'MAX_SUBSCRIPTION_COST'),
  };
}

function limitsError(args: ExecutionArgs, maxCost: number, setting: string): GraphQLError | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return undefined; // the executor reports it
  const rootType = args.schema.getRootType(operation.operation);
  if (!rootType) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  try {
    const cost = new CostCounter(args.schema, fragments, (args.variableValues ?? {}) as Record<string, unknown>).selectionCost(operation.selectionSet, rootType, 1);
    if (cost > maxCost) {
      const what = operation.operation === 'subscription' ? "The subscription's selection" : 'The query';
      return limitError(
        'QUERY_TOO_COSTLY',
        `${what} costs ${Math.ceil(cost)}; at most ${maxCost} is allowed (${setting}). Ask for fewer items (first, last, ids) or fewer fields`,
      );
    }
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  return undefined;
}

/**
 * The cost of an operation: graphql-armor's formula (a leaf 1, an object 2 plus 1.5 times its
 * selection's cost, times `first`/`last`), with `first`/`last` from variables too, and list
 * arguments counted: a field that returns a list of what a list argument names (`nodes(ids:)`)
 * costs its selection once per item; other list items add 1 each. Lists over their cap throw.
 */
class CostCounter {
  private readonly fragmentCosts = new Map<string, number>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
  ) {}

  selectionCost(selectionSet: SelectionSetNode, parentType: GraphQLCompositeType, depth: number): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += 1.5 * this.fieldCost(selection, parentType, depth);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parentType;
        cost += 1.5 * (2 + this.selectionCost(selection.selectionSet, isCompositeType(type) ? type : parentType, depth + 1));
      } else {
        cost += 1.5 * (1 + 1.5 * this.fragmentCost(selection.name.value, depth));
      }
    }
    // Armor's root level does not take the 1.5 factor.
    return depth === 1 ? cost / 1.5 : cost;
  }

  private fragmentCost(name: string, depth: number): number {
    const known = this.fragmentCosts.get(name);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    const type = fragment && this.schema.getType(fragment.typeCondition.name.value);
    this.fragmentCosts.set(name, 0); // a cycle is invalid; validation has refused it already
    const cost = fragment && isCompositeType(type) ? 2 + this.selectionCost(fragment.selectionSet, type, depth + 1) : 0;
    this.fragmentCosts.set(name, cost);
    return cost;
  }

  private fieldCost(node: FieldNode, parentType: GraphQLCompositeType, depth: number): number {
    if (node.name.value === '__schema' || node.name.value === '__type') return 0; // introspection is free, as with armor
    const field = 'getFields' in parentType ? parentType.getFields()[node.name.value] : undefined;
    if (!field) return node.selectionSet ? 2 : 1; // __typename, or an unknown field the executor reports
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(field, node, this.variables);
    } catch {
      values = {}; // a bad argument: the executor's own error
    }
    let multiplier = 1;
    for (const name of ['first', 'last']) {
      const value = values[name];
      if (typeof value === 'number' && value > multiplier) multiplier = value;
    }
    const returnsList = isListType(getNullableType(field.type));
    let listItems = 0;
    for (const arg of field.args) {
      const items = countListItems(values[arg.name], arg.type, arg, `${node.name.value}(${arg.name})`);
      const topLevel = Array.isArray(values[arg.name]) ? (values[arg.name] as unknown[]).length : 0;
      if (returnsList && topLevel > 0) {
        multiplier = Math.max(multiplier, topLevel);
        listItems += items - topLevel;
      } else {
        listItems += items;
      }
    }
    const type = getNamedType(field.type);
    if (!node.selectionSet || isLeafType(type)) return 1 + listItems;
    return (2 + listItems + this.selectionCost(node.selectionSet, type as GraphQLCompositeType, depth + 1)) * multiplier;
  }
}

/** Items of every list in an argument's value, input objects walked; a list over its cap throws. */
function countListItems(value: unknown, type: GraphQLInputType, definition: GraphQLArgument | GraphQLInputField, where: string): number {
  if (value == null) return 0;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return 1;
    const max = listCap(definition);
    if (value.length > max) {
      throw limitError('LIST_TOO_LONG', `\`${where}\` takes at most ${max} items, got ${value.length}`);
    }
    let items = value.length;
    for (const item of value) items += countListItems(item, nullable.ofType as GraphQLInputType, definition, where);
    return items;
  }
  if (isInputObjectType(nullable) && typeof value === 'object') {
    let items = 0;
    for (const [name, field] of Object.entries(nullable.getFields())) {
      items += countListItems((value as Record<string, unknown>)[name], field.type, field, `${where}.${name}`);
    }
    return items;
  }
  return 0;
}

function listCap(definition: GraphQLArgument | GraphQLInputField): number {
  const declared = (definition.extensions as { maxItems?: unknown } | undefined)?.maxItems;
  return typeof declared === 'number' ? declared : DEFAULT_MAX_LIST_ITEMS;
}
