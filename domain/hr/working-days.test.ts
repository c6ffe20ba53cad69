import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaveError } from './errors.js';
import { countWorkingDays, dayNumberOf, isoDateOf, overlaps, type HalfDay } from './working-days.js';

const NONE = new Set<string>();

/** The oracle: walk every date and ask the platform's own calendar (independent of isWeekend). */
function naiveCount(startDate: string, endDate: string, holidays: ReadonlySet<string>): number {
  let count = 0;
  for (let t = Date.parse(`${startDate}T00:00:00Z`); t <= Date.parse(`${endDate}T00:00:00Z`); t += 86_400_000) {
    const date = new Date(t);
    const weekday = date.getUTCDay();
    if (weekday !== 0 && weekday !== 6 && !holidays.has(date.toISOString().slice(0, 10))) count++;
  }
  return count;
}

const weekdayOf = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();

const FIRST_DAY = dayNumberOf('1999-01-01');
const LAST_DAY = dayNumberOf('2041-12-31');
const dayArb = fc.integer({ min: FIRST_DAY, max: LAST_DAY });
/** A range of 1 to 400 calendar days. */
const rangeArb = fc.tuple(dayArb, fc.integer({ min: 0, max: 399 })).map(([first, extra]) => ({
  first, last: first + extra, startDate: isoDateOf(first), endDate: isoDateOf(first + extra),
}));
/** Holidays anywhere in and around the range (some inside, some outside, some on weekends). */
const holidaysNear = (first: number, last: number) =>
  fc.uniqueArray(fc.integer({ min: first - 10, max: last + 10 }), { maxLength: 30 }).map((days) => new Set(days.map(isoDateOf)));
const rangeWithHolidays = rangeArb.chain((range) => holidaysNear(range.first, range.last).map((holidays) => ({ ...range, holidays })));

function leaveErrorOf(fn: () => unknown): LeaveError {
  try {
    fn();
  } catch (err) {
    if (err instanceof LeaveError) return err;
    throw err;
  }
  throw new Error('expected a LeaveError');
}

describe('countWorkingDays: the contract examples', () => {
  it('a Mon–Fri week with one holiday counts 4', () => {
    expect(countWorkingDays({ startDate: '2025-01-06', endDate: '2025-01-10', holidays: new Set(['2025-01-08']) })).toBe(4);
  });

  it('a half day counts 0.5', () => {
    expect(countWorkingDays({ startDate: '2025-01-07', endDate: '2025-01-07', halfDay: 'am', holidays: NONE })).toBe(0.5);
    expect(countWorkingDays({ startDate: '2025-01-07', endDate: '2025-01-07', halfDay: 'pm', holidays: NONE })).toBe(0.5);
  });

  it('weekends and holidays on weekends count nothing', () => {
    expect(countWorkingDays({ startDate: '2025-01-04', endDate: '2025-01-05', holidays: NONE })).toBe(0);
    expect(countWorkingDays({ startDate: '2025-01-03', endDate: '2025-01-06', holidays: new Set(['2025-01-04']) })).toBe(2);
    expect(countWorkingDays({ startDate: '2024-02-26', endDate: '2024-03-08', holidays: NONE })).toBe(10); // over a leap day
  });
});

describe('countWorkingDays: refusals', () => {
  it('start after end is parameter_invalid on end_date', () => {
    const err = leaveErrorOf(() => countWorkingDays({ startDate: '2025-01-10', endDate: '2025-01-09', holidays: NONE }));
    expect(err).toMatchObject({ code: 'parameter_invalid', param: 'end_date' });
  });

  it('dates that do not exist or are not YYYY-MM-DD are parameter_invalid', () => {
    for (const bad of ['2023-02-29', '2025-13-01', '2025-1-05', '2025-01-05T00:00:00Z', '', '0099-99-99']) {
      const err = leaveErrorOf(() => countWorkingDays({ startDate: bad, endDate: '2025-01-10', holidays: NONE }));
      expect(err).toMatchObject({ code: 'parameter_invalid', param: 'start_date' });
    }
  });

  it('a half day needs one date that is a working day', () => {
    const cases: { startDate: string; endDate: string; holidays: Set<string> }[] = [
      { startDate: '2025-01-07', endDate: '2025-01-08', holidays: NONE }, // two dates
      { startDate: '2025-01-04', endDate: '2025-01-04', holidays: NONE }, // a Saturday
      { startDate: '2025-01-07', endDate: '2025-01-07', holidays: new Set(['2025-01-07']) }, // a holiday
    ];
    for (const range of cases) {
      expect(leaveErrorOf(() => countWorkingDays({ ...range, halfDay: 'am' }))).toMatchObject({ code: 'parameter_invalid', param: 'half_day' });
    }
  });
});

describe('countWorkingDays: properties', () => {
  it('equals walking the calendar day by day', () => {
    fc.assert(fc.property(rangeWithHolidays, ({ startDate, endDate, holidays }) => {
      expect(countWorkingDays({ startDate, endDate, holidays })).toBe(naiveCount(startDate, endDate, holidays));
    }), { numRuns: 300 });
  });

  it('is a whole number from 0 to the calendar days of the range', () => {
    fc.assert(fc.property(rangeWithHolidays, ({ first, last, startDate, endDate, holidays }) => {
      const count = countWorkingDays({ startDate, endDate, holidays });
      expect(Number.isInteger(count)).toBe(true);
      expect(count).toBeGreaterThanOrEqual(0);
      expect(count).toBeLessThanOrEqual(last - first + 1);
    }));
  });

  it('splitting a range at any day gives the sum of the parts', () => {
    const split = rangeWithHolidays.filter((r) => r.last > r.first)
      .chain((r) => fc.integer({ min: r.first, max: r.last - 1 }).map((at) => ({ ...r, at })));
    fc.assert(fc.property(split, ({ startDate, endDate, at, holidays }) => {
      const whole = countWorkingDays({ startDate, endDate, holidays });
      const left = countWorkingDays({ startDate, endDate: isoDateOf(at), holidays });
      const right = countWorkingDays({ startDate: isoDateOf(at + 1), endDate, holidays });
      expect(left + right).toBe(whole);
    }));
  });

  it('a new holiday lowers the count by exactly 1 on a weekday inside the range, else not at all', () => {
    const withNewHoliday = rangeWithHolidays.chain((r) =>
      fc.integer({ min: r.first - 10, max: r.last + 10 }).filter((d) => !r.holidays.has(isoDateOf(d))).map((day) => ({ ...r, day })));
    fc.assert(fc.property(withNewHoliday, ({ first, last, startDate, endDate, holidays, day }) => {
      const before = countWorkingDays({ startDate, endDate, holidays });
      const after = countWorkingDays({ startDate, endDate, holidays: new Set([...holidays, isoDateOf(day)]) });
      const weekday = weekdayOf(isoDateOf(day));
      const counts = day >= first && day <= last && weekday !== 0 && weekday !== 6;
      expect(before - after).toBe(counts ? 1 : 0);
    }));
  });

  it('any Monday-to-Sunday week with one weekday holiday counts 4', () => {
    const mondays = dayArb.map((d) => d - ((weekdayOf(isoDateOf(d)) + 6) % 7));
    fc.assert(fc.property(mondays, fc.integer({ min: 0, max: 4 }), (monday, offset) => {
      expect(weekdayOf(isoDateOf(monday))).toBe(1);
      const holidays = new Set([isoDateOf(monday + offset)]);
      expect(countWorkingDays({ startDate: isoDateOf(monday), endDate: isoDateOf(monday + 6), holidays })).toBe(4);
    }));
  });

  it('a half day is 0.5 exactly when the date is a working day', () => {
    fc.assert(fc.property(dayArb, fc.constantFrom<HalfDay>('am', 'pm'), fc.boolean(), (day, halfDay, holiday) => {
      const date = isoDateOf(day);
      const holidays = holiday ? new Set([date]) : NONE;
      const working = naiveCount(date, date, holidays) === 1;
      const run = () => countWorkingDays({ startDate: date, endDate: date, halfDay, holidays });
      if (working) expect(run()).toBe(0.5);
      else expect(leaveErrorOf(run).code).toBe('parameter_invalid');
    }));
  });
});

describe('overlaps', () => {
  const inclusive = (a: { first: number; last: number }, b: { first: number; last: number }) => a.first <= b.last && b.first <= a.last;

  it('full-day ranges overlap when they share a date; it is symmetric and reflexive', () => {
    fc.assert(fc.property(rangeArb, rangeArb, (a, b) => {
      expect(overlaps(a, b)).toBe(inclusive(a, b));
      expect(overlaps(a, b)).toBe(overlaps(b, a));
      expect(overlaps(a, a)).toBe(true);
    }));
  });

  it('a morning and an afternoon of the same date do not overlap; a full day overlaps both', () => {
    const am = { startDate: '2025-01-07', endDate: '2025-01-07', halfDay: 'am' as const };
    const pm = { ...am, halfDay: 'pm' as const };
    const full = { startDate: '2025-01-06', endDate: '2025-01-07' };
    expect(overlaps(am, pm)).toBe(false);
    expect(overlaps(am, am)).toBe(true);
    expect(overlaps(full, am)).toBe(true);
    expect(overlaps(pm, full)).toBe(true);
    expect(overlaps(pm, { startDate: '2025-01-08', endDate: '2025-01-09' })).toBe(false);
  });
});
