import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SettlementActivities } from '../../activities/payments/payment-activities.js';
import type { SettlementTotals } from '../../domain/payments/types.js';
import { ledgerActivity } from '../activity-options.js';

const settlement = proxyActivities<SettlementActivities>(ledgerActivity);

export interface SettlementInput {
  intervalMs: number;
  /** The window ends this long before the run's start (let late captures land first). */
  lagMs: number;
  /** Payments settled per activity call (one database transaction). */
  batchLimit: number;
}

export interface SettlementResult {
  windowStart: string;
  windowEnd: string;
  batchId: string | null;
  settledCount: number;
  totals: Record<string, SettlementTotals>;
}

/** Chunks per run at most: a bigger backlog is left to the next run. */
const CHUNKS_MAX = 1_000;

/**
 * The scheduled settlement run: moves captured payments due in the window (created before its
 * end) to `settled`, in bounded chunks, into one batch per window with its totals per currency.
 * The window comes from the run's start time rounded down to the interval, so two runs for the
 * same window share its batch, and a payment settles once.
 */
export async function settlementRun(input: SettlementInput): Promise<SettlementResult> {
  const startedMs = workflowInfo().runStartTime.getTime();
  const windowEndMs = Math.floor((startedMs - input.lagMs) / input.intervalMs) * input.intervalMs;
  const windowStartMs = windowEndMs - input.intervalMs;
  const result: SettlementResult = {
    windowStart: new Date(windowStartMs).toISOString(), windowEnd: new Date(windowEndMs).toISOString(),
    batchId: null, settledCount: 0, totals: {},
  };
  for (let chunk = 0; chunk < CHUNKS_MAX; chunk++) {
    const run = await settlement.settleWindow({ windowStartMs, windowEndMs, limit: input.batchLimit });
    result.batchId = run.batchId;
    result.totals = run.totals;
    result.settledCount += run.settledCount;
    if (run.settledCount < input.batchLimit) break;
  }
  return result;
}
