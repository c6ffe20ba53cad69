import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type pg from 'pg';
import { findTenantIdByApiKeyHash } from '../../store/tenants/tenants.js';
import { errors } from '../errors.js';
import type { AppEnv } from '../context.js';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const ADMIN_PATHS = /^\/v1\/(admin|ops)(\/|$)/;
const BEARER = /^Bearer ([\x21-\x7e]{1,200})$/;

/**
 * Authenticates `Authorization: Bearer <key>`. The admin key opens `/v1/admin/*` and `/v1/ops/*`
 * only; tenant keys open everything else. Keys are compared by their SHA-256 digest (keys are
 * random and long, so a fast hash is enough), and never cached.
 *
 * @example app.use('/v1/*', authenticate({ pool, adminApiKey }))
 */
export function authenticate(deps: { pool: pg.Pool; adminApiKey: string }): MiddlewareHandler<AppEnv> {
  const adminDigest = Buffer.from(hashApiKey(deps.adminApiKey), 'hex');
  return async function authenticateRequest(c, next) {
    const header = c.req.header('authorization');
    if (!header) throw errors.apiKeyMissing();
    const key = BEARER.exec(header)?.[1];
    if (!key) throw errors.apiKeyInvalid();
    const digest = hashApiKey(key);
    const adminRoute = ADMIN_PATHS.test(c.req.path);
    if (timingSafeEqual(Buffer.from(digest, 'hex'), adminDigest)) {
      if (!adminRoute) throw errors.forbidden();
      c.set('auth', { kind: 'admin', scope: 'admin' });
      return next();
    }
    const tenantId = await findTenantIdByApiKeyHash(deps.pool, digest);
    if (!tenantId) throw errors.apiKeyInvalid();
    if (adminRoute) throw errors.forbidden();
    c.set('auth', { kind: 'tenant', scope: tenantId, tenantId, apiKeyId: 'key_unknown' }); // #12: replaced by the api_keys table
    return next();
  };
}
