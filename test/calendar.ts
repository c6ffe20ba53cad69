/**
 * Dates for tests that meet "today": ISO dates (`YYYY-MM-DD`) on the UTC calendar, the calendar
 * leave is on, computed from the real date so a test never passes a date it hard-coded. Only UTC
 * methods: the results do not depend on the process's time zone (TZ). Written independently of
 * domain/hr/working-days.ts, the code these dates test.
 */

const DAY_MS = 86_400_000;

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The current year on the UTC calendar. */
export function utcYear(now = new Date()): number {
  return now.getUTCFullYear();
}

/** The `n`-th Monday (1-based) of `year`. */
export function nthMonday(year: number, n: number): string {
  const newYear = Date.UTC(year, 0, 1);
  const daysToMonday = (8 - new Date(newYear).getUTCDay()) % 7; // getUTCDay: 0 Sunday … 6 Saturday
  return isoDate(newYear + (daysToMonday + 7 * (n - 1)) * DAY_MS);
}

/** `date` moved by `days` (negative: back). */
export function addDays(date: string, days: number): string {
  return isoDate(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS);
}
