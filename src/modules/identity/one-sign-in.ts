import { GraphQLError, Kind, type ASTVisitor, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// Aliases would let one request try many passwords (30 `signIn`s a request, each an argon2
// hash): a mutation may hold one signIn, signUp, changePassword or resetPassword. Refused at validation, before anything runs,
// over HTTP and graphql-ws alike (ws.ts validates through the same envelop).

const ONE_AT_A_TIME = new Set(['signIn', 'signUp', 'changePassword', 'resetPassword']);

/** The validation rule: a mutation operation with more than one of them is refused. */
function oneSignInPerOperation(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      if (operation.operation !== 'mutation') return false;
      const keys = authResponseKeys(context, operation.selectionSet, new Set());
      if (keys.size > 1) {
        context.reportError(
          new GraphQLError(`An operation may hold one signIn, signUp, changePassword or resetPassword, not ${keys.size} (${[...keys].join(', ')}); send each in a request of its own`, {
            nodes: operation,
            extensions: { code: 'ONE_SIGN_IN_PER_OPERATION' },
          }),
        );
      }
      return false;
    },
  };
}

/**
 * The response keys (alias or name) of those fields at the root of a mutation, through
 * fragments: fields with one key are merged by GraphQL and run once.
 */
function authResponseKeys(context: ValidationContext, selectionSet: SelectionSetNode, seenFragments: Set<string>): Set<string> {
  const keys = new Set<string>();
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (ONE_AT_A_TIME.has(selection.name.value)) keys.add(selection.alias?.value ?? selection.name.value);
      continue;
    }
    let nested: SelectionSetNode | undefined;
    if (selection.kind === Kind.INLINE_FRAGMENT) nested = selection.selectionSet;
    else if (!seenFragments.has(selection.name.value)) {
      seenFragments.add(selection.name.value);
      nested = context.getFragment(selection.name.value)?.selectionSet;
    }
    if (nested) for (const key of authResponseKeys(context, nested, seenFragments)) keys.add(key);
  }
  return keys;
}

export function useOneSignInPerOperation(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(oneSignInPerOperation);
    },
  };
}
