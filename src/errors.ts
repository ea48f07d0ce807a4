// Expected failures. Services throw these; the Pothos errors plugin turns them into members of
// each mutation's result union, so clients get typed data instead of a masked error.

export abstract class AppError extends Error {
  abstract readonly code: string;
}

export type FieldError = { path: string[]; message: string };

export class ValidationError extends AppError {
  readonly code = 'VALIDATION';
  constructor(
    readonly fieldErrors: FieldError[],
    message = fieldErrors.map((e) => `${e.path.join('.') || 'input'}: ${e.message}`).join('; '),
  ) {
    super(message);
  }

  static field(path: string, message: string): ValidationError {
    return new ValidationError([{ path: path.split('.'), message }]);
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  constructor(readonly typename: string, readonly id: string) {
    super(`${typename} ${id} was not found`);
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
  constructor(message = 'You are not allowed to do this') {
    super(message);
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'Sign in to do this') {
    super(message);
  }
}

export class ConflictError extends AppError {
  readonly code = 'CONFLICT';
}

export class InvalidCredentialsError extends AppError {
  readonly code = 'INVALID_CREDENTIALS';
  constructor(message = 'Email or password is incorrect') {
    super(message);
  }
}

/** Too many attempts (failed sign-ins, sign-ups) for an account or from an address: nothing was tried. */
export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED';
  constructor(
    /** Whole seconds until an attempt can be made again (at least 1). */
    readonly retryAfterSeconds: number,
    message = `Too many attempts; try again in ${retryAfterSeconds} seconds`,
  ) {
    super(message);
  }
}

/** An activity cursor older than the retained log: resuming from it would skip events. */
export class CursorExpiredError extends AppError {
  readonly code = 'CURSOR_EXPIRED';
  constructor(readonly cursor: string) {
    super(`Activity cursor ${cursor} is older than the retained activity log; load the current state and subscribe without \`after\``);
  }
}

/** An auto-moderation rule with the BLOCK action matched the words being written; nothing was written. */
export class AutomodBlockedError extends AppError {
  readonly code = 'AUTOMOD_BLOCKED';
  constructor(
    readonly ruleName: string,
    /** What the rules matched, recorded after the write rolled back (not sent to the client). */
    readonly hits: readonly unknown[] = [],
  ) {
    super(`Blocked by the auto-moderation rule "${ruleName}"`);
  }
}
