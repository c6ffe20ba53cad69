/** The contract's lists: `limit` 1..100, newest first, `starting_after` an id of the previous page. */

export const PAGE_LIMIT_MAX = 100;

/** The contract's list shape (`GET` collections). */
export interface ListPage<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export interface PageQuery {
  /** 1..PAGE_LIMIT_MAX (the API validates it first: here a bad one is a bug). */
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
