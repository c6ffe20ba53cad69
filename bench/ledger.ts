/**
 * Ledger throughput without Temporal, against pgbench (TPC-B-like) on the same PostgreSQL.
 *
 *   npm run bench:ledger -- [--seconds 10] [--clients 8] [--accounts 1000] [--hot payee|payer] [--warmup 3]
 *
 * One "transfer" = one `withTransaction` running `placeHold` (limits enforced, as the P2P hold
 * activity does) then `postHold` to the payee, with unique idempotency keys: the ledger calls of the
 * P2P transfer activities, but in ONE transaction (the activities use two, and also update the
 * `transfers` row, which this benchmark does not have). Scenarios, each `--seconds` long:
 *   uniform  random distinct payer and payee among `--accounts` funded user accounts
 *   hot      every transfer touches one hot account: by default a merchant credited by every
 *            transfer (payers random); `--hot payer` instead debits one hugely funded user account
 * Before them, `--warmup` seconds of uniform transfers (not measured) and an ANALYZE: like `pgbench -i`,
 * which fills and analyzes its tables, the measured phases start from tables the planner knows —
 * not from empty ones whose cached plans (seq scans of a one-page table) stay in use as they grow.
 * Then `pgbench -i -s 8` into its own database and `pgbench -c <clients> -j 2 -T <seconds> -n`.
 * Everything it creates (two databases, one pool, pgbench runs) is gone when it exits.
 */
import { spawn } from 'node:child_process';
import type pg from 'pg';
import { newId } from '../domain/ids.js';
import { loadConfig } from '../platform/config.js';
import { createPool } from '../store/db.js';
import { countPendingCredits, ensureSystemAccount, insertAccount } from '../store/ledger/accounts.js';
import { auditLedger } from '../store/ledger/audit.js';
import { countHolds } from '../store/ledger/holds.js';
import { ensureDatabase, migrateUp } from '../store/migrate.js';
import { insertTenant } from '../store/tenants/tenants.js';
import {
  abortOnSignals, atLeastKey, dropDatabaseQuietly, endPool, fmt, parseIntArgs, percentile, printTable, report, runBenchmark, withDatabase,
} from './common.js';
import {
  fundAccounts, fundedUserAccounts, perSecond, randomInt, runTransfers, uniformPicker, type ScenarioResult,
} from './ledger-load.js';

const CURRENCY = 'USD';
const FUNDING_PER_ACCOUNT_MINOR = 1_000_000_000;
const HOT_PAYER_FUNDING_MINOR = 1_000_000_000_000;
const PGBENCH_SCALE = 8;
const PGBENCH_THREADS = 2;
const UNIFORM_TARGET_RATIO = 0.5;
const HOT_TARGET_RATIO = 0.5;

const { ints: args, choices } = parseIntArgs(
  {
    seconds: { default: 10, min: 1, max: 600 },
    clients: { default: 8, min: 1, max: 64 },
    accounts: { default: 1000, min: 2, max: 100_000 },
    warmup: { default: 3, min: 0, max: 600 },
  },
  { hot: ['payee', 'payer'] },
);
const hotMode = choices.hot as 'payee' | 'payer';

const abort = abortOnSignals();

async function setUp(pool: pg.Pool) {
  const tenantId = newId('tenant');
  await insertTenant(pool, { id: tenantId, name: 'Ledger bench' }); // no API key: the bench calls the store directly
  const systemId = await ensureSystemAccount(pool, tenantId, CURRENCY);

  const users = await fundedUserAccounts(pool, { tenantId, systemId, currency: CURRENCY, count: args.accounts, amountMinor: FUNDING_PER_ACCOUNT_MINOR });
  const merchantId = (await insertAccount(pool, { tenantId, type: 'merchant', currency: CURRENCY })).id;
  const hotPayerId = (await insertAccount(pool, { tenantId, type: 'user', currency: CURRENCY })).id;
  await fundAccounts(pool, {
    tenantId, systemId, currency: CURRENCY, ids: [hotPayerId], amountMinor: HOT_PAYER_FUNDING_MINOR, keyPrefix: 'bench:fund:hot-payer',
  });
  await pool.query('ANALYZE');
  return { tenantId, users, merchantId, hotPayerId };
}

/** `--clients` loops of transfers for `seconds` (bench/ledger-load.ts). */
function runScenario(pool: pg.Pool, tenantId: string, name: string, pick: () => [string, string], seconds = args.seconds): Promise<ScenarioResult> {
  return runTransfers(pool, { tenantId, currency: CURRENCY, name, pick, seconds, clients: args.clients, signal: abort.signal });
}

function runPgbench(pgArgs: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', pgArgs, {
      stdio: ['ignore', 'pipe', 'pipe'], signal: abort.signal, timeout: timeoutMs, killSignal: 'SIGTERM',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`pgbench ${pgArgs[0]} exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

function parsePgbench(stdout: string) {
  const tpsLines = stdout.split('\n').filter((l) => l.startsWith('tps = '));
  const line = tpsLines.find((l) => l.includes('without initial connection time'))
    ?? tpsLines.find((l) => l.includes('excluding connections'))
    ?? tpsLines[0];
  const tps = line ? Number(/^tps = ([0-9.]+)/.exec(line)?.[1]) : Number.NaN;
  if (!Number.isFinite(tps)) throw new Error(`No tps line in pgbench output:\n${stdout}`);
  const latency = /latency average = ([0-9.]+) ms/.exec(stdout)?.[1];
  const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1];
  const processed = /number of transactions actually processed: (\d+)/.exec(stdout)?.[1];
  return { tps, line: line!, latencyMs: latency ? Number(latency) : Number.NaN, failed, processed };
}

async function checkpoint(pool: pg.Pool): Promise<void> {
  // Starts each measured phase without the previous phase's dirty buffers (noise reduction only).
  await pool.query('CHECKPOINT').catch((err: Error) => console.warn(`[bench] CHECKPOINT skipped: ${err.message}`));
}

/** A scenario's figures for the report: `uniformPerS`, `hotP99Ms`, … */
const scenarioFigures = (name: 'uniform' | 'hot', r: ScenarioResult) => ({
  [`${name}PerS`]: perSecond(r),
  [`${name}P50Ms`]: percentile(r.latenciesMs, 50),
  [`${name}P99Ms`]: percentile(r.latenciesMs, 99),
  [`${name}Errors`]: [...r.errors.values()].reduce((s, n) => s + n, 0),
});

async function main(): Promise<void> {
  const config = loadConfig();
  const benchUrl = withDatabase(config.DATABASE_URL, `steadfast_bench_${process.pid}`);
  const pgbenchUrl = withDatabase(config.DATABASE_URL, `steadfast_pgbench_${process.pid}`);
  let pool: pg.Pool | undefined;
  try {
    console.log(`[bench] ledger: ${args.clients} clients, ${args.seconds}s per scenario, ${args.accounts} accounts, hot = one ${hotMode === 'payee' ? 'merchant payee credited by every transfer' : 'user payer debited by every transfer'}`);
    console.log('[bench] measures: placeHold(enforceLimits) + postHold in ONE withTransaction per transfer (no Temporal, no transfers row)');

    console.log(`[bench] pgbench -i -s ${PGBENCH_SCALE} into steadfast_pgbench_${process.pid} …`);
    await ensureDatabase(pgbenchUrl);
    await runPgbench(['-i', '-s', String(PGBENCH_SCALE), '-q', pgbenchUrl], 600_000);

    console.log(`[bench] creating steadfast_bench_${process.pid} and ${args.accounts} funded accounts …`);
    await ensureDatabase(benchUrl);
    await migrateUp(benchUrl);
    pool = createPool(benchUrl, args.clients);
    const { tenantId, users, merchantId, hotPayerId } = await setUp(pool);

    const pickUniform = uniformPicker(users);
    if (args.warmup > 0) {
      console.log(`[bench] warm-up: ${args.warmup}s of uniform transfers (not measured), then ANALYZE …`);
      const warm = await runScenario(pool, tenantId, 'warmup', pickUniform, args.warmup);
      if (warm.errors.size > 0) console.warn('[bench] warm-up errors:', [...warm.errors]);
      await pool.query('ANALYZE');
    }

    const results: ScenarioResult[] = [];
    await checkpoint(pool);
    console.log(`[bench] uniform: ${args.seconds}s …`);
    results.push(await runScenario(pool, tenantId, 'uniform', pickUniform));
    report({ figures: scenarioFigures('uniform', results[0]!) });
    if (abort.signal.aborted) return;

    await checkpoint(pool);
    console.log(`[bench] hot (${hotMode}): ${args.seconds}s …`);
    results.push(await runScenario(pool, tenantId, `hot-${hotMode}`, () =>
      hotMode === 'payee' ? [users[randomInt(users.length)]!, merchantId] : [hotPayerId, users[randomInt(users.length)]!]));
    report({ figures: scenarioFigures('hot', results[1]!) });
    if (abort.signal.aborted) return;

    await checkpoint(pool);
    console.log(`[bench] pgbench -c ${args.clients} -j ${PGBENCH_THREADS} -T ${args.seconds} -n …`);
    const pgbenchOut = await runPgbench(
      ['-c', String(args.clients), '-j', String(PGBENCH_THREADS), '-T', String(args.seconds), '-n', pgbenchUrl],
      (args.seconds + 120) * 1000,
    );
    const pgb = parsePgbench(pgbenchOut);
    report({
      figures: {
        pgbenchTps: pgb.tps, pgbenchAvgLatencyMs: pgb.latencyMs,
        uniformVsPgbench: perSecond(results[0]!) / pgb.tps, hotVsPgbench: perSecond(results[1]!) / pgb.tps,
      },
    });

    const audit = await auditLedger(pool);
    const holds = await countHolds(pool);
    const pendingCredits = await countPendingCredits(pool);

    console.log('');
    printTable(
      ['scenario', 'transfers', 'seconds', 'transfers/s', 'vs pgbench', 'p50 ms', 'p99 ms', 'retries', 'errors'],
      [
        ...results.map((r) => [
          r.name, String(r.transfers), fmt(r.elapsedS, 2), fmt(r.transfers / r.elapsedS), fmt(r.transfers / r.elapsedS / pgb.tps, 2),
          fmt(percentile(r.latenciesMs, 50), 2), fmt(percentile(r.latenciesMs, 99), 2),
          String(r.attempts - r.transfers - [...r.errors.values()].reduce((s, n) => s + n, 0)),
          r.errors.size === 0 ? '0' : [...r.errors].map(([k, n]) => `${k}:${n}`).join(','),
        ]),
        ['pgbench tpcb-like', pgb.processed ?? '?', String(args.seconds), fmt(pgb.tps), '1.00', fmt(pgb.latencyMs, 2) + ' (avg)', '', '', pgb.failed ?? '0'],
      ],
    );
    console.log('');
    console.log(`pgbench: ${pgb.line.trim()} (scale ${PGBENCH_SCALE}, ${args.clients} clients, ${PGBENCH_THREADS} threads)`);
    const uniform = results[0]!;
    const ratio = uniform.transfers / uniform.elapsedS / pgb.tps;
    const met = ratio >= UNIFORM_TARGET_RATIO;
    // Issue #14: a hot payee (every transfer paying one merchant) at least half the uniform rate.
    const hotVsUniform = perSecond(results[1]!) / perSecond(uniform);
    const hotMet = hotVsUniform >= HOT_TARGET_RATIO;
    report({
      figures: { hotVsUniform, pendingCreditsAtEnd: pendingCredits },
      targets: {
        [atLeastKey('uniformVsPgbench', UNIFORM_TARGET_RATIO)]: met, [atLeastKey('hotVsUniform', HOT_TARGET_RATIO)]: hotMet,
        auditOk: audit.ok,
      },
    });
    console.log(`target: uniform >= ${UNIFORM_TARGET_RATIO} x pgbench tps -> ${fmt(ratio, 2)} x: ${met ? 'MET' : 'NOT MET'}`);
    console.log(`target: hot payee >= ${HOT_TARGET_RATIO} x uniform -> ${fmt(hotVsUniform, 2)} x: ${hotMet ? 'MET' : 'NOT MET'}`);
    console.log('retries = withTransaction attempts beyond the first (deadlock 40P01 / serialization 40001), counted per call of the transaction body');
    console.log(`ledger audit: ok=${audit.ok} ${JSON.stringify(audit.checked)}; holds posted=${holds.posted} active=${holds.active}; credits still pending (not folded into a stored balance yet) ${pendingCredits}`);
    if (!audit.ok) console.log('audit problems:', audit.problems.slice(0, 10));
  } finally {
    if (pool) await endPool(pool);
    await dropDatabaseQuietly(benchUrl, 'bench database');
    await dropDatabaseQuietly(pgbenchUrl, 'pgbench database');
    console.log('[bench] databases dropped');
  }
}

runBenchmark('ledger', main, abort);
