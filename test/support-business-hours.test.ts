import { describe, expect, it } from 'vitest';
import { BusinessClock, MINUTE } from '../src/modules/support/business-hours.js';
import type { SlaClock } from '../src/generated/prisma/client.js';
import { slaView } from '../src/modules/support/sla.js';

// Pure arithmetic: no app, no database. ISO weekdays: Monday = 1.
const weekdays = (opens: number, closes: number) => [1, 2, 3, 4, 5].map((day) => ({ day, opens, closes }));
const madrid = new BusinessClock({ timeZone: 'Europe/Madrid', weeklyHours: weekdays(9 * 60, 17 * 60), holidays: ['2026-12-25'] });
const at = (iso: string) => new Date(iso);
const minutes = (n: number) => n * MINUTE;

describe('adding business time', () => {
  it('skips the night', () => {
    // Tuesday 22:00 in Madrid (UTC+1 in November) + 30 min: Wednesday 09:30.
    expect(madrid.add(at('2026-11-24T21:00:00Z'), minutes(30))).toEqual(at('2026-11-25T08:30:00Z'));
    // Before opening counts from opening.
    expect(madrid.add(at('2026-11-25T06:00:00Z'), minutes(90))).toEqual(at('2026-11-25T09:30:00Z'));
  });

  it('skips the weekend', () => {
    // Friday 16:30 + 60 min: 30 min on Friday, 30 on Monday.
    expect(madrid.add(at('2026-11-27T15:30:00Z'), minutes(60))).toEqual(at('2026-11-30T08:30:00Z'));
    // Saturday noon + 1 min: Monday 09:01.
    expect(madrid.add(at('2026-11-28T11:00:00Z'), minutes(1))).toEqual(at('2026-11-30T08:01:00Z'));
  });

  it('skips holidays', () => {
    // Thursday 24 December 16:00 + 120 min: 60 that day, Friday 25 is a holiday, then the weekend.
    expect(madrid.add(at('2026-12-24T15:00:00Z'), minutes(120))).toEqual(at('2026-12-28T09:00:00Z'));
  });

  it('keeps wall-clock hours across daylight-saving changes', () => {
    // Madrid leaves summer time on Sunday 25 October 2026. Friday 16:00 (UTC+2) + 120 min:
    // 60 min on Friday, then Monday 09:00-10:00 local, which is now UTC+1.
    expect(madrid.add(at('2026-10-23T14:00:00Z'), minutes(120))).toEqual(at('2026-10-26T09:00:00Z'));
    expect(madrid.between(at('2026-10-23T14:00:00Z'), at('2026-10-26T09:00:00Z'))).toBe(minutes(120));
    // Around the clock in New York: the night clocks spring forward has 23 hours.
    const newYork = new BusinessClock({ timeZone: 'America/New_York', weeklyHours: [], holidays: [] });
    expect(newYork.between(at('2026-03-07T17:00:00Z'), at('2026-03-08T16:00:00Z'))).toBe(minutes(23 * 60));
  });

  it('reads the same hours in each department time zone', () => {
    const tokyo = new BusinessClock({ timeZone: 'Asia/Tokyo', weeklyHours: weekdays(9 * 60, 17 * 60), holidays: [] });
    const utc = new BusinessClock({ timeZone: 'UTC', weeklyHours: weekdays(9 * 60, 17 * 60), holidays: [] });
    // Monday 00:00 UTC is 09:00 in Tokyo, already open; in UTC the day starts at 09:00.
    expect(tokyo.add(at('2026-11-23T00:00:00Z'), minutes(60))).toEqual(at('2026-11-23T01:00:00Z'));
    expect(utc.add(at('2026-11-23T00:00:00Z'), minutes(60))).toEqual(at('2026-11-23T10:00:00Z'));
    // A Tokyo holiday is the Tokyo date, not the UTC one: 24 November 2026 00:00 in Tokyo is 23 November 15:00 UTC.
    const tokyoHoliday = new BusinessClock({ timeZone: 'Asia/Tokyo', weeklyHours: weekdays(9 * 60, 17 * 60), holidays: ['2026-11-24'] });
    expect(tokyoHoliday.add(at('2026-11-23T07:30:00Z'), minutes(60))).toEqual(at('2026-11-25T00:30:00Z'));
  });

  it('joins an evening shift to the next morning across midnight (24:00)', () => {
    const lateShift = new BusinessClock({
      timeZone: 'UTC',
      weeklyHours: [
        { day: 1, opens: 22 * 60, closes: 24 * 60 },
        { day: 2, opens: 0, closes: 2 * 60 },
      ],
      holidays: [],
    });
    expect(lateShift.add(at('2026-11-23T23:00:00Z'), minutes(120))).toEqual(at('2026-11-24T01:00:00Z'));
  });

  it('answers from itself for zero, and null past a ten-year horizon', () => {
    expect(madrid.add(at('2026-11-28T11:00:00Z'), 0)).toEqual(at('2026-11-28T11:00:00Z'));
    const oneMinuteAWeek = new BusinessClock({ timeZone: 'UTC', weeklyHours: [{ day: 1, opens: 0, closes: 1 }], holidays: [] });
    expect(oneMinuteAWeek.add(at('2026-11-23T00:00:00Z'), minutes(100_000))).toBeNull();
  });
});

describe('business time between two instants', () => {
  it('counts only open hours', () => {
    // Monday 09:00 to the next Monday 09:00: five days of eight hours.
    expect(madrid.between(at('2026-11-23T08:00:00Z'), at('2026-11-30T08:00:00Z'))).toBe(minutes(5 * 8 * 60));
    // Thursday 24 December 12:00 … Monday 28 December 12:00 with the 25th a holiday: 5 h on the 24th, 3 h on the 28th.
    expect(madrid.between(at('2026-12-24T11:00:00Z'), at('2026-12-28T11:00:00Z'))).toBe(minutes(8 * 60));
    expect(madrid.between(at('2026-11-28T11:00:00Z'), at('2026-11-29T11:00:00Z'))).toBe(0);
    expect(madrid.between(at('2026-11-25T11:00:00Z'), at('2026-11-24T11:00:00Z'))).toBe(0);
  });
});

describe('the SLA view of a case', () => {
  const clock = (fields: Partial<SlaClock>): SlaClock => ({
    id: 1,
    caseId: 1,
    metric: 'FIRST_RESPONSE',
    cycle: 1,
    targetMinutes: 100,
    startedAt: at('2026-11-23T09:00:00Z'),
    remainingMs: minutes(100),
    resumedAt: at('2026-11-23T09:00:00Z'),
    dueAt: at('2026-11-23T10:40:00Z'),
    atRiskAt: at('2026-11-23T10:20:00Z'),
    stoppedAt: null,
    breached: false,
    ...fields,
  });
  const open = { status: 'OPEN' as const, pausedBusinessMs: minutes(7) + 59_000 };

  it('is at risk from 80% of the time, breached from the due time', () => {
    expect(slaView(open, [clock({})], at('2026-11-23T10:19:59Z'))).toEqual({
      firstResponseDueAt: at('2026-11-23T10:40:00Z'),
      nextResponseDueAt: null,
      periodicUpdateDueAt: null,
      resolutionDueAt: null,
      atRisk: [],
      breaches: [],
      paused: false,
      pausedBusinessMinutes: 7,
    });
    expect(slaView(open, [clock({})], at('2026-11-23T10:20:00Z'))).toMatchObject({ atRisk: ['FIRST_RESPONSE'], breaches: [] });
    expect(slaView(open, [clock({})], at('2026-11-23T10:40:00Z'))).toMatchObject({ atRisk: [], breaches: ['FIRST_RESPONSE'] });
  });

  it('remembers a breach of an earlier cycle and shows no due time for stopped or paused clocks', () => {
    const clocks = [
      clock({ metric: 'NEXT_RESPONSE', cycle: 1, stoppedAt: at('2026-11-23T11:00:00Z'), breached: true }),
      clock({ metric: 'NEXT_RESPONSE', cycle: 2, id: 2, dueAt: at('2026-11-24T10:00:00Z'), atRiskAt: at('2026-11-24T09:00:00Z') }),
      clock({ metric: 'RESOLUTION', id: 3, resumedAt: null, dueAt: null, atRiskAt: null }),
    ];
    expect(slaView({ status: 'PENDING', pausedBusinessMs: 0 }, clocks, at('2026-11-23T12:00:00Z'))).toEqual({
      firstResponseDueAt: null,
      nextResponseDueAt: at('2026-11-24T10:00:00Z'),
      periodicUpdateDueAt: null,
      resolutionDueAt: null,
      atRisk: [],
      breaches: ['NEXT_RESPONSE'],
      paused: true,
      pausedBusinessMinutes: 0,
    });
  });
});
