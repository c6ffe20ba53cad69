import { findTenantIdByApiKeyHash, tenantExists } from '../store/tenants/tenants.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type pg from 'pg';
import { issueApiKey } from '../api/admin/api-keys.js';
import { createTenant } from '../api/admin/tenants.js';
import { hashApiKey } from '../api/middleware/auth.js';
import { REPO_ROOT } from '../platform/temporal-dev-server.js';

const DATA_DIR = resolve(REPO_ROOT, '.data');

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function writeSecret(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content, { mode: 0o600 });
}

/** The local admin key: ADMIN_API_KEY when set, else one generated once into `dataDir` (`.data/`; dev only). */
export function localAdminKey(fromEnv: string | undefined, dataDir = DATA_DIR): string {
  if (fromEnv) return fromEnv;
  const file = resolve(dataDir, 'admin-api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `sk_admin_${randomBytes(24).toString('base64url')}`;
  writeSecret(file, key);
  return key;
}

/**
 * The demo tenant, created once; its key lives in `.data/demo-tenant.json` so every start can
 * print it. If the saved key no longer works (revoked, or a dropped database), the tenant gets a
 * new key (or, when it is gone too, a new tenant is created). Another stack (the topology) keeps its own file.
 */
export async function bootstrapDemoTenant(
  pool: pg.Pool,
  file = resolve(DATA_DIR, 'demo-tenant.json'),
): Promise<{ id: string; apiKey: string }> {
  const saved = readJson<{ id: string; apiKey: string }>(file);
  if (saved) {
    if ((await findTenantIdByApiKeyHash(pool, hashApiKey(saved.apiKey))) === saved.id) return saved;
    if (await tenantExists(pool, saved.id)) {
      const apiKey = (await issueApiKey(pool, saved.id)).key;
      writeSecret(file, JSON.stringify({ id: saved.id, apiKey }));
      return { id: saved.id, apiKey };
    }
  }
  const tenant = await createTenant(pool, 'Demo');
  writeSecret(file, JSON.stringify({ id: tenant.id, apiKey: tenant.apiKey }));
  return { id: tenant.id, apiKey: tenant.apiKey };
}
