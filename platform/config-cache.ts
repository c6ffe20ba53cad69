/** Multi-level cache (issue #6): L1 bounds, TTLs, grace; FX provider. Spread into the one schema in platform/config.ts. */
export const cacheEnv = {};
