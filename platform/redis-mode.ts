import { Redis } from 'ioredis';
import { ConfigError, type Config } from './config.js';

/**
 * Redis or not, decided once at start-up (issue #17). With Redis, every instance shares rate
 * limits, the idempotency fast path and the cache's L2 and invalidations. Without (`none`), one
 * instance runs on its own: rate limits in process, idempotency in PostgreSQL only, the cache L1
 * only with invalidations inside the process. Never a silent fallback: a REDIS_URL that does not
 * answer, or several instances without Redis, refuse to start.
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** What single-instance mode changes, in one line (start banner, logs, `npm start -- --check`). */
export const SINGLE_INSTANCE_SUMMARY = 'single-instance mode: no Redis (rate limits in process, idempotency in PostgreSQL only, cache L1 only)';

export type RedisMode =
  | { mode: 'external'; url: string; /** When probed at start. */ version?: string }
  | { mode: 'none'; /** Why there is none: REDIS_MODE=none, or nothing on the default address. */ reason: string };

/** No Redis where one is required: one line with its fix. */
export class RedisUnavailableError extends ConfigError {
  override name = 'RedisUnavailableError';
  constructor(readonly reason: string, readonly fix: string) {
    super(`Redis: ${reason} — fix: ${fix}`);
  }
}

export type RedisProbe = (url: string) => Promise<{ ok: true; version: string } | { ok: false; reason: string }>;

export interface ResolveRedisOptions {
  /** Where to look when REDIS_URL is unset (tests: a free port). */
  defaultUrl?: string;
  probe?: RedisProbe;
  /** Probe with REDIS_MODE=external too, and refuse when it does not answer (`npm start`: it starts the rest now). */
  probeExternal?: boolean;
}

type RedisConfig = Pick<Config, 'REDIS_URL' | 'REDIS_MODE' | 'STEADFAST_INSTANCES' | 'RATE_LIMIT_REDIS_URL'>;

/**
 * The process's Redis, as REDIS_MODE says: `none`; `external` (REDIS_URL, else the default, not
 * probed unless `probeExternal`); `auto`: REDIS_URL must answer; unset, the default address is used
 * when it answers, else single-instance mode — refused with STEADFAST_INSTANCES > 1.
 *
 * @example const redisMode = await resolveRedisMode(config); // { mode: 'none', reason: '…' }
 */
export async function resolveRedisMode(config: RedisConfig, options: ResolveRedisOptions = {}): Promise<RedisMode> {
  const defaultUrl = options.defaultUrl ?? DEFAULT_REDIS_URL;
  const probe = options.probe ?? probeRedis;
  switch (config.REDIS_MODE) {
    case 'none':
      return { mode: 'none', reason: 'REDIS_MODE=none' };
    case 'external':
      if (!options.probeExternal) return { mode: 'external', url: config.REDIS_URL ?? defaultUrl };
      break;
    case 'auto':
      break;
    default: {
      const unknown: never = config.REDIS_MODE;
      throw new Error(`unknown REDIS_MODE ${String(unknown)}`);
    }
  }
  const url = config.REDIS_URL ?? defaultUrl;
  const answer = await probe(url);
  if (answer.ok) return { mode: 'external', url, version: answer.version };
  const address = redisAddress(url);
  if (config.REDIS_URL !== undefined) {
    throw new RedisUnavailableError(`REDIS_URL (${address}) does not answer: ${answer.reason}`, 'start that Redis, or correct REDIS_URL');
  }
  const nothing = `nothing answers on ${address} (${answer.reason})`;
  const startIt = 'install and start Redis 7 there (e.g. apt-get install redis-server, brew install redis), or set REDIS_URL';
  if (config.REDIS_MODE === 'external') throw new RedisUnavailableError(`${nothing}; REDIS_MODE=external needs it`, startIt);
  if (config.STEADFAST_INSTANCES > 1) {
    throw new RedisUnavailableError(`${nothing}; STEADFAST_INSTANCES=${config.STEADFAST_INSTANCES} needs a Redis shared by every instance`, startIt);
  }
  if (config.RATE_LIMIT_REDIS_URL !== undefined) {
    throw new RedisUnavailableError(`${nothing}; RATE_LIMIT_REDIS_URL is set but the rest would run without Redis`, 'set REDIS_URL too, or unset RATE_LIMIT_REDIS_URL');
  }
  return { mode: 'none', reason: nothing };
}

/** Redis at `url`: its version, or why not (a connection of its own, no retries, closed after). */
export async function probeRedis(url: string, timeoutMs = 2_000): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // connect() rejects with "Connection is closed."; the cause (ECONNREFUSED, ENOTFOUND) comes as an 'error' event.
  let cause: unknown = null;
  redis.on('error', (err) => (cause ??= err));
  try {
    await redis.connect();
    const info = await redis.info('server');
    return { ok: true, version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown version' };
  } catch (err) {
    return { ok: false, reason: errorText(cause ?? err) };
  } finally {
    redis.disconnect();
  }
}

/** `host:port` of a Redis URL (never its password). */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  } catch {
    return 'REDIS_URL';
  }
}

/** The Redis of tools that always need one (tests, benchmarks, drills): REDIS_URL, else the default address. */
export function redisUrlOf(config: Pick<Config, 'REDIS_URL'>): string {
  return config.REDIS_URL ?? DEFAULT_REDIS_URL;
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorText(err.errors[0]);
  const e = err as { code?: string; message?: string };
  return e.message || e.code || String(err);
}
