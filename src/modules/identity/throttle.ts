import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '../../errors.js';

// Throttles password guessing and sign-up floods (rate-limiter-flexible): failed sign-ins per
// account and per client address, sign-ups per address, each over a window of
// SIGNIN_LOCKOUT_SECONDS, past which the key is refused for that long. Every check runs before
// the password is hashed, so a refused attempt costs nothing. With REDIS_URL the counts are
// shared by every instance; while Redis does not answer, each instance counts in its own memory
// (the insurance limiter), so the limits still hold, per instance, until it is back.

type ThrottleSettings = {
  /** Failed sign-ins to one account (by email) per window, from anywhere. */
  maxFailuresPerAccount: number;
  /** Failed sign-ins from one client address per window, whatever the accounts. */
  maxFailuresPerAddress: number;
  /** Sign-ups from one client address per window. */
  maxSignUpsPerAddress: number;
  /** Account emails (sign-up, password reset, verification) asked for one email address per window: no mail-bombing. */
  maxAccountEmailsPerEmail: number;
  /** Password reset and verification requests from one client address per window. */
  maxAccountEmailsPerAddress: number;
  /** The window, and how long a key stays refused once past its limit. */
  lockoutSeconds: number;
};

type Limiters = {
  account: RateLimiterAbstract;
  address: RateLimiterAbstract;
  signUp: RateLimiterAbstract;
  mailEmail: RateLimiterAbstract;
  mailAddress: RateLimiterAbstract;
  redis?: Redis;
};

let current: Limiters | undefined;

/**
 * Opens the limiters of this process (in memory, or on Redis at `redis.url` under `redis.keyPrefix`,
 * which instances sharing a database must share). `onError` hears Redis connection errors.
 */
export function openThrottle(
  settings: ThrottleSettings,
  redis?: { url: string; keyPrefix: string },
  onError: (error: unknown) => void = () => {},
): void {
  if (current) throw new Error('The sign-in throttle is already open');
  // Fail fast when Redis is away (no offline queue, a bounded wait), so the memory limiter decides.
  const client = redis && new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000 });
  client?.on('error', onError);
  const limiter = (name: string, points: number): RateLimiterAbstract => {
    const options = { points, duration: settings.lockoutSeconds, blockDuration: settings.lockoutSeconds };
    if (!client) return new RateLimiterMemory(options);
    return new RateLimiterRedis({
      ...options,
      storeClient: client,
      keyPrefix: `${redis.keyPrefix}${name}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  };
  current = {
    account: limiter('signin-account', settings.maxFailuresPerAccount),
    address: limiter('signin-address', settings.maxFailuresPerAddress),
    signUp: limiter('signup-address', settings.maxSignUpsPerAddress),
    mailEmail: limiter('account-email-email', settings.maxAccountEmailsPerEmail),
    mailAddress: limiter('account-email-address', settings.maxAccountEmailsPerAddress),
    redis: client,
  };
}

export async function closeThrottle(): Promise<void> {
  const redis = current?.redis;
  current = undefined;
  if (redis) await redis.quit().catch(() => redis.disconnect());
}

function limiters(): Limiters {
  if (!current) throw new Error('The sign-in throttle is not open');
  return current;
}

/**
 * Takes one attempt from the address's and then the account's budget, before the password is
 * checked; throws RateLimitedError when either is spent. A success gives both back (signInSucceeded).
 */
export async function beginSignIn(email: string, address: string | null): Promise<void> {
  const { account, address: byAddress } = limiters();
  if (address) await take(byAddress, address, SIGN_IN_REFUSED);
  await take(account, accountKey(email), SIGN_IN_REFUSED);
}

/** The right password: the account's failures are forgotten, and this attempt is not counted against the address. */
export async function signInSucceeded(email: string, address: string | null): Promise<void> {
  const { account, address: byAddress } = limiters();
  await Promise.all([account.delete(accountKey(email)), address ? byAddress.reward(address, 1) : undefined]);
}

/** Takes one sign-up from the address's budget; throws RateLimitedError when it is spent. */
export async function beginSignUp(address: string | null): Promise<void> {
  if (address) await take(limiters().signUp, address, 'Too many sign-ups from your address');
}

/**
 * Takes one account email from the email address's budget (every sign-up, reset and verification
 * request, whether or not an account has it, so a refusal tells nothing) and, for a request that
 * is not a sign-up (`fromAddress`), one from the client address's; RateLimitedError when spent.
 */
export async function beginAccountEmail(email: string, fromAddress?: string | null): Promise<void> {
  const { mailEmail, mailAddress } = limiters();
  if (fromAddress) await take(mailAddress, fromAddress, 'Too many account email requests from your address');
  await take(mailEmail, accountKey(email), 'Too many account emails asked for this address');
}

const SIGN_IN_REFUSED = 'Too many failed attempts for this account or from your address';

async function take(limiter: RateLimiterAbstract, key: string, refusal: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (error) {
    if (!(error instanceof RateLimiterRes)) throw error;
    const seconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
    throw new RateLimitedError(seconds, `${refusal}; try again in ${seconds} seconds`);
  }
}

// Keys hold no email address: a hash of the normalized (lower-case) one.
const accountKey = (email: string) => createHash('sha256').update(email).digest('base64url').slice(0, 32);
