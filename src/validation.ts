import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parses service input with a zod schema; failures become a ValidationError naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, root = 'input'): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({
      path: [root, ...issue.path.map(String)],
      message: issue.message,
    })),
  );
}
