/** Rate limits (issue #6): policies, Redis timeouts, fail-open/closed. Spread into the one schema in platform/config.ts. */
export const rateLimitEnv = {};
