import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { toSafeInt } from '../../platform/db.js';
import { lockAccounts, type Account } from './accounts.js';

/**
 * The double-entry ledger. Every write runs inside a caller's transaction (`client`), locks the
 * account rows it touches in sorted id order, is idempotent by a key, and asserts that debits
 * equal credits before it writes. User accounts never go below zero: checked under the row lock
 * here, and again by the `accounts_user_no_overdraft` CHECK constraint.
 */

export type LedgerErrorCode =
  | 'insufficient_funds'
  | 'limit_exceeded'
  | 'currency_mismatch'
  | 'account_missing'
  | 'hold_missing'
  | 'hold_not_active'
  | 'amount_too_large';

/** A business outcome of a ledger write (not a bug): the caller decides what the user sees. */
export class LedgerError extends Error {
  override name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A broken ledger invariant: a bug, never a user error. */
export class LedgerInvariantError extends Error {
  override name = 'LedgerInvariantError';
}

export interface Posting {
  accountId: string;
  direction: 'debit' | 'credit';
  amountMinor: number;
}

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

export function assertBalanced(postings: Posting[]): void {
  let debits = 0;
  let credits = 0;
  for (const p of postings) {
    if (!Number.isSafeInteger(p.amountMinor) || p.amountMinor <= 0) {
      throw new LedgerInvariantError(`posting amount must be a positive safe integer, got ${p.amountMinor}`);
    }
    if (p.direction === 'debit') debits += p.amountMinor;
    else credits += p.amountMinor;
  }
  if (postings.length < 2 || debits !== credits) {
    throw new LedgerInvariantError(`unbalanced transaction: debits ${debits} != credits ${credits}`);
  }
}

async function findTransactionByKey(client: pg.PoolClient, tenantId: string, key: string): Promise<string | null> {
  const { rows } = await client.query(
    'SELECT id FROM ledger_transactions WHERE tenant_id = $1 AND idempotency_key = $2',
    [tenantId, key],
  );
  return (rows[0]?.id as string | undefined) ?? null;
}

function requireAccounts(accounts: Map<string, Account>, ids: string[], currency: string): void {
  for (const id of ids) {
    const account = accounts.get(id);
    if (!account) throw new LedgerError('account_missing', `No such account: ${id}`);
    if (account.currency !== currency) {
      throw new LedgerError('currency_mismatch', `Account ${id} holds ${account.currency}, not ${currency}`);
    }
  }
}

/** Net change per account: credits add, debits subtract. */
function netChanges(postings: Posting[]): Map<string, number> {
  const net = new Map<string, number>();
  for (const p of postings) {
    const delta = p.direction === 'credit' ? p.amountMinor : -p.amountMinor;
    net.set(p.accountId, (net.get(p.accountId) ?? 0) + delta);
  }
  return net;
}

function checkNoOverdraft(account: Account, delta: number, heldAfter: number, overdraftAllowed: Set<string>): void {
  if (account.type === 'system' || overdraftAllowed.has(account.id) || delta >= 0) return;
  if (account.balanceMinor + delta - heldAfter < 0) {
    throw new LedgerError('insufficient_funds', `Account ${account.id} has insufficient available funds`);
  }
}

async function writeTransaction(
  client: pg.PoolClient,
  input: PostTransactionInput,
  holdId: string | null,
): Promise<string> {
  const transactionId = newId('ledgerTransaction');
  await client.query(
    `INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind, reference_id, hold_id)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [transactionId, input.tenantId, input.idempotencyKey, input.kind, input.referenceId ?? null, holdId],
  );
  await client.query(
    `INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency)
     SELECT e.id, $1, e.account_id, e.direction, e.amount, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) AS e(id, account_id, direction, amount)`,
    [
      transactionId,
      input.currency,
      input.postings.map(() => newId('entry')),
      input.postings.map((p) => p.accountId),
      input.postings.map((p) => p.direction),
      input.postings.map((p) => p.amountMinor),
    ],
  );
  return transactionId;
}

async function applyBalances(client: pg.PoolClient, net: Map<string, number>): Promise<void> {
  const ids = [...net.keys()];
  await client.query(
    `UPDATE accounts a SET balance = a.balance + d.delta
     FROM unnest($1::text[], $2::bigint[]) AS d(id, delta) WHERE a.id = d.id`,
    [ids, ids.map((id) => net.get(id))],
  );
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
  await applyBalances(client, net);
  return { transactionId, replayed: false };
}

export interface Hold {
  id: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  status: 'active' | 'posted' | 'voided';
  postedAmountMinor: number | null;
  resolutionTransactionId: string | null;
}

function toHold(row: Record<string, unknown>): Hold {
  return {
    id: row.id as string,
    accountId: row.account_id as string,
    amountMinor: toSafeInt(row.amount as string),
    currency: row.currency as string,
    status: row.status as Hold['status'],
    postedAmountMinor: row.posted_amount == null ? null : toSafeInt(row.posted_amount as string),
    resolutionTransactionId: (row.resolution_transaction_id as string | null) ?? null,
  };
}

const HOLD_COLUMNS = 'id, account_id, amount, currency, status, posted_amount, resolution_transaction_id';

async function findHold(client: pg.PoolClient, tenantId: string, where: 'id' | 'idempotency_key', value: string, lock = false) {
  const { rows } = await client.query(
    `SELECT ${HOLD_COLUMNS} FROM holds WHERE tenant_id = $1 AND ${where} = $2${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, value],
  );
  return rows[0] ? toHold(rows[0]) : null;
}

export interface PlaceHoldInput {
  tenantId: string;
  idempotencyKey: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  /** Enforce the account's per-transaction and daily debit limits (wallet spending). */
  enforceLimits: boolean;
}

/** Today's (UTC) spending: posted debits plus active holds. Called under the account's row lock. */
async function dailyDebitsMinor(client: pg.PoolClient, accountId: string): Promise<number> {
  const { rows } = await client.query(
    `SELECT
       (SELECT coalesce(sum(amount), 0) FROM ledger_entries
         WHERE account_id = $1 AND direction = 'debit'
           AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
     + (SELECT coalesce(sum(amount), 0) FROM holds WHERE account_id = $1 AND status = 'active') AS used`,
    [accountId],
  );
  return toSafeInt(rows[0].used as string);
}

function checkLimits(account: Account, amountMinor: number, usedTodayMinor: number): void {
  const { per_transaction_max: perTransactionMax, daily_debit_max: dailyMax } = account.limits;
  if (perTransactionMax !== null && amountMinor > perTransactionMax) {
    throw new LedgerError('limit_exceeded', `Amount exceeds the per-transaction limit of ${perTransactionMax}`);
  }
  if (dailyMax !== null && usedTodayMinor + amountMinor > dailyMax) {
    throw new LedgerError('limit_exceeded', `Amount exceeds the daily debit limit of ${dailyMax}`);
  }
}

/** Reserves funds on an account. Idempotent by key: a replay returns the same hold. */
export async function placeHold(client: pg.PoolClient, input: PlaceHoldInput): Promise<Hold> {
  const accounts = await lockAccounts(client, input.tenantId, [input.accountId]);
  const existing = await findHold(client, input.tenantId, 'idempotency_key', input.idempotencyKey);
  if (existing) return existing;

  requireAccounts(accounts, [input.accountId], input.currency);
  const account = accounts.get(input.accountId)!;
  if (input.enforceLimits) checkLimits(account, input.amountMinor, await dailyDebitsMinor(client, account.id));
  checkNoOverdraft(account, -input.amountMinor, account.heldMinor, new Set());

  const { rows } = await client.query(
    `INSERT INTO holds (id, tenant_id, account_id, amount, currency, idempotency_key)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${HOLD_COLUMNS}`,
    [newId('hold'), input.tenantId, account.id, input.amountMinor, input.currency, input.idempotencyKey],
  );
  await client.query('UPDATE accounts SET held = held + $2 WHERE id = $1', [account.id, input.amountMinor]);
  return toHold(rows[0]);
}

export interface PostHoldInput {
  tenantId: string;
  idempotencyKey: string;
  holdId: string;
  creditAccountId: string;
  /** Post part of the hold; the rest is released. Default: all of it. */
  amountMinor?: number;
  kind: string;
  referenceId?: string;
}

/** Locks the hold's account and `others` in sorted order, then the hold row itself. */
async function lockHold(client: pg.PoolClient, tenantId: string, holdId: string, others: string[]) {
  const peek = await findHold(client, tenantId, 'id', holdId);
  if (!peek) throw new LedgerError('hold_missing', `No such hold: ${holdId}`);
  const accounts = await lockAccounts(client, tenantId, [peek.accountId, ...others]);
  const hold = (await findHold(client, tenantId, 'id', holdId, true))!;
  return { hold, accounts };
}

/** Turns a hold into a posted transfer to `creditAccountId`, exactly once. */
export async function postHold(client: pg.PoolClient, input: PostHoldInput): Promise<PostedTransaction> {
  const { hold, accounts } = await lockHold(client, input.tenantId, input.holdId, [input.creditAccountId]);
  const existing = await findTransactionByKey(client, input.tenantId, input.idempotencyKey);
  if (existing) return { transactionId: existing, replayed: true };
  if (hold.status !== 'active') throw new LedgerError('hold_not_active', `Hold ${hold.id} is ${hold.status}`);

  const amountMinor = input.amountMinor ?? hold.amountMinor;
  if (amountMinor > hold.amountMinor) throw new LedgerError('amount_too_large', 'Cannot post more than the hold');
  requireAccounts(accounts, [hold.accountId, input.creditAccountId], hold.currency);

  const postings: Posting[] = [
    { accountId: hold.accountId, direction: 'debit', amountMinor },
    { accountId: input.creditAccountId, direction: 'credit', amountMinor },
  ];
  assertBalanced(postings);
  const transactionId = await writeTransaction(
    client,
    { ...input, currency: hold.currency, postings },
    hold.id,
  );
  // Release the hold before debiting: the no-overdraft CHECK holds after every statement.
  await client.query('UPDATE accounts SET held = held - $2 WHERE id = $1', [hold.accountId, hold.amountMinor]);
  await applyBalances(client, netChanges(postings));
  await client.query(
    `UPDATE holds SET status = 'posted', posted_amount = $2, resolution_transaction_id = $3, resolved_at = now()
     WHERE id = $1`,
    [hold.id, amountMinor, transactionId],
  );
  return { transactionId, replayed: false };
}

/** Releases a hold. Voiding a voided hold is a no-op; voiding a posted one is an error. */
export async function voidHold(client: pg.PoolClient, tenantId: string, holdId: string): Promise<Hold> {
  const { hold } = await lockHold(client, tenantId, holdId, []);
  if (hold.status === 'voided') return hold;
  if (hold.status === 'posted') throw new LedgerError('hold_not_active', `Hold ${hold.id} is already posted`);
  await client.query('UPDATE accounts SET held = held - $2 WHERE id = $1', [hold.accountId, hold.amountMinor]);
  const { rows } = await client.query(
    `UPDATE holds SET status = 'voided', resolved_at = now() WHERE id = $1 RETURNING ${HOLD_COLUMNS}`,
    [hold.id],
  );
  return toHold(rows[0]);
}
