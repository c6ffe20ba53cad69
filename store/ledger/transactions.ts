import type pg from 'pg';
import { firstIdAt, newId } from '../../domain/ids.js';
import { assertBalanced, checkNoOverdraft, netChanges, requireAccounts } from '../../domain/ledger/rules.js';
import type { Entry, Posting } from '../../domain/ledger/types.js';
import { prepared, toSafeInt, type Db } from '../db.js';
import { toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';
import { lockAccounts } from './accounts.js';

/**
 * The double-entry ledger: `ledger_transactions` and their `ledger_entries` (append-only). Every
 * write runs inside a caller's transaction (`client`), locks the account rows it touches in sorted
 * id order, is idempotent by a key, and asserts that debits equal credits before it writes. User
 * accounts never go below zero: checked under the row lock here (domain/ledger/rules.ts), and again
 * by the `accounts_user_no_overdraft` CHECK constraint.
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
 * every account's balance (and `held`, when it posts a hold) and the hold's resolution. One
 * UPDATE per account row, so the no-overdraft CHECK sees the final balance and held together.
 * Accounts are found with `id = ANY(…)` (a primary-key scan; a join with unnest() plans as a
 * sequential scan of all accounts under a generic plan). The caller has locked the accounts and
 * checked the rules.
 */
export async function writeTransaction(
  client: pg.PoolClient,
  input: PostTransactionInput,
  resolution: HoldResolution | null,
): Promise<string> {
  const transactionId = newId('ledgerTransaction');
  const net = netChanges(input.postings);
  if (resolution) net.set(resolution.accountId, net.get(resolution.accountId) ?? 0);
  const ids = [...net.keys()];
  await client.query(
    prepared('ledger-write-transaction',
    `WITH t AS (
       INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind, reference_id, hold_id)
       VALUES ($1, $2, $3, $4, $5, $6)),
     e AS (
       INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency)
       SELECT e.id, $1, e.account_id, e.direction, e.amount, $7
       FROM unnest($8::text[], $9::text[], $10::text[], $11::bigint[]) AS e(id, account_id, direction, amount)),
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
    ],
  );
  return transactionId;
}

/** Posts a balanced multi-leg transaction. Replays with the same key return the first one. */
export async function postTransaction(client: pg.PoolClient, input: PostTransactionInput): Promise<PostedTransaction> {
  assertBalanced(input.postings);
  const accountIds = input.postings.map((p) => p.accountId);
  const accounts = await lockAccounts(client, input.tenantId, accountIds);
  const existing = await findTransactionByKey(client, input.tenantId, input.idempotencyKey);
  if (existing) return { transactionId: existing, replayed: true };

  requireAccounts(accounts, accountIds, input.currency);
  const net = netChanges(input.postings);
  const allowed = new Set(input.overdraftAllowed ?? []);
  for (const [id, delta] of net) {
    const account = accounts.get(id)!;
    checkNoOverdraft(account, delta, account.heldMinor, allowed);
  }
  const transactionId = await writeTransaction(client, input, null);
  return { transactionId, replayed: false };
}

/**
 * Today's (UTC) posted debits of an account. Entry ids are time-ordered ULIDs, so the
 * (account_id, id) index finds today's entries.
 */
export async function debitedTodayMinor(client: pg.PoolClient, accountId: string): Promise<number> {
  const midnightMs = new Date().setUTCHours(0, 0, 0, 0);
  const { rows } = await client.query(
    prepared('ledger-debits-since', `SELECT coalesce(sum(amount), 0) AS debited FROM ledger_entries
      WHERE account_id = $1 AND id >= $2 AND direction = 'debit'`),
    [accountId, firstIdAt('entry', midnightMs)],
  );
  return toSafeInt(rows[0].debited as string);
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
