import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { LedgerInvariantError } from '../../domain/ledger/errors.js';
import { assertBalanced, checkBalanceCap, checkNoOverdraft, netChanges, requireAccounts } from '../../domain/ledger/rules.js';
import type { Entry, Posting } from '../../domain/ledger/types.js';
import { prepared, type Db } from '../db.js';
import { toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';
import { lockLedgerAccounts, unlockedIds } from './accounts.js';

/**
 * The double-entry ledger: `ledger_transactions` and their `ledger_entries` (append-only). Every
 * write runs inside a caller's transaction (`client`), locks the accounts it debits in sorted id
 * order (those it only credits: only if free, else the credit waits in `ledger_pending_credits`,
 * schema/0011), is idempotent by a key, and asserts that debits equal credits before it writes.
 * User accounts never go below zero: checked under the row lock here (domain/ledger/rules.ts), and
 * again by the `accounts_user_no_overdraft` CHECK constraint. A credit never lifts a user account
 * above its balance cap (schema/0015): an account with a cap is locked like a debited one and
 * checked under its lock (`limit_exceeded`, nothing written).
 */

export interface PostTransactionInput {
  tenantId: string;
  idempotencyKey: string;
  kind: string;
  referenceId?: string;
  currency: string;
  postings: Posting[];
  /** Accounts (besides system accounts) allowed to go below zero, e.g. a merchant paying a refund. */
  overdraftAllowed?: string[];
}

export interface PostedTransaction {
  transactionId: string;
  replayed: boolean;
}

/** A hold that the transaction posts: its account's `held` drops and the hold row resolves. */
export interface HoldResolution {
  holdId: string;
  accountId: string;
  /** The hold's full amount, released from `held`. */
  releasedMinor: number;
  postedMinor: number;
}

const entryRow = rowMapper<Entry>({
  id: col.text('id'),
  transactionId: col.text('transaction_id'),
  direction: col.of<Entry['direction']>('direction'),
  amountMinor: col.int('amount'),
  currency: col.text('currency'),
  createdAt: col.timestamp('created_at'),
});

async function findTransactionByKey(client: pg.PoolClient, tenantId: string, key: string): Promise<string | null> {
  const { rows } = await client.query(
    prepared('ledger-find-transaction', 'SELECT id FROM ledger_transactions WHERE tenant_id = $1 AND idempotency_key = $2'),
    [tenantId, key],
  );
  return (rows[0]?.id as string | undefined) ?? null;
}

/**
 * Writes a transaction in ONE statement (data-modifying CTEs): the transaction row, its entries,
 * every locked account's balance (and `held`, when it posts a hold), a pending credit for each
 * credit entry on a `deferredCreditIds` account (credited only, its row lock taken by another
 * write: schema/0011) and the hold's resolution. One UPDATE per account row, so the no-overdraft
 * CHECK sees the final balance and held together. Accounts are found with `id = ANY(…)` (a
 * primary-key scan; a join with unnest() plans as a sequential scan of all accounts under a
 * generic plan). The caller has locked the other accounts and checked the rules.
 */
export async function writeTransaction(
  client: pg.PoolClient,
  input: PostTransactionInput,
  resolution: HoldResolution | null,
  deferredCreditIds: ReadonlySet<string> = new Set(),
): Promise<string> {
  const transactionId = newId('ledgerTransaction');
  const net = netChanges(input.postings);
  if (resolution) net.set(resolution.accountId, net.get(resolution.accountId) ?? 0);
  for (const p of input.postings) {
    if (deferredCreditIds.has(p.accountId) && (p.direction !== 'credit' || p.accountId === resolution?.accountId)) {
      throw new LedgerInvariantError(`account ${p.accountId} is debited: its write cannot be deferred`);
    }
  }
  const ids = [...net.keys()].filter((id) => !deferredCreditIds.has(id));
  await client.query(
    prepared('ledger-write-transaction',
    `WITH t AS (
       INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind, reference_id, hold_id)
       VALUES ($1, $2, $3, $4, $5, $6)),
     e AS (
       INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency)
       SELECT e.id, $1, e.account_id, e.direction, e.amount, $7
       FROM unnest($8::text[], $9::text[], $10::text[], $11::bigint[]) AS e(id, account_id, direction, amount)
       RETURNING id, account_id, amount),
     p AS (
       INSERT INTO ledger_pending_credits (account_id, entry_id, amount)
       SELECT e.account_id, e.id, e.amount FROM e WHERE e.account_id = ANY($16::text[])),
     a AS (
       UPDATE accounts a SET balance = a.balance + ($13::bigint[])[array_position($12::text[], a.id)],
                             held = a.held - ($14::bigint[])[array_position($12::text[], a.id)]
       WHERE a.id = ANY($12::text[]))
     UPDATE holds SET status = 'posted', posted_amount = $15, resolution_transaction_id = $1, resolved_at = now()
     WHERE id = $6`),
    [
      transactionId, input.tenantId, input.idempotencyKey, input.kind, input.referenceId ?? null,
      resolution?.holdId ?? null, input.currency,
      input.postings.map(() => newId('entry')),
      input.postings.map((p) => p.accountId),
      input.postings.map((p) => p.direction),
      input.postings.map((p) => p.amountMinor),
      ids,
      ids.map((id) => net.get(id)),
      ids.map((id) => (id === resolution?.accountId ? resolution.releasedMinor : 0)),
      resolution?.postedMinor ?? null,
      [...deferredCreditIds],
    ],
  );
  return transactionId;
}

/**
 * Posts a balanced multi-leg transaction. Replays with the same key return the first one.
 * Accounts that are only credited are not waited for (lockLedgerAccounts).
 */
export async function postTransaction(client: pg.PoolClient, input: PostTransactionInput): Promise<PostedTransaction> {
  assertBalanced(input.postings);
  const accountIds = input.postings.map((p) => p.accountId);
  const debitIds = new Set(input.postings.filter((p) => p.direction === 'debit').map((p) => p.accountId));
  const accounts = await lockLedgerAccounts(client, {
    tenantId: input.tenantId, debitIds: [...debitIds], creditIds: accountIds.filter((id) => !debitIds.has(id)),
  });
  const existing = await findTransactionByKey(client, input.tenantId, input.idempotencyKey);
  if (existing) return { transactionId: existing, replayed: true };

  requireAccounts(accounts, accountIds, input.currency);
  const net = netChanges(input.postings);
  const allowed = new Set(input.overdraftAllowed ?? []);
  for (const [id, delta] of net) {
    const account = accounts.get(id)!;
    checkNoOverdraft(account, delta, account.heldMinor, allowed);
    // A capped account was waited for (ledgerLockAccounts): its balance is final until commit.
    checkBalanceCap(id, account.balanceCapMinor, account.balanceMinor, delta);
  }
  const transactionId = await writeTransaction(client, input, null, unlockedIds(accounts));
  return { transactionId, replayed: false };
}

/** An account's entries, newest first; `startingAfter` is the last entry id of the previous page. */
export async function listEntries(db: Db, accountId: string, page: PageQuery): Promise<ListPage<Entry>> {
  const { rows } = await db.query(
    `SELECT ${entryRow.columns()} FROM ledger_entries
     WHERE account_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [accountId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, entryRow.map);
}
