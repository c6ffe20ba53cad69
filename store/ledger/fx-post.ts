import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { LedgerError, LedgerInvariantError } from '../../domain/ledger/errors.js';
import {
  assertBalancedPerCurrency, checkBalanceCap, checkHoldPostable, checkNoOverdraft, requireAccounts,
} from '../../domain/ledger/rules.js';
import type { HoldStatus, Posting } from '../../domain/ledger/types.js';
import { prepared, toSafeInt, type Db } from '../db.js';
import { ensureSystemAccount, lockLedgerAccounts } from './accounts.js';
import type { PostedTransaction } from './transactions.js';

/**
 * A cross-currency post (contract §2 "Currency conversion"): a hold placed on the payer in its
 * currency becomes ONE ledger transaction of four legs, balanced per currency through the
 * tenant's FX system accounts:
 *
 *   payer          debit  amount            (from)     FX account (from)  credit amount     (from)
 *   FX account (to) debit converted_amount (to)        payee              credit converted  (to)
 *
 * The FX accounts are `system` accounts (they may go negative: the house's position in each
 * currency), one per tenant and currency, `owner_id` 'fx' (the funding account has none).
 */

/** The tenant's FX system account for `currency`, created on first use (`ensureSystemAccount`, purpose `fx`). */
export function ensureFxAccount(db: Db, tenantId: string, currency: string): Promise<string> {
  return ensureSystemAccount(db, tenantId, currency, 'fx');
}

/**
 * Both FX accounts of a conversion, created in sorted currency order: two transactions creating
 * the same pair in opposite directions wait for each other's insert at most once, never in a cycle.
 */
export async function ensureFxAccounts(db: Db, tenantId: string, fromCurrency: string, toCurrency: string) {
  const ids = new Map<string, string>();
  for (const currency of [fromCurrency, toCurrency].sort()) ids.set(currency, await ensureFxAccount(db, tenantId, currency));
  return { fxFromAccountId: ids.get(fromCurrency)!, fxToAccountId: ids.get(toCurrency)! };
}

export interface FxPostHoldInput {
  tenantId: string;
  idempotencyKey: string;
  holdId: string;
  /** The payee, in `toCurrency`. */
  creditAccountId: string;
  /** What the hold must be: the quote's amount in its `from_currency` (all of it is posted). */
  amountMinor: number;
  currency: string;
  toCurrency: string;
  convertedMinor: number;
  /** `ensureFxAccount` of the two currencies. */
  fxFromAccountId: string;
  fxToAccountId: string;
  kind: string;
  referenceId?: string;
}

interface LockedHold {
  accountId: string;
  amountMinor: number;
  currency: string;
  status: HoldStatus;
}

async function lockHoldRow(client: pg.PoolClient, tenantId: string, holdId: string): Promise<LockedHold> {
  const { rows } = await client.query(
    prepared('fx-lock-hold', 'SELECT account_id, amount, currency, status FROM holds WHERE id = $2 AND tenant_id = $1 FOR NO KEY UPDATE'),
    [tenantId, holdId],
  );
  if (!rows[0]) throw new LedgerError('hold_missing', `No such hold: ${holdId}`);
  return { accountId: rows[0].account_id, amountMinor: toSafeInt(rows[0].amount), currency: rows[0].currency, status: rows[0].status };
}

/**
 * Posts the hold to the payee converted, exactly once, in the caller's transaction: locks the
 * payer (the hold's account), the payee and both FX accounts, waiting for each in sorted id order
 * (the payee too: its balance cap, `ledger_balance_cap` of schema/0015, is checked under its
 * lock); a replay of the key returns the transaction written first. Refuses with
 * `limit_exceeded` (nothing written) when the credit would lift the payee above its cap.
 */
export async function fxPostHold(client: pg.PoolClient, input: FxPostHoldInput): Promise<PostedTransaction> {
  const accounts = await lockLedgerAccounts(client, {
    tenantId: input.tenantId, debitIds: [input.creditAccountId, input.fxFromAccountId, input.fxToAccountId], holdId: input.holdId,
  });
  const { rows: existing } = await client.query(
    prepared('fx-find-transaction', 'SELECT id FROM ledger_transactions WHERE tenant_id = $1 AND idempotency_key = $2'),
    [input.tenantId, input.idempotencyKey],
  );
  if (existing[0]) return { transactionId: existing[0].id as string, replayed: true };

  const hold = await lockHoldRow(client, input.tenantId, input.holdId);
  checkHoldPostable({ id: input.holdId, ...hold, postedAmountMinor: null, resolutionTransactionId: null }, input.amountMinor);
  if (hold.amountMinor !== input.amountMinor || hold.currency !== input.currency) {
    throw new LedgerInvariantError(`hold ${input.holdId} is ${hold.amountMinor} ${hold.currency}, the conversion ${input.amountMinor} ${input.currency}`);
  }
  requireAccounts(accounts, [hold.accountId, input.fxFromAccountId], input.currency);
  requireAccounts(accounts, [input.creditAccountId, input.fxToAccountId], input.toCurrency);
  const payer = accounts.get(hold.accountId)!;
  const payee = accounts.get(input.creditAccountId)!;
  checkNoOverdraft(payer, -input.amountMinor, payer.heldMinor - hold.amountMinor, new Set());
  // The payee is locked (waited for above): its cap as `ledger_lock_accounts` read it under the lock.
  checkBalanceCap(payee.id, payee.balanceCapMinor, payee.balanceMinor, input.convertedMinor);

  const postings = [
    { accountId: hold.accountId, direction: 'debit', amountMinor: input.amountMinor, currency: input.currency },
    { accountId: input.fxFromAccountId, direction: 'credit', amountMinor: input.amountMinor, currency: input.currency },
    { accountId: input.fxToAccountId, direction: 'debit', amountMinor: input.convertedMinor, currency: input.toCurrency },
    { accountId: input.creditAccountId, direction: 'credit', amountMinor: input.convertedMinor, currency: input.toCurrency },
  ] as const satisfies readonly (Posting & { currency: string })[];
  assertBalancedPerCurrency(postings);
  const transactionId = newId('ledgerTransaction');
  await writeFxTransaction(client, input, transactionId, postings, hold);
  return { transactionId, replayed: false };
}

/**
 * One statement, as writeTransaction (store/ledger/transactions.ts) but with a currency per entry:
 * the transaction row, its four entries, the four locked accounts' balances (and the payer's
 * `held`, released in full) and the hold's resolution.
 */
async function writeFxTransaction(
  client: pg.PoolClient, input: FxPostHoldInput, transactionId: string,
  postings: readonly (Posting & { currency: string })[], hold: LockedHold,
): Promise<void> {
  const ids = postings.map((p) => p.accountId);
  await client.query(
    prepared('fx-write-transaction',
    `WITH t AS (
       INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind, reference_id, hold_id)
       VALUES ($1, $2, $3, $4, $5, $6)),
     e AS (
       INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency)
       SELECT e.id, $1, e.account_id, e.direction, e.amount, e.currency
       FROM unnest($7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[]) AS e(id, account_id, direction, amount, currency)),
     a AS (
       UPDATE accounts a SET balance = a.balance + ($12::bigint[])[array_position($8::text[], a.id)],
                             held = a.held - CASE WHEN a.id = $13 THEN $14::bigint ELSE 0 END
       WHERE a.id = ANY($8::text[]))
     UPDATE holds SET status = 'posted', posted_amount = $14, resolution_transaction_id = $1, resolved_at = now()
     WHERE id = $6`),
    [
      transactionId, input.tenantId, input.idempotencyKey, input.kind, input.referenceId ?? null, input.holdId,
      postings.map(() => newId('entry')), ids, postings.map((p) => p.direction), postings.map((p) => p.amountMinor),
      postings.map((p) => p.currency), postings.map((p) => (p.direction === 'credit' ? p.amountMinor : -p.amountMinor)),
      hold.accountId, hold.amountMinor,
    ],
  );
}
