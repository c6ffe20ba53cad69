import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/**
 * The simulated bank's own books (`sim_bank_pulls`), one row per pull key, so tests can prove how
 * many pulls happened. Only the simulated bank adapter (activities/bank/simulated-bank.ts) uses it.
 */

export type SimPullStatus = 'succeeded' | 'declined' | 'failing' | 'refunded';

export interface SimPull {
  token: string;
  amountMinor: number;
  status: SimPullStatus;
  /** How many times the key was pulled (1 for the first request). */
  attempts: number;
  reference: string;
}

const simPullRow = rowMapper<SimPull>({
  attempts: col.int('attempts'),
  status: col.of<SimPullStatus>('status'),
  reference: col.text('reference'),
  token: col.text('token'),
  amountMinor: col.int('amount'),
});

export interface SimPullRequest {
  idempotencyKey: string;
  token: string;
  amountMinor: number;
  currency: string;
}

/**
 * Records a pull attempt: the first one of a key inserts the pull with `status` and `reference`,
 * a repeat counts one more attempt and returns the pull as it is (never a second pull).
 */
export async function recordPullAttempt(
  db: Db,
  request: SimPullRequest,
  status: SimPullStatus,
  reference: string,
): Promise<SimPull> {
  const { rows } = await db.query(
    `INSERT INTO sim_bank_pulls (idempotency_key, token, amount, currency, status, reference)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (idempotency_key) DO UPDATE SET attempts = sim_bank_pulls.attempts + 1, updated_at = now()
     RETURNING ${simPullRow.columns()}`,
    [request.idempotencyKey, request.token, request.amountMinor, request.currency, status, reference],
  );
  return simPullRow.map(rows[0]);
}

export async function markPullSucceeded(db: Db, idempotencyKey: string): Promise<void> {
  await db.query(`UPDATE sim_bank_pulls SET status = 'succeeded', updated_at = now() WHERE idempotency_key = $1`, [idempotencyKey]);
}

/** Refunds a succeeded pull; any other pull is left as it is. */
export async function markPullRefunded(db: Db, idempotencyKey: string): Promise<void> {
  await db.query(
    `UPDATE sim_bank_pulls SET status = 'refunded', updated_at = now() WHERE idempotency_key = $1 AND status = 'succeeded'`,
    [idempotencyKey],
  );
}
