import type pg from 'pg';
import { LeaveError, LeaveInvariantError } from '../../domain/hr/errors.js';
import { isHalfDayMultiple } from '../../domain/hr/working-days.js';

/** Row conversions and guards shared by the HR repositories. */

export const PAGE_LIMIT_MAX = 100;

/** Lists take `limit` 1..100 (the API validates it first: here a bad one is a bug). */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT_MAX) {
    throw new LeaveInvariantError(`page limit must be 1..${PAGE_LIMIT_MAX}, got ${limit}`);
  }
}

/** Leave years as the schema holds them. */
export function checkYear(year: number, param = 'year'): void {
  if (!Number.isInteger(year) || year < 1900 || year > 9999) {
    throw new LeaveError('parameter_invalid', `${param} must be an integer from 1900 to 9999.`, param);
  }
}

/** numeric(6,1) arrives from pg as a string ("2.5"): converted once, checked. */
export function toDays(value: unknown): number {
  const days = Number(value);
  if (!isHalfDayMultiple(days)) throw new LeaveInvariantError(`not a day count: ${String(value)}`);
  return days;
}

/**
 * A `date` column as `YYYY-MM-DD`. pg would parse it into a Date at local midnight, which
 * shifts the day in any time zone west of UTC; the string cannot.
 */
export function isoDateColumn(column: string, alias: string): string {
  return `to_char(${column}, 'YYYY-MM-DD') AS ${alias}`;
}

/** Today on the UTC calendar, the calendar leave dates are on. */
export function utcToday(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * A row lock outside a transaction is released as soon as its statement ends, so it would
 * serialise nothing: writers that lock refuse to run unless the caller opened one (`withTransaction`).
 */
export function assertInTransaction(client: pg.PoolClient, what: string): void {
  const status = typeof client.getTransactionStatus === 'function' ? client.getTransactionStatus() : null;
  if (status !== 'T') throw new LeaveInvariantError(`${what} must run inside a transaction (BEGIN … COMMIT, e.g. withTransaction)`);
}

/** The SQLSTATE and constraint of a pg error (undefined for anything else). */
export function pgErrorOf(err: unknown): { code?: string; constraint?: string } {
  return typeof err === 'object' && err !== null ? (err as { code?: string; constraint?: string }) : {};
}
