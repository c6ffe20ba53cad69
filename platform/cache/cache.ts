import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { metrics } from '../metrics.js';
import { createInvalidationBus, createLocalInvalidationBus, type BusHandlers } from './bus.js';
import { checkedKeyString, kindOf, type CacheKey, type CachePolicies } from './kinds.js';

export type CacheTier = 'l1' | 'l2';

/** What the cache reports besides metrics (logs, tests). */
export type CacheEvent =
  | { type: 'bus'; up: boolean; detail?: string }
  | { type: 'l1_flushed'; reason: string }
  | { type: 'stale_served'; key: string; tier: CacheTier; error: unknown }
  | { type: 'l2_error'; key: string; error: unknown };

export interface CacheOptions {
  /**
   * The process's command connection; the bus opens one subscriber connection of its own. null:
   * single-instance mode (platform/redis-mode.ts): L1 only, invalidations delivered within the process.
   */
  redis: Redis | null;
  policies: CachePolicies;
  /** Prefix of Redis keys and of the invalidation channel (`<prefix>:invalidate`). */
  keyPrefix: string;
  /** The in-process tier; `false` disables it (benchmarks, debugging). */
  l1: { maxEntries: number; ttlMaxMs: number } | false;
  onEvent?: (event: CacheEvent) => void;
}

/**
 * A two-tier read-through cache for the allow-listed kinds (kinds.ts).
 *
 * @example
 * const product = await cache.get({ kind: 'product', id }, () => findProduct(pool, id));
 * await cache.invalidate({ kind: 'product', id }, { kind: 'product_list' });
 */
export interface Cache {
  /** The cached value, else `load()`'s (stored unless null). Values must be plain JSON. */
  get<T>(key: CacheKey, load: () => Promise<T | null>): Promise<T | null>;
  /** Drops keys from L2 and from every instance's L1; a load already running cannot put them back. */
  invalidate(...keys: CacheKey[]): Promise<void>;
  /** True while the invalidation bus is subscribed (else L1 is bypassed). */
  readonly busUp: boolean;
  whenBusUp(timeoutMs?: number): Promise<void>;
  /** Entries in L1 now (tests, benchmarks). */
  readonly l1Size: number;
  /** The subscriber's `CLIENT SETNAME`, to find it in `CLIENT LIST` (no connection in single-instance mode). */
  readonly busConnectionName: string;
  close(): void;
}

/** One stored value: fresh until `fresh`, servable on loader failure until `stale` (epoch ms). */
interface Entry<T = unknown> {
  v: T;
  fresh: number;
  stale: number;
}

/** Generation counters outlive every data key: see `invalidate` and SET_IF_GENERATION. */
const GENERATION_TTL_MS = 24 * 60 * 60 * 1000;
const BUS_WAIT_MS = 5_000;

/**
 * Writes a loaded value only if no invalidation happened since the load began (the key's
 * generation is unchanged): an instance that read the database just before an update cannot put
 * the old value back into L2 after the update invalidated it.
 */
const SET_IF_GENERATION = `
local generation = redis.call('GET', KEYS[2])
if (generation or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

interface CacheCommands {
  steadfastCacheSetIfGeneration(dataKey: string, generationKey: string, generation: string, json: string, ttlMs: number): Promise<number>;
}

export function createCache(options: CacheOptions): Cache {
  const { redis, policies, keyPrefix } = options;
  const emit = options.onEvent ?? (() => undefined);
  const l1 = options.l1 === false ? null : new LRUCache<string, Entry>({ max: options.l1.maxEntries, ttlAutopurge: false });
  const l1TtlMaxMs = options.l1 === false ? 0 : options.l1.ttlMaxMs;
  const loading = new Map<string, Promise<unknown>>();
  /** Bumped by every invalidation and flush: a load that began before one must not fill L1. */
  let epoch = 0;

  redis?.defineCommand('steadfastCacheSetIfGeneration', { numberOfKeys: 2, lua: SET_IF_GENERATION });
  const commands = redis as unknown as CacheCommands | null;
  const dataKey = (text: string) => `${keyPrefix}:v:${text}`;
  const generationKey = (text: string) => `${keyPrefix}:g:${text}`;

  function dropFromL1(keys: readonly string[]): void {
    epoch++;
    for (const key of keys) l1?.delete(key);
  }
  const busConnectionName = `steadfast-cache-bus:${randomUUID()}`;
  const channel = `${keyPrefix}:invalidate`;
  const handlers: BusHandlers = {
    invalidate: dropFromL1,
    flush(reason) {
      epoch++;
      l1?.clear();
      emit({ type: 'l1_flushed', reason });
    },
    state: (up, detail) => emit({ type: 'bus', up, detail }),
  };
  const bus = redis
    ? createInvalidationBus(redis, { channel, connectionName: busConnectionName }, handlers)
    : createLocalInvalidationBus({ channel }, handlers);

  // prom-client hashes a label object on every inc(): keep the (bounded: kinds × tiers × results) children.
  const counters = new Map<string, { inc(): void }>();
  function count(text: string, tier: CacheTier, result: 'hit' | 'miss' | 'stale' | 'error'): void {
    const kind = kindOf(text);
    const id = `${kind}/${tier}/${result}`;
    let counter = counters.get(id);
    if (!counter) counters.set(id, (counter = metrics.cacheRequests.labels({ cache: kind, tier, result })));
    counter.inc();
  }

  function remember(text: string, entry: Entry, since: number): void {
    const now = Date.now();
    if (!l1 || since !== epoch || !bus.up || entry.stale <= now) return;
    l1.set(text, { v: entry.v, fresh: Math.min(entry.fresh, now + l1TtlMaxMs), stale: entry.stale }, { ttl: entry.stale - now });
  }

  async function readL2(text: string): Promise<{ entry: Entry | null; generation: string } | null> {
    if (!redis) return null; // no L2: straight to the loader, whose value goes to L1 alone
    try {
      const [raw, generation] = await redis.mget(dataKey(text), generationKey(text));
      return { entry: raw ? parseEntry(raw) : null, generation: generation ?? '' };
    } catch (error) {
      count(text, 'l2', 'error');
      emit({ type: 'l2_error', key: text, error });
      return null;
    }
  }

  async function writeL2(text: string, generation: string, json: string, ttlMs: number): Promise<boolean> {
    try {
      return (await commands!.steadfastCacheSetIfGeneration(dataKey(text), generationKey(text), generation, json, ttlMs)) === 1;
    } catch (error) {
      emit({ type: 'l2_error', key: text, error });
      return false;
    }
  }

  /** L1 missed: L2, else the loader; on loader failure the freshest copy still within grace. */
  async function fill<T>(key: CacheKey, text: string, local: Entry | undefined, load: () => Promise<T | null>): Promise<T | null> {
    const since = epoch;
    const l2 = await readL2(text);
    if (l2?.entry && l2.entry.fresh > Date.now()) {
      count(text, 'l2', 'hit');
      remember(text, l2.entry, since);
      return l2.entry.v as T;
    }
    if (l2) count(text, 'l2', 'miss');
    let value: T | null;
    try {
      value = await load();
    } catch (error) {
      const stale = freshest(local, l2?.entry ?? undefined);
      if (!stale || stale.entry.stale <= Date.now()) throw error;
      count(text, stale.tier, 'stale');
      emit({ type: 'stale_served', key: text, tier: stale.tier, error });
      return stale.entry.v as T;
    }
    if (value === null) return null;
    const policy = policies[key.kind];
    const now = Date.now();
    const json = JSON.stringify({ v: value, fresh: now + policy.ttlMs, stale: now + policy.ttlMs + policy.graceMs });
    // Every tier hands out the same thing: the value as it reads back from JSON, frozen.
    const entry = parseEntry(json)!;
    const stored = l2 ? await writeL2(text, l2.generation, json, policy.ttlMs + policy.graceMs) : true;
    if (stored) remember(text, entry, since);
    return entry.v as T;
  }

  return {
    async get<T>(key: CacheKey, load: () => Promise<T | null>): Promise<T | null> {
      const text = checkedKeyString(key);
      const local = l1 && bus.up ? l1.get(text) : undefined;
      if (local && local.fresh > Date.now()) {
        count(text, 'l1', 'hit');
        return local.v as T;
      }
      count(text, 'l1', 'miss');
      // Stampede protection: one fill per key per instance; concurrent readers share its promise.
      const running = loading.get(text);
      if (running) return running as Promise<T | null>;
      const filling = fill(key, text, local, load).finally(() => loading.delete(text));
      loading.set(text, filling);
      return filling;
    },

    async invalidate(...keys: CacheKey[]): Promise<void> {
      const texts = keys.map(checkedKeyString);
      dropFromL1(texts);
      if (!redis) return bus.publish(texts); // the process's other caches on this channel
      const tx = redis.multi();
      for (const text of texts) {
        tx.incr(generationKey(text)).pexpire(generationKey(text), GENERATION_TTL_MS).del(dataKey(text));
      }
      const results = await tx.exec();
      const failed = results?.find(([err]) => err)?.[0];
      if (!results || failed) throw failed ?? new Error('cache invalidation transaction aborted');
      await bus.publish(texts);
    },

    get busUp() {
      return bus.up;
    },
    whenBusUp: (timeoutMs = BUS_WAIT_MS) => bus.whenUp(timeoutMs),
    get l1Size() {
      return l1?.size ?? 0;
    },
    busConnectionName,
    close() {
      bus.close();
      l1?.clear();
    },
  };
}

function freshest(local: Entry | undefined, remote: Entry | undefined): { entry: Entry; tier: CacheTier } | null {
  if (local && (!remote || local.stale >= remote.stale)) return { entry: local, tier: 'l1' };
  return remote ? { entry: remote, tier: 'l2' } : null;
}

function parseEntry(json: string): Entry | null {
  try {
    const entry = JSON.parse(json) as Partial<Entry>;
    if (typeof entry.fresh !== 'number' || typeof entry.stale !== 'number' || !('v' in entry)) return null;
    return { v: deepFreeze(entry.v), fresh: entry.fresh, stale: entry.stale };
  } catch {
    return null;
  }
}

/** Cached values are shared by every caller: freezing turns an accidental mutation into an error. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
