/**
 * Cache read throughput against plain baselines, measured in the same run.
 *
 *   npm run bench:cache -- [--seconds 3] [--concurrency 50] [--value-bytes 1024] [--keys 1000]
 *
 * - L1: `cache.get` of hot keys (every read an in-process LRU hit: key check, LRU, metrics) vs a
 *   plain `Map` lookup of the same values (sync, and awaited, since `cache.get` is async).
 * - L2: `cache.get` with L1 off, `--concurrency` reads in flight on one ioredis connection (every
 *   read an MGET of value + generation, then JSON parse and freeze) vs `redis-benchmark` GET of
 *   values of the same size with `-c <concurrency>` connections, against the same Redis.
 * Everything it writes to Redis (keys under `bench:cache:<pid>:`) is deleted when it exits.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createCache, type Cache, type CachePolicies } from '../platform/cache/index.js';
import { loadConfig } from '../platform/config.js';
import { abortOnSignals, deleteKeys, fmt, parseIntArgs, printTable, report, runBenchmark } from './common.js';
import { redisUrlOf } from '../platform/redis-mode.js';

const { ints: args } = parseIntArgs({
  seconds: { default: 3, min: 1, max: 120 },
  concurrency: { default: 50, min: 1, max: 1_000 },
  'value-bytes': { default: 1_024, min: 16, max: 1_000_000 },
  keys: { default: 1_000, min: 1, max: 100_000 },
});
const abort = abortOnSignals();
const prefix = `bench:cache:${process.pid}`;
const HOUR_MS = 3_600_000;
const policy = { ttlMs: HOUR_MS, graceMs: 0, why: 'benchmark' };
const POLICIES: CachePolicies = { fx_rates: policy, product: policy, product_list: policy, user_profile: policy, notification_preferences: policy };

/** A product-like JSON value of about `bytes` bytes. */
function value(i: number, bytes: number) {
  return { id: `prod_bench_${i}`, object: 'product', name: 'Bench', terms: { apr_percent: '9.9' }, description: 'x'.repeat(Math.max(0, bytes - 100)) };
}

interface Rate { ops: number; seconds: number }
const perSecond = (r: Rate) => r.ops / r.seconds;

/** Runs `read(i)` back to back for `seconds`, `lanes` at a time, and counts. */
async function measure(seconds: number, lanes: number, read: (i: number) => Promise<unknown> | unknown): Promise<Rate> {
  const endMs = performance.now() + seconds * 1_000;
  let ops = 0;
  const startMs = performance.now();
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    let i = lane;
    while (!abort.signal.aborted && performance.now() < endMs) {
      // Check the clock every 256 reads: performance.now() would otherwise weigh on the tight loops.
      for (let n = 0; n < 256; n++, i++) await read(i);
      ops += 256;
    }
  }));
  return { ops, seconds: (performance.now() - startMs) / 1_000 };
}

function measureSync(seconds: number, read: (i: number) => unknown): Rate {
  const startMs = performance.now();
  const endMs = startMs + seconds * 1_000;
  let ops = 0;
  let sink = 0;
  while (performance.now() < endMs) {
    for (let n = 0; n < 4_096; n++, ops++) if (read(ops) !== undefined) sink++;
  }
  if (sink !== ops) throw new Error('Map lookups missed');
  return { ops, seconds: (performance.now() - startMs) / 1_000 };
}

/** `redis-benchmark` GET on `keys` keys of the same size (`__rand_int__` is 12 zero-padded digits). */
async function redisBenchmark(url: URL, requests: number): Promise<number> {
  const argv = ['-h', url.hostname, '-p', url.port || '6379', '-c', String(args.concurrency), '-n', String(requests), '-r', String(args.keys), '--csv'];
  if (url.password) argv.push('-a', decodeURIComponent(url.password));
  if (url.pathname.length > 1) argv.push('--dbnum', url.pathname.slice(1));
  argv.push('GET', `${prefix}:rb:__rand_int__`);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('redis-benchmark', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`redis-benchmark exited with ${code}`))));
  });
  const row = output.trim().split('\n').find((line) => line.startsWith('"GET'));
  const rps = Number(row?.split(',')[1]?.replaceAll('"', ''));
  if (!Number.isFinite(rps)) throw new Error(`unexpected redis-benchmark output: ${output}`);
  return rps;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const redis = new Redis(redisUrlOf(config), { maxRetriesPerRequest: 1 });
  const caches: Cache[] = [];
  try {
    const ids = Array.from({ length: args.keys }, (_, i) => `prod_bench_${i}`);
    const values = ids.map((_, i) => value(i, args['value-bytes']));
    const load = (i: number) => async () => values[i]!;
    const l1Cache = createCache({ redis, policies: POLICIES, keyPrefix: `${prefix}:l1`, l1: { maxEntries: args.keys, ttlMaxMs: HOUR_MS } });
    const l2Cache = createCache({ redis, policies: POLICIES, keyPrefix: `${prefix}:l2`, l1: false });
    caches.push(l1Cache, l2Cache);
    await Promise.all(caches.map((c) => c.whenBusUp()));
    for (let i = 0; i < args.keys; i++) {
      await l1Cache.get({ kind: 'product', id: ids[i]! }, load(i));
      await l2Cache.get({ kind: 'product', id: ids[i]! }, load(i));
    }
    const seeded = redis.pipeline();
    const json = JSON.stringify(values[0]);
    for (let i = 0; i < args.keys; i++) seeded.set(`${prefix}:rb:${String(i).padStart(12, '0')}`, json, 'PX', HOUR_MS);
    await seeded.exec();

    const map = new Map(ids.map((id, i) => [`product:${id}`, values[i]]));
    const mapKeys = [...map.keys()];
    const { keys: n, seconds, concurrency } = { keys: args.keys, seconds: args.seconds, concurrency: args.concurrency };
    console.log(`[bench] ${n} keys, ~${args['value-bytes']} B values, ${seconds} s per measurement, L2 concurrency ${concurrency}`);

    const mapSync = measureSync(seconds, (i) => map.get(mapKeys[i % n]!));
    const mapAwaited = await measure(seconds, 1, async (i) => map.get(mapKeys[i % n]!));
    const l1 = await measure(seconds, 1, (i) => l1Cache.get({ kind: 'product', id: ids[i % n]! }, load(i % n)));
    const l2 = await measure(seconds, concurrency, (i) => l2Cache.get({ kind: 'product', id: ids[i % n]! }, load(i % n)));
    const rbRps = await redisBenchmark(new URL(redisUrlOf(config)), Math.max(50_000, Math.round(perSecond(l2) * seconds)));

    report({
      figures: {
        mapSyncPerS: perSecond(mapSync), mapAwaitedPerS: perSecond(mapAwaited), mapAwaitedVsSync: perSecond(mapAwaited) / perSecond(mapSync),
        l1PerS: perSecond(l1), l1VsMapSync: perSecond(l1) / perSecond(mapSync), l1VsMapAwaited: perSecond(l1) / perSecond(mapAwaited),
        redisBenchmarkPerS: rbRps, l2PerS: perSecond(l2), l2VsRedisBenchmark: perSecond(l2) / rbRps,
      },
    });
    const ratio = (a: number, b: number) => `${fmt(a / b, 3)}`;
    printTable(['read', 'ops/s', 'ratio'], [
      ['Map.get (sync)', fmt(perSecond(mapSync), 0), '1.000'],
      ['Map.get (awaited)', fmt(perSecond(mapAwaited), 0), ratio(perSecond(mapAwaited), perSecond(mapSync))],
      ['cache.get, L1 hit', fmt(perSecond(l1), 0), `${ratio(perSecond(l1), perSecond(mapSync))} of sync, ${ratio(perSecond(l1), perSecond(mapAwaited))} of awaited`],
      [`redis-benchmark GET -c ${concurrency}`, fmt(rbRps, 0), '1.000'],
      [`cache.get, L2 hit (${concurrency} in flight)`, fmt(perSecond(l2), 0), ratio(perSecond(l2), rbRps)],
    ]);
  } finally {
    for (const cache of caches) cache.close();
    const deleted = await deleteKeys(redis, `${prefix}:*`).catch(() => -1);
    console.log(`[bench] cleaned up ${deleted} Redis keys`);
    redis.disconnect();
  }
}

runBenchmark('cache', main, abort);
