import { timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { ApiError, errors } from '../errors.js';
import type { RateLimitRoute } from '../../platform/config-rate-limits.js';
import {
  createApiRateLimiter, DEFAULT_POLICY, rateLimitHeaders, refusingPolicies, UNAUTHENTICATED_POLICY,
  type Decision, type RateLimiter,
} from '../../platform/rate-limit/index.js';
import type { AppDeps, AppEnv, Auth } from '../context.js';
import { hashApiKey } from './auth.js';
import { sendError } from './errors.js';

export interface RateLimitOptions {
  /** undefined: rate limiting is off (RATE_LIMIT_ENABLED=false), the middleware passes through. */
  limiter: RateLimiter | undefined;
  /** RATE_LIMIT_ROUTES: the extra policies of route groups. */
  routes?: RateLimitRoute[];
  /** TRUST_PROXY: proxies whose X-Forwarded-For entries are trusted (0: none). */
  trustProxyHops: number;
}

/**
 * The API's limiter: `deps.rateLimiter` when the entry point made one (api/main.ts, which closes
 * it), else one built from `deps.config` on its own connection to the server of `deps.redis`,
 * closed when `deps.redis` ends (so callers that only close their Redis, like the test harness,
 * leak nothing). undefined when RATE_LIMIT_ENABLED=false.
 */
export function apiRateLimiter(deps: AppDeps): RateLimiter | undefined {
  if (deps.rateLimiter) return deps.rateLimiter;
  if (!deps.config.RATE_LIMIT_ENABLED) return undefined;
  const limiter = createApiRateLimiter(deps.config, { redis: deps.redis });
  deps.redis?.once('end', () => void limiter.close()); // without Redis (single-instance mode) it holds no connection
  return limiter;
}

/**
 * Mounted BEFORE authentication: a request that ends `401` without a valid key (missing or
 * invalid: `authenticate` set no `auth`) is counted against its client IP (policy
 * `unauthenticated`); once the IP is over it, the answer is 429 instead of 401. Only those: a
 * request with a valid key is never refused for its IP's bad keys (many clients share an address
 * behind a NAT or a proxy; refusing them would let anyone there lock them out), and a 401 after
 * authentication (a bad `Steadfast-Actor`) is not a bad key. Keys are 192 random bits, so the
 * budget is there to bound the work and the noise of bad keys, not to make guessing harder.
 *
 * @example app.use('/v1/*', limitUnauthenticated({ limiter, trustProxyHops: config.TRUST_PROXY }))
 */
export function limitUnauthenticated(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const { limiter, trustProxyHops } = options;
  return async function limitUnauthenticatedRequest(c, next) {
    await next();
    if (!limiter || c.res.status !== 401 || (c.get('auth') as Auth | undefined) !== undefined) return;
    const decision = await limiter.check([{ policy: UNAUTHENTICATED_POLICY, subject: `ip:${clientIp(c, trustProxyHops)}` }]);
    if (!decision.allowed) {
      c.res = refusal(c, decision);
      return;
    }
    setHeaders(c, decision);
  };
}

/**
 * Mounted AFTER authentication: every request of an API key (tenant or admin) passes the
 * `default` policy and its route groups' policies, per key, in one Redis call. Allowed responses
 * carry the RateLimit headers; a refusal is 429 `rate_limited` with `Retry-After`, or 503 when a
 * `failure_mode: closed` policy cannot reach Redis.
 *
 * @example app.use('/v1/*', limitApiKey({ limiter, routes: config.RATE_LIMIT_ROUTES, trustProxyHops: config.TRUST_PROXY }))
 */
export function limitApiKey(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const { limiter } = options;
  const routePolicies = routeMatcher(options.routes ?? []);
  return async function limitApiKeyRequest(c, next) {
    if (!limiter) return next();
    return limitKey(limiter, c.get('auth').scope, routePolicies(c.req.method, c.req.path), c, next);
  };
}

/**
 * `GET /metrics` answers the admin key only, and checks it itself (it is outside `/v1`): this puts
 * the admin key's scrapes under its `default` policy, as on `/v1`. Other keys pass through to the
 * handler's 401 or 403 (with `limitUnauthenticated` before it, the 401s count against the IP).
 *
 * @example app.use('/metrics', limitUnauthenticated(limits), limitAdminKey({ ...limits, adminApiKey }))
 */
export function limitAdminKey(options: RateLimitOptions & { adminApiKey: string }): MiddlewareHandler<AppEnv> {
  const { limiter } = options;
  const adminDigest = Buffer.from(hashApiKey(options.adminApiKey), 'hex');
  const routePolicies = routeMatcher(options.routes ?? []);
  return async function limitAdminKeyRequest(c, next) {
    const key = /^Bearer ([\x21-\x7e]{1,200})$/.exec(c.req.header('authorization') ?? '')?.[1];
    const admin = key !== undefined && timingSafeEqual(Buffer.from(hashApiKey(key), 'hex'), adminDigest);
    if (!limiter || !admin) return next();
    return limitKey(limiter, 'admin', routePolicies(c.req.method, c.req.path), c, next);
  };
}

async function limitKey(limiter: RateLimiter, scope: string, routePolicies: string[], c: Context, next: Next) {
  const subject = `key:${scope}`;
  const names = new Set([DEFAULT_POLICY, ...routePolicies]);
  const decision = await limiter.check([...names].map((policy) => ({ policy, subject })));
  if (!decision.allowed) return refusal(c, decision);
  await next();
  setHeaders(c, decision);
}

/**
 * The client's address: with TRUST_PROXY = N, the entry N from the right of X-Forwarded-For (the
 * address our outermost proxy saw); else the socket's peer. In-process requests (`app.request`)
 * have no socket: 'unknown'.
 */
export function clientIp(c: Context, trustProxyHops: number): string {
  if (trustProxyHops > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((h) => h.trim()).filter(Boolean);
    const ip = hops.length >= trustProxyHops ? hops[hops.length - trustProxyHops] : undefined;
    if (ip) return ip;
  }
  // getConnInfo reads the Node request of @hono/node-server; `app.request` has none (no throw: cheaper).
  const env = c.env as { incoming?: unknown; server?: unknown } | undefined;
  if (!env?.incoming && !env?.server) return 'unknown';
  return getConnInfo(c).remote.address ?? 'unknown';
}

function setHeaders(c: Context, decision: Decision): void {
  const headers = rateLimitHeaders(decision);
  try {
    // In place: `c.header()` after the response exists copies the Response once per header.
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  } catch {
    for (const [name, value] of Object.entries(headers)) c.header(name, value); // immutable headers
  }
}

function refusal(c: Context, decision: Decision): Response {
  const retryAfterS = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  if (decision.outcome === 'fail_closed') {
    const res = sendError(c, new ApiError(503, 'api_error', 'internal_error',
      `Rate limiting is unavailable for this request; retry after ${retryAfterS} s.`));
    res.headers.set('Retry-After', String(retryAfterS));
    return res;
  }
  const policy = refusingPolicies(decision)[0]!;
  const res = sendError(c, errors.rateLimited(policy.policy.name === UNAUTHENTICATED_POLICY
    ? `Too many requests with a missing or invalid API key from this address; retry after ${retryAfterS} s.`
    : `Rate limit "${policy.policy.name}" exceeded; retry after ${retryAfterS} s.`));
  for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.headers.set(name, value);
  return res;
}

/** The policies of the route groups a request belongs to (method `*` matches any). */
function routeMatcher(routes: RateLimitRoute[]) {
  const compiled = routes.map((route) => ({ ...route, pattern: pathPattern(route.path) }));
  return (method: string, path: string): string[] =>
    compiled
      .filter((r) => (r.method === '*' || r.method === method) && r.pattern.test(path))
      .flatMap((r) => r.policies);
}

function pathPattern(path: string): RegExp {
  const segments = path.split('/').filter(Boolean).map((segment) => {
    if (segment === '*') return '(?:/.*)?';
    if (segment.startsWith(':')) return '/[^/]+';
    return `/${segment.replace(/[.]/g, '\\.')}`;
  });
  return new RegExp(`^${segments.join('')}/?$`);
}
