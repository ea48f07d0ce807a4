import type { Tx } from '../../db/client.js';
import type { User } from '../../generated/prisma/client.js';
import { mailSettings, queueEmail } from '../mail/outbox.js';
import { issueToken } from './tokens.js';

// The emails of the account flows (sign-up, verification, password reset and change), queued in
// the outbox in the transaction of the change that causes them. Their links go to the front end
// (APP_URL, by default this API's PUBLIC_URL): /verify-email?token=..., /reset-password?token=...
// and /reset-password (no token: the page that asks for a reset), pages that call verifyEmail,
// resetPassword and requestPasswordReset.

export type AccountSettings = {
  /** Base URL of the front end, for links a person opens in a browser; unset: this API's PUBLIC_URL. */
  appUrl: string | undefined;
  verificationTtlHours: number;
  resetTtlMinutes: number;
};

let settings: AccountSettings = { appUrl: undefined, verificationTtlHours: 48, resetTtlMinutes: 60 };

export function configureAccountEmails(next: AccountSettings): void {
  settings = next;
}

export const accountSettings = (): AccountSettings => settings;

const link = (path: string, token?: string) => `${settings.appUrl ?? mailSettings().publicUrl}${path}${token ? `?token=${encodeURIComponent(token)}` : ''}`;

type To = { userId: number; email: string; displayName: string };

const to = (user: Pick<User, 'id' | 'email' | 'displayName'>): To => ({ userId: user.id, email: user.email, displayName: user.displayName });

/**
 * A verification link for `user`. `pending`: the password and name of a sign-up again with the
 * address of an unconfirmed account, applied only when its link is followed.
 */
export async function sendVerification(
  tx: Tx,
  user: Pick<User, 'id' | 'email' | 'displayName'>,
  pending?: { passwordHash: string; displayName: string },
): Promise<void> {
  const token = await issueToken(tx, {
    userId: user.id,
    purpose: 'EMAIL_VERIFICATION',
    ttlMs: settings.verificationTtlHours * 3600_000,
    ...pending,
  });
  await queueVerificationEmail(tx, { ...to(user), displayName: pending?.displayName ?? user.displayName }, token);
}

/**
 * A sign-up with an address that has an account. Confirmed: its owner is told, nothing changes.
 * Not confirmed (an abandoned sign-up, or the account of an outside support sender): a new link,
 * which sets this sign-up's password and name when followed, so the mailbox's owner gets the account.
 */
export async function answerTakenSignUp(tx: Tx, existing: User, attempt: { passwordHash: string; displayName: string }): Promise<void> {
  if (existing.emailVerifiedAt) await queueEmailTakenEmail(tx, to(existing));
  else await sendVerification(tx, existing, attempt);
}

export function queueVerificationEmail(tx: Tx, to: To, token: string) {
  return queueEmail(tx, {
    kind: 'EMAIL_VERIFICATION',
    to: to.email,
    userId: to.userId,
    subject: 'Confirm your email address',
    text:
      `Hello ${to.displayName},\n\n` +
      `To finish signing up, open this link within ${settings.verificationTtlHours} hours; it confirms your address and signs you in:\n\n` +
      `${link('/verify-email', token)}\n\n` +
      'If you did not sign up, ignore this email: nothing happens without the link.\n',
  });
}

export function queueEmailTakenEmail(tx: Tx, to: To) {
  return queueEmail(tx, {
    kind: 'SIGN_UP_EMAIL_TAKEN',
    to: to.email,
    userId: to.userId,
    subject: 'Someone tried to sign up with your address',
    text:
      `Hello ${to.displayName},\n\n` +
      'Someone (perhaps you) tried to sign up with this email address, but it already has an account. ' +
      'Nothing was changed.\n\n' +
      `If it was you, sign in instead, or reset your password here:\n\n${link('/reset-password')}\n\n` +
      'If it was not you, you can ignore this email.\n',
  });
}

export function queuePasswordResetEmail(tx: Tx, to: To, token: string) {
  return queueEmail(tx, {
    kind: 'PASSWORD_RESET',
    to: to.email,
    userId: to.userId,
    subject: 'Reset your password',
    text:
      `Hello ${to.displayName},\n\n` +
      `To choose a new password, open this link within ${settings.resetTtlMinutes} minutes; it works once:\n\n` +
      `${link('/reset-password', token)}\n\n` +
      'If you did not ask for this, ignore this email: your password stays as it is.\n',
  });
}

export function queuePasswordChangedEmail(tx: Tx, to: To, how: 'changed' | 'reset') {
  return queueEmail(tx, {
    kind: 'PASSWORD_CHANGED',
    to: to.email,
    userId: to.userId,
    subject: 'Your password was changed',
    text:
      `Hello ${to.displayName},\n\n` +
      `The password of your account was ${how} on ${new Date().toISOString()}, and every other session was signed out.\n\n` +
      `If this was not you, reset your password now:\n\n${link('/reset-password')}\n`,
  });
}
