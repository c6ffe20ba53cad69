import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import { markPullRefunded, markPullSucceeded, recordPullAttempt, type SimPull, type SimPullStatus } from '../../store/wallet/sim-bank-pulls.js';
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
    const pulled = await recordPullAttempt(pool, request, outcome, `bank_${randomUUID()}`);
    if (pulled.token !== request.token || pulled.amountMinor !== request.amountMinor) {
      throw new BankError('bank_declined', false, 'Idempotency key reused with a different pull');
    }
    return settle(pool, request.idempotencyKey, pulled);
  }

  async function refund(pullIdempotencyKey: string): Promise<void> {
    await markPullRefunded(pool, pullIdempotencyKey);
  }

  return { pull, refund };
}

function firstOutcome(token: string): Exclude<SimPullStatus, 'refunded'> {
  switch (token) {
    case 'btok_success':
      return 'succeeded';
    case 'btok_flaky':
      return 'failing';
    default:
      return 'declined';
  }
}

async function settle(pool: pg.Pool, key: string, { status, attempts, reference }: SimPull): Promise<BankPullResult> {
  if (status === 'succeeded' || status === 'refunded') return { reference };
  if (status === 'declined') throw new BankError('bank_declined', false, 'The bank declined the pull');
  if (attempts <= FLAKY_FAILURES) throw new BankError('bank_unavailable', true, `Bank unavailable (attempt ${attempts})`);
  await markPullSucceeded(pool, key);
  return { reference };
}
