import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';
import { findActiveApiKey } from '../security/api-keys.js';

/** The `tenants` table: a tenant owns every resource. Its API keys live in `api_keys` (store/security/api-keys.ts). */

export interface Tenant {
  id: string;
  name: string;
  createdAt: Date;
}

const tenant = rowMapper<Tenant>({ id: col.text('id'), name: col.text('name'), createdAt: col.timestamp('created_at') });

export async function insertTenant(db: Db, input: { id: string; name: string }): Promise<Tenant> {
  const { rows } = await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING ${tenant.columns()}`, [input.id, input.name]);
  return tenant.map(rows[0]);
}

export async function tenantExists(db: Db, tenantId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
  return (rowCount ?? 0) > 0;
}

/** The tenant whose working API key has this digest, or null (unknown, revoked or expired). */
export async function findTenantIdByApiKeyHash(db: Db, apiKeyHash: string): Promise<string | null> {
  return (await findActiveApiKey(db, apiKeyHash))?.tenantId ?? null;
}
