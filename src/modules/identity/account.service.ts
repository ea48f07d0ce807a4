import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { InvalidCredentialsError, ValidationError } from '../../errors.js';
import type { User } from '../../generated/prisma/client.js';
import { parseInput } from '../../validation.js';
import {
  accountSettings,
  queuePasswordChangedEmail,
  queuePasswordResetEmail,
  sendVerification,
} from './account-emails.js';
import {
  accountEmailAnswer,
  createSession,
  email,
  hashPassword,
  newPassword,
  openSession,
  verifyPassword,
  type AccountEmailResult,
  type AuthResult,
  type Client,
} from './identity.service.js';
import { requireViewer } from './guards.js';
import { passwordWeakness } from './passwords.js';
import { beginAccountEmail, beginSignIn, signInSucceeded } from './throttle.js';
import { findToken, hashAccountToken, issueToken, useToken } from './tokens.js';

// The account flows after sign-up: confirming the email, a forgotten password (by email), and a
// password change. Requests that name an address answer the same whether or not it has an
// account (accountEmailAnswer); the email itself says what the owner can do.

// 512 base64url characters is far more than a token (43); anything longer is not one of ours.
const token = z.string().trim().min(1, 'must not be empty').max(512, 'is not a valid token');

const tokenInput = z.object({ token });
const emailInput = z.object({ email });
const resetInput = z.object({ token, newPassword });
const changeInput = z.object({ currentPassword: z.string().max(512, 'must be at most 512 characters'), newPassword });

/**
 * Follows a verification link: the address is confirmed (and the password and name of a later
 * sign-up with it applied, see answerTakenSignUp), and a new session is returned.
 */
export async function verifyEmail(input: { token: string }): Promise<AuthResult> {
  const data = parseInput(tokenInput, input);
  // Nobody else needs to hear of it: a plain transaction, no activity (as a sign-up's session).
  return prisma().$transaction(async (tx) => {
    const used = await useToken(tx, data.token, 'EMAIL_VERIFICATION');
    const before = await tx.user.findUniqueOrThrow({ where: { id: used.userId }, select: { emailVerifiedAt: true } });
    const user = await tx.user.update({
      where: { id: used.userId },
      data: {
        emailVerifiedAt: before.emailVerifiedAt ?? new Date(),
        ...(used.passwordHash && { passwordHash: used.passwordHash }),
        ...(used.displayName && { displayName: used.displayName }),
      },
    });
    return { token: await createSession(tx, user.id), user };
  });
}

/** A new verification link for an unconfirmed account; the same answer for any other address. */
export async function resendVerificationEmail(input: { email: string }, client: Client = { address: null }): Promise<AccountEmailResult> {
  const data = parseInput(emailInput, input);
  await beginAccountEmail(data.email, client.address);
  const user = await prisma().user.findUnique({ where: { email: data.email } });
  if (user && !user.emailVerifiedAt) {
    await prisma().$transaction(async (tx) => {
      // Keeps what the latest sign-up chose (its password and name), if it is still waiting.
      const latest = await tx.accountToken.findFirst({
        where: { userId: user.id, purpose: 'EMAIL_VERIFICATION', usedAt: null, passwordHash: { not: null } },
        orderBy: { id: 'desc' },
        select: { passwordHash: true, displayName: true },
      });
      const pending = latest?.passwordHash && latest.displayName ? { passwordHash: latest.passwordHash, displayName: latest.displayName } : undefined;
      await sendVerification(tx, user, pending);
    });
  }
  return accountEmailAnswer(data.email);
}

/**
 * A password reset link by email, for an account with this address (confirmed or not: the
 * account of an outside support sender is claimed this way). The same answer for any address.
 */
export async function requestPasswordReset(input: { email: string }, client: Client = { address: null }): Promise<AccountEmailResult> {
  const data = parseInput(emailInput, input);
  await beginAccountEmail(data.email, client.address);
  const user = await prisma().user.findUnique({ where: { email: data.email } });
  if (user) {
    await prisma().$transaction(async (tx) => {
      const secret = await issueToken(tx, { userId: user.id, purpose: 'PASSWORD_RESET', ttlMs: accountSettings().resetTtlMinutes * 60_000 });
      await queuePasswordResetEmail(tx, { userId: user.id, email: user.email, displayName: user.displayName }, secret);
    });
  } else {
    // Roughly the work of the other branch, so the time taken does not tell either.
    hashAccountToken(data.email);
    await prisma().user.count({ where: { email: data.email } });
  }
  return accountEmailAnswer(data.email);
}

/**
 * A new password with a reset link's token: single use, expiring. Confirms the address (the link
 * came to it), ends every session of the account (their live streams too), and signs in anew.
 */
export async function resetPassword(input: { token: string; newPassword: string }): Promise<AuthResult> {
  const data = parseInput(resetInput, input);
  // Checked before hashing; checked again, and used, in the transaction.
  const found = await findToken(prisma(), data.token, 'PASSWORD_RESET');
  const user = await prisma().user.findUniqueOrThrow({ where: { id: found.userId } });
  assertStrong(data.newPassword, user);
  const passwordHash = await hashPassword(data.newPassword);
  const result = await writeWithActivity(async (tx, activity) => {
    await useToken(tx, data.token, 'PASSWORD_RESET');
    // The address is confirmed now: older verification links (and the password of a sign-up they carry) are spent.
    await tx.accountToken.updateMany({ where: { userId: user.id, purpose: 'EMAIL_VERIFICATION', usedAt: null }, data: { usedAt: new Date() } });
    const updated = await tx.user.update({
      where: { id: user.id },
      data: { passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? new Date() },
    });
    const revoked = await revokeSessions(tx, user.id, null);
    const session = await openSession(tx, user.id);
    await activity.record({
      kind: 'USER_PASSWORD_CHANGED',
      actorId: user.id,
      subject: { type: 'User', id: user.id },
      visibility: 'SUBJECT_USER',
      access: { revokedSessionIds: revoked },
    });
    await queuePasswordChangedEmail(tx, { userId: user.id, email: user.email, displayName: user.displayName }, 'reset');
    return { token: session.token, user: updated };
  });
  // Whoever owns the mailbox may sign in again at once, even if guesses had locked the account.
  await signInSucceeded(user.email, null);
  return result;
}

/**
 * A new password for the signed-in user, given the current one (throttled like sign-in). Every
 * other session of the user ends, with its live streams; this one stays.
 */
export async function changePassword(
  signedIn: Viewer | null,
  input: { currentPassword: string; newPassword: string },
  client: Client = { address: null },
): Promise<{ user: User; endedSessionCount: number }> {
  const viewer = requireViewer(signedIn);
  const data = parseInput(changeInput, input, 'input', { unscanned: ['currentPassword'] });
  const user = await prisma().user.findUniqueOrThrow({ where: { id: viewer.id } });
  await beginSignIn(user.email, client.address);
  if (!(await verifyPassword(user.passwordHash, data.currentPassword))) {
    throw new InvalidCredentialsError('The current password is incorrect');
  }
  await signInSucceeded(user.email, client.address);
  assertStrong(data.newPassword, user);
  const passwordHash = await hashPassword(data.newPassword);
  return writeWithActivity(async (tx, activity) => {
    const updated = await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    const revoked = await revokeSessions(tx, user.id, viewer.sessionId);
    await activity.record({
      kind: 'USER_PASSWORD_CHANGED',
      actorId: user.id,
      subject: { type: 'User', id: user.id },
      visibility: 'SUBJECT_USER',
      access: { revokedSessionIds: revoked },
    });
    await queuePasswordChangedEmail(tx, { userId: user.id, email: user.email, displayName: user.displayName }, 'changed');
    return { user: updated, endedSessionCount: revoked.length };
  });
}

function assertStrong(password: string, user: Pick<User, 'email' | 'displayName'>): void {
  const weakness = passwordWeakness(password, [user.email, user.displayName]);
  if (weakness) throw ValidationError.field('input.newPassword', weakness);
}

/** Revokes the live sessions of a user but `keep`; returns their ids, for the streams opened with them. */
async function revokeSessions(tx: Tx, userId: number, keep: number | null): Promise<number[]> {
  const now = new Date();
  const revoked = await tx.session.updateManyAndReturn({
    where: { userId, revokedAt: null, expiresAt: { gt: now }, ...(keep != null && { id: { not: keep } }) },
    data: { revokedAt: now },
    select: { id: true },
  });
  return revoked.map((s) => s.id);
}
