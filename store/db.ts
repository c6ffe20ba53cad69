import pg from 'pg';

export type Db = pg.Pool | pg.PoolClient;

export function createPool(databaseUrl: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: 'steadfast',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => console.error('[db] idle client error', err.message));
  return pool;
}

/** Readiness: the database answers a trivial query. */
export async function ping(db: Db): Promise<void> {
  await db.query('SELECT 1');
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const TRANSACTION_ATTEMPTS_MAX = 5;

/**
 * Runs `fn` in one transaction and commits. Serialization failures and deadlocks are retried a
 * bounded number of times; every other error rolls back and propagates.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      const code = (err as { code?: string }).code;
      if (code && RETRYABLE_SQLSTATES.has(code) && attempt < TRANSACTION_ATTEMPTS_MAX) continue;
      throw err;
    } finally {
      client.release();
    }
  }
}

/** int8 arrives from pg as a string: convert once, checked, at the repository boundary. */
export function toSafeInt(value: string | number | null | undefined): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value out of the safe integer range: ${value}`);
  return n;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/**
 * A named prepared statement for a hot query: PostgreSQL parses and plans it once per connection
 * instead of on every call. Use it with `client.query(prepared(name, text), values)`.
 */
export function prepared(name: string, text: string): { name: string; text: string } {
  return { name, text };
}
