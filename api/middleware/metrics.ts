import { timingSafeEqual } from 'node:crypto';
import type { Handler, MiddlewareHandler } from 'hono';
import type pg from 'pg';
import { findTenantIdByApiKeyHash } from '../../store/tenants/tenants.js';
import { errors } from '../errors.js';
import { metrics, metricsRegistry } from '../../platform/metrics.js';
import type { AppEnv } from '../context.js';
import { hashApiKey } from './auth.js';
import { methodLabel, routePattern } from './route.js';

const BEARER = /^Bearer ([\x21-\x7e]{1,200})$/;

/**
 * Counts requests (`steadfast_http_requests_total`) and their latency
 * (`steadfast_http_request_duration_seconds`) by method and route pattern. Register it first, so
 * it times everything, failed requests included.
 *
 * @example app.use('*', httpMetrics())
 */
export function httpMetrics(): MiddlewareHandler<AppEnv> {
  return async function recordHttpMetrics(c, next) {
    const startedMs = performance.now();
    try {
      await next();
    } finally {
      const labels = { method: methodLabel(c), route: routePattern(c) };
      metrics.httpRequests.inc({ ...labels, status: String(c.res.status) });
      metrics.httpRequestDuration.observe(labels, (performance.now() - startedMs) / 1_000);
    }
  };
}

/**
 * `GET /metrics`: the process's Prometheus metrics in text format, for the admin key only (the
 * contract allows "behind the admin key"; the API has no second port). A tenant key gets 403,
 * like on `/v1/admin/*`.
 *
 * @example app.get('/metrics', metricsEndpoint({ pool, adminApiKey }))
 */
export function metricsEndpoint(deps: { pool: pg.Pool; adminApiKey: string }): Handler<AppEnv> {
  const adminDigest = Buffer.from(hashApiKey(deps.adminApiKey), 'hex');
  return async function serveMetrics(c) {
    const header = c.req.header('authorization');
    if (!header) throw errors.apiKeyMissing();
    const key = BEARER.exec(header)?.[1];
    if (!key) throw errors.apiKeyInvalid();
    const digest = hashApiKey(key);
    if (!timingSafeEqual(Buffer.from(digest, 'hex'), adminDigest)) {
      const tenantId = await findTenantIdByApiKeyHash(deps.pool, digest);
      throw tenantId ? errors.forbidden() : errors.apiKeyInvalid();
    }
    return c.body(await metricsRegistry.metrics(), 200, { 'content-type': metricsRegistry.contentType });
  };
}
