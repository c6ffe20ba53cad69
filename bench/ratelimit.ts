/**
 * Rate-limit decisions/s from Node against redis-benchmark running the same script, and the
 * latency the limiter adds to an API request.
 *
 *   npm run bench:ratelimit -- [--requests 100000] [--concurrency 50] [--batch 100] [--pipelines 4] [--latency-requests 3000]
 *
 * 1. Throughput: `--requests` token-bucket decisions on one hot key, `--concurrency` in flight:
 *    - redis-benchmark: EVALSHA of the limiter's script with the same arguments, `-c concurrency`
 *      connections, no pipelining (the ceiling of one-command-per-round-trip clients);
 *    - Node, the full `limiter.check()` path (argument building, timeout race, reply parsing) on
 *      one connection, `--concurrency` callers (the socket coalesces their writes), then the same
 *      with ioredis auto-pipelining, then `limiter.checkMany()`: explicit pipelines of `--batch`
 *      decisions, `--pipelines` in flight.
 *    Targets: Node/redis-benchmark ≥ 0.5 for `check()`, ≥ 1.0 with client-side pipelining.
 * 2. Added latency: sequential `app.request` of an admin-key GET (no database work: the admin key
 *    is checked in memory; the route answers 404) through the API with and without the limiter,
 *    interleaved; p50 and p99 of each and of the difference.
 * Everything it writes to Redis (keys under `rl-bench-<run>`) is deleted at the end.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import { createApp } from '../api/app.js';
import { loadConfig } from '../platform/config.js';
import { createPool } from '../store/db.js';
import { createApiRateLimiter, createRateLimiter, LIMITER_CONNECTION_OPTIONS, toPolicy } from '../platform/rate-limit/index.js';
import { RATE_LIMIT_LUA } from '../platform/rate-limit/lua.js';
import { scriptArguments } from '../platform/rate-limit/store.js';
import { abortOnSignals, atLeastKey, deleteKeys, fmt, parseIntArgs, percentile, printTable, report, runBenchmark } from './common.js';
import { redisUrlOf } from '../platform/redis-mode.js';

const { ints: args } = parseIntArgs({
  requests: { default: 100_000, min: 1_000, max: 10_000_000 },
  concurrency: { default: 50, min: 1, max: 1_000 },
  'latency-requests': { default: 3_000, min: 100, max: 1_000_000 },
  batch: { default: 100, min: 1, max: 10_000 },
  pipelines: { default: 4, min: 1, max: 100 },
});
const abort = abortOnSignals();
const run = `rl-bench-${randomUUID().slice(0, 8)}`;
const ADMIN_KEY = `sk_admin_bench_${randomUUID()}`;
const TARGET_PLAIN = 0.5;
const TARGET_PIPELINED = 1.0;

/** Never refuses within a run (every decision does the full read-compute-write path). */
const policy = toPolicy('bench', { algorithm: 'token_bucket', rate: 1_000_000, period: 1_000, burst: 1_000_000, failure_mode: 'open' });

async function redisBenchmark(url: URL, sha: string, key: string): Promise<number> {
  const [, ...argv] = scriptArguments([{ policy, key, cost: 1, peek: false }], Date.now());
  const cli = ['-h', url.hostname, '-p', url.port || '6379', '-n', String(args.requests), '-c', String(args.concurrency), '--csv',
    'EVALSHA', sha, '1', key, ...argv.map(String)];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('redis-benchmark', cli, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-benchmark exited with ${code}`))));
  });
  const row = output.trim().split('\n').at(-1)!.split('","');
  const rps = Number(row[1]);
  if (!Number.isFinite(rps)) throw new Error(`unreadable redis-benchmark output: ${output}`);
  return rps;
}

type NodeMode = 'plain' | 'auto-pipelining' | 'explicit-pipeline';

/**
 * `limiter.check()` from `concurrency` callers (plain: the socket coalesces their writes; or with
 * ioredis auto-pipelining), or `limiter.checkMany()` pipelines of `batch` decisions, `pipelines`
 * of them in flight.
 */
async function nodeDecisions(redisUrl: string, mode: NodeMode, key: string): Promise<number> {
  const redis = new Redis(redisUrl, { ...LIMITER_CONNECTION_OPTIONS, enableAutoPipelining: mode === 'auto-pipelining' });
  const limiter = createRateLimiter({ redis, policies: [policy], timeoutMs: 5_000, keyPrefix: run });
  await limiter.ready();
  await limiter.check([{ policy: 'bench', subject: key }]); // loads the script (EVAL once)
  const request = [{ policy: 'bench', subject: key }];
  const batch = Array.from({ length: args.batch }, () => request);
  let next = 0;
  let failed = 0;
  const started = performance.now();
  if (mode === 'explicit-pipeline') {
    await Promise.all(Array.from({ length: args.pipelines }, async () => {
      while ((next += args.batch) <= args.requests && !abort.signal.aborted) {
        failed += (await limiter.checkMany(batch)).filter((d) => d.outcome !== 'allowed').length;
      }
    }));
  } else {
    await Promise.all(Array.from({ length: args.concurrency }, async () => {
      while (next++ < args.requests && !abort.signal.aborted) {
        if ((await limiter.check(request)).outcome !== 'allowed') failed++;
      }
    }));
  }
  const elapsedS = (performance.now() - started) / 1000;
  redis.disconnect();
  if (failed > 0) throw new Error(`${failed} decisions did not come from Redis`);
  return args.requests / elapsedS;
}

async function addedLatency(config: ReturnType<typeof loadConfig>, redis: Redis) {
  const pool = createPool(config.DATABASE_URL, 1); // never queried: the admin key needs no lookup
  const temporal = new Client(); // lazy: never connected
  const rateLimiter = createApiRateLimiter(config, { redis, keyPrefix: run });
  await rateLimiter.ready();
  const deps = { config, adminApiKey: ADMIN_KEY, pool, redis, temporal };
  const apps = {
    with: createApp({ ...deps, rateLimiter }),
    without: createApp({ ...deps, config: { ...config, RATE_LIMIT_ENABLED: false } }),
  };
  const latencies = { with: [] as number[], without: [] as number[] };
  const request = async (which: 'with' | 'without') => {
    const started = performance.now();
    const res = await apps[which].request('/v1/ops/bench', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    await res.arrayBuffer();
    if (res.status !== 404) throw new Error(`expected 404, got ${res.status}`);
    if ((which === 'with') !== res.headers.has('ratelimit')) throw new Error('the limiter did not run as expected');
    return performance.now() - started;
  };
  for (let i = 0; i < 200; i++) await request(i % 2 ? 'with' : 'without'); // warm-up
  for (let i = 0; i < args['latency-requests'] && !abort.signal.aborted; i++) {
    const order: ('with' | 'without')[] = i % 2 ? ['with', 'without'] : ['without', 'with'];
    for (const which of order) latencies[which].push(await request(which));
  }
  await rateLimiter.close();
  await pool.end();
  return latencies;
}

async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    ADMIN_API_KEY: ADMIN_KEY,
    RATE_LIMIT_DEFAULT: JSON.stringify({ algorithm: 'token_bucket', rate: 1_000_000, period: '1s', burst: 1_000_000 }),
  });
  const redisUrl = redisUrlOf(config);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const sha = (await redis.script('LOAD', RATE_LIMIT_LUA)) as string;
    console.log(`[bench] ${args.requests} token-bucket decisions, concurrency ${args.concurrency}, Redis ${redisUrl}`);
    const rb = await redisBenchmark(new URL(redisUrl), sha, `${run}:redis-benchmark`);
    const plain = await nodeDecisions(redisUrl, 'plain', 'plain');
    const auto = await nodeDecisions(redisUrl, 'auto-pipelining', 'auto');
    const explicit = await nodeDecisions(redisUrl, 'explicit-pipeline', 'explicit');
    const plainMet = plain / rb >= TARGET_PLAIN;
    const explicitMet = explicit / rb >= TARGET_PIPELINED;
    report({
      figures: {
        redisBenchmarkPerS: rb, checkPerS: plain, checkRatio: plain / rb, autoPipeliningPerS: auto, autoPipeliningRatio: auto / rb,
        checkManyPerS: explicit, checkManyRatio: explicit / rb,
      },
      targets: { [atLeastKey('checkRatio', TARGET_PLAIN)]: plainMet, [atLeastKey('checkManyRatio', TARGET_PIPELINED)]: explicitMet },
    });
    const verdict = (met: boolean, target: number) => `≥ ${target.toFixed(1)} ${met ? 'ok' : 'MISSED'}`;
    printTable(['client', 'in flight', 'decisions/s', 'vs redis-benchmark', 'target'], [
      ['redis-benchmark EVALSHA, no pipelining', String(args.concurrency), fmt(rb, 0), '1.00', ''],
      ['Node limiter.check()', String(args.concurrency), fmt(plain, 0), fmt(plain / rb, 2), verdict(plainMet, TARGET_PLAIN)],
      ['Node limiter.check(), auto-pipelining', String(args.concurrency), fmt(auto, 0), fmt(auto / rb, 2), ''],
      [`Node limiter.checkMany(), pipelines of ${args.batch}`, String(args.pipelines * args.batch), fmt(explicit, 0), fmt(explicit / rb, 2),
        verdict(explicitMet, TARGET_PIPELINED)],
    ]);

    console.log(`\n[bench] API latency, ${args['latency-requests']} sequential admin GETs each way (interleaved)`);
    const latencies = await addedLatency(config, redis);
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const [withL, withoutL] = [sorted(latencies.with), sorted(latencies.without)];
    report({
      figures: {
        apiWithoutP50Ms: percentile(withoutL, 50), apiWithoutP99Ms: percentile(withoutL, 99),
        apiWithP50Ms: percentile(withL, 50), apiWithP99Ms: percentile(withL, 99),
        addedP50Ms: percentile(withL, 50) - percentile(withoutL, 50), addedP99Ms: percentile(withL, 99) - percentile(withoutL, 99),
      },
    });
    const row = (name: string, xs: number[]) => [name, fmt(percentile(xs, 50), 3), fmt(percentile(xs, 99), 3)];
    printTable(['API request', 'p50 ms', 'p99 ms'], [
      row('without limiter', withoutL),
      row('with limiter', withL),
      ['added by the limiter', fmt(percentile(withL, 50) - percentile(withoutL, 50), 3), fmt(percentile(withL, 99) - percentile(withoutL, 99), 3)],
    ]);
  } finally {
    const deleted = await deleteKeys(redis, `${run}:*`);
    console.log(`\n[bench] cleaned up ${deleted} Redis keys`);
    redis.disconnect();
  }
}

runBenchmark('ratelimit', main, abort);
