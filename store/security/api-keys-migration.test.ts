import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createApp } from '../../api/app.js';
import { hashApiKey } from '../../api/middleware/auth.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { createPool } from '../db.js';
import { dropDatabase, ensureDatabase, migrateUp } from '../migrate.js';

/**
 * schema/0008_api_keys.sql on a database that has tenants in the old shape (the key's digest on
 * the tenant row): each tenant's key becomes its first `api_keys` row and keeps working.
 */

const SCHEMA_DIR = fileURLToPath(new URL('../../schema', import.meta.url));
const BEFORE_0008 = readdirSync(SCHEMA_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f) && f < '0008').length;

let h: Harness;
let databaseUrl: string;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${url.pathname.slice(1)}_m0008`;
  databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
});
afterAll(async () => {
  await h?.close();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

describe('migration 0008: API keys move from tenants to api_keys', () => {
  it('an existing tenant key still works after the migration, as a key_ row dated the tenant’s creation', async () => {
    await runner({
      databaseUrl, dir: SCHEMA_DIR, direction: 'up', migrationsTable: 'pgmigrations', count: BEFORE_0008,
      singleTransaction: true, checkOrder: true, verbose: false, log: () => undefined,
    });
    const pool = createPool(databaseUrl, 2);
    try {
      const oldKey = 'sk_old_shape_key_0123456789abcdefWXYZ';
      const createdAt = new Date('2025-03-04T05:06:07.089Z');
      await pool.query(
        'INSERT INTO tenants (id, name, api_key_hash, api_key_last4, created_at) VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, now())',
        ['tnt_old', 'Old tenant', hashApiKey(oldKey), 'WXYZ', createdAt, 'tnt_other', 'Other', hashApiKey('sk_other_key_x'), 'ey_x'],
      );

      await migrateUp(databaseUrl);

      const { rows } = await pool.query('SELECT * FROM api_keys ORDER BY id');
      expect(rows).toHaveLength(2);
      const row = rows.find((r) => r.tenant_id === 'tnt_old')!;
      expect(row).toMatchObject({ key_hash: hashApiKey(oldKey), last4: 'WXYZ', created_at: createdAt, expires_at: null, revoked_at: null });
      // A ULID-shaped id whose time part is the tenant's creation time (ids sort by creation).
      expect(row.id).toMatch(/^key_[0-9A-Z]{26}$/);
      expect(row.id.slice(4, 14)).toBe(ulidTime(createdAt.getTime()));
      const columns = await pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'tenants'");
      expect(columns.rows.map((c) => c.column_name)).not.toContain('api_key_hash');

      const app = createApp({ config: h.config, adminApiKey: ADMIN_KEY, pool, redis: h.redis, temporal: h.temporal, rateLimiter: h.rateLimiter });
      const res = await app.request('/v1/accounts', {
        method: 'POST', headers: { authorization: `Bearer ${oldKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'user', currency: 'USD' }),
      });
      expect(res.status).toBe(201);
      const listed = await app.request('/v1/admin/tenants/tnt_old/api-keys', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(((await listed.json()) as { data: { id: string }[] }).data.map((k) => k.id)).toEqual([row.id]);
    } finally {
      await pool.end();
    }
  });
});

/** The 10-character Crockford base32 time part of a ULID. */
function ulidTime(ms: number): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let out = '';
  for (let i = 9; i >= 0; i--) out += alphabet[Math.floor(ms / 32 ** i) % 32];
  return out;
}
