import type { Context, MiddlewareHandler } from 'hono';
import { logger, scrubText, type Logger } from '../../platform/log.js';
import type { AppEnv } from '../context.js';
import { methodLabel, routePattern } from './route.js';

/** Probes and scrapes (HAProxy, `npm start`, Prometheus) would drown the access log: they log at debug. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The request's logger: its lines carry `requestId`, and `tenantId` once a tenant key authenticated
 * (api/middleware/auth.ts binds it). Outside a request of the app (a sub-app in a test): the
 * root logger. Its lines name no `component` (a line passes its own: `{ component: 'audit' }`).
 *
 * @example requestLog(c).warn({ workflowId }, 'start outcome unknown')
 */
export function requestLog(c: Context): Logger {
  return (c.get('log') as Logger | undefined) ?? logger;
}

/**
 * Binds a logger with the request id to the request (`c.var.log`, for the handlers and the error
 * handler), then writes one access line per request at info: method, route pattern (never the raw
 * path, which may hold a client's ids), status, duration, request id, tenant id. Register it right
 * after `requestId()`.
 *
 * @example app.use('*', requestId({ headerName: 'Request-Id' })); app.use('*', accessLog());
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function logAccess(c, next) {
    const startedMs = performance.now();
    // A `Request-Id` the client sent is the client's text (a card number has been seen there): scrubbed.
    const id = c.get('requestId') as string | undefined;
    c.set('log', id === undefined ? logger : logger.child({ requestId: scrubText(id) }));
    try {
      await next();
    } finally {
      const route = routePattern(c);
      // The method too is the client's text: a known one as it is, anything else `OTHER` (as the metrics label it).
      const method = methodLabel(c);
      const line = { method, route, status: c.res.status, durationMs: Math.round((performance.now() - startedMs) * 10) / 10 };
      const log = requestLog(c);
      if (PROBE_ROUTES.has(route)) log.debug(line, 'request');
      else log.info(line, 'request');
    }
  };
}
