import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidCredentialsError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../../errors.js';
import type { User } from '../../generated/prisma/client.js';
import { parseInput } from '../../validation.js';
import { passwordWeakness } from './passwords.js';
import { beginSignIn, beginSignUp, signInSucceeded } from './throttle.js';

// OWASP's argon2id minimum (19 MiB, 2 passes). 2 is Algorithm.Argon2id, a const enum we can't import.
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
// Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
const DUMMY_HASH = hash('not-a-real-password', ARGON2);

let tokenTtlMs = 30 * 24 * 3600_000;
export function configureIdentity(options: { tokenTtlHours: number }): void {
  tokenTtlMs = options.tokenTtlHours * 3600_000;
}

const email = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .email('must be a valid email address')
  .transform((value) => value.toLowerCase());

const signUpInput = z.object({
  email,
  password: z
    .string()
    .min(10, 'must be at least 10 characters')
    .max(512, 'must be at most 512 characters'),
  displayName: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters'),
});

const signInInput = z.object({ email, password: z.string().max(512, 'must be at most 512 characters') });

export type AuthResult = { token: string; user: User };

/** Who is asking: the client's address (the socket's), for the throttle; null when not over the network (the seed script). */
export type Client = { address: string | null };

/**
 * A new account. Refused before any hashing when the client's address has made too many
 * sign-ups (RateLimitedError), or the password is too easy to guess (ValidationError).
 */
export async function signUp(input: z.input<typeof signUpInput>, client: Client = { address: null }): Promise<AuthResult> {
  await beginSignUp(client.address);
  const data = parseInput(signUpInput, input);
  const weakness = passwordWeakness(data.password, [data.email, data.displayName]);
  if (weakness) throw ValidationError.field('input.password', weakness);
  const passwordHash = await hash(data.password, ARGON2);
  return writeWithActivity(async (tx, activity) => {
    // Serialises sign-ups so exactly one account can become the first ADMIN.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7301)`;
    const existing = await tx.user.findUnique({ where: { email: data.email }, select: { id: true } });
    if (existing) throw new ConflictError('An account with this email already exists');
    const isFirst = (await tx.user.count()) === 0;
    const created = await tx.user.create({
      data: { email: data.email, passwordHash, displayName: data.displayName, role: isFirst ? 'ADMIN' : 'MEMBER' },
    });
    await activity.record({
      kind: 'USER_SIGNED_UP',
      actorId: created.id,
      subject: { type: 'User', id: created.id },
      visibility: 'STAFF',
    });
    return { user: created, token: await createSession(tx, created.id) };
  });
}

/**
 * A new session for the right email and password. Throttled (see throttle.ts) before the
 * password is hashed: past the limits, RateLimitedError whether or not the password is right.
 */
export async function signIn(input: z.input<typeof signInInput>, client: Client = { address: null }): Promise<AuthResult> {
  // The password is only hashed, never stored: an account made before sign-up refused NUL (or
  // ill-formed Unicode) can still sign in.
  const data = parseInput(signInInput, input, 'input', { unscanned: ['password'] });
  await beginSignIn(data.email, client.address);
  const user = await prisma().user.findUnique({ where: { email: data.email } });
  const valid = await verify(user?.passwordHash ?? (await DUMMY_HASH), data.password);
  if (!user || !valid) throw new InvalidCredentialsError();
  await signInSucceeded(data.email, client.address);
  return writeWithActivity(async (tx, activity) => {
    const token = await createSession(tx, user.id);
    await activity.record({ kind: 'USER_SIGNED_IN', actorId: user.id, subject: { type: 'User', id: user.id }, visibility: 'SUBJECT_USER' });
    return { token, user };
  });
}

export async function signOut(viewer: Viewer | null): Promise<void> {
  if (!viewer) throw new UnauthenticatedError();
  await writeWithActivity(async (tx, activity) => {
    // Conditional: a concurrent signOut with the same token already revoked it (and said so).
    const { count } = await tx.session.updateMany({ where: { id: viewer.sessionId, revokedAt: null }, data: { revokedAt: new Date() } });
    if (count === 0) return;
    await activity.record({
      kind: 'USER_SIGNED_OUT',
      actorId: viewer.id,
      subject: { type: 'User', id: viewer.id },
      visibility: 'SUBJECT_USER',
      access: { revokedSessionId: viewer.sessionId },
    });
  });
}

/**
 * The account of an outside sender (an email or chat provider's inbound hook): found by email, or
 * created as a MEMBER with a random password nobody knows, so the person can be answered now
 * and claim the account later.
 */
export async function ensureUserForEmail(input: { email: string; displayName: string }): Promise<User> {
  const data = parseInput(z.object({ email, displayName: signUpInput.shape.displayName }), input);
  const existing = await prisma().user.findUnique({ where: { email: data.email } });
  if (existing) return existing;
  const passwordHash = await hash(randomBytes(32).toString('hex'), ARGON2);
  try {
    return await writeWithActivity(async (tx, activity) => {
      const created = await tx.user.create({ data: { email: data.email, passwordHash, displayName: data.displayName, role: 'MEMBER' } });
      await activity.record({ kind: 'USER_SIGNED_UP', actorId: created.id, subject: { type: 'User', id: created.id }, visibility: 'STAFF' });
      return created;
    });
  } catch (error) {
    // The same sender twice at once: the other delivery created the account.
    if (error instanceof ConflictError) return prisma().user.findUniqueOrThrow({ where: { email: data.email } });
    throw error;
  }
}

/** Resolves a bearer token to its viewer; throws UnauthenticatedError if unknown, expired or revoked. */
export async function authenticate(token: string): Promise<Viewer> {
  const session = await prisma().session.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { id: true, expiresAt: true, revokedAt: true, user: { select: { id: true, role: true, suspendedUntil: true } } },
  });
  if (!session || session.revokedAt || session.expiresAt <= new Date()) {
    throw new UnauthenticatedError('The access token is invalid, expired or revoked');
  }
  return {
    id: session.user.id,
    role: session.user.role,
    sessionId: session.id,
    sessionExpiresAt: session.expiresAt,
    suspendedUntil: session.user.suspendedUntil,
  };
}

/** A suspended viewer may read and appeal, but not write, react or report. */
export function assertNotSuspended(viewer: Viewer): void {
  if (viewer.suspendedUntil && viewer.suspendedUntil > new Date()) {
    throw new ForbiddenError(`Your account is suspended until ${viewer.suspendedUntil.toISOString()}`);
  }
}

/**
 * Suspends (a date) or lifts the suspension of (null) a member, in the moderation action's
 * transaction. Staff can't be suspended: an ADMIN changes their role instead.
 */
export async function setSuspension(tx: Tx, userId: number, until: Date | null, reason: string | null): Promise<User> {
  const user = await tx.user.findUnique({ where: { id: userId } });
  if (!user) throw new NotFoundError('User', String(userId));
  if (until && user.role !== 'MEMBER') throw new ForbiddenError('Only members can be suspended; an ADMIN can change a staff role instead');
  return tx.user.update({ where: { id: userId }, data: { suspendedUntil: until, suspensionReason: until ? reason : null } });
}

async function createSession(tx: Tx, userId: number): Promise<string> {
  const token = `tta_${randomBytes(32).toString('base64url')}`;
  await tx.session.create({
    data: { userId, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + tokenTtlMs) },
  });
  return token;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
