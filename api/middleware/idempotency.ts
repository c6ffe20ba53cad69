import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import {
  claimIdempotencyKey, completeIdempotencyKey, findIdempotencyRecord, releaseIdempotencyKey, takeOverStaleIdempotencyKey,
  type IdempotencyRecord, type StoredResponse,
} from '../../store/idempotency/idempotency-keys.js';
import { errors } from '../errors.js';
import type { AppEnv } from '../context.js';

export interface IdempotencyOptions {
  pool: pg.Pool;
  /** The fast path for finished answers; null (single-instance mode): PostgreSQL alone, same answers. */
  redis: Redis | null;
  retentionHours: number;
  /** How long a duplicate waits for the first request to finish before answering 409. */
  inFlightWaitMs: number;
  /** An in-flight record older than this belongs to a crashed process and may be taken over. */
  lockTimeoutMs: number;
}

const POLL_INTERVAL_MS = 50;

function fingerprint(c: Context, body: string): string {
  return createHash('sha256').update(`${c.req.method}\n${c.req.path}\n${body}`).digest('hex');
}

/** Response fields that carry a secret (contract §0 "Secrets are shown once"): never stored, replayed as null. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['api_key', 'key', 'secret']);
/** The client's own maps, echoed back: their keys are the client's words, not our secrets. */
const CLIENT_MAPS: ReadonlySet<string> = new Set(['metadata']);

/**
 * The response body as the idempotency record keeps it: every string under a secret field name
 * (at the top level or in nested objects and arrays, outside `metadata`) set to null. The first
 * response still carries the secret; a replay shows `null`, and neither PostgreSQL nor Redis
 * ever holds it. A body that is not JSON is kept as it is (every API answer is JSON).
 *
 * @example redactSecrets('{"id":"tnt_1","api_key":"sk_…"}') // '{"id":"tnt_1","api_key":null}'
 */
export function redactSecrets(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  let redacted = false;
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(walk);
    } else if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      for (const [field, child] of Object.entries(object)) {
        if (SECRET_FIELDS.has(field) && typeof child === 'string') {
          object[field] = null;
          redacted = true;
        } else if (!CLIENT_MAPS.has(field)) {
          walk(child);
        }
      }
    }
  };
  walk(parsed);
  // Unchanged bodies are kept byte for byte.
  return redacted ? JSON.stringify(parsed) : body;
}

/** The stored answer again, through the context so the headers set before (`Request-Id`) stay. */
function replay(c: Context, stored: StoredResponse): Response {
  return c.body(stored.body, stored.status as ContentfulStatusCode, { 'content-type': 'application/json', 'Idempotent-Replayed': 'true' });
}

/**
 * `Idempotency-Key` for every POST, scoped to the tenant: the durable record is a PostgreSQL row
 * claimed with `INSERT … ON CONFLICT DO NOTHING` (exactly one request runs); finished responses
 * are also cached in Redis as a fast path. A duplicate of a finished request gets the first
 * status and body with `Idempotent-Replayed: true`; of another request, 422; of a running one,
 * it waits up to `inFlightWaitMs` for the answer, then 409. Secrets in the answer are stored
 * redacted (`redactSecrets`): a replay shows them `null`.
 *
 * @example app.use('/v1/*', idempotency({ pool, redis, retentionHours: 24, inFlightWaitMs: 12_000, lockTimeoutMs: 60_000 }))
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  const records = idempotencyRecords(options);
  return async function idempotentRequest(c, next) {
    const key = c.req.header('idempotency-key');
    if (c.req.method !== 'POST' || key === undefined) return next();
    if (key.length < 1 || key.length > 255) {
      throw errors.parameterInvalid('Idempotency-Key', 'Idempotency-Key must be 1 to 255 characters.');
    }
    const scope = c.get('auth').scope;
    const hash = fingerprint(c, await c.req.text());

    const claim = await records.claimOrWait(scope, key, { method: c.req.method, path: c.req.path, hash });
    if ('stored' in claim) {
      if (claim.stored.hash !== hash) throw errors.idempotencyKeyReused();
      return replay(c, claim.stored);
    }
    await next();
    // Only successes are kept: an error response changed nothing (the contract's rule), so the
    // client may fix the request, or wait out the conflict, and retry with the same key.
    const status = c.res.status;
    if (status < 200 || status >= 300) {
      await records.release(scope, key, claim.token);
      return;
    }
    const body = redactSecrets(await c.res.clone().text());
    if (await records.complete(scope, key, claim.token, { hash, status, body })) return;
    // Taken over while it ran (its lock went stale): the attempt that took over owns the answer.
    // Every client of this key gets that one answer, never two different ones: wait for it as a
    // duplicate would.
    const stored = await records.answerOf(scope, key);
    c.res = undefined;
    c.res = replay(c, stored);
  };
}

function idempotencyRecords(options: IdempotencyOptions) {
  const { pool, redis } = options;
  const cacheKey = (scope: string, key: string) => `idem:${scope}:${key}`;
  const retentionSeconds = options.retentionHours * 3600;

  async function cached(scope: string, key: string): Promise<StoredResponse | null> {
    if (!redis) return null;
    try {
      const value = await redis.get(cacheKey(scope, key));
      return value ? (JSON.parse(value) as StoredResponse) : null;
    } catch {
      return null; // Redis is only the fast path: PostgreSQL answers.
    }
  }

  /** Claims the key (`token`: this request runs and holds the claim) or returns the finished earlier response. */
  async function claimOrWait(
    scope: string,
    key: string,
    req: { method: string; path: string; hash: string },
  ): Promise<{ token: string } | { stored: StoredResponse }> {
    const hit = await cached(scope, key);
    if (hit) return { stored: hit };
    const deadline = Date.now() + options.inFlightWaitMs;
    for (;;) {
      const token = await claimIdempotencyKey(pool, { scope, key, method: req.method, path: req.path, requestHash: req.hash });
      if (token) return { token };
      const row = await readOrTakeOver(scope, key, req.hash);
      if (row.token) return { token: row.token };
      if (row.record === null) continue; // the first request failed and released the key: try again
      if (row.record.status === 'done' || row.record.stored.hash !== req.hash) return { stored: row.record.stored };
      if (Date.now() >= deadline) throw errors.idempotencyKeyInUse();
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  }

  async function readOrTakeOver(scope: string, key: string, hash: string): Promise<{ token: string | null; record: IdempotencyRecord | null }> {
    const token = await takeOverStaleIdempotencyKey(pool, scope, key, hash, options.lockTimeoutMs);
    if (token) return { token, record: null };
    return { token: null, record: await findIdempotencyRecord(pool, scope, key) };
  }

  /** Stores the answer when `token` still holds the claim (and caches it); false when it was taken over. */
  async function complete(scope: string, key: string, token: string, stored: StoredResponse): Promise<boolean> {
    if (!(await completeIdempotencyKey(pool, scope, key, token, stored))) return false;
    await redis?.set(cacheKey(scope, key), JSON.stringify(stored), 'EX', retentionSeconds).catch(() => undefined);
    return true;
  }

  async function release(scope: string, key: string, token: string): Promise<void> {
    await releaseIdempotencyKey(pool, scope, key, token);
  }

  /** The stored answer of the key's current owner, waited for up to `inFlightWaitMs` (else 409). */
  async function answerOf(scope: string, key: string): Promise<StoredResponse> {
    const deadline = Date.now() + options.inFlightWaitMs;
    for (;;) {
      const record = await findIdempotencyRecord(pool, scope, key);
      if (record?.status === 'done') return record.stored;
      if (Date.now() >= deadline) throw errors.idempotencyKeyInUse();
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  }

  return { claimOrWait, complete, release, answerOf };
}
