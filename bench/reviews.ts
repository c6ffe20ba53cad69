/**
 * Opening a review cycle at the design's scale (issue #21 item 4): `--employees` (10,000) active
 * employees, `POST /v1/review-cycles` until every review is open, and the worker's memory while it
 * happens, against the same INSERT … SELECT measured alone in the same run.
 *
 *   npm run bench:reviews -- [--employees 10000] [--departments 20] [--baseline-runs 3] [--timeout 600]
 *
 * Starts its own in-memory headless Temporal dev server (a free port), a fresh database, the API app
 * in process (`app.request`, no socket) and one HR worker (the real `reviewCycle` workflow and
 * activities) on a task queue of its own.
 *   seed      (not timed) a tenant and `--employees` employees in one org chart (head, 10 directors,
 *             100 managers, the rest under them) over `--departments` departments, in ONE statement.
 *   baseline  store/hr/reviews.ts `openReviews` alone — the cycle row and the one INSERT … SELECT —
 *             in a transaction rolled back after, `--baseline-runs` times; the median counts.
 *   run       POST /v1/review-cycles, then GET /v1/review-cycles/:id every 20 ms until `open` (the
 *             reviews and the status commit together): time to all reviews open. Meanwhile the
 *             process's RSS and heap are sampled every 50 ms (the worker runs in this process, beside
 *             the API and the bench: the delta over the idle worker is the figure).
 *   verify    one review per employee, reviewer = the employee's manager; the run's history stays
 *             small (no per-employee event); closing the cycle through the API finalizes every review.
 * Everything it started is stopped, closed or dropped before it exits (also on SIGINT/SIGTERM).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { createTenant } from '../api/admin/tenants.js';
import { createApp } from '../api/app.js';
import { mintActorToken } from '../api/middleware/actor.js';
import { redisUrlOf } from '../platform/redis-mode.js';
import { createPool, withTransaction } from '../store/db.js';
import { insertReviewCycle } from '../store/hr/review-cycles.js';
import { countReviews, cycleReviewerCheck, openReviews } from '../store/hr/reviews.js';
import { insertSyntheticOrg } from '../store/hr/synthetic-employees.js';
import { workflowContracts, workflowIdOf } from '../workflows/contracts.js';
import { createWorkers } from '../workers/registry.js';
import { abortOnSignals, endPool, fmt, parseBody, parseIntArgs, percentile, printTable, report, runBenchmark, phaseStopper } from './common.js';
import { startBenchStack, type BenchStack } from './stack.js';

Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });

/** Targets: all open within this (10,000 employees), the worker's memory growth, the history's size. */
const OPEN_S_MAX = 5;
const RSS_DELTA_MB_MAX = 200;
const HISTORY_EVENTS_MAX = 60;
const POLL_MS = 20;
const SAMPLE_MS = 50;
const MB = 1024 * 1024;

const { ints: args } = parseIntArgs({
  employees: { default: 10_000, min: 1, max: 100_000 },
  departments: { default: 20, min: 1, max: 1_000 },
  'baseline-runs': { default: 3, min: 1, max: 20 },
  timeout: { default: 600, min: 30, max: 3_600 },
});
const abort = abortOnSignals();

/** What the bench reads of the API's answers. */
interface CycleBody {
  id?: string;
  status?: string;
  reviews_count?: number;
  secret?: string;
}

/** Thrown to roll the baseline's transaction back (nothing stays), carrying its time. */
class RolledBack extends Error {
  constructor(readonly ms: number) {
    super('rolled back');
  }
}

/** The store's INSERT … SELECT alone, in a transaction rolled back: its time in ms. */
async function baselineOpenMs(pool: pg.Pool, tenantId: string): Promise<number> {
  try {
    await withTransaction(pool, async (client) => {
      const cycle = await insertReviewCycle(client, {
        tenantId, name: 'Baseline', periodStart: '2031-01-01', periodEnd: '2031-06-30',
        selfReviewDue: new Date(Date.now() + 86_400_000), managerReviewDue: new Date(Date.now() + 2 * 86_400_000), employeeIds: null,
      });
      const started = performance.now();
      const count = await openReviews(client, { tenantId, cycleId: cycle.id, nowMs: Date.now() });
      const ms = performance.now() - started;
      if (count !== args.employees) throw new Error(`baseline opened ${count} reviews, not ${args.employees}`);
      throw new RolledBack(ms);
    });
  } catch (err) {
    if (err instanceof RolledBack) return err.ms;
    throw err;
  }
  throw new Error('unreachable: the baseline transaction commits nothing');
}

/** Samples the process's memory until stopped: the peak RSS and heap in MB. */
function memorySampler() {
  let rssPeak = process.memoryUsage().rss;
  let heapPeak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  }, SAMPLE_MS);
  return { stop: () => (clearInterval(timer), { rssPeakMb: rssPeak / MB, heapUsedPeakMb: heapPeak / MB }) };
}

async function main(): Promise<void> {
  const runSignal = AbortSignal.any([abort.signal, AbortSignal.timeout(args.timeout * 1000)]);
  const stopped = phaseStopper(runSignal, abort, args.timeout);
  let stack: BenchStack | undefined;
  let apiPool: pg.Pool | undefined;
  let redis: Redis | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  try {
    stack = await startBenchStack('reviews', {
      ownProcessGroup: true,
      env: { TASK_QUEUE_HR: `bench-hr-${process.pid}`, ADMIN_API_KEY: `sk_admin_bench_${randomBytes(16).toString('hex')}`, API_WAIT_WINDOW_MS: '1000' },
    });
    const { config, client, pool } = stack;
    console.log(`[bench] reviews: ${args.employees} employees over ${args.departments} departments; dev server ${stack.server.address}`);

    const seedStarted = performance.now();
    const tenant = await createTenant(pool, 'Reviews bench');
    await withTransaction(pool, (c) => insertSyntheticOrg(c, { tenantId: tenant.id, count: args.employees, departments: args.departments }));
    await pool.query('ANALYZE');
    report({ figures: { employees: args.employees, seedS: (performance.now() - seedStarted) / 1000 } });
    if (stopped()) return;

    const baselineRuns: number[] = [];
    for (let i = 0; i < args['baseline-runs']; i++) baselineRuns.push(await baselineOpenMs(pool, tenant.id));
    baselineRuns.sort((a, b) => a - b);
    const baselineMs = percentile(baselineRuns, 50);
    report({ figures: { baselineInsertSelectMs: baselineMs } });
    console.log(`[bench] baseline: the INSERT … SELECT of ${args.employees} reviews alone, median of ${baselineRuns.length}: ${fmt(baselineMs, 1)} ms`);
    if (stopped()) return;

    apiPool = createPool(stack.databaseUrl, config.DB_POOL_MAX);
    redis = new Redis(redisUrlOf(config), { commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 });
    redis.on('error', (err: Error) => console.error(`[bench] redis: ${err.message}`));
    [worker] = (await createWorkers({ config, connection: stack.workerConnection, pool, workflowBundlePath: stack.bundlePath }, ['hr'])).workers;
    if (!worker) throw new Error('the HR domain has no worker');
    running = worker.run().catch((err: unknown) => {
      console.error('[bench] worker failed:', err);
      abort.abort();
    });
    const app = createApp({ config, adminApiKey: config.ADMIN_API_KEY!, pool: apiPool, redis, temporal: client });
    const call = async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
      const res = await app.request(path, {
        method, body: body === undefined ? undefined : JSON.stringify(body),
        headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', ...extra },
      });
      return { status: res.status, body: parseBody<CycleBody>(await res.text()) };
    };
    await sleep(1_000); // the worker polls; its idle memory is the reference
    global.gc?.();
    const idle = process.memoryUsage();
    const sampler = memorySampler();

    const started = performance.now();
    const created = await call('POST', '/v1/review-cycles', {
      name: 'Bench H1', period_start: '2031-01-01', period_end: '2031-06-30',
      self_review_due: new Date(Date.now() + 7 * 86_400_000).toISOString(), manager_review_due: new Date(Date.now() + 14 * 86_400_000).toISOString(),
    });
    if (created.status !== 201 || !created.body?.id) throw new Error(`create cycle: HTTP ${created.status} ${JSON.stringify(created.body)}`);
    const cycleId = created.body.id;
    let cycle = created.body;
    while (cycle.status === 'opening' && !runSignal.aborted) {
      await sleep(POLL_MS);
      cycle = (await call('GET', `/v1/review-cycles/${cycleId}`)).body ?? cycle;
    }
    const openMs = performance.now() - started;
    const memory = sampler.stop();
    if (stopped()) return;
    const rssDeltaMb = memory.rssPeakMb - idle.rss / MB;
    report({
      figures: {
        openMs, openS: openMs / 1000, overBaselineMs: openMs - baselineMs, reviewsPerS: args.employees / (openMs / 1000),
        rssIdleMb: idle.rss / MB, rssPeakMb: memory.rssPeakMb, rssDeltaMb, heapUsedIdleMb: idle.heapUsed / MB, heapUsedPeakMb: memory.heapUsedPeakMb,
      },
    });

    // Verify: one review per employee, each with the employee's manager as reviewer; a small history.
    const check = await cycleReviewerCheck(pool, tenant.id, cycleId);
    const history = await client.workflow.getHandle(workflowIdOf(workflowContracts.reviewCycle, cycleId)).fetchHistory();
    const historyEvents = history.events?.length ?? 0;

    const key = await call('POST', '/v1/actor-signing-keys', {});
    const actor = await mintActorToken({ keyId: key.body?.id ?? '', secret: key.body?.secret ?? '', sub: 'bench_hr' });
    const closeStarted = performance.now();
    const closed = await call('POST', `/v1/review-cycles/${cycleId}/close`, {}, { 'steadfast-actor': actor });
    const closeMs = performance.now() - closeStarted;
    const incomplete = await countReviews(pool, tenant.id, cycleId, 'incomplete');
    const allOpen = cycle.status === 'open' && cycle.reviews_count === args.employees && check.reviews === args.employees
      && check.employees === args.employees && check.rightReviewer === args.employees;
    const closedAll = closed.status === 200 && incomplete === args.employees;
    report({
      figures: { historyEvents, closeMs },
      targets: {
        allOpen, closedAll, [`openSAtMost${OPEN_S_MAX}`]: openMs / 1000 <= OPEN_S_MAX,
        [`rssDeltaMbAtMost${RSS_DELTA_MB_MAX}`]: rssDeltaMb <= RSS_DELTA_MB_MAX, [`historyEventsAtMost${HISTORY_EVENTS_MAX}`]: historyEvents <= HISTORY_EVENTS_MAX,
      },
    });

    console.log('');
    printTable(['phase', 'reviews', 'ms', 'notes'], [
      ['baseline: INSERT … SELECT alone (median)', String(args.employees), fmt(baselineMs, 1), `${baselineRuns.length} runs, rolled back`],
      ['POST /v1/review-cycles → all open', String(check.reviews), fmt(openMs, 1), `${fmt(openMs - baselineMs, 0)} ms over the baseline (API, start, workflow task, activity)`],
      ['POST …/close (finalize)', String(incomplete), fmt(closeMs, 1), 'a Temporal Update; one UPDATE of every review'],
    ]);
    console.log(`memory (this process: API + worker + bench): RSS idle ${fmt(idle.rss / MB)} MB, peak ${fmt(memory.rssPeakMb)} MB (+${fmt(rssDeltaMb)} MB); heap used peak ${fmt(memory.heapUsedPeakMb)} MB`);
    console.log(`the run's history: ${historyEvents} events; checks: allOpen=${allOpen} closedAll=${closedAll}`);
    if (!allOpen || !closedAll) throw new Error('the cycle does not check out (see checks above)');
  } finally {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    if (redis) await redis.quit().catch(() => redis?.disconnect());
    if (apiPool) await endPool(apiPool);
    await stack?.close();
    console.log('[bench] worker stopped, connections closed, dev server stopped, database dropped');
  }
}

runBenchmark('reviews', main, abort);
