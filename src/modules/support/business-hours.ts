import { DateTime, IANAZone } from 'luxon';
import type { Department } from '../../generated/prisma/client.js';

// Business-time arithmetic in a department's own time zone. Weekly hours are local wall-clock
// times, so "09:00" stays 09:00 across daylight-saving changes; a closed day (weekend, holiday)
// simply contributes no time. All instants in and out are UTC `Date`s.

/** ISO weekday (Monday = 1 … Sunday = 7) and minutes after local midnight, closes <= 1440. */
export type WeeklyInterval = { day: number; opens: number; closes: number };

type BusinessCalendar = {
  timeZone: string;
  /** Empty: open around the clock (holidays still closed). */
  weeklyHours: WeeklyInterval[];
  /** Local dates, YYYY-MM-DD. */
  holidays: string[];
};

export const isValidTimeZone = (zone: string): boolean => IANAZone.isValidZone(zone);

const AROUND_THE_CLOCK: WeeklyInterval[] = [1, 2, 3, 4, 5, 6, 7].map((day) => ({ day, opens: 0, closes: 1440 }));
// A calendar with an hour a year would take forever to reach a long target; past this horizon
// a due date is "not within ten years" (null) rather than a loop without end.
const HORIZON_DAYS = 3660;

/** A calendar prepared for repeated use: holidays as a set, intervals sorted per weekday. */
export class BusinessClock {
  private readonly holidays: Set<string>;
  private readonly byDay = new Map<number, WeeklyInterval[]>();

  constructor(readonly calendar: BusinessCalendar) {
    this.holidays = new Set(calendar.holidays);
    const weekly = calendar.weeklyHours.length ? calendar.weeklyHours : AROUND_THE_CLOCK;
    for (const interval of weekly) {
      const list = this.byDay.get(interval.day) ?? [];
      list.push(interval);
      this.byDay.set(interval.day, list);
    }
    for (const list of this.byDay.values()) list.sort((a, b) => a.opens - b.opens);
  }

  /** The open intervals of one local day, as UTC milliseconds, in order. */
  private openIntervals(localDay: DateTime): [number, number][] {
    if (this.holidays.has(localDay.toISODate()!)) return [];
    return (this.byDay.get(localDay.weekday) ?? []).map(({ opens, closes }) => [
      localTime(localDay, opens),
      localTime(localDay, closes),
    ]);
  }

  private startDay(instant: Date): DateTime {
    return DateTime.fromJSDate(instant, { zone: this.calendar.timeZone }).startOf('day');
  }

  /**
   * The instant at which `ms` of business time will have passed since `from`, or null if that is
   * more than ten years of calendar away. Zero from outside business hours is `from` itself.
   */
  add(from: Date, ms: number): Date | null {
    if (ms <= 0) return from;
    const start = from.getTime();
    let remaining = ms;
    let day = this.startDay(from);
    for (let i = 0; i < HORIZON_DAYS; i++, day = day.plus({ days: 1 })) {
      for (const [opens, closes] of this.openIntervals(day)) {
        const begin = Math.max(opens, start);
        if (closes <= begin) continue;
        if (remaining <= closes - begin) return new Date(begin + remaining);
        remaining -= closes - begin;
      }
    }
    return null;
  }

  /** Business milliseconds between two instants (0 if `to` is not after `from`). */
  between(from: Date, to: Date): number {
    const start = from.getTime();
    const end = to.getTime();
    if (end <= start) return 0;
    let total = 0;
    for (let day = this.startDay(from), i = 0; i < HORIZON_DAYS && day.toMillis() < end; i++, day = day.plus({ days: 1 })) {
      for (const [opens, closes] of this.openIntervals(day)) {
        const overlap = Math.min(closes, end) - Math.max(opens, start);
        if (overlap > 0) total += overlap;
      }
    }
    return total;
  }
}

/**
 * Local wall-clock minutes of a day as a UTC instant. Calendar-based (`set`), not a duration
 * added to midnight, so 09:00 is 09:00 on the days clocks change; a time the change skips
 * (02:30 in spring) moves forward as Luxon does. 24:00 is the next local midnight.
 */
function localTime(localDay: DateTime, minutes: number): number {
  if (minutes >= 1440) return localDay.plus({ days: 1 }).startOf('day').toMillis();
  return localDay.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 }).toMillis();
}

export const MINUTE = 60_000;

/** A department row's hours and holidays as a calendar. */
export function departmentCalendar(department: Pick<Department, 'timeZone' | 'weeklyHours' | 'holidays'>): BusinessCalendar {
  return { timeZone: department.timeZone, weeklyHours: department.weeklyHours as WeeklyInterval[], holidays: department.holidays };
}
