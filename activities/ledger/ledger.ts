import type pg from 'pg';
import { firstIdAt, newId } from '../../domain/ids.js';
import { prepared, toSafeInt } from '../../platform/db.js';
import { ACCOUNT_COLUMNS, lockAccounts, toAccount, type Account } from './accounts.js';

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
    prepared('ledger-find-transaction', 'SELECT id FROM ledger_transactions WHERE tenant_id = $1 AND idempotency_key = $2'),
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

interface HoldResolution {
  holdId: string;
  accountId: string;
  /** The hold's full amount, released from `held`. */
  releasedMinor: number;
  postedMinor: number;
}

/**
 * Writes a transaction in ONE statement (data-modifying CTEs): the transaction row, its entries,
 * every account's balance (and `held`, when it posts a hold) and the hold's resolution. One
 * UPDATE per account row, so the no-overdraft CHECK sees the final balance and held together.
 * Accounts are found with `id = ANY(…)` (a primary-key scan; a join with unnest() plans as a
 * sequential scan of all accounts under a generic plan).
 */
async function writeTransaction(
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

export interface PlaceHoldInput {
  tenantId: string;
  idempotencyKey: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  /** Enforce the account's per-transaction and daily debit limits (wallet spending). */
  enforceLimits: boolean;
}

/**
 * Today's (UTC) spending of a locked account: posted debits since midnight plus active holds
 * (`held`). Entry ids are time-ordered ULIDs, so the (account_id, id) index finds today's entries.
 */
async function spentTodayMinor(client: pg.PoolClient, account: Account): Promise<number> {
  const midnightMs = new Date().setUTCHours(0, 0, 0, 0);
  const { rows } = await client.query(
    prepared('ledger-debits-since', `SELECT coalesce(sum(amount), 0) AS debited FROM ledger_entries
      WHERE account_id = $1 AND id >= $2 AND direction = 'debit'`),
    [account.id, firstIdAt('entry', midnightMs)],
  );
  return toSafeInt(rows[0].debited as string) + account.heldMinor;
}

async function findHoldByKey(client: pg.PoolClient, tenantId: string, idempotencyKey: string): Promise<Hold | null> {
  const { rows } = await client.query(
    prepared('ledger-find-hold', `SELECT ${HOLD_COLUMNS} FROM holds WHERE tenant_id = $1 AND idempotency_key = $2`),
    [tenantId, idempotencyKey],
  );
  return rows[0] ? toHold(rows[0]) : null;
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

/** A replayed key must describe the same hold; anything else is a caller's bug. */
function assertSameHold(hold: Hold, input: PlaceHoldInput): Hold {
  if (hold.accountId !== input.accountId || hold.amountMinor !== input.amountMinor || hold.currency !== input.currency) {
    throw new LedgerInvariantError(`Hold key ${input.idempotencyKey} was used for another hold (${hold.id})`);
  }
  return hold;
}

/**
 * Reserves funds on an account. Idempotent by key: a replay returns the same hold. Two statements
 * on the happy path: lock the account, then insert the hold and raise `held` together. A key
 * already used shows up as an insert conflict — or, if the funds or limits check fails first
 * (the earlier hold already counts against them), by a look-up on that rare failure path.
 */
export async function placeHold(client: pg.PoolClient, input: PlaceHoldInput): Promise<Hold> {
  const accounts = await lockAccounts(client, input.tenantId, [input.accountId]);
  try {
    requireAccounts(accounts, [input.accountId], input.currency);
    const account = accounts.get(input.accountId)!;
    if (input.enforceLimits) {
      const spentMinor = account.limits.daily_debit_max === null ? 0 : await spentTodayMinor(client, account);
      checkLimits(account, input.amountMinor, spentMinor);
    }
    checkNoOverdraft(account, -input.amountMinor, account.heldMinor, new Set());
  } catch (err) {
    const existing = await findHoldByKey(client, input.tenantId, input.idempotencyKey);
    if (existing) return assertSameHold(existing, input);
    throw err;
  }
  const { rows } = await client.query(
    prepared('ledger-place-hold', `WITH h AS (
       INSERT INTO holds (id, tenant_id, account_id, amount, currency, idempotency_key)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
       RETURNING ${HOLD_COLUMNS}),
     a AS (UPDATE accounts SET held = held + $4 WHERE id = $3 AND EXISTS (SELECT 1 FROM h))
     SELECT * FROM h`),
    [newId('hold'), input.tenantId, input.accountId, input.amountMinor, input.currency, input.idempotencyKey],
  );
  if (rows[0]) return toHold(rows[0]);
  return assertSameHold((await findHoldByKey(client, input.tenantId, input.idempotencyKey))!, input);
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

/**
 * Locks the hold's account and `others` in sorted id order (one statement), then the hold row,
 * and finds a transaction already written with `idempotencyKey`. Every writer of a hold locks its
 * account first, so by the time the hold row is read here, earlier writers have committed.
 */
async function lockHold(client: pg.PoolClient, tenantId: string, holdId: string, others: string[], idempotencyKey?: string) {
  const { rows: locked } = await client.query(
    prepared('ledger-lock-hold-accounts',
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts
     WHERE tenant_id = $1 AND id = ANY($3::text[] || (SELECT account_id FROM holds WHERE id = $2 AND tenant_id = $1))
     ORDER BY id FOR NO KEY UPDATE`),
    [tenantId, holdId, others],
  );
  const accounts = new Map(locked.map((row) => [row.id as string, toAccount(row)]));
  const { rows } = await client.query(
    prepared('ledger-lock-hold',
    `SELECT ${HOLD_COLUMNS},
       (SELECT id FROM ledger_transactions WHERE tenant_id = $1 AND idempotency_key = $3) AS existing_transaction_id
     FROM holds WHERE id = $2 AND tenant_id = $1 FOR NO KEY UPDATE`),
    [tenantId, holdId, idempotencyKey ?? null],
  );
  if (!rows[0]) throw new LedgerError('hold_missing', `No such hold: ${holdId}`);
  return { hold: toHold(rows[0]), accounts, existingTransactionId: (rows[0].existing_transaction_id as string | null) ?? null };
}

/** Turns a hold into a posted transfer to `creditAccountId`, exactly once. */
export async function postHold(client: pg.PoolClient, input: PostHoldInput): Promise<PostedTransaction> {
  const { hold, accounts, existingTransactionId } = await lockHold(
    client, input.tenantId, input.holdId, [input.creditAccountId], input.idempotencyKey,
  );
  if (existingTransactionId) return { transactionId: existingTransactionId, replayed: true };
  if (hold.status !== 'active') throw new LedgerError('hold_not_active', `Hold ${hold.id} is ${hold.status}`);

  const amountMinor = input.amountMinor ?? hold.amountMinor;
  if (amountMinor > hold.amountMinor) throw new LedgerError('amount_too_large', 'Cannot post more than the hold');
  requireAccounts(accounts, [hold.accountId, input.creditAccountId], hold.currency);

  const postings: Posting[] = [
    { accountId: hold.accountId, direction: 'debit', amountMinor },
    { accountId: input.creditAccountId, direction: 'credit', amountMinor },
  ];
  assertBalanced(postings);
  const transactionId = await writeTransaction(client, { ...input, currency: hold.currency, postings }, {
    holdId: hold.id, accountId: hold.accountId, releasedMinor: hold.amountMinor, postedMinor: amountMinor,
  });
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
