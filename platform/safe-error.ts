/**
 * Errors as the logs may show them. A PostgreSQL error carries row data: `detail` ("Failing row
 * contains (…)", "Key (email)=(…) already exists"), `where` (the JSON being parsed), and for some
 * codes the message itself quotes the value (`invalid input syntax for type integer: "…"`).
 * Logging the error object as it is writes all of it, so a card number or an e-mail address sent
 * in a request would land in the logs. Database errors are therefore logged by SQLSTATE code and constraint
 * (and the table and column they name) only; other errors by their stack, and causes likewise.
 */

/** The fields of pg's `DatabaseError` that name no row data. */
interface DatabaseErrorShape {
  code: string;
  severity: string;
  constraint?: string;
  table?: string;
  column?: string;
}

/** pg's `DatabaseError`, by shape: a SQLSTATE code and a severity (no driver import for a type test). */
export function isDatabaseError(err: unknown): err is Error & DatabaseErrorShape {
  if (!(err instanceof Error)) return false;
  const { code, severity } = err as Partial<DatabaseErrorShape>;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
}

/** At most this many causes are followed (a cycle must not loop). */
const CAUSE_DEPTH_MAX = 5;

/**
 * One error as a log line (or a few): `DatabaseError code=23514 constraint=… table=…` for a
 * database error, the stack for anything else, each cause after `caused by:`.
 *
 * @example describeError(err) // the `stack` of platform/log.ts `serializeError`
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < CAUSE_DEPTH_MAX; depth++) {
    parts.push(describeOne(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\ncaused by: ');
}

function describeOne(err: unknown): string {
  if (isDatabaseError(err)) {
    const fields = { code: err.code, constraint: err.constraint, table: err.table, column: err.column };
    const named = Object.entries(fields).filter(([, v]) => typeof v === 'string' && v !== '').map(([k, v]) => `${k}=${v}`);
    return `DatabaseError ${named.join(' ')}`;
  }
  if (err instanceof AggregateError) {
    return [err.stack ?? `${err.name}: ${err.message}`, ...err.errors.map((e) => `  - ${describeError(e)}`)].join('\n');
  }
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return typeof err === 'string' ? err : 'non-error value thrown';
}
