import type pg from 'pg';

/** Row conversions and guards shared by the notification repositories. */

export const PAGE_LIMIT_MAX = 100;

/** The contract's list shape (`GET` collections). */
export interface ListPage<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export interface PageQuery {
  /** 1..100 (the API validates it first: here a bad one is a bug). */
  limit: number;
  /** The last id of the previous page (lists are newest first: ids sort by creation time). */
  startingAfter?: string | undefined;
}

export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT_MAX) {
    throw new Error(`page limit must be 1..${PAGE_LIMIT_MAX}, got ${limit}`);
  }
}

/** Rows fetched with `LIMIT limit + 1` → one page and whether another follows. */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T): ListPage<T> {
  return { object: 'list', data: rows.slice(0, limit).map(map), has_more: rows.length > limit };
}

export function iso(value: unknown): string {
  if (!(value instanceof Date)) throw new Error(`expected a timestamptz, got ${String(value)}`);
  return value.toISOString();
}

export function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : iso(value);
}

/**
 * Writers that must be atomic with the caller's other writes refuse to run outside a transaction
 * (an activity passes its own; the API uses the `…InTransaction` wrappers).
 */
export function assertInTransaction(client: pg.PoolClient | pg.Client, what: string): void {
  const status = typeof client.getTransactionStatus === 'function' ? client.getTransactionStatus() : null;
  if (status !== 'T') throw new Error(`${what} must run inside a transaction (BEGIN … COMMIT, e.g. withTransaction)`);
}
