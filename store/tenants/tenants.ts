import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/** The `tenants` table: a tenant and the digest of its API key (the key itself is never stored). */

export interface Tenant {
  id: string;
  name: string;
  createdAt: Date;
}

const tenant = rowMapper<Tenant>({ id: col.text('id'), name: col.text('name'), createdAt: col.timestamp('created_at') });

export interface NewTenant {
  id: string;
  name: string;
  apiKeyHash: string;
  apiKeyLast4: string;
}

export async function insertTenant(db: Db, input: NewTenant): Promise<Tenant> {
  const { rows } = await db.query(
    `INSERT INTO tenants (id, name, api_key_hash, api_key_last4) VALUES ($1, $2, $3, $4) RETURNING ${tenant.columns()}`,
    [input.id, input.name, input.apiKeyHash, input.apiKeyLast4],
  );
  return tenant.map(rows[0]);
}

/** Replaces a tenant's key digest: the old key stops working at once. */
export async function setTenantApiKey(db: Db, tenantId: string, apiKeyHash: string, apiKeyLast4: string): Promise<void> {
  await db.query('UPDATE tenants SET api_key_hash = $2, api_key_last4 = $3 WHERE id = $1', [tenantId, apiKeyHash, apiKeyLast4]);
}

/** The tenant whose key has this digest (authentication), or null. */
export async function findTenantIdByApiKeyHash(db: Db, apiKeyHash: string): Promise<string | null> {
  const { rows } = await db.query('SELECT id FROM tenants WHERE api_key_hash = $1', [apiKeyHash]);
  return (rows[0]?.id as string | undefined) ?? null;
}

/** The digest of a tenant's current key, or null when there is no such tenant. */
export async function findTenantApiKeyHash(db: Db, tenantId: string): Promise<string | null> {
  const { rows } = await db.query('SELECT api_key_hash FROM tenants WHERE id = $1', [tenantId]);
  return (rows[0]?.api_key_hash as string | undefined) ?? null;
}
