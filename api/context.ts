import { OpenAPIHono } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../platform/config.js';
import { toApiError } from './validation.js';

export type Auth = { kind: 'admin'; scope: 'admin' } | { kind: 'tenant'; scope: string; tenantId: string };

export interface AppEnv {
  Variables: { auth: Auth; requestId: string };
}

/** What the API needs from the outside world; the entry point (or a test) owns these. */
export interface AppDeps {
  config: Config;
  adminApiKey: string;
  pool: pg.Pool;
  redis: Redis;
  temporal: Client;
}

/** A sub-app whose request validation failures become the contract's errors. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      // @hono/zod-validator passes the raw input as `data`: it tells a missing field from a bad one.
      if (!result.success) throw toApiError(result.error, (result as { data?: unknown }).data, result.target);
    },
  });
}

/** The tenant of an authenticated tenant request (routes mounted behind `requireTenant`). */
export function tenantOf(c: { get(key: 'auth'): Auth }): string {
  const auth = c.get('auth');
  if (auth.kind !== 'tenant') throw new Error('tenantOf called on a non-tenant request');
  return auth.tenantId;
}
