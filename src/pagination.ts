import { GraphQLError } from 'graphql';

export const MAX_PAGE_SIZE = 100;

/**
 * Every connection needs an explicit page size: `first` (or `last` when paging backwards),
 * from 0 to 100. Pothos would silently clamp; a client asking for 500 should hear why not.
 */
export function checkPageArgs(args: { first?: number | null; last?: number | null }): void {
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
