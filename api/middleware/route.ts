import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route pattern a request matched (`/v1/accounts/:id`), never its raw path, so label values,
 * span names and log fields stay a bounded set that holds no client data. The handler that
 * answered if it is a route; else (a middleware answered, e.g. 401) the route that would have run;
 * `unmatched` for unknown paths.
 */
export function routePattern(c: Context): string {
  const routes = matchedRoutes(c);
  const answered = routes[c.req.routeIndex];
  if (answered && answered.method !== 'ALL') return answered.path;
  return routes.find((r) => r.method !== 'ALL')?.path ?? 'unmatched';
}

/** The request's method for a label or a log field: one of HTTP's usual methods, else `OTHER` (any string can arrive). */
export function methodLabel(c: Context): string {
  return METHODS.has(c.req.method) ? c.req.method : 'OTHER';
}
