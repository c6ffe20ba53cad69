/**
 * A payroll run at the design's scale (issue #19 item 6): `--employees` (10,000) from approval to
 * `paid`, in minutes and ledger transfers/s, against the ledger's own rate measured in the same run.
 *
 *   npm run bench:payroll -- [--employees 10000] [--clients 8] [--baseline-seconds 10] [--warmup 3]
 *                            [--accounts 1000] [--batch-size 0] [--parallel-batches 0] [--timeout 1800]
 *
 * Starts its own in-memory headless Temporal dev server, a fresh database, the API app in process
 * (`app.request`, no socket) and one HR worker (the real `payrollRun` workflow and activities), on
 * a task queue of its own. `--batch-size` / `--parallel-batches` set PAYROLL_BATCH_SIZE /
 * PAYROLL_PARALLEL_BATCHES for the run (0: the config's, defaults 200 and 1).
 *   seed      (not timed) a tenant with US rules, a funded company account and `--employees`
 *             employees, each with a compensation (varied salaries; about 1 % hired on the 15th,
 *             so prorated) and a linked USD wallet, in bulk SQL (bench/payroll-seed.ts).
 *   baseline  the ledger path alone on the same database (bench:ledger's uniform scenario:
 *             placeHold + postHold in one transaction, `--clients` loops over `--accounts` funded
 *             accounts of another tenant, `--baseline-seconds` after `--warmup` unmeasured seconds).
 *   run       POST /v1/payroll-runs for this month (pay date today), polled until `awaiting_approval`
 *             (the calculation's time), then POST …/approve as another actor, and GET
 *             /v1/payroll-runs/:id every 200 ms until `paid`: payroll transfers/s = paid lines /
 *             seconds from the approve request to `paid`. Target: ≥ 0.5 × the baseline's rate.
 *   profile   the run's workflow history: each activity's count and time (run, queued), the span
 *             of the batches — where approval-to-paid went (calculation, batches, Temporal).
 *   verify    every line paid; exactly one `payroll` ledger credit per wallet, each wallet's balance
 *             its line's net; the company account's balance = funding − total net, nothing held;
 *             `auditLedger` clean. A mismatch fails the bench (exit code 1).
 * Everything it started is stopped, closed, deleted or dropped before it exits (also on SIGINT/SIGTERM).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { createApp } from '../api/app.js';
import { mintActorToken } from '../api/middleware/actor.js';
import { newId } from '../domain/ids.js';
import { databaseNameOf } from '../platform/postgres-url.js';
import { redisUrlOf } from '../platform/redis-mode.js';
import { createPool } from '../store/db.js';
import { ensureSystemAccount } from '../store/ledger/accounts.js';
import { auditLedger } from '../store/ledger/audit.js';
import { insertTenant } from '../store/tenants/tenants.js';
import { workflowContracts, workflowIdOf } from '../workflows/contracts.js';
import { createWorkers } from '../workers/registry.js';
import {
  abortOnSignals, atLeastKey, deleteKeys, endPool, fmt, parseBody, parseIntArgs, percentile, printTable, report, runBenchmark,
  phaseStopper,
} from './common.js';
import { fundedUserAccounts, perSecond, runTransfers, uniformPicker, type ScenarioResult } from './ledger-load.js';
import { checkPaidRun, seedPayrollTenant, verdictsOf, type PayrollTenant } from './payroll-seed.js';
import { startBenchStack, type BenchStack } from './stack.js';

// No shutdown signals for the SDK: the first SIGINT/SIGTERM aborts the run (abortOnSignals).
Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });

const TARGET_RATIO = 0.5;
const CURRENCY = 'USD';
const BASELINE_FUNDING_MINOR = 1_000_000_000;
const POLL_MS = 200;
/** The create request answers after at most this; the calculation is timed by polling anyway. */
const API_WAIT_WINDOW_MS = 5_000;

const { ints: args } = parseIntArgs({
  employees: { default: 10_000, min: 1, max: 100_000 },
  clients: { default: 8, min: 1, max: 64 },
  'baseline-seconds': { default: 10, min: 1, max: 600 },
  warmup: { default: 3, min: 0, max: 600 },
  accounts: { default: 1_000, min: 2, max: 100_000 },
  'batch-size': { default: 0, min: 0, max: 1_000 },
  'parallel-batches': { default: 0, min: 0, max: 16 },
  timeout: { default: 1_800, min: 30, max: 7_200 },
});

const abort = abortOnSignals();

// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export.
const EventType = proto.temporal.api.enums.v1.EventType;

interface RunBody {
  id?: string;
  status?: string;
  lines_count?: number;
  failure_code?: string | null;
  totals?: { gross: number; tax: number; contributions: number; net: number };
  error?: { code?: string; message?: string };
}

/** The payroll settings of the run: the flags when given, else the environment's (config defaults). */
function payrollEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  if (args['batch-size'] > 0) env.PAYROLL_BATCH_SIZE = String(args['batch-size']);
  if (args['parallel-batches'] > 0) env.PAYROLL_PARALLEL_BATCHES = String(args['parallel-batches']);
  return env;
}

/** The ledger path alone: bench:ledger's uniform scenario, on its own tenant and pool, in this database. */
async function measureLedger(databaseUrl: string, signal: AbortSignal): Promise<ScenarioResult> {
  const pool = createPool(databaseUrl, args.clients);
  try {
    const tenantId = newId('tenant');
    await insertTenant(pool, { id: tenantId, name: 'Ledger baseline' });
    const systemId = await ensureSystemAccount(pool, tenantId, CURRENCY);
    const accounts = await fundedUserAccounts(pool, { tenantId, systemId, currency: CURRENCY, count: args.accounts, amountMinor: BASELINE_FUNDING_MINOR });
    await pool.query('ANALYZE');
    const load = { tenantId, currency: CURRENCY, pick: uniformPicker(accounts), clients: args.clients, signal };
    if (args.warmup > 0) {
      const warm = await runTransfers(pool, { ...load, name: 'warmup', seconds: args.warmup });
      if (warm.errors.size > 0) console.warn('[bench] warm-up errors:', [...warm.errors]);
      await pool.query('ANALYZE');
    }
    await pool.query('CHECKPOINT').catch((err: Error) => console.warn(`[bench] CHECKPOINT skipped: ${err.message}`));
    return await runTransfers(pool, { ...load, name: 'uniform', seconds: args['baseline-seconds'] });
  } finally {
    await endPool(pool);
  }
}

/** One activity type's executions in a run's history. */
interface ActivityStats {
  count: number;
  runMs: number[];
  queuedMs: number[];
  firstScheduledMs: number;
  lastClosedMs: number;
}

/** Per activity type: how many ran, for how long (started → closed), how long each waited (scheduled → started). */
async function activityProfile(client: Client, runId: string): Promise<Map<string, ActivityStats>> {
  const history = await client.workflow.getHandle(workflowIdOf(workflowContracts.payrollRun, runId)).fetchHistory();
  const scheduled = new Map<number, { type: string; atMs: number; startedMs?: number }>();
  const stats = new Map<string, ActivityStats>();
  for (const e of history.events ?? []) {
    const atMs = tsToMs(e.eventTime);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      scheduled.set(Number(e.eventId), { type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', atMs });
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const s = scheduled.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId));
      if (s) s.startedMs = atMs;
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const s = scheduled.get(Number(e.activityTaskCompletedEventAttributes?.scheduledEventId));
      if (!s) continue;
      const st = stats.get(s.type) ?? { count: 0, runMs: [], queuedMs: [], firstScheduledMs: s.atMs, lastClosedMs: atMs };
      st.count++;
      st.runMs.push(atMs - (s.startedMs ?? s.atMs));
      st.queuedMs.push((s.startedMs ?? s.atMs) - s.atMs);
      st.firstScheduledMs = Math.min(st.firstScheduledMs, s.atMs);
      st.lastClosedMs = Math.max(st.lastClosedMs, atMs);
      stats.set(s.type, st);
    }
  }
  for (const st of stats.values()) {
    st.runMs.sort((a, b) => a - b);
    st.queuedMs.sort((a, b) => a - b);
  }
  return stats;
}

function printProfile(stats: Map<string, ActivityStats>): void {
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  printTable(
    ['activity', 'count', 'run s (sum)', 'run ms p50', 'run ms max', 'queued ms p50', 'queued ms max', 'span s'],
    [...stats].map(([type, st]) => [
      type, String(st.count), fmt(sum(st.runMs) / 1000, 2), fmt(percentile(st.runMs, 50), 1), fmt(percentile(st.runMs, 100), 1),
      fmt(percentile(st.queuedMs, 50), 1), fmt(percentile(st.queuedMs, 100), 1), fmt((st.lastClosedMs - st.firstScheduledMs) / 1000, 2),
    ]),
  );
}

/** What the API run took: the calculation (create → `awaiting_approval`), the approve's answer, approve → done. */
interface TimedRun {
  runId: string;
  calculated: RunBody;
  final: RunBody;
  calculationS: number;
  approveAnswerMs: number;
  approvalToPaidS: number;
}

/**
 * POST /v1/payroll-runs as one actor, polled until calculated, then POST …/approve as another,
 * polled (every POLL_MS) until the run is neither approved-and-waiting nor paying.
 */
async function runThroughApi(app: ReturnType<typeof createApp>, tenant: PayrollTenant, payDate: string, signal: AbortSignal): Promise<TimedRun> {
  const headers = { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' };
  const call = async <T = RunBody>(method: string, path: string, extra: Record<string, string> = {}, body?: unknown) => {
    const res = await app.request(path, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: parseBody<T>(await res.text()) };
  };
  const key = await call<{ id?: string; secret?: string }>('POST', '/v1/actor-signing-keys', {}, {});
  if (key.status !== 201 || !key.body?.id || !key.body.secret) throw new Error(`actor signing key: HTTP ${key.status} ${JSON.stringify(key.body)}`);
  const signingKey = { keyId: key.body.id, secret: key.body.secret };
  const as = async (sub: string, idempotencyKey: string) => ({
    'steadfast-actor': await mintActorToken({ ...signingKey, sub }), 'idempotency-key': `${idempotencyKey}-${process.pid}`,
  });
  /** Polls the run until its status leaves `from` (or the signal aborts); returns it. */
  const pollWhile = async (runId: string, from: readonly string[]): Promise<RunBody> => {
    for (;;) {
      const got = await call('GET', `/v1/payroll-runs/${runId}`);
      if (got.status !== 200 || !got.body) throw new Error(`GET run: HTTP ${got.status} ${JSON.stringify(got.body)}`);
      if (!from.includes(got.body.status ?? '') || signal.aborted) return got.body;
      await sleep(POLL_MS);
    }
  };

  const period = tenant.period;
  console.log(`[bench] POST /v1/payroll-runs (period ${period}, pay date ${payDate}) and waiting for awaiting_approval …`);
  const createHeaders = await as('bench-payroll-creator', 'bench-create');
  const calcStarted = performance.now();
  const created = await call('POST', '/v1/payroll-runs', createHeaders, { period, pay_date: payDate, funding_account_id: tenant.fundingAccountId });
  if (created.status !== 201 || !created.body?.id) throw new Error(`create run: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  const runId = created.body.id;
  const calculated = created.body.status === 'calculating' ? await pollWhile(runId, ['calculating']) : created.body;
  const calculationS = (performance.now() - calcStarted) / 1000;
  report({ figures: { employees: tenant.employees, calculationS } });
  if (signal.aborted) return { runId, calculated, final: calculated, calculationS, approveAnswerMs: Number.NaN, approvalToPaidS: Number.NaN };
  if (calculated.status !== 'awaiting_approval') throw new Error(`the run is ${calculated.status} (${calculated.failure_code ?? ''}), not awaiting_approval`);
  console.log(`[bench] calculated ${calculated.lines_count} lines in ${fmt(calculationS, 2)} s (net ${calculated.totals?.net}); approving …`);

  const approveHeaders = await as('bench-payroll-approver', 'bench-approve');
  const approveStarted = performance.now();
  const approved = await call('POST', `/v1/payroll-runs/${runId}/approve`, approveHeaders, {});
  const approveAnswerMs = performance.now() - approveStarted;
  if (approved.status !== 200) throw new Error(`approve: HTTP ${approved.status} ${JSON.stringify(approved.body)}`);
  const final = await pollWhile(runId, ['awaiting_approval', 'paying']);
  return { runId, calculated, final, calculationS, approveAnswerMs, approvalToPaidS: (performance.now() - approveStarted) / 1000 };
}

/** The run's figures, its profile and its checks, reported and printed; throws when the checks fail. */
async function concludeRun(
  pool: pg.Pool, client: Client, tenant: PayrollTenant, timed: TimedRun, baseline: ScenarioResult, loadAtStart: number[],
): Promise<void> {
  const { runId, calculated, final, calculationS, approveAnswerMs, approvalToPaidS } = timed;
  const check = await checkPaidRun(pool, tenant, runId);
  const ledgerPerS = perSecond(baseline);
  const payrollPerS = check.paidLines / approvalToPaidS;
  const ratio = payrollPerS / ledgerPerS;
  report({
    figures: { approveAnswerMs, approvalToPaidS, approvalToPaidMin: approvalToPaidS / 60, paidLines: check.paidLines, payrollTransfersPerS: payrollPerS, ratio },
  });
  console.log(`[bench] ${final.status}: ${check.paidLines} lines paid ${fmt(approvalToPaidS, 2)} s after the approve request (its answer: ${fmt(approveAnswerMs, 0)} ms)`);

  const profile = await activityProfile(client, runId).catch((err: Error) => {
    console.warn(`[bench] no profile: ${err.message}`);
    return new Map<string, ActivityStats>();
  });
  const batches = profile.get('payPayrollBatch');
  const batchesSpanS = batches ? (batches.lastClosedMs - batches.firstScheduledMs) / 1000 : Number.NaN;
  const batchesRunS = batches ? batches.runMs.reduce((sum, ms) => sum + ms, 0) / 1000 : Number.NaN;
  report({
    figures: {
      batches: batches?.count ?? 0, batchesSpanS, batchesRunS, batchRunP50Ms: percentile(batches?.runMs ?? [], 50),
      batchQueuedP50Ms: percentile(batches?.queuedMs ?? [], 50),
    },
  });
  const audit = await auditLedger(pool);
  const verdicts = verdictsOf(check, tenant, tenant.employees);
  const allPaidOnce = final.status === 'paid' && Object.values(verdicts).every(Boolean);
  const ratioMet = ratio >= TARGET_RATIO;
  const loadAtEnd = loadavg();
  report({
    figures: { loadAvg1Start: loadAtStart[0]!, loadAvg1End: loadAtEnd[0]! },
    targets: { [atLeastKey('ratio', TARGET_RATIO)]: ratioMet, allPaidOnce, auditClean: audit.ok },
  });

  console.log('');
  printTable(
    ['phase', 'lines / transfers', 'seconds', 'transfers/s', 'p50 ms', 'p99 ms', 'errors'],
    [
      ['ledger baseline (placeHold + postHold, 1 tx each)', String(baseline.transfers), fmt(baseline.elapsedS, 2), fmt(ledgerPerS),
        fmt(percentile(baseline.latenciesMs, 50), 2), fmt(percentile(baseline.latenciesMs, 99), 2), String([...baseline.errors.values()].reduce((s, n) => s + n, 0))],
      ['payroll calculation (create → awaiting_approval)', String(calculated.lines_count ?? '?'), fmt(calculationS, 2), '', '', '', ''],
      ['payroll approve → paid', String(check.paidLines), fmt(approvalToPaidS, 2), fmt(payrollPerS), '', '', String(check.lines - check.paidLines)],
    ],
  );
  console.log('');
  console.log('The run\'s activities (its workflow history; run = started → completed, queued = scheduled → started):');
  printProfile(profile);
  console.log(`batches: ${fmt(batchesRunS, 2)} s of batch activity in a ${fmt(batchesSpanS, 2)} s span: ${fmt(batchesRunS / batchesSpanS, 2)} in flight on average (each batch holds the run's row lock, and the funding account's, until it commits)`);
  console.log('');
  console.log(`target: payroll transfers/s >= ${TARGET_RATIO} x the ledger's -> ${fmt(ratio, 2)} x: ${ratioMet ? 'MET' : 'NOT MET'}`);
  console.log(`approval to paid: ${fmt(approvalToPaidS / 60, 2)} min for ${check.paidLines} employees`);
  console.log(`checks: ${Object.entries(verdicts).map(([k, v]) => `${k}=${v}`).join(' ')}; payroll transactions ${check.payrollTransactions}; company balance ${check.companyBalanceMinor} (funding ${tenant.fundingMinor} − net ${check.totalNetMinor}), held ${check.companyHeldMinor}`);
  console.log(`ledger audit: ok=${audit.ok} ${JSON.stringify(audit.checked)}`);
  if (!audit.ok) console.log('audit problems:', audit.problems.slice(0, 10));
  console.log(`load average (1, 5, 15 min): start ${loadAtStart.map((l) => fmt(l, 2)).join(' ')}, end ${loadAtEnd.map((l) => fmt(l, 2)).join(' ')} (2 cores)`);
  if (!allPaidOnce || !audit.ok) throw new Error('the paid run does not check out (see checks above)');
}

async function main(): Promise<void> {
  const runSignal = AbortSignal.any([abort.signal, AbortSignal.timeout(args.timeout * 1000)]);
  const stopped = phaseStopper(runSignal, abort, args.timeout);
  let stack: BenchStack | undefined;
  let apiPool: pg.Pool | undefined;
  let redis: Redis | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let tenant: PayrollTenant | undefined;
  const loadAtStart = loadavg();
  try {
    stack = await startBenchStack('payroll', {
      ownProcessGroup: true,
      env: {
        TASK_QUEUE_HR: `bench-hr-${process.pid}`,
        ADMIN_API_KEY: `sk_admin_bench_${randomBytes(16).toString('hex')}`,
        API_WAIT_WINDOW_MS: String(API_WAIT_WINDOW_MS),
        ...payrollEnv(),
      },
    });
    const { config, client } = stack;
    console.log(`[bench] payroll: ${args.employees} employees, PAYROLL_BATCH_SIZE=${config.PAYROLL_BATCH_SIZE} PAYROLL_PARALLEL_BATCHES=${config.PAYROLL_PARALLEL_BATCHES}; baseline ${args.clients} clients × ${args['baseline-seconds']} s (${args.warmup} s warm-up); load average at start ${loadAtStart.map((l) => fmt(l, 2)).join(' ')} (2 cores)`);
    console.log(`[bench] dev server ${stack.server.address}, database ${databaseNameOf(stack.databaseUrl)}, task queue ${config.TASK_QUEUE_HR}`);

    const seedStarted = performance.now();
    // This month, paid today (UTC): payment starts at once.
    const payDate = new Date().toISOString().slice(0, 10);
    const period = payDate.slice(0, 7);
    tenant = await seedPayrollTenant(stack.pool, { employees: args.employees, period });
    console.log(`[bench] seeded ${args.employees} employees (${tenant.midMonthHires} hired on ${period}-15), funding ${tenant.fundingMinor} minor, in ${fmt((performance.now() - seedStarted) / 1000, 1)} s`);
    if (stopped()) return;

    console.log(`[bench] ledger baseline: ${args.warmup} s warm-up, then ${args['baseline-seconds']} s of uniform transfers …`);
    const baseline = await measureLedger(stack.databaseUrl, runSignal);
    report({
      figures: {
        payrollBatchSize: config.PAYROLL_BATCH_SIZE, payrollParallelBatches: config.PAYROLL_PARALLEL_BATCHES,
        ledgerTransfersPerS: perSecond(baseline), ledgerP50Ms: percentile(baseline.latenciesMs, 50), ledgerP99Ms: percentile(baseline.latenciesMs, 99),
      },
    });
    if (stopped()) return;
    await stack.pool.query('ANALYZE');

    apiPool = createPool(stack.databaseUrl, config.DB_POOL_MAX);
    redis = new Redis(redisUrlOf(config), { commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 });
    redis.on('error', (err: Error) => console.error(`[bench] redis: ${err.message}`));
    [worker] = (await createWorkers({ config, connection: stack.workerConnection, pool: stack.pool, workflowBundlePath: stack.bundlePath }, ['hr'])).workers;
    if (!worker) throw new Error('the HR domain has no worker');
    running = worker.run().catch((err: unknown) => {
      console.error('[bench] worker failed:', err);
      abort.abort();
    });
    const app = createApp({ config, adminApiKey: config.ADMIN_API_KEY!, pool: apiPool, redis, temporal: client });
    const timed = await runThroughApi(app, tenant, payDate, runSignal);
    if (stopped()) return;
    await concludeRun(stack.pool, client, tenant, timed, baseline, loadAtStart);
  } finally {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    let redisKeysDeleted = 0;
    if (redis) {
      if (tenant) redisKeysDeleted = await deleteKeys(redis, `idem:${tenant.tenantId}:*`).catch(() => 0);
      await redis.quit().catch(() => redis?.disconnect());
    }
    if (apiPool) await endPool(apiPool);
    await stack?.close();
    console.log(`[bench] worker stopped, connections closed, ${redisKeysDeleted} Redis key(s) deleted, dev server stopped, database dropped`);
  }
}

runBenchmark('payroll', main, abort);
