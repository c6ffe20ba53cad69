import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `api_keys` table: a tenant's API keys, as SHA-256 digests (the key itself is shown once and
 * never stored). A key works while `expires_at` is null or in the future; revoking sets
 * `revoked_at` and an `expires_at` (now, or after a grace period).
 */

export interface ApiKey {
  id: string;
  object: 'api_key';
  last4: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const apiKey = rowMapper<ApiKey>({
  id: col.text('id'),
  object: col.literal('api_key'),
  last4: col.text('last4'),
  created_at: col.isoTimestamp('created_at'),
  expires_at: col.isoTimestampOrNull('expires_at'),
  revoked_at: col.isoTimestampOrNull('revoked_at'),
  last_used_at: col.isoTimestampOrNull('last_used_at'),
});

export interface NewApiKey {
  id: string;
  tenantId: string;
  keyHash: string;
  last4: string;
}

export async function insertApiKey(db: Db, input: NewApiKey): Promise<ApiKey> {
  const { rows } = await db.query(
    `INSERT INTO api_keys (id, tenant_id, key_hash, last4) VALUES ($1, $2, $3, $4) RETURNING ${apiKey.columns()}`,
    [input.id, input.tenantId, input.keyHash, input.last4],
  );
  return apiKey.map(rows[0]);
}

/** The tenant's keys, newest first (revoked and expired ones included: they say when they ended). */
export async function listApiKeys(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<ApiKey>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${apiKey.columns()} FROM api_keys WHERE tenant_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, apiKey.map);
}

/**
 * Revokes a key: it stops working `graceMs` from now (0: at once). A second revocation can only
 * bring the end closer (an emergency revocation during a grace period ends it at once), and
 * `revoked_at` keeps the first. Null when the tenant has no key with this id.
 */
export async function revokeApiKey(db: Db, tenantId: string, keyId: string, graceMs: number): Promise<ApiKey | null> {
  const { rows } = await db.query(
    `UPDATE api_keys
     SET revoked_at = coalesce(revoked_at, now()),
         expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => $3::float8 / 1000))
     WHERE id = $1 AND tenant_id = $2
     RETURNING ${apiKey.columns()}`,
    [keyId, tenantId, graceMs],
  );
  return rows[0] ? apiKey.map(rows[0]) : null;
}

/** What authentication needs to know about a working key. */
export interface ActiveApiKey {
  id: string;
  tenantId: string;
  lastUsedAt: Date | null;
}

/**
 * The working key with this digest, or null (unknown, revoked or expired). Authentication runs
 * this on every request: one lookup on the unique `key_hash` index, never cached.
 */
export async function findActiveApiKey(db: Db, keyHash: string): Promise<ActiveApiKey | null> {
  const { rows } = await db.query<{ id: string; tenant_id: string; last_used_at: Date | null }>(
    `SELECT id, tenant_id, last_used_at FROM api_keys
     WHERE key_hash = $1 AND (expires_at IS NULL OR expires_at > now())`,
    [keyHash],
  );
  const row = rows[0];
  return row ? { id: row.id, tenantId: row.tenant_id, lastUsedAt: row.last_used_at } : null;
}

/** Records that a key was used, at most once a minute per key (concurrent callers write once). */
export async function touchApiKey(db: Db, keyId: string): Promise<void> {
  await db.query(
    `UPDATE api_keys SET last_used_at = now()
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [keyId],
  );
}
