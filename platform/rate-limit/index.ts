/** Rate limiting (issue #6): API limits per key / IP / route group, and outbound limits per provider. */
export { createRateLimiter, FAIL_CLOSED_RETRY_MS } from './limiter.js';
export type { Decision, LimitRequest, LimiterHealth, Outcome, RateLimiter, RateLimiterOptions, Verdict } from './limiter.js';
export { apiPolicies, createApiRateLimiter, DEFAULT_POLICY, LIMITER_CONNECTION_OPTIONS, openLimiterConnection, UNAUTHENTICATED_POLICY } from './from-config.js';
export { rateLimitHeaders, refusingPolicies } from './headers.js';
export { createOutboundLimiter, createOutboundLimiterFromConfig, OutboundRateLimited } from './outbound.js';
export type { OutboundLimiter, OutboundLimiterOptions } from './outbound.js';
export { ALGORITHMS, policySchema, toPolicy } from './policy.js';
export type { Algorithm, Policy, PolicyConfig } from './policy.js';
