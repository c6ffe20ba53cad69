import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import { BankError, type BankAdapter, type BankPullRequest, type BankPullResult } from './bank-adapter.js';

/** Attempts that fail with a transient error before `btok_flaky` succeeds. */
const FLAKY_FAILURES = 2;

/**
 * A simulated bank with its own books (table `sim_bank_pulls`), so tests can prove how many pulls
 * happened. Tokens: `btok_success` pulls; `btok_insufficient_funds` declines; `btok_flaky` fails
 * twice with a transient error, then pulls once. Unknown tokens are declined.
 */
export function createSimulatedBank(pool: pg.Pool): BankAdapter {
  async function pull(request: BankPullRequest): Promise<BankPullResult> {
    const outcome = firstOutcome(request.token);
    // One row per key: a repeated key counts an attempt, never a second pull.
    const { rows } = await pool.query(
      `INSERT INTO sim_bank_pulls (idempotency_key, token, amount, currency, status, reference)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (idempotency_key) DO UPDATE SET attempts = sim_bank_pulls.attempts + 1, updated_at = now()
       RETURNING attempts, status, reference, token, amount`,
      [request.idempotencyKey, request.token, request.amountMinor, request.currency, outcome, `bank_${randomUUID()}`],
    );
    const row = rows[0];
    if (row.token !== request.token || Number(row.amount) !== request.amountMinor) {
      throw new BankError('bank_declined', false, 'Idempotency key reused with a different pull');
    }
    return settle(pool, request.idempotencyKey, row.status as string, row.attempts as number, row.reference as string);
  }

  async function refund(pullIdempotencyKey: string): Promise<void> {
    await pool.query(
      `UPDATE sim_bank_pulls SET status = 'refunded', updated_at = now() WHERE idempotency_key = $1 AND status = 'succeeded'`,
      [pullIdempotencyKey],
    );
  }

  return { pull, refund };
}

function firstOutcome(token: string): 'succeeded' | 'declined' | 'failing' {
  switch (token) {
    case 'btok_success':
      return 'succeeded';
    case 'btok_flaky':
      return 'failing';
    default:
      return 'declined';
  }
}

async function settle(pool: pg.Pool, key: string, status: string, attempts: number, reference: string) {
  if (status === 'succeeded' || status === 'refunded') return { reference };
  if (status === 'declined') throw new BankError('bank_declined', false, 'The bank declined the pull');
  if (attempts <= FLAKY_FAILURES) throw new BankError('bank_unavailable', true, `Bank unavailable (attempt ${attempts})`);
  await pool.query(`UPDATE sim_bank_pulls SET status = 'succeeded', updated_at = now() WHERE idempotency_key = $1`, [key]);
  return { reference };
}
