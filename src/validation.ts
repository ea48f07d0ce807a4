import { DateTimeResolver } from 'graphql-scalars';
import type { z } from 'zod';
import { ValidationError, type FieldError } from './errors.js';

/** PostgreSQL text cannot hold U+0000: a string with it would fail in SQL, so it is refused here. */
export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

/** How dates are written, in messages. */
const DATE_TIME_FORMAT = 'an ISO-8601 date-time with a time zone offset, e.g. 2026-11-23T18:44:31.000Z';

/**
 * A lone UTF-16 surrogate (JSON's "\ud800") is no character: PostgreSQL refuses it in arrays and
 * turns it into U+FFFD elsewhere, so two different strings would be stored as one.
 */
const ILL_FORMED_MESSAGE = 'must be well-formed Unicode text (it holds a lone UTF-16 surrogate, such as \\ud800)';

// A high surrogate not followed by a low one, or a low one not preceded by a high one
// (String.prototype.isWellFormed is Node 20's missing piece).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `text` with each lone surrogate replaced by U+FFFD (String.prototype.toWellFormed, Node 20 lacks it), for text fitted rather than refused. */
export const toWellFormed = (text: string): string => text.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');

/**
 * Parses service input with a zod schema; failures become a ValidationError naming each field.
 * Strings holding NUL or ill-formed Unicode are refused at any depth, but in the top-level fields
 * `unscanned` names (what never reaches the database, such as a password that is only hashed).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  root = 'input',
  { unscanned = [] }: { unscanned?: readonly string[] } = {},
): z.infer<S> {
  const rootPath = root.split('.');
  const scanned =
    unscanned.length && input && typeof input === 'object'
      ? Object.fromEntries(Object.entries(input).filter(([key]) => !unscanned.includes(key)))
      : input;
  const textErrors = textFieldErrors(scanned, rootPath);
  const parsed = schema.safeParse(input);
  if (parsed.success && textErrors.length === 0) return parsed.data;
  const textPaths = new Set(textErrors.map((error) => error.path.join('.')));
  const issues = parsed.success ? [] : parsed.error.issues;
  const errors = [
    ...textErrors,
    ...issues
      .map((issue) => ({ path: [...rootPath, ...issue.path.map(String)], message: issueMessage(issue, input) }))
      .filter((error) => !textPaths.has(error.path.join('.'))),
  ];
  // One message per field: two checks that fail alike (a URL's format and its scheme) say it once.
  const same = (a: FieldError, b: FieldError) => a.message === b.message && a.path.join('.') === b.path.join('.');
  throw new ValidationError(errors.filter((error, index) => errors.findIndex((other) => same(other, error)) === index));
}

// What zod's "expected <type>" means, in plain words (webhook JSON can hold any type anywhere).
const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  date: `${DATE_TIME_FORMAT}, between years 0001 and 9999`,
};

/**
 * A field left out says so, and a value of the wrong type says what is expected, rather than
 * zod's "Invalid input: expected string, received undefined" or "expected date, received Date".
 */
function issueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code !== 'invalid_type' && issue.code !== 'invalid_value') return issue.message;
  const value = issue.path.reduce<unknown>((parent, key) => (parent == null ? undefined : (parent as Record<PropertyKey, unknown>)[key]), input);
  if (value == null) return 'is required';
  if (issue.code === 'invalid_value') {
    return issue.values.length > 1 && issue.message.startsWith('Invalid option')
      ? `must be one of ${issue.values.map(String).join(', ')}`
      : issue.message;
  }
  // A message of the schema's own (not zod's "Invalid input: ...") is kept.
  if (!issue.message.startsWith('Invalid input')) return issue.message;
  return `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
}

/** Every string in `value` (at any depth) that holds NUL or a lone surrogate, as a field error at its path. */
export function textFieldErrors(value: unknown, path: string[]): FieldError[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return [{ path, message: NUL_MESSAGE }];
    return LONE_SURROGATE.test(value) ? [{ path, message: ILL_FORMED_MESSAGE }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => textFieldErrors(item, [...path, String(index)]));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.entries(value).flatMap(([key, item]) => textFieldErrors(item, [...path, key]));
  }
  return [];
}

/**
 * The dates accepted anywhere: years 0001 to 9999 (UTC), what four-digit ISO-8601 years can say.
 * PostgreSQL refuses year 0, and dates far beyond are mistakes, not plans.
 */
export const DATE_RANGE = { min: new Date('0001-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z') } as const;
export const DATE_RANGE_MESSAGE = 'must be between years 0001 and 9999 (UTC)';

/**
 * An RFC 3339 date-time with its offset, e.g. 2026-11-23T18:44:31.000Z, checked by graphql-scalars
 * (only real calendar dates and times: JavaScript's Date alone reads "2026-02-30" as 2 March, and
 * accepts forms such as bare years and local times whose meaning depends on the server), within
 * DATE_RANGE. Throws an Error whose message says what is expected.
 */
export function parseDateTime(value: unknown): Date {
  let date: Date;
  try {
    date = DateTimeResolver.parseValue(value) as Date;
  } catch {
    throw new Error(`must be ${DATE_TIME_FORMAT}`);
  }
  if (!(date >= DATE_RANGE.min && date <= DATE_RANGE.max)) throw new Error(DATE_RANGE_MESSAGE);
  return date;
}

/** GraphQL passes explicit nulls for omitted optional fields; zod's optional() wants undefined. */
export function withoutNulls<T extends Record<string, unknown>>(input: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}
