import { createHash, randomBytes } from 'node:crypto';
import type { Tx } from '../../db/client.js';
import { AppError } from '../../errors.js';
import type { AccountToken } from '../../generated/prisma/client.js';
import type { AccountTokenPurpose } from '../../generated/prisma/enums.js';

// Single-use tokens sent by email (email verification, password reset): 32 random bytes, only
// their SHA-256 kept, so a copy of the database cannot sign anyone in.

export type TokenProblem = 'UNKNOWN' | 'EXPIRED' | 'USED';

/**
 * A token that does not work: unknown (mistyped, or made for another purpose: we do not say
 * which), expired, or already used.
 */
export class InvalidTokenError extends AppError {
  readonly code = 'INVALID_TOKEN';
  constructor(readonly reason: TokenProblem) {
    super(
      reason === 'EXPIRED'
        ? 'This link has expired; ask for a new one'
        : reason === 'USED'
          ? 'This link was already used; ask for a new one'
          : 'This link is not valid; check that it was copied whole, or ask for a new one',
    );
  }
}

export const hashAccountToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new token for `userId`; returns the secret to put in the link (only its hash is stored). */
export async function issueToken(
  tx: Tx,
  input: { userId: number; purpose: AccountTokenPurpose; ttlMs: number; passwordHash?: string; displayName?: string },
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await tx.accountToken.create({
    data: {
      purpose: input.purpose,
      tokenHash: hashAccountToken(token),
      userId: input.userId,
      passwordHash: input.passwordHash ?? null,
      displayName: input.displayName ?? null,
      expiresAt: new Date(Date.now() + input.ttlMs),
    },
  });
  return token;
}

/** The unused, unexpired token of this purpose, or InvalidTokenError; reads only (see useToken). */
export async function findToken(tx: Tx, token: string, purpose: AccountTokenPurpose): Promise<AccountToken> {
  const row = await tx.accountToken.findUnique({ where: { tokenHash: hashAccountToken(token) } });
  if (!row || row.purpose !== purpose) throw new InvalidTokenError('UNKNOWN');
  if (row.usedAt) throw new InvalidTokenError('USED');
  if (row.expiresAt <= new Date()) throw new InvalidTokenError('EXPIRED');
  return row;
}

/**
 * Uses the token in the caller's transaction, and with it every other unused token of the same
 * user and purpose (an older link must not work after a newer one did). Conditional on it being
 * unused: of two requests racing with one token, the second gets USED.
 */
export async function useToken(tx: Tx, token: string, purpose: AccountTokenPurpose): Promise<AccountToken> {
  const row = await findToken(tx, token, purpose);
  const { count } = await tx.accountToken.updateMany({ where: { id: row.id, usedAt: null }, data: { usedAt: new Date() } });
  if (count === 0) throw new InvalidTokenError('USED');
  await tx.accountToken.updateMany({ where: { userId: row.userId, purpose, usedAt: null }, data: { usedAt: new Date() } });
  return row;
}
