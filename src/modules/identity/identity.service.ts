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
import { requireViewer } from './guards.js';
import { passwordWeakness } from './passwords.js';
import { newMemberProfile } from '../members/handles.js';
import { beginAccountEmail, beginSignIn, beginSignUp, signInSucceeded } from './throttle.js';
import { answerTakenSignUp, sendVerification } from './account-emails.js';

// OWASP's argon2id minimum (19 MiB, 2 passes). 2 is Algorithm.Argon2id, a const enum we can't import.
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
// Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
const DUMMY_HASH = hash('not-a-real-password', ARGON2);

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2);

/** Whether `password` is the one of `passwordHash`; with no hash, verifies a dummy so that it costs the same. */
export async function verifyPassword(passwordHash: string | null | undefined, password: string): Promise<boolean> {
  const valid = await verify(passwordHash ?? (await DUMMY_HASH), password);
  return !!passwordHash && valid;
}

let tokenTtlMs = 30 * 24 * 3600_000;
export function configureIdentity(options: { tokenTtlHours: number }): void {
  tokenTtlMs = options.tokenTtlHours * 3600_000;
}

export const email = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .email('must be a valid email address')
  .transform((value) => value.toLowerCase());

export const newPassword = z
  .string()
  .min(10, 'must be at least 10 characters')
  .max(512, 'must be at most 512 characters');

const signUpInput = z.object({
  email,
  password: newPassword,
  displayName: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters'),
  // Checked by members/handles.ts (newMemberProfile), with the rules of every handle.
  handle: z.string().nullish(),
});

const signInInput = z.object({ email, password: z.string().max(512, 'must be at most 512 characters') });

export type AuthResult = { token: string; user: User };

/** What sign-up (and the other requests that send an account email) answer, whatever the address. */
export type AccountEmailResult = { email: string; message: string };

/** Who is asking: the client's address (the socket's), for the throttle; null when not over the network (the seed script). */
export type Client = { address: string | null };

/**
 * A new account, unverified until its email's link is followed (verifyEmail signs it in).
 * Refused before any hashing when the client's address has made too many sign-ups, or the
 * address was asked for too often (RateLimitedError), or the password is too easy to guess
 * (ValidationError). The answer is the same whether or not the email is taken: the same work is
 * done, and the owner of a taken address is told by email (account-emails.ts answerTakenSignUp).
 */
export async function signUp(input: z.input<typeof signUpInput>, client: Client = { address: null }): Promise<AccountEmailResult> {
  await beginSignUp(client.address);
  const data = parseInput(signUpInput, input);
  const weakness = passwordWeakness(data.password, [data.email, data.displayName]);
  if (weakness) throw ValidationError.field('input.password', weakness);
  await beginAccountEmail(data.email);
  const passwordHash = await hash(data.password, ARGON2);
  await writeWithActivity(async (tx, activity) => {
    // Serialises sign-ups so exactly one account can become the first ADMIN.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7301)`;
    // The handle first: a taken or malformed one is refused whether or not the email is taken,
    // so the answer about a handle says nothing about the address.
    const profile = await newMemberProfile(tx, { displayName: data.displayName, handle: data.handle });
    const existing = await tx.user.findUnique({ where: { email: data.email } });
    // Taken: no account, no error; an email to the address instead (enumeration-safe sign-up).
    if (existing) return answerTakenSignUp(tx, existing, { passwordHash, displayName: data.displayName });
    const isFirst = (await tx.user.count()) === 0;
    const created = await tx.user.create({
      data: { email: data.email, passwordHash, displayName: data.displayName, role: isFirst ? 'ADMIN' : 'MEMBER', ...profile },
    });
    await activity.record({
      kind: 'USER_SIGNED_UP',
      actorId: created.id,
      subject: { type: 'User', id: created.id },
      visibility: 'STAFF',
    });
    await sendVerification(tx, created);
  });
  return accountEmailAnswer(data.email);
}

/**
 * An account made by an operator (the seed script), its email confirmed already: no email, no
 * throttle. The same rules as signUp otherwise; the first account is the ADMIN.
 */
export async function createVerifiedAccount(input: z.input<typeof signUpInput>): Promise<User> {
  const data = parseInput(signUpInput, input);
  const weakness = passwordWeakness(data.password, [data.email, data.displayName]);
  if (weakness) throw ValidationError.field('input.password', weakness);
  const passwordHash = await hash(data.password, ARGON2);
  return writeWithActivity(async (tx, activity) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7301)`;
    if (await tx.user.findUnique({ where: { email: data.email }, select: { id: true } })) {
      throw new ConflictError('An account with this email already exists');
    }
    const isFirst = (await tx.user.count()) === 0;
    const profile = await newMemberProfile(tx, { displayName: data.displayName, handle: data.handle });
    const created = await tx.user.create({
      data: { email: data.email, passwordHash, displayName: data.displayName, role: isFirst ? 'ADMIN' : 'MEMBER', emailVerifiedAt: new Date(), ...profile },
    });
    await activity.record({ kind: 'USER_SIGNED_UP', actorId: created.id, subject: { type: 'User', id: created.id }, visibility: 'STAFF' });
    return created;
  });
}

/** The one answer of signUp, requestPasswordReset and resendVerificationEmail: it tells nothing of the account. */
export function accountEmailAnswer(address: string): AccountEmailResult {
  return { email: address, message: `If this address can be used, an email is on its way to ${address}: follow its instructions.` };
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
  const valid = await verifyPassword(user?.passwordHash, data.password);
  // An unconfirmed account signs in through its email's link, never with a password: else
  // signing in with the password just used to sign up would tell whether the address was free.
  if (!user || !valid || !user.emailVerifiedAt) throw new InvalidCredentialsError();
  await signInSucceeded(data.email, client.address);
  return writeWithActivity(async (tx, activity) => {
    const token = await createSession(tx, user.id);
    await activity.record({ kind: 'USER_SIGNED_IN', actorId: user.id, subject: { type: 'User', id: user.id }, visibility: 'SUBJECT_USER' });
    return { token, user };
  });
}

export async function signOut(signedIn: Viewer | null): Promise<void> {
  const viewer = requireViewer(signedIn);
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
      const profile = await newMemberProfile(tx, { displayName: data.displayName });
      const created = await tx.user.create({ data: { email: data.email, passwordHash, displayName: data.displayName, role: 'MEMBER', ...profile } });
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
    select: { id: true, expiresAt: true, revokedAt: true, user: { select: { id: true, role: true, suspendedUntil: true, lastSeenAt: true } } },
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
    lastSeenAt: session.user.lastSeenAt,
  };
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

export async function createSession(tx: Tx, userId: number): Promise<string> {
  return (await openSession(tx, userId)).token;
}

/** A new session: its bearer token (shown once) and its id. */
export async function openSession(tx: Tx, userId: number): Promise<{ token: string; sessionId: number }> {
  const token = `tta_${randomBytes(32).toString('base64url')}`;
  const session = await tx.session.create({
    data: { userId, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + tokenTtlMs) },
    select: { id: true },
  });
  return { token, sessionId: session.id };
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
