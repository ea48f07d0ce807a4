import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parses service input with a zod schema; failures become a ValidationError naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, root = 'input'): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({
      path: [...root.split('.'), ...issue.path.map(String)],
      message: issue.message,
    })),
  );
}

/** GraphQL passes explicit nulls for omitted optional fields; zod's optional() wants undefined. */
export function withoutNulls<T extends Record<string, unknown>>(input: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}
