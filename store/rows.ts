import type pg from 'pg';
import { toSafeInt } from './db.js';

/**
 * One row mapper for every table: a record of typed columns says how each field is selected and
 * read, so the `SELECT` list and the conversion can never drift apart.
 *
 * @example
 * const employee = rowMapper<Employee>({ id: col.text('id'), hireDate: col.date('hire_date') });
 * const { rows } = await db.query(`SELECT ${employee.columns('e')} FROM employees e WHERE …`);
 * return rows.map(employee.map);
 */

type Row = Record<string, unknown>;

/** One column: how it is selected (under an optional table alias) and how its value is read. */
export interface Column<T> {
  /** The columns it reads (a field may combine several, e.g. an account's limits). */
  readonly names: readonly string[];
  select(alias?: string): string;
  read(row: Row): T;
}

function qualified(name: string, alias?: string): string {
  return alias ? `${alias}.${name}` : name;
}

function plain<T>(name: string, convert: (value: unknown) => T): Column<T> {
  return { names: [name], select: (alias) => qualified(name, alias), read: (row) => convert(row[name]) };
}

function nullable<T>(convert: (value: unknown) => T): (value: unknown) => T | null {
  return (value) => (value === null || value === undefined ? null : convert(value));
}

function asDate(value: unknown): Date {
  if (!(value instanceof Date)) throw new Error(`expected a timestamptz, got ${String(value)}`);
  return value;
}

/** A `timestamptz` as an ISO-8601 string. */
export function iso(value: unknown): string {
  return asDate(value).toISOString();
}

export function isoOrNull(value: unknown): string | null {
  return nullable(iso)(value);
}

/**
 * A `date` column as `YYYY-MM-DD`. pg would parse it into a Date at local midnight, which shifts
 * the day in any time zone west of UTC; the string cannot.
 */
export function isoDateColumn(column: string, alias: string): string {
  return `to_char(${column}, 'YYYY-MM-DD') AS ${alias}`;
}

/** Column kinds: each reads what pg returns for that SQL type into the domain's type. */
export const col = {
  text: (name: string) => plain(name, (v) => v as string),
  textOrNull: (name: string) => plain(name, (v) => (v as string | null | undefined) ?? null),
  /** A value whose type the schema constrains (an enum-like `text` with a CHECK). */
  of: <T>(name: string) => plain(name, (v) => v as T),
  ofOrNull: <T>(name: string) => plain(name, (v) => (v as T | null | undefined) ?? null),
  /** `int8`/`int4`: a checked safe integer (pg returns int8 as a string). */
  int: (name: string) => plain(name, (v) => toSafeInt(v as string | number)),
  intOrNull: (name: string) => plain(name, nullable((v) => toSafeInt(v as string | number))),
  bool: (name: string) => plain(name, (v) => v as boolean),
  json: <T>(name: string) => plain(name, (v) => v as T),
  /** `timestamptz` as a Date. */
  timestamp: (name: string) => plain(name, asDate),
  timestampOrNull: (name: string) => plain(name, nullable(asDate)),
  /** `timestamptz` as an ISO-8601 string. */
  isoTimestamp: (name: string) => plain(name, iso),
  isoTimestampOrNull: (name: string) => plain(name, isoOrNull),
  /** `date` as `YYYY-MM-DD` (selected with to_char: see isoDateColumn). */
  date: (name: string): Column<string> => ({
    names: [name],
    select: (alias) => isoDateColumn(qualified(name, alias), name),
    read: (row) => row[name] as string,
  }),
  /** A nullable `date` as `YYYY-MM-DD` or null. */
  dateOrNull: (name: string): Column<string | null> => ({
    names: [name],
    select: (alias) => isoDateColumn(qualified(name, alias), name),
    read: (row) => (row[name] as string | null | undefined) ?? null,
  }),
  /** Any other conversion (e.g. `numeric` days into a checked number). */
  custom: <T>(name: string, convert: (value: unknown) => T) => plain(name, convert),
  /** A field the table does not hold (e.g. the API's `object: 'product'`): selects nothing. */
  literal: <const T>(value: T): Column<T> => ({ names: [], select: () => '', read: () => value }),
  /** One field read from several columns (e.g. `limits` from two `int8` columns). */
  combined: <T>(names: readonly string[], read: (row: Row) => T): Column<T> => ({
    names,
    select: (alias) => names.map((name) => qualified(name, alias)).join(', '),
    read,
  }),
};

export interface RowMapper<T> {
  /** The `SELECT` list, each column qualified by `alias` when given. */
  columns(alias?: string): string;
  /** One row → the domain object (a plain function: pass it to `rows.map`). */
  map(row: Row): T;
}

export function rowMapper<T>(fields: { [K in keyof T]-?: Column<T[K]> }): RowMapper<T> {
  const entries = Object.entries(fields) as [keyof T, Column<unknown>][];
  const selected = new Map<string, Column<unknown>>();
  for (const [, column] of entries) if (column.names.length > 0) selected.set(column.names.join(','), column);
  return {
    columns: (alias) => [...selected.values()].map((column) => column.select(alias)).join(', '),
    map: (row) => {
      const out = {} as T;
      for (const [key, column] of entries) out[key] = column.read(row) as T[keyof T];
      return out;
    },
  };
}

/**
 * Writers that must be atomic with the caller's other writes (or whose row locks must outlive
 * their statement) refuse to run outside a transaction (`withTransaction`).
 */
export function assertInTransaction(client: pg.PoolClient | pg.Client, what: string): void {
  const status = typeof client.getTransactionStatus === 'function' ? client.getTransactionStatus() : null;
  if (status !== 'T') throw new Error(`${what} must run inside a transaction (BEGIN … COMMIT, e.g. withTransaction)`);
}

/** The SQLSTATE and constraint of a pg error (undefined for anything else). */
export function pgErrorOf(err: unknown): { code?: string; constraint?: string } {
  return typeof err === 'object' && err !== null ? (err as { code?: string; constraint?: string }) : {};
}
