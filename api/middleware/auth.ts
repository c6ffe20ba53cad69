import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type pg from 'pg';
import { findActiveApiKey, touchApiKey } from '../../store/security/api-keys.js';
import { errors } from '../errors.js';
import type { AppEnv } from '../context.js';
import { requestLog } from './access-log.js';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const ADMIN_PATHS = /^\/v1\/(admin|ops)(\/|$)/;
/** Tenant routes the admin key may also use (contract §8: a risk review is decided with an actor or the admin key). */
const ADMIN_ALSO_PATHS = /^\/v1\/risk\/reviews\/[^/]+\/(approve|decline)$/;
const BEARER = /^Bearer ([\x21-\x7e]{1,200})$/;

/** `last_used_at` is written at most this often per key: authentication stays one read per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Authenticates `Authorization: Bearer <key>`. The admin key opens `/v1/admin/*` and `/v1/ops/*`
 * (and the risk review decisions, ADMIN_ALSO_PATHS); tenant keys open everything else. Tenant keys are looked up by their SHA-256 digest (keys
 * are random and long, so a fast hash is enough) in `api_keys`: one indexed query per request,
 * never cached, so a revoked or expired key answers `401 api_key_invalid` at once. A key's
 * `last_used_at` is refreshed in the background when it is over a minute old.
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
      if (!adminRoute && !ADMIN_ALSO_PATHS.test(c.req.path)) throw errors.forbidden();
      c.set('auth', { kind: 'admin', scope: 'admin' });
      return next();
    }
    const apiKey = await findActiveApiKey(deps.pool, digest);
    if (!apiKey) throw errors.apiKeyInvalid();
    if (adminRoute) throw errors.forbidden();
    if (!apiKey.lastUsedAt || Date.now() - apiKey.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      // Fire and forget: bookkeeping must neither slow nor fail the request.
      touchApiKey(deps.pool, apiKey.id).catch((err: unknown) => {
        requestLog(c).error({ err, apiKeyId: apiKey.id }, 'api key last_used_at update failed');
      });
    }
    c.set('auth', { kind: 'tenant', scope: apiKey.tenantId, tenantId: apiKey.tenantId, apiKeyId: apiKey.id });
    // From here on, the request's lines (the access line included) name its tenant.
    c.set('log', requestLog(c).child({ tenantId: apiKey.tenantId }));
    return next();
  };
}
