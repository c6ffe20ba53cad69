import type pg from 'pg';
import { createRiskActivities } from '../activities/risk/risk-activities.js';
import { createTransferActivities } from '../activities/wallet/transfer-activities.js';
import { loadConfig } from '../platform/config.js';
import { createPool } from '../store/db.js';
import { ensureSystemAccount, insertAccount } from '../store/ledger/accounts.js';
import { auditLedger } from '../store/ledger/audit.js';
import { writeSyntheticHistory } from '../store/ledger/synthetic-history.js';
import { ensureDatabase, migrateUp } from '../store/migrate.js';
import { insertTenant } from '../store/tenants/tenants.js';
import { insertTransfer } from '../store/wallet/transfers.js';
import {
  abortOnSignals, dropDatabaseQuietly, endPool, fmt, parseIntArgs, percentile, printTable, report, runBenchmark, withDatabase,
} from './common.js';

/**
 * `npm run bench:risk` (issue #18 item 1): what fraud scoring adds to a transfer. The scoring step
 * (`assessTransferRisk`: the tenant's settings, the live signals in one statement, the score, the
 * verdict written on the transfer — one transaction) is timed `--runs` times for a payer with
 * `--entries` entries of history over a year (and a fresh payer), beside the baseline of the same
 * run: the transfer's hold step (`placeTransferHold`, then its void) on the same payer. Targets:
 * scoring p50 within a few milliseconds (≤ 5 ms) with a long history, no slower than twice a fresh
 * payer's (the history's length does not matter), p99 under the design's 200 ms.
 */

const abort = abortOnSignals();
const { ints: args } = parseIntArgs({
  entries: { default: 100_000, min: 1_000, max: 2_000_000 },
  runs: { default: 200, min: 10, max: 10_000 },
});

/** Times `step` `runs` times (after 5 warm-up runs); `prepare` (not timed) makes each run's transfer row. */
async function timeRuns(runs: number, prepare: () => Promise<string>, step: (transferId: string, i: number) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) await step(await prepare(), -1 - i); // warm the plans and the cache
  for (let i = 0; i < runs && !abort.signal.aborted; i++) {
    const transferId = await prepare();
    const started = performance.now();
    await step(transferId, i);
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const benchUrl = withDatabase(config.DATABASE_URL, `steadfast_bench_risk_${process.pid}`);
  let pool: pg.Pool | undefined;
  try {
    console.log(`[bench] risk: scoring a transfer from a payer with ${args.entries} entries, ${args.runs} runs`);
    await ensureDatabase(benchUrl);
    await migrateUp(benchUrl);
    pool = createPool(benchUrl, 2);
    const tenantId = (await insertTenant(pool, { id: 'tnt_bench_risk', name: 'bench' })).id;
    const account = async () => (await insertAccount(pool!, { tenantId, type: 'user', currency: 'USD' })).id;
    const [payer, fresh, payee, system] = [await account(), await account(), await account(), await ensureSystemAccount(pool, tenantId, 'USD')];
    await writeSyntheticHistory(pool, { tenantId, accountId: payer, systemId: system, count: args.entries });
    await writeSyntheticHistory(pool, { tenantId, accountId: fresh, systemId: system, count: 10 });

    const risk = createRiskActivities({ pool });
    const transfers = createTransferActivities({ pool });
    const newTransfer = (from: string) => insertTransfer(pool!, { tenantId, fromAccountId: from, toAccountId: payee, amountMinor: 100, currency: 'USD', description: null });
    const decisions = new Map<string, number>();
    const score = (from: string) => async (transferId: string) => {
      const verdict = await risk.assessTransferRisk({ tenantId, transferId, fromAccountId: from, toAccountId: payee, amountMinor: 100 });
      decisions.set(verdict.decision, (decisions.get(verdict.decision) ?? 0) + 1);
    };
    const scoring = await timeRuns(args.runs, () => newTransfer(payer), score(payer));
    const scoringFresh = await timeRuns(args.runs, () => newTransfer(fresh), score(fresh));
    const holds = await timeRuns(args.runs, () => newTransfer(payer), async (transferId, i) => {
      const { holdId } = await transfers.placeTransferHold({
        tenantId, transferId, idempotencyKey: `bench-risk:${i}`, fromAccountId: payer, amountMinor: 100, currency: 'USD',
      });
      await transfers.voidTransferHold({ tenantId, holdId });
    });

    const p = (runs: number[], q: number) => percentile(runs, q);
    printTable(['step', 'p50 ms', 'p99 ms'], [
      [`score (payer with ${args.entries} entries)`, fmt(p(scoring, 50), 2), fmt(p(scoring, 99), 2)],
      ['score (payer with 10 entries)', fmt(p(scoringFresh, 50), 2), fmt(p(scoringFresh, 99), 2)],
      ['baseline: hold + void (same payer)', fmt(p(holds, 50), 2), fmt(p(holds, 99), 2)],
    ]);
    const audit = await auditLedger(pool, { tenantId });
    report({
      figures: {
        entries: args.entries, runs: scoring.length,
        scoringP50Ms: p(scoring, 50), scoringP99Ms: p(scoring, 99),
        scoringFreshP50Ms: p(scoringFresh, 50), scoringFreshP99Ms: p(scoringFresh, 99),
        holdAndVoidP50Ms: p(holds, 50), holdAndVoidP99Ms: p(holds, 99),
        scoringVsHoldP50: p(scoring, 50) / p(holds, 50),
        allowed: decisions.get('allow') ?? 0,
      },
      targets: {
        scoringP50AtMost5Ms: p(scoring, 50) <= 5, scoringP99Under200Ms: p(scoring, 99) < 200,
        scoringLongVsFreshP50AtMost2: p(scoring, 50) / p(scoringFresh, 50) <= 2, auditOk: audit.ok,
      },
    });
  } finally {
    if (pool) await endPool(pool);
    await dropDatabaseQuietly(benchUrl, 'bench database');
  }
}

runBenchmark('risk', main, abort);
