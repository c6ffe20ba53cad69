/**
 * End-to-end P2P transfer workflows per second against a no-op workflow of the same shape.
 *
 *   npm run bench:transfers -- [--count 300] [--concurrency 50] [--pairs 100] [--warmup 20] [--timeout 300]
 *
 * Starts its own in-memory headless Temporal dev server, a fresh database, one worker (wallet
 * activities + no-op activities, the config's concurrency settings) and one client. Each measured
 * batch runs `--count` workflows, `--concurrency` at a time, each started with the Temporal client
 * (the HTTP API is bypassed) and awaited to completion:
 *   noop  `noopTransfer`: two no-op activities run as the real ones are (local since 0.2.0; bench/noop-workflows.ts)
 *   p2p   `p2pTransfer`: INSERT of the `transfers` row as the API does, then the workflow (hold, post)
 *   ledger  the ledger path alone, no Temporal: the same INSERT, then the same two activity
 *         functions (placeTransferHold, postTransfer: two transactions) called directly, as many at a time
 * The workflows are started like the API starts them (typed search attributes, USE_EXISTING).
 * Issue #14's targets: p2p completed/s at least 0.25 × the ledger path's (`p2pVsLedger`), and
 * CPU-ms per completed transfer. Everything it started is stopped, closed or dropped before it exits.
 */
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type pg from 'pg';
import { createSimulatedBank } from '../activities/bank/simulated-bank.js';
import { createWalletActivities } from '../activities/wallet/index.js';
import { newId } from '../domain/ids.js';
import { workflowContracts, workflowIdOf } from '../workflows/contracts.js';
import { createPool, withTransaction } from '../store/db.js';
import { ensureSystemAccount, insertAccount } from '../store/ledger/accounts.js';
import { auditLedger } from '../store/ledger/audit.js';
import { postTransaction } from '../store/ledger/transactions.js';
import { insertTenant } from '../store/tenants/tenants.js';
import { countTransfersByStatus, insertTransfer } from '../store/wallet/transfers.js';
import { BusinessStatus, TenantId } from '../workflows/search-attributes.js';
import type { P2PTransferInput, P2PTransferResult } from '../workflows/wallet/types.js';
import { abortOnSignals, atLeastKey, endPool, fmt, parseIntArgs, percentile, printTable, report, runBenchmark } from './common.js';
import type { BatchResult as CommonBatchResult } from './common.js';
import { resultOf, runConcurrently, startBenchStack, type BenchStack } from './stack.js';
import { cpuFigures, measureIdleCpu, printCpuTable, withCpuMeter, type CpuSources } from './cpu.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { noopActivities, noopTransfer, p2pTransfer } from './noop-workflows.js';
import { databaseNameOf } from '../platform/postgres-url.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const CURRENCY = 'USD';
const AMOUNT_MINOR = 100;
const FUNDING_PER_PAYER_MINOR = 1_000_000_000;
const API_POOL_MAX = 10;
const TARGET_RATIO = 0.6;
/** Issue #14: P2P transfer workflows/s end to end at least this share of the ledger path alone (same run). */
const TARGET_VS_LEDGER = 0.25;
/** Issue #14: CPU-ms per completed P2P transfer, summed over every process (bench/cpu.ts). */
const TARGET_CPU_MS_PER_TRANSFER = 16;

const { ints: args } = parseIntArgs({
  count: { default: 300, min: 1, max: 100_000 },
  concurrency: { default: 50, min: 1, max: 1_000 },
  pairs: { default: 100, min: 1, max: 10_000 },
  warmup: { default: 20, min: 0, max: 10_000 },
  timeout: { default: 300, min: 10, max: 3_600 },
});

const abort = abortOnSignals();

type Kind = 'noop' | 'p2p' | 'ledger';
type BatchResult = CommonBatchResult<Kind>;

interface Pair {
  from: string;
  to: string;
}

async function setUpLedger(pool: pg.Pool, pairCount: number) {
  const tenantId = newId('tenant');
  await insertTenant(pool, { id: tenantId, name: 'Transfers bench' });
  const systemId = await ensureSystemAccount(pool, tenantId, CURRENCY);
  const pairs: Pair[] = [];
  for (let i = 0; i < pairCount; i++) {
    const [from, to] = await Promise.all([
      insertAccount(pool, { tenantId, type: 'user', currency: CURRENCY }),
      insertAccount(pool, { tenantId, type: 'user', currency: CURRENCY }),
    ]);
    pairs.push({ from: from.id, to: to.id });
  }
  for (let i = 0; i < pairs.length; i += 200) {
    const payers = pairs.slice(i, i + 200).map((p) => p.from);
    await withTransaction(pool, (client) => postTransaction(client, {
      tenantId, idempotencyKey: `bench:fund:${i}`, kind: 'topup', currency: CURRENCY,
      postings: [
        { accountId: systemId, direction: 'debit', amountMinor: FUNDING_PER_PAYER_MINOR * payers.length },
        ...payers.map((accountId) => ({ accountId, direction: 'credit' as const, amountMinor: FUNDING_PER_PAYER_MINOR })),
      ],
    }));
  }
  await pool.query('ANALYZE');
  return { tenantId, pairs };
}

/** A measured batch's figures for the report: `noopPerS`, `p2pP95Ms`, … */
const batchFigures = (r: BatchResult) => ({
  [`${r.kind}PerS`]: r.succeeded / r.elapsedS,
  [`${r.kind}P50Ms`]: percentile(r.latenciesMs, 50),
  [`${r.kind}P95Ms`]: percentile(r.latenciesMs, 95),
  [`${r.kind}Failed`]: [...r.failed.values()].reduce((s, n) => s + n, 0),
});

async function main(): Promise<void> {
  const taskQueue = `bench-${process.pid}`;
  let stack: BenchStack | undefined;
  let apiPool: pg.Pool | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  try {
    console.log(`[bench] transfers: ${args.count} workflows per kind, ${args.concurrency} at a time, ${args.pairs} funded pairs, ${args.warmup} warm-up runs per kind (not measured)`);
    console.log('[bench] HTTP bypassed: workflows are started with the Temporal client and awaited (handle.result())');
    stack = await startBenchStack('transfers');
    const { config, client } = stack;
    const workerPool = stack.pool;
    console.log(`[bench] dev server ${stack.server.address}, database ${databaseNameOf(stack.databaseUrl)}`);
    apiPool = createPool(stack.databaseUrl, API_POOL_MAX);
    const { tenantId, pairs } = await setUpLedger(workerPool, args.pairs);

    const walletActivities = createWalletActivities({ pool: workerPool, bank: createSimulatedBank(workerPool) });
    worker = await Worker.create({
      connection: stack.workerConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowBundle: { codePath: stack.bundlePath },
      activities: { ...walletActivities, ...noopActivities },
      maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_MS,
      dataConverter: dataConverterOf(config),
    });
    console.log(`[bench] worker: maxConcurrentActivityTaskExecutions=${config.WORKER_MAX_CONCURRENT_ACTIVITIES} maxConcurrentWorkflowTaskExecutions=${config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS} DB pool=${config.DB_POOL_MAX}`);
    running = worker.run().catch((err: unknown) => {
      console.error('[bench] worker failed:', err);
      abort.abort();
    });

    const db = apiPool;
    const startOptions = (workflowId: string) => ({
      taskQueue,
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING' as const,
      typedSearchAttributes: [
        { key: TenantId, value: tenantId },
        { key: BusinessStatus, value: 'pending' },
      ],
    });

    /** Starts one run of `kind` and waits for it; undefined when it succeeded, else why not. */
    async function runOne(kind: Kind, label: string, i: number, signal: AbortSignal): Promise<string | undefined> {
      const pair = pairs[i % pairs.length]!;
      let result: P2PTransferResult;
      if (kind === 'ledger') {
        // The workflow's two steps without Temporal: the same functions, keys and transactions.
        const transferId = await insertTransfer(db, {
          tenantId, fromAccountId: pair.from, toAccountId: pair.to, amountMinor: AMOUNT_MINOR, currency: CURRENCY, description: null,
        });
        const key = `ledger-${process.pid}-${label}-${i}`;
        const { holdId } = await walletActivities.placeTransferHold({
          tenantId, transferId, idempotencyKey: `${key}:hold`, fromAccountId: pair.from, amountMinor: AMOUNT_MINOR, currency: CURRENCY,
        });
        await walletActivities.postTransfer({ tenantId, transferId, idempotencyKey: `${key}:post`, holdId, toAccountId: pair.to });
        return undefined;
      } else if (kind === 'noop') {
        const transferId = `noop_${label}_${i}`;
        const input: P2PTransferInput = {
          tenantId, transferId, fromAccountId: pair.from, toAccountId: pair.to, amountMinor: AMOUNT_MINOR, currency: CURRENCY,
        };
        const handle = await client.workflow.start(noopTransfer, { ...startOptions(`noop-${process.pid}-${label}-${i}`), args: [input] });
        result = await resultOf(client, handle, signal);
      } else {
        const transferId = await insertTransfer(db, {
          tenantId, fromAccountId: pair.from, toAccountId: pair.to, amountMinor: AMOUNT_MINOR, currency: CURRENCY, description: null,
        });
        const input: P2PTransferInput = {
          tenantId, transferId, fromAccountId: pair.from, toAccountId: pair.to, amountMinor: AMOUNT_MINOR, currency: CURRENCY,
        };
        const handle = await client.workflow.start(p2pTransfer, { ...startOptions(workflowIdOf(workflowContracts.p2pTransfer, transferId)), args: [input] });
        result = await resultOf(client, handle, signal);
      }
      return result.status === 'succeeded' ? undefined : `failed:${result.failureCode ?? '?'}`;
    }

    const runBatch = async (kind: Kind, label: string, count: number): Promise<BatchResult> => {
      const result = await runConcurrently(kind, count, args.concurrency, abort.signal, args.timeout * 1000, (i, signal) => runOne(kind, label, i, signal));
      if (result.failed.has('timed_out')) console.error(`[bench] ${kind} ${label}: timed out after ${args.timeout}s`);
      return result;
    };

    if (args.warmup > 0) {
      console.log('[bench] warm-up …');
      await runBatch('noop', 'warmup', args.warmup);
      if (!abort.signal.aborted) await runBatch('p2p', 'warmup', args.warmup);
      if (!abort.signal.aborted) await runBatch('ledger', 'warmup', args.warmup);
    }
    if (abort.signal.aborted) return;
    const cpuSources: CpuSources = { databaseUrl: stack.databaseUrl, serverPid: stack.server.process.pid };
    const idle = await measureIdleCpu(cpuSources);
    report({ figures: { idleCpuCores: idle.totalMs / idle.wallMs } });
    console.log(`[bench] noopTransfer × ${args.count} …`);
    const { value: noop, cpu: noopCpu } = await withCpuMeter(cpuSources, () => runBatch('noop', 'run', args.count));
    report({ figures: { ...batchFigures(noop), ...cpuFigures('noop', noopCpu, noop.succeeded) } });
    if (abort.signal.aborted) return;
    console.log(`[bench] p2pTransfer × ${args.count} …`);
    const { value: p2p, cpu: p2pCpu } = await withCpuMeter(cpuSources, () => runBatch('p2p', 'run', args.count));
    const p2pCpuMs = p2pCpu.totalMs / p2p.succeeded;
    report({
      figures: { ...batchFigures(p2p), ...cpuFigures('p2p', p2pCpu, p2p.succeeded) },
      targets: { [`cpuMsPerTransferAtMost${TARGET_CPU_MS_PER_TRANSFER}`]: p2pCpuMs <= TARGET_CPU_MS_PER_TRANSFER },
    });
    if (abort.signal.aborted) return;
    console.log(`[bench] ledger path alone × ${args.count} …`);
    const { value: ledger, cpu: ledgerCpu } = await withCpuMeter(cpuSources, () => runBatch('ledger', 'run', args.count));
    const vsLedger = (p2p.succeeded / p2p.elapsedS) / (ledger.succeeded / ledger.elapsedS);
    report({
      figures: { ...batchFigures(ledger), ...cpuFigures('ledger', ledgerCpu, ledger.succeeded), p2pVsLedger: vsLedger },
      targets: { [atLeastKey('p2pVsLedger', TARGET_VS_LEDGER)]: vsLedger >= TARGET_VS_LEDGER },
    });
    if (abort.signal.aborted) return;

    const statuses = await countTransfersByStatus(stack.pool, tenantId);
    const audit = await auditLedger(stack.pool);

    console.log('');
    printTable(
      ['workflow', 'count', 'succeeded', 'failed', 'seconds', 'completed/s', 'p50 ms', 'p95 ms', 'max ms'],
      [noop, p2p, ledger].map((r) => [
        { noop: 'noopTransfer (2 no-op activities)', p2p: 'p2pTransfer (row INSERT + hold + post)', ledger: 'ledger path alone (INSERT + hold + post)' }[r.kind],
        String(r.count), String(r.succeeded),
        r.failed.size === 0 ? '0' : [...r.failed].map(([k, n]) => `${k}:${n}`).join(','),
        fmt(r.elapsedS, 2), fmt(r.succeeded / r.elapsedS), fmt(percentile(r.latenciesMs, 50), 0),
        fmt(percentile(r.latenciesMs, 95), 0), fmt(percentile(r.latenciesMs, 100), 0),
      ]),
    );
    const ratio = (p2p.succeeded / p2p.elapsedS) / (noop.succeeded / noop.elapsedS);
    console.log('');
    const met = ratio >= TARGET_RATIO;
    report({ figures: { ratio }, targets: { [atLeastKey('ratio', TARGET_RATIO)]: met } });
    console.log(`ratio p2p / noop: ${fmt(ratio, 2)} (target >= ${TARGET_RATIO}: ${met ? 'MET' : 'NOT MET'})`);
    console.log(`ratio p2p / ledger path alone: ${fmt(vsLedger, 2)} (target >= ${TARGET_VS_LEDGER}: ${vsLedger >= TARGET_VS_LEDGER ? 'MET' : 'NOT MET'})`);
    console.log('note: p2pTransfer also upserts the BusinessStatus search attribute (once since 0.2.0, twice before); noopTransfer does not');
    printCpuTable([
      { label: 'idle (per s)', cpu: idle, completed: idle.wallMs / 1000 },
      { label: 'noopTransfer', cpu: noopCpu, completed: noop.succeeded },
      { label: 'p2pTransfer', cpu: p2pCpu, completed: p2p.succeeded },
      { label: 'ledger alone', cpu: ledgerCpu, completed: ledger.succeeded },
    ]);
    console.log(`CPU per completed P2P transfer: ${fmt(p2pCpuMs, 2)} ms (target <= ${TARGET_CPU_MS_PER_TRANSFER} ms: ${p2pCpuMs <= TARGET_CPU_MS_PER_TRANSFER ? 'MET' : 'NOT MET'})`);
    console.log(`transfers rows (incl. warm-up): ${statuses.map((r) => `${r.status}=${r.count}`).join(' ')}`);
    console.log(`ledger audit: ok=${audit.ok} ${JSON.stringify(audit.checked)}`);
    if (!audit.ok) console.log('audit problems:', audit.problems.slice(0, 10));
  } finally {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    if (apiPool) await endPool(apiPool);
    await stack?.close();
    console.log('[bench] worker stopped, connections closed, dev server stopped, database dropped');
  }
}

runBenchmark('transfers', main, abort);
