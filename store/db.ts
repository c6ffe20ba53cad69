import pg from 'pg';
import { isMultiHostUrl } from '../platform/postgres-url.js';
import { MultiHostPool, multiHostClientOptions } from './multi-host.js';
import { childLogger } from '../platform/log.js';

const log = childLogger({ component: 'db' });

export type Db = pg.Pool | pg.PoolClient;

/**
 * The process's pool. A URL with several hosts (`postgres://u@h1:p1,h2:p2/db?target_session_attrs=read-write`)
 * connects each new client to the host that serves that kind of session, and finds the new one
 * after a failover by itself (store/multi-host.ts); a one-host URL goes to pg as it is (pg ignores
 * a `target_session_attrs` there, as it always did).
 */
export function createPool(databaseUrl: string, max: number): pg.Pool {
  const options: pg.PoolConfig = {
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: 'steadfast',
  };
  const pool = isMultiHostUrl(databaseUrl)
    ? new MultiHostPool({ ...options, ...multiHostClientOptions(databaseUrl) })
    : new pg.Pool({ ...options, connectionString: databaseUrl });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => log.error({ err }, 'idle client error'));
  // Nor may a checked-out one: pg-pool takes its own listener off while a client is lent out, and a
  // server that goes away (a failover, a restart: "terminating connection…") between two queries of
  // a transaction would then raise an unhandled 'error' event. The error reaches the caller at its
  // next query ("not queryable"), and the pool drops the client on release.
  pool.on('connect', (client) => client.on('error', ignoreLentClientError));
  return pool;
}

function ignoreLentClientError(): void {
  // See createPool: reported to the caller by its next query.
}

/**
 * A dedicated connection (LISTEN, an admin session), several hosts or one like createPool; `extra`
 * are pg's other client options. Connect it yourself, once: a failed attempt needs a new client
 * (and after a failover the first one to the old host fails with StaleHostError; the next probes).
 */
export function createClient(databaseUrl: string, extra: Omit<pg.ClientConfig, 'connectionString' | 'host' | 'port'> = {}): pg.Client {
  if (!isMultiHostUrl(databaseUrl)) return new pg.Client({ ...extra, connectionString: databaseUrl });
  const { connectionString, Client } = multiHostClientOptions(databaseUrl);
  return new Client({ ...extra, connectionString });
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
