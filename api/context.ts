import { OpenAPIHono } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Cache } from '../platform/cache/index.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/log.js';
import type { RateLimiter } from '../platform/rate-limit/index.js';
import type { InboxListener } from './notifications/inbox-listener.js';
import { toApiError } from './validation.js';

/** Who authenticated: the admin key, or a tenant API key (`apiKeyId` is its `key_…` id). */
export type Auth = { kind: 'admin'; scope: 'admin' } | { kind: 'tenant'; scope: string; tenantId: string; apiKeyId: string };

/** The person acting (contract §0 `Steadfast-Actor`): set by the actor middleware on routes that record a decision. */
export interface Actor {
  /** The JWT's `sub`: an employee id or a user id; `admin` for the admin key. */
  sub: string;
  /** The `ask_…` signing key that signed it (absent for the admin key). */
  keyId?: string;
}

export interface AppEnv {
  /** `log`: the request's logger, with its request id (and tenant id once authenticated): api/middleware/access-log.ts. */
  Variables: {
    auth: Auth; requestId: string; actor?: Actor; log: Logger;
    /** The tenant an admin-key request acted on, when no path parameter names it (a risk review): its audit entry shows in that tenant's log. */
    auditTenantId?: string;
  };
}

/** What the API needs from the outside world; the entry point (or a test) owns these. */
export interface AppDeps {
  config: Config;
  adminApiKey: string;
  pool: pg.Pool;
  /**
   * DATABASE_READ_URL's pool (a standby), for the few reads that may lag the primary by a few ms:
   * the audit logs and the ledger audit, nothing that decides money or that a client reads right
   * after its own write. Absent: they read `pool`. The owner ends it.
   */
  readPool?: pg.Pool;
  /**
   * null: single-instance mode (platform/redis-mode.ts): rate limits in process, idempotency in
   * PostgreSQL only, the cache L1 only with invalidations inside the process, `/readyz` says so.
   */
  redis: Redis | null;
  temporal: Client;
  /**
   * The two-tier cache (reference data, notification preferences). Absent: `createApp` builds one on `redis` whose
   * subscriber connection closes when `redis` ends; an owner passing its own must `close()` it.
   */
  cache?: Cache;
  /**
   * The one LISTEN connection behind the inbox streams (SSE). Absent: the users router creates
   * one on first use, which drops its connection after the last stream has been closed a while;
   * an owner passing its own must `close()` it (that also ends the open streams).
   */
  inboxListener?: InboxListener;
  /**
   * The API rate limiter (contract §7). Absent: `createApp` builds one from `config` on its own
   * connection to the server of `redis`, closed when `redis` ends; an owner passing its own must
   * `close()` it.
   */
  rateLimiter?: RateLimiter;
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
