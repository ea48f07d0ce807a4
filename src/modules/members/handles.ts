import { z } from 'zod';
import { prisma, type Tx } from '../../db/client.js';
import { AppError, ConflictError, ValidationError } from '../../errors.js';
import type { User } from '../../generated/prisma/client.js';

// Handles: the @name a member is mentioned by. Unique case-insensitively (stored lower-cased),
// derived from the display name unless chosen, changeable after a cooldown; a given-up handle
// keeps answering for its old owner, and nobody else can take it, until its redirect expires.

export const HANDLE_MIN = 3;
export const HANDLE_MAX = 30;
const HANDLE = /^[a-z0-9_]+$/;
/** Derived bases are cut here, so a number suffix still fits in HANDLE_MAX. */
const BASE_MAX = 26;

/** Names that would read as someone else (staff, the system) or as a group mention. */
export const RESERVED_HANDLES: ReadonlySet<string> = new Set([
  'admin', 'administrator', 'moderator', 'mod', 'staff', 'support', 'system', 'tertulia',
  'all', 'everyone', 'here', 'channel', 'null', 'undefined', 'root', 'me', 'you',
]);

let settings = { changeCooldownDays: 30, redirectDays: 30 };
export function configureHandles(options: { changeCooldownDays: number; redirectDays: number }): void {
  settings = { ...options };
}
export const handleSettings = () => settings;

/** Lower case, accents removed: "Ángel Núñez" -> "angel nunez". The directory searches this form. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** For Prisma's startsWith (LIKE '<value>%', unescaped): "%", "_" and "\\" match only themselves. */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** A handle as typed (any case, an optional leading @), checked and lower-cased. */
export const handleSchema = z
  .string()
  .trim()
  .transform((value) => value.replace(/^@/, '').toLowerCase())
  .pipe(
    z
      .string()
      .min(HANDLE_MIN, `must be at least ${HANDLE_MIN} characters`)
      .max(HANDLE_MAX, `must be at most ${HANDLE_MAX} characters`)
      .regex(HANDLE, 'must be letters a-z, digits and underscores only')
      .refine((value) => !RESERVED_HANDLES.has(value), 'is reserved'),
  );

/** A string that could be someone's handle (current or old), lower-cased; null when it cannot be. */
export function normalizeHandle(value: string): string | null {
  const handle = value.trim().replace(/^@/, '').toLowerCase();
  return handle.length >= HANDLE_MIN && handle.length <= HANDLE_MAX && HANDLE.test(handle) ? handle : null;
}

/** "Ana María López" -> "ana_maria_lopez"; the base that suffixes are added to. */
export function handleBase(displayName: string): string {
  const base = fold(displayName)
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, BASE_MAX)
    .replace(/_+$/, '');
  return base || 'user';
}

/** The candidates tried in order: "ana", "ana2", "ana3"...; a base too short starts at "al1". */
function candidate(base: string, n: number): string {
  return n === 1 && base.length >= HANDLE_MIN ? base : `${base}${n}`;
}

/** Handle changes and new handles are serialised: a released handle cannot be taken meanwhile. */
async function lockHandles(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(7401)`;
}

/** Whether `handle` is free for `userId`: nobody's current handle, and no other user's unexpired old one. */
async function isFree(tx: Tx, handle: string, userId: number | null, now: Date): Promise<boolean> {
  if (RESERVED_HANDLES.has(handle)) return false;
  const [owner, held] = await Promise.all([
    tx.user.findUnique({ where: { handle }, select: { id: true } }),
    tx.handleHistory.findUnique({ where: { handle }, select: { userId: true, expiresAt: true } }),
  ]);
  if (owner && owner.id !== userId) return false;
  return !held || held.userId === userId || held.expiresAt <= now;
}

/**
 * The profile fields of a new account, chosen inside its creating transaction (signUp, an outside
 * sender's account): the requested handle if given (ValidationError if malformed, ConflictError if
 * taken), else one derived from the display name, deduplicated with a number suffix.
 */
export async function newMemberProfile(
  tx: Tx,
  input: { displayName: string; handle?: string | null },
): Promise<{ handle: string; nameKey: string }> {
  await lockHandles(tx);
  const now = new Date();
  const nameKey = fold(input.displayName);
  if (input.handle != null) {
    const parsed = handleSchema.safeParse(input.handle);
    if (!parsed.success) throw ValidationError.field('input.handle', parsed.error.issues[0].message);
    if (!(await isFree(tx, parsed.data, null, now))) throw new ConflictError(`The handle @${parsed.data} is taken`);
    await tx.handleHistory.deleteMany({ where: { handle: parsed.data } });
    return { handle: parsed.data, nameKey };
  }
  const base = handleBase(input.displayName);
  // Everything already given out that starts with the base, in two reads, then the first free one.
  const [current, old] = await Promise.all([
    tx.user.findMany({ where: { handle: { startsWith: escapeLike(base) } }, select: { handle: true } }),
    tx.handleHistory.findMany({ where: { handle: { startsWith: escapeLike(base) }, expiresAt: { gt: now } }, select: { handle: true } }),
  ]);
  const taken = new Set([...current, ...old].map((row) => row.handle));
  for (let n = 1; ; n++) {
    const handle = candidate(base, n);
    if (!taken.has(handle) && !RESERVED_HANDLES.has(handle)) {
      // An expired redirect of this name is gone once the name is given again.
      await tx.handleHistory.deleteMany({ where: { handle } });
      return { handle, nameKey };
    }
  }
}

/** Thrown when a handle changes again before the cooldown ends. */
export class HandleCooldownError extends AppError {
  readonly code = 'HANDLE_COOLDOWN';
  constructor(readonly availableAt: Date) {
    super(`Your handle can change again at ${availableAt.toISOString()} (HANDLE_CHANGE_COOLDOWN_DAYS)`);
  }
}

/**
 * Gives `user` a new handle in the caller's transaction: free (ConflictError), not within the
 * cooldown (HandleCooldownError; it applies to every role, staff too: a handle is how people
 * mention you, and churn breaks mentions whoever you are). The old handle redirects to the user
 * for HANDLE_REDIRECT_DAYS. Going back to one of your own old handles is allowed.
 */
export async function changeHandle(tx: Tx, user: Pick<User, 'id' | 'handle' | 'handleChangedAt'>, handle: string): Promise<Date> {
  await lockHandles(tx);
  const now = new Date();
  if (user.handleChangedAt) {
    const availableAt = new Date(user.handleChangedAt.getTime() + settings.changeCooldownDays * 86_400_000);
    if (availableAt > now) throw new HandleCooldownError(availableAt);
  }
  if (!(await isFree(tx, handle, user.id, now))) throw new ConflictError(`The handle @${handle} is taken`);
  await tx.handleHistory.deleteMany({ where: { handle } });
  await tx.handleHistory.upsert({
    where: { handle: user.handle },
    create: { handle: user.handle, userId: user.id, releasedAt: now, expiresAt: new Date(now.getTime() + settings.redirectDays * 86_400_000) },
    update: { userId: user.id, releasedAt: now, expiresAt: new Date(now.getTime() + settings.redirectDays * 86_400_000) },
  });
  return now;
}

/**
 * The users these handles name (any case, with or without "@"), by lower-cased lookup: current
 * handles, and old ones still redirecting. Two statements, whatever the number of handles. The
 * map's keys are the lower-cased handles asked; unknown or malformed ones are absent.
 * For @mentions: the caller decides who may be notified. Pass a transaction as `db` to read inside it.
 */
export async function usersByHandles(handles: readonly string[], db: Tx = prisma()): Promise<Map<string, User>> {
  const wanted = [...new Set(handles.map(normalizeHandle).filter((h): h is string => h !== null))];
  const found = new Map<string, User>();
  if (wanted.length === 0) return found;
  const current = await db.user.findMany({ where: { handle: { in: wanted } } });
  for (const user of current) found.set(user.handle, user);
  const rest = wanted.filter((handle) => !found.has(handle));
  if (rest.length) {
    const redirects = await db.handleHistory.findMany({
      where: { handle: { in: rest }, expiresAt: { gt: new Date() } },
      include: { user: true },
    });
    for (const redirect of redirects) found.set(redirect.handle, redirect.user);
  }
  return found;
}

/** The id of the user a handle names now (current, or an old one still redirecting); null if none. */
export async function userIdByHandle(handle: string): Promise<number | null> {
  const normalized = normalizeHandle(handle);
  if (!normalized) return null;
  const owner = await prisma().user.findUnique({ where: { handle: normalized }, select: { id: true } });
  if (owner) return owner.id;
  const redirect = await prisma().handleHistory.findFirst({
    where: { handle: normalized, expiresAt: { gt: new Date() } },
    select: { userId: true },
  });
  return redirect?.userId ?? null;
}
