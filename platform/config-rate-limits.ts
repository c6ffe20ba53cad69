import { z } from 'zod';
import { booleanFromEnv, intFromEnv, jsonFromEnv } from './env.js';
import { policiesSchema, policyNameSchema, policySchema } from './rate-limit/policy.js';

/** Contract §7: every API key gets a token bucket of 100 requests/s, burst 200. */
const CONTRACT_DEFAULT = policySchema.parse({ algorithm: 'token_bucket', rate: 100, period: '1s', burst: 200 });
/**
 * Requests whose key fails authentication, per client IP: 20 at once, then 1 per second. A
 * legitimate client rarely sends a bad key twice; a key guesser is slowed to a crawl.
 */
const UNAUTHENTICATED_DEFAULT = policySchema.parse({ algorithm: 'token_bucket', rate: 1, period: '1s', burst: 20 });

const routeSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', '*']).default('*'),
  /** A path under /v1: literal segments, `:param` for one segment, a final `*` for the rest. */
  path: z.string().max(200).regex(/^\/v1(\/:?[A-Za-z0-9_.-]+)*(\/\*)?$/, 'must be a /v1 path such as /v1/payments/:id/refunds or /v1/payments/*'),
  policies: z.array(policyNameSchema).min(1).max(10),
});
export type RateLimitRoute = z.infer<typeof routeSchema>;

/** Rate limits (issue #6): policies, Redis timeouts, fail-open/closed. Spread into the one schema in platform/config.ts. */
export const rateLimitEnv = {
  /** `false` turns the API limiter off entirely (no Redis connection, no headers). */
  RATE_LIMIT_ENABLED: booleanFromEnv('true'),
  /** JSON policy applied per API key to every /v1 request (the policy named `default`). */
  RATE_LIMIT_DEFAULT: jsonFromEnv.pipe(policySchema).default(CONTRACT_DEFAULT),
  /** JSON policy applied per client IP to requests whose API key is missing or invalid (`unauthenticated`). */
  RATE_LIMIT_UNAUTHENTICATED: jsonFromEnv.pipe(policySchema).default(UNAUTHENTICATED_DEFAULT),
  /** JSON object of further named policies, e.g. {"payments_create":{"algorithm":"sliding_window","limit":20,"window":"1s"}}. */
  RATE_LIMIT_POLICIES: jsonFromEnv.pipe(policiesSchema).default({}),
  /** JSON array: route groups and the extra policies (per API key) their requests also pass, e.g. [{"method":"POST","path":"/v1/payments","policies":["payments_create"]}]. */
  RATE_LIMIT_ROUTES: jsonFromEnv.pipe(z.array(routeSchema).max(100)).default([]),
  /** Redis for rate limiting; default REDIS_URL (the limiter always opens its own connection). */
  RATE_LIMIT_REDIS_URL: z.string().url().optional(),
  /** A decision waits at most this long for Redis, then the policy's failure mode applies. */
  RATE_LIMIT_REDIS_TIMEOUT_MS: intFromEnv(100, 5, 5_000),
  /** Buckets the in-process fallback keeps (least recently used evicted) while Redis is away. */
  RATE_LIMIT_FALLBACK_MAX_KEYS: intFromEnv(10_000, 100, 1_000_000),
  /** Proxies in front of the API: 0 trusts no header; N takes the client IP N hops from the right of X-Forwarded-For. */
  TRUST_PROXY: intFromEnv(0, 0, 10),
  /** JSON object of outbound limits per provider, e.g. {"sms":{"algorithm":"gcra","rate":50,"period":"1s"}}. */
  OUTBOUND_RATE_LIMITS: jsonFromEnv.pipe(policiesSchema).default({}),
  /** How long `acquire` waits for an outbound slot before it throws `OutboundRateLimited`. */
  OUTBOUND_RATE_LIMIT_MAX_WAIT_MS: intFromEnv(1_000, 0, 60_000),
};
