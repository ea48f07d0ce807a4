import { prisma } from '../../db/client.js';

// User.lastSeenAt, to the hour: written at most once an hour per user (per instance), by the
// first authenticated request of that hour, never once per request. authenticate() already reads
// the stored value with the session, so the check costs no query; the write is conditional, so
// instances racing for the same user and hour write it once.

const HOUR_MS = 3_600_000;
let currentHour = 0;
/** Users this process has already marked seen in currentHour (cleared when the hour turns). */
const marked = new Set<number>();

export function hourOf(date: Date): Date {
  return new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
}

/** Marks a signed-in user seen this hour if nothing has yet; the write runs beside the request. */
export function noteSeen(user: { id: number; lastSeenAt?: Date | null }, now = new Date()): void {
  const hour = hourOf(now);
  if (user.lastSeenAt && user.lastSeenAt >= hour) return;
  if (hour.getTime() !== currentHour) {
    currentHour = hour.getTime();
    marked.clear();
  }
  if (marked.has(user.id)) return;
  marked.add(user.id);
  prisma()
    .user.updateMany({ where: { id: user.id, OR: [{ lastSeenAt: null }, { lastSeenAt: { lt: hour } }] }, data: { lastSeenAt: hour } })
    // Best effort (the database closing at shutdown, say): the next request of the hour tries again.
    .catch(() => marked.delete(user.id));
}
