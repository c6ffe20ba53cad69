import type pg from 'pg';
import { loadConfig } from '../platform/config.js';
import { createPool } from '../store/db.js';
import { ensureSystemAccount, insertAccount } from '../store/ledger/accounts.js';
import { auditLedger } from '../store/ledger/audit.js';
import { balanceAt, statementOf } from '../store/ledger/history.js';
import { dropHistoryIndexForBaseline, writeSyntheticHistory } from '../store/ledger/synthetic-history.js';
import { ensureDatabase, migrateUp } from '../store/migrate.js';
import { insertTenant } from '../store/tenants/tenants.js';
import {
  abortOnSignals, dropDatabaseQuietly, endPool, fmt, parseIntArgs, percentile, printTable, report, runBenchmark, withDatabase,
} from './common.js';

/**
 * `npm run bench:statements` (issue #18 part 5): history reads of an account with 100,000 entries
 * over a year — the balance at an instant, a statement of one day and of one month — each timed
 * `--runs` times, first with `ledger_entries_account_time` (schema/0014), then, as the baseline of
 * the same run, without it (dropped; the reads fall back to `ledger_entries_account (account_id, id)`
 * and the table). Also against an account with 1,000 entries, as a figure: the opening balance sums
 * the shorter side of the history (at most half of it), so a read still grows with the history
 * (checkpoints would bound it: not built). The entries are written in bulk (store/ledger/synthetic-history.ts,
 * balanced against the tenant's system account; the ledger audit must pass). Targets: every p99 under the design's 200 ms with
 * the index, and the index at least 2× faster for the balance at an instant and a one-day statement.
 */

const abort = abortOnSignals();
const { ints: args } = parseIntArgs({
  entries: { default: 100_000, min: 1_000, max: 2_000_000 },
  runs: { default: 30, min: 5, max: 1_000 },
});
const DAY_MS = 86_400_000;

async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  await fn(); // warm the plan and the cache
  for (let i = 0; i < runs && !abort.signal.aborted; i++) {
    const started = performance.now();
    await fn();
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const benchUrl = withDatabase(config.DATABASE_URL, `steadfast_bench_statements_${process.pid}`);
  let pool: pg.Pool | undefined;
  try {
    console.log(`[bench] statements: an account with ${args.entries} entries over 365 days, ${args.runs} runs per read`);
    await ensureDatabase(benchUrl);
    await migrateUp(benchUrl);
    pool = createPool(benchUrl, 2);
    const { id: tenantId } = await insertTenant(pool, { id: 'tnt_bench_statements', name: 'bench' });
    const account = async () => (await insertAccount(pool!, { tenantId, type: 'user', currency: 'USD' })).id;
    const [big, small, system] = [await account(), await account(), await ensureSystemAccount(pool, tenantId, 'USD')];
    const writeStarted = performance.now();
    await writeSyntheticHistory(pool, { tenantId, accountId: big, systemId: system, count: args.entries });
    await writeSyntheticHistory(pool, { tenantId, accountId: small, systemId: system, count: 1_000 });
    console.log(`[bench] wrote ${args.entries + 1_000} transactions in ${fmt((performance.now() - writeStarted) / 1000, 1)} s`);

    const now = Date.now();
    const midYear = new Date(now - 180 * DAY_MS);
    const dayStart = new Date(Math.floor((now - 100 * DAY_MS) / DAY_MS) * DAY_MS);
    const reads = (id: string) => ({
      balanceAt: () => balanceAt(pool!, id, midYear),
      statementDay: () => statementOf(pool!, id, dayStart, new Date(dayStart.getTime() + DAY_MS)),
      statementMonth: () => statementOf(pool!, id, dayStart, new Date(dayStart.getTime() + 30 * DAY_MS)),
    });
    const measure = async (label: string, id: string) => {
      const out: Record<string, number[]> = {};
      for (const [name, fn] of Object.entries(reads(id))) out[name] = await timeRuns(args.runs, fn);
      console.log(`[bench] ${label} done`);
      return out;
    };
    const month = await statementOf(pool, big, dayStart, new Date(dayStart.getTime() + 30 * DAY_MS));
    const withIndex = await measure('with the index', big);
    const smallWithIndex = await measure('the small account, with the index', small);
    await dropHistoryIndexForBaseline(pool);
    const withoutIndex = await measure('without the index (baseline)', big);

    const p = (runs: number[] | undefined, q: number) => percentile(runs ?? [], q);
    printTable(['read (100k-entry account)', 'p50 ms', 'p99 ms', 'p50 no index', 'no index / index', 'p50 1k-entry account'],
      Object.keys(withIndex).map((name) => [
        name, fmt(p(withIndex[name], 50), 2), fmt(p(withIndex[name], 99), 2), fmt(p(withoutIndex[name], 50), 2),
        fmt(p(withoutIndex[name], 50) / p(withIndex[name], 50), 1), fmt(p(smallWithIndex[name], 50), 2),
      ]));
    const audit = await auditLedger(pool, { tenantId });
    const figures: Record<string, number> = { entries: args.entries, monthEntries: month.entries.length };
    for (const name of Object.keys(withIndex)) {
      figures[`${name}P50Ms`] = p(withIndex[name], 50);
      figures[`${name}P99Ms`] = p(withIndex[name], 99);
      figures[`${name}NoIndexP50Ms`] = p(withoutIndex[name], 50);
      figures[`${name}SmallAccountP50Ms`] = p(smallWithIndex[name], 50);
    }
    const indexSpeedup = figures.balanceAtNoIndexP50Ms! / figures.balanceAtP50Ms!;
    const dayGrowth = figures.statementDayP50Ms! / figures.statementDaySmallAccountP50Ms!;
    figures.balanceAtIndexSpeedup = indexSpeedup;
    figures.statementDayBigVsSmall = dayGrowth;
    const under200 = Object.keys(withIndex).every((name) => figures[`${name}P99Ms`]! < 200);
    report({
      figures,
      targets: {
        p99Under200Ms: under200, balanceAtIndexSpeedupAtLeast2: indexSpeedup >= 2,
        statementDayIndexSpeedupAtLeast2: figures.statementDayNoIndexP50Ms! / figures.statementDayP50Ms! >= 2, auditOk: audit.ok,
      },
    });
    console.log(`the month's statement: ${month.entries.length} entries, opening ${month.openingBalanceMinor} + ${month.totalCreditsMinor} − ${month.totalDebitsMinor} = closing ${month.closingBalanceMinor}`);
    console.log(`ledger audit: ok=${audit.ok} ${JSON.stringify(audit.checked)}`);
  } finally {
    if (pool) await endPool(pool);
    await dropDatabaseQuietly(benchUrl, 'bench database');
  }
}

runBenchmark('statements', main, abort);
