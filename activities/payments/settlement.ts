import type pg from 'pg';
import { PaymentInvariantError } from '../../domain/payments/errors.js';
import { EVENT_TYPES, nextStatus } from '../../domain/payments/state-machine.js';
import type { SettlementTotals } from '../../domain/payments/types.js';
import { newId } from '../../domain/ids.js';
import { toSafeInt } from '../../platform/db.js';

/**
 * The settlement run's storage: one batch per window, captured payments moved into it in bounded
 * chunks. Safe to run twice, or twice at once, for the same window: the batch row is created once
 * (ON CONFLICT) and locked, so runs of one window take turns, and a payment leaves `captured` when
 * it settles, so no run can pick it again.
 */

export const SETTLEMENT_LIMIT_MAX = 1_000;
const SETTLED = nextStatus('captured', 'settle');

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

async function lockBatch(client: pg.PoolClient, input: ClaimSettlementInput) {
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

/**
 * Locks due payments, skipping any another transaction holds (a capture or refund in progress:
 * the next run takes them), then settles them with their events in one statement.
 */
async function settleDue(client: pg.PoolClient, batchId: string, input: ClaimSettlementInput) {
  const due = await client.query(
    `SELECT id FROM payments WHERE status = 'captured' AND settled_batch_id IS NULL AND created_at < $1
     ORDER BY created_at, id LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED`,
    [input.windowEnd, input.limit],
  );
  const ids = due.rows.map((r) => r.id as string);
  if (ids.length === 0) return [];
  const { rows } = await client.query(
    `WITH p AS (
       UPDATE payments SET status = $3, settled_batch_id = $2, version = version + 1, updated_at = now()
       WHERE id = ANY($1::text[]) AND status = 'captured'
       RETURNING id, tenant_id, version, currency, amount_capturable, amount_captured, amount_refunded),
     e AS (
       INSERT INTO payment_events (id, payment_id, tenant_id, sequence, type, idempotency_key, data)
       SELECT k.event_id, p.id, p.tenant_id, p.version, $5, 'settle:' || $2,
         jsonb_build_object('previous_status', 'captured', 'status', $3::text, 'amount_capturable', p.amount_capturable,
           'amount_captured', p.amount_captured, 'amount_refunded', p.amount_refunded, 'settlement_batch_id', $2::text)
       FROM p JOIN unnest($1::text[], $4::text[]) AS k(payment_id, event_id) ON k.payment_id = p.id)
     SELECT id, currency, amount_captured, amount_refunded FROM p`,
    [ids, batchId, SETTLED, ids.map(() => newId('event')), EVENT_TYPES.settle],
  );
  // The rows are locked by this transaction: every one must have moved.
  if (rows.length !== ids.length) throw new PaymentInvariantError(`settled ${rows.length} of ${ids.length} locked payments`);
  return rows;
}

function addTotals(totals: Record<string, SettlementTotals>, settled: Record<string, unknown>[]): Record<string, SettlementTotals> {
  const next: Record<string, SettlementTotals> = structuredClone(totals);
  for (const row of settled) {
    const currency = row.currency as string;
    const t = (next[currency] ??= { payment_count: 0, amount_captured: 0, amount_refunded: 0 });
    t.payment_count += 1;
    t.amount_captured += toSafeInt(row.amount_captured as string);
    t.amount_refunded += toSafeInt(row.amount_refunded as string);
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
  const settled = await settleDue(client, batch.batchId, input);
  if (settled.length === 0) return { batchId: batch.batchId, settledPaymentIds: [], totals: batch.totals };
  const totals = addTotals(batch.totals, settled);
  await client.query('UPDATE settlement_batches SET totals = $2, updated_at = now() WHERE id = $1', [batch.batchId, totals]);
  return { batchId: batch.batchId, settledPaymentIds: settled.map((r) => r.id as string), totals };
}
