import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';

/**
 * The `idempotency_keys` table: the durable record behind `Idempotency-Key` (contract §0). A
 * request claims its key with `INSERT … ON CONFLICT DO NOTHING`, so exactly one request runs. A
 * claim (or a takeover of a stale one) carries a random token: only its holder completes or releases
 * the record, so an attempt that was taken over can neither overwrite the stored answer nor free the
 * key under the attempt that took over.
 */

export interface IdempotencyClaim {
  scope: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

export interface StoredResponse {
  hash: string;
  status: number;
  body: string;
}

export interface IdempotencyRecord {
  status: 'in_flight' | 'done';
  stored: StoredResponse;
}

/** The claim's token when this request claimed the key (it runs); null when a record exists already. */
export async function claimIdempotencyKey(db: Db, claim: IdempotencyClaim): Promise<string | null> {
  const token = randomUUID();
  const { rowCount } = await db.query(
    `INSERT INTO idempotency_keys (scope, key, method, path, request_hash, status, claim_token)
     VALUES ($1, $2, $3, $4, $5, 'in_flight', $6) ON CONFLICT (scope, key) DO NOTHING`,
    [claim.scope, claim.key, claim.method, claim.path, claim.requestHash, token],
  );
  return rowCount === 1 ? token : null;
}

/**
 * Takes over an in-flight record of the same request whose lock is older than `lockTimeoutMs`
 * (its process crashed, or it is stuck): the new claim's token when this request now owns it.
 */
export async function takeOverStaleIdempotencyKey(
  db: Db, scope: string, key: string, requestHash: string, lockTimeoutMs: number,
): Promise<string | null> {
  const token = randomUUID();
  const { rowCount } = await db.query(
    `UPDATE idempotency_keys SET locked_at = now(), claim_token = $5
     WHERE scope = $1 AND key = $2 AND status = 'in_flight' AND request_hash = $3
       AND locked_at < now() - make_interval(secs => $4::double precision / 1000)
     RETURNING 1`,
    [scope, key, requestHash, lockTimeoutMs, token],
  );
  return rowCount === 1 ? token : null;
}

export async function findIdempotencyRecord(db: Db, scope: string, key: string): Promise<IdempotencyRecord | null> {
  const { rows } = await db.query(
    `SELECT status, request_hash, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2`,
    [scope, key],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    status: row.status as IdempotencyRecord['status'],
    stored: { hash: row.request_hash as string, status: row.response_status as number, body: row.response_body as string },
  };
}

/**
 * Stores the answer of the claim `token` holds. False when the claim is no longer its own (taken
 * over, or already answered): the caller must answer with what the record holds instead.
 */
export async function completeIdempotencyKey(db: Db, scope: string, key: string, token: string, stored: StoredResponse): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE idempotency_keys SET status = 'done', response_status = $3, response_body = $4
     WHERE scope = $1 AND key = $2 AND status = 'in_flight' AND claim_token = $5`,
    [scope, key, stored.status, stored.body, token],
  );
  return rowCount === 1;
}

/** Forgets the in-flight claim `token` holds (the request failed: the client may retry with the same key). */
export async function releaseIdempotencyKey(db: Db, scope: string, key: string, token: string): Promise<void> {
  await db.query(
    `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = 'in_flight' AND claim_token = $3`,
    [scope, key, token],
  );
}

/** Deletes records past their retention; returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Db, retentionHours: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
    [retentionHours],
  );
  return rowCount ?? 0;
}
