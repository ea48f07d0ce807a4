import type { z } from 'zod';
import { ValidationError, type FieldError } from './errors.js';

/** PostgreSQL text cannot hold U+0000: a string with it would fail in SQL, so it is refused here. */
export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

/**
 * Parses service input with a zod schema; failures become a ValidationError naming each field.
 * Strings holding NUL are refused at any depth, but in the top-level fields `nulAllowedIn` names
 * (what never reaches the database, such as a password that is only hashed).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  root = 'input',
  { nulAllowedIn = [] }: { nulAllowedIn?: readonly string[] } = {},
): z.infer<S> {
  const rootPath = root.split('.');
  const scanned =
    nulAllowedIn.length && input && typeof input === 'object'
      ? Object.fromEntries(Object.entries(input).filter(([key]) => !nulAllowedIn.includes(key)))
      : input;
  const nulErrors = nulFieldErrors(scanned, rootPath);
  const parsed = schema.safeParse(input);
  if (parsed.success && nulErrors.length === 0) return parsed.data;
  const nulPaths = new Set(nulErrors.map((error) => error.path.join('.')));
  const issues = parsed.success ? [] : parsed.error.issues;
  const errors = [
    ...nulErrors,
    ...issues
      .map((issue) => ({ path: [...rootPath, ...issue.path.map(String)], message: issueMessage(issue, input) }))
      .filter((error) => !nulPaths.has(error.path.join('.'))),
  ];
  // One message per field: two checks that fail alike (a URL's format and its scheme) say it once.
  const same = (a: FieldError, b: FieldError) => a.message === b.message && a.path.join('.') === b.path.join('.');
  throw new ValidationError(errors.filter((error, index) => errors.findIndex((other) => same(other, error)) === index));
}

/** A field left out says so, rather than zod's "Invalid input: expected string, received undefined". */
function issueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code !== 'invalid_type' && issue.code !== 'invalid_value') return issue.message;
  const value = issue.path.reduce<unknown>((parent, key) => (parent == null ? undefined : (parent as Record<PropertyKey, unknown>)[key]), input);
  return value == null ? 'is required' : issue.message;
}

/** Every string in `value` (at any depth) that holds a NUL character, as a field error at its path. */
export function nulFieldErrors(value: unknown, path: string[]): FieldError[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [{ path, message: NUL_MESSAGE }] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => nulFieldErrors(item, [...path, String(index)]));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.entries(value).flatMap(([key, item]) => nulFieldErrors(item, [...path, key]));
  }
  return [];
}

/** GraphQL passes explicit nulls for omitted optional fields; zod's optional() wants undefined. */
export function withoutNulls<T extends Record<string, unknown>>(input: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}
