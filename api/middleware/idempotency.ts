import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { errors } from '../../domain/errors.js';
import type { AppEnv } from '../context.js';

export interface IdempotencyOptions {
  pool: pg.Pool;
  redis: Redis;
  retentionHours: number;
  /** How long a duplicate waits for the first request to finish before answering 409. */
  inFlightWaitMs: number;
  /** An in-flight record older than this belongs to a crashed process and may be taken over. */
  lockTimeoutMs: number;
}

interface StoredResponse {
  hash: string;
  status: number;
  body: string;
}

const POLL_INTERVAL_MS = 50;

function fingerprint(c: Context, body: string): string {
  return createHash('sha256').update(`${c.req.method}\n${c.req.path}\n${body}`).digest('hex');
}

function replay(stored: StoredResponse): Response {
  return new Response(stored.body, {
    status: stored.status,
    headers: { 'content-type': 'application/json', 'Idempotent-Replayed': 'true' },
  });
}

/**
 * `Idempotency-Key` for every POST, scoped to the tenant: the durable record is a PostgreSQL row
 * claimed with `INSERT … ON CONFLICT DO NOTHING` (exactly one request runs); finished responses
 * are also cached in Redis as a fast path. A duplicate of a finished request gets the first
 * status and body with `Idempotent-Replayed: true`; of another request, 422; of a running one,
 * it waits up to `inFlightWaitMs` for the answer, then 409.
 *
 * @example app.use('/v1/*', idempotency({ pool, redis, retentionHours: 24, inFlightWaitMs: 12_000, lockTimeoutMs: 60_000 }))
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  const store = createStore(options);
  return async function idempotentRequest(c, next) {
    const key = c.req.header('idempotency-key');
    if (c.req.method !== 'POST' || key === undefined) return next();
    if (key.length < 1 || key.length > 255) {
      throw errors.parameterInvalid('Idempotency-Key', 'Idempotency-Key must be 1 to 255 characters.');
    }
    const scope = c.get('auth').scope;
    const hash = fingerprint(c, await c.req.text());

    const earlier = await store.claimOrWait(scope, key, { method: c.req.method, path: c.req.path, hash });
    if (earlier) {
      if (earlier.hash !== hash) throw errors.idempotencyKeyReused();
      return replay(earlier);
    }
    await next();
    // Only successes are kept: an error response changed nothing (the contract's rule), so the
    // client may fix the request, or wait out the conflict, and retry with the same key.
    const status = c.res.status;
    if (status < 200 || status >= 300) {
      await store.release(scope, key);
      return;
    }
    const body = await c.res.clone().text();
    await store.complete(scope, key, { hash, status, body });
  };
}

function createStore(options: IdempotencyOptions) {
  const { pool, redis } = options;
  const cacheKey = (scope: string, key: string) => `idem:${scope}:${key}`;
  const retentionSeconds = options.retentionHours * 3600;

  async function cached(scope: string, key: string): Promise<StoredResponse | null> {
    try {
      const value = await redis.get(cacheKey(scope, key));
      return value ? (JSON.parse(value) as StoredResponse) : null;
    } catch {
      return null; // Redis is only the fast path: PostgreSQL answers.
    }
  }

  /** Claims the key (returns null: this request runs) or returns the finished earlier response. */
  async function claimOrWait(
    scope: string,
    key: string,
    req: { method: string; path: string; hash: string },
  ): Promise<StoredResponse | null> {
    const hit = await cached(scope, key);
    if (hit) return hit;
    const deadline = Date.now() + options.inFlightWaitMs;
    for (;;) {
      const claimed = await pool.query(
        `INSERT INTO idempotency_keys (scope, key, method, path, request_hash, status)
         VALUES ($1, $2, $3, $4, $5, 'in_flight') ON CONFLICT (scope, key) DO NOTHING`,
        [scope, key, req.method, req.path, req.hash],
      );
      if (claimed.rowCount === 1) return null;
      const row = await readOrTakeOver(scope, key, req.hash);
      if (row === 'claimed') return null;
      if (row === 'gone') continue; // the first request failed and released the key: try again
      if (row.status === 'done' || row.stored.hash !== req.hash) return row.stored;
      if (Date.now() >= deadline) throw errors.idempotencyKeyInUse();
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  }

  async function readOrTakeOver(scope: string, key: string, hash: string) {
    const taken = await pool.query(
      `UPDATE idempotency_keys SET locked_at = now()
       WHERE scope = $1 AND key = $2 AND status = 'in_flight' AND request_hash = $3
         AND locked_at < now() - make_interval(secs => $4::double precision / 1000)
       RETURNING 1`,
      [scope, key, hash, options.lockTimeoutMs],
    );
    if (taken.rowCount === 1) return 'claimed' as const;
    const { rows } = await pool.query(
      `SELECT status, request_hash, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2`,
      [scope, key],
    );
    const row = rows[0];
    if (!row) return 'gone' as const;
    const stored: StoredResponse = {
      hash: row.request_hash as string,
      status: row.response_status as number,
      body: row.response_body as string,
    };
    return { status: row.status as 'in_flight' | 'done', stored };
  }

  async function complete(scope: string, key: string, stored: StoredResponse): Promise<void> {
    await pool.query(
      `UPDATE idempotency_keys SET status = 'done', response_status = $3, response_body = $4 WHERE scope = $1 AND key = $2`,
      [scope, key, stored.status, stored.body],
    );
    await redis.set(cacheKey(scope, key), JSON.stringify(stored), 'EX', retentionSeconds).catch(() => undefined);
  }

  async function release(scope: string, key: string): Promise<void> {
    await pool.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = 'in_flight'`, [scope, key]);
  }

  return { claimOrWait, complete, release };
}

/** Deletes records past their retention (run periodically by the API process). */
export async function purgeExpiredIdempotencyKeys(pool: pg.Pool, retentionHours: number): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
    [retentionHours],
  );
  return rowCount ?? 0;
}
