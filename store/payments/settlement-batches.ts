import type pg from 'pg';
import { PaymentInvariantError } from '../../domain/payments/errors.js';
import type { SettlementTotals } from '../../domain/payments/types.js';
import { newId } from '../../domain/ids.js';
import { settleDuePayments, type SettledPayment } from './payments.js';

/**
 * The settlement run's storage: one batch per window, captured payments moved into it in bounded
 * chunks. Safe to run twice, or twice at once, for the same window: the batch row is created once
 * (ON CONFLICT) and locked, so runs of one window take turns, and a payment leaves `captured` when
 * it settles, so no run can pick it again.
 */

export const SETTLEMENT_LIMIT_MAX = 1_000;

export interface ClaimSettlementInput {
  windowStart: Date;
  /** Payments created before this instant are due (older ones a previous run skipped included). */
  windowEnd: Date;
  /** Payments settled by this call at most (a run that hits it is called again). */
  limit: number;
}

export interface SettlementRun {
  batchId: string;
  /** Settled by this call (empty when the window was already done). */
  settledPaymentIds: string[];
  /** The whole batch's totals per currency, this call included. */
  totals: Record<string, SettlementTotals>;
}

/** The window's batch, created on first use and locked: runs of one window take turns. */
async function lockBatch(client: pg.PoolClient, input: ClaimSettlementInput): Promise<{ batchId: string; totals: Record<string, SettlementTotals> }> {
  await client.query(
    `INSERT INTO settlement_batches (id, window_start, window_end) VALUES ($1, $2, $3)
     ON CONFLICT (window_start, window_end) DO NOTHING`,
    [newId('settlementBatch'), input.windowStart, input.windowEnd],
  );
  const { rows } = await client.query(
    'SELECT id, totals FROM settlement_batches WHERE window_start = $1 AND window_end = $2 FOR UPDATE',
    [input.windowStart, input.windowEnd],
  );
  return { batchId: rows[0].id as string, totals: rows[0].totals as Record<string, SettlementTotals> };
}

function addTotals(totals: Record<string, SettlementTotals>, settled: SettledPayment[]): Record<string, SettlementTotals> {
  const next: Record<string, SettlementTotals> = structuredClone(totals);
  for (const payment of settled) {
    const currency = payment.currency;
    const t = (next[currency] ??= { payment_count: 0, amount_captured: 0, amount_refunded: 0 });
    t.payment_count += 1;
    t.amount_captured += payment.amountCapturedMinor;
    t.amount_refunded += payment.amountRefundedMinor;
    if (!Number.isSafeInteger(t.amount_captured)) throw new PaymentInvariantError(`batch total overflows for ${currency}`);
  }
  return next;
}

/** Settles up to `limit` due payments into the window's batch (created on first use). */
export async function claimSettlementBatch(client: pg.PoolClient, input: ClaimSettlementInput): Promise<SettlementRun> {
  if (!(input.windowStart < input.windowEnd)) throw new PaymentInvariantError('settlement window must start before it ends');
  if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > SETTLEMENT_LIMIT_MAX) {
    throw new PaymentInvariantError(`settlement limit must be 1..${SETTLEMENT_LIMIT_MAX}, got ${input.limit}`);
  }
  const batch = await lockBatch(client, input);
  const settled = await settleDuePayments(client, { batchId: batch.batchId, windowEnd: input.windowEnd, limit: input.limit });
  if (settled.length === 0) return { batchId: batch.batchId, settledPaymentIds: [], totals: batch.totals };
  const totals = addTotals(batch.totals, settled);
  await client.query('UPDATE settlement_batches SET totals = $2, updated_at = now() WHERE id = $1', [batch.batchId, totals]);
  return { batchId: batch.batchId, settledPaymentIds: settled.map((p) => p.id), totals };
}
