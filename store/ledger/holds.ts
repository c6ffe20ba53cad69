import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { LedgerError } from '../../domain/ledger/errors.js';
import {
  assertBalanced, assertSameHold, checkHoldPostable, checkLimits, checkNoOverdraft, needsVoiding, requireAccounts,
} from '../../domain/ledger/rules.js';
import type { Account, Hold, HoldRequest, HoldStatus, Posting } from '../../domain/ledger/types.js';
import { prepared, type Db } from '../db.js';
import { col, rowMapper } from '../rows.js';
import { accountRow, lockAccounts, releaseHeld } from './accounts.js';
import { debitedTodayMinor, writeTransaction, type PostedTransaction } from './transactions.js';

/**
 * The `holds` table: funds reserved on an account (its `held`), each resolved exactly once —
 * posted (in full or in part) by a ledger transaction, or voided. Every writer of a hold locks
 * its account first (sorted id order, like every ledger write).
 */

export interface PlaceHoldInput extends HoldRequest {
  tenantId: string;
  /** Enforce the account's per-transaction and daily debit limits (wallet spending). */
  enforceLimits: boolean;
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

/** A hold with its tenant, found by a caller that knows only the hold's id or key. */
export interface TenantHold extends Hold {
  tenantId: string;
}

const holdFields = {
  id: col.text('id'),
  accountId: col.text('account_id'),
  amountMinor: col.int('amount'),
  currency: col.text('currency'),
  status: col.of<HoldStatus>('status'),
  postedAmountMinor: col.intOrNull('posted_amount'),
  resolutionTransactionId: col.textOrNull('resolution_transaction_id'),
};
const holdRow = rowMapper<Hold>(holdFields);
const tenantHoldRow = rowMapper<TenantHold>({ ...holdFields, tenantId: col.text('tenant_id') });

/** Today's (UTC) spending of a locked account: posted debits since midnight plus active holds (`held`). */
async function spentTodayMinor(client: pg.PoolClient, account: Account): Promise<number> {
  return (await debitedTodayMinor(client, account.id)) + account.heldMinor;
}

async function findHoldByKey(client: pg.PoolClient, tenantId: string, idempotencyKey: string): Promise<Hold | null> {
  const { rows } = await client.query(
    prepared('ledger-find-hold', `SELECT ${holdRow.columns()} FROM holds WHERE tenant_id = $1 AND idempotency_key = $2`),
    [tenantId, idempotencyKey],
  );
  return rows[0] ? holdRow.map(rows[0]) : null;
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
       RETURNING ${holdRow.columns()}),
     a AS (UPDATE accounts SET held = held + $4 WHERE id = $3 AND EXISTS (SELECT 1 FROM h))
     SELECT * FROM h`),
    [newId('hold'), input.tenantId, input.accountId, input.amountMinor, input.currency, input.idempotencyKey],
  );
  if (rows[0]) return holdRow.map(rows[0]);
  return assertSameHold((await findHoldByKey(client, input.tenantId, input.idempotencyKey))!, input);
}

/**
 * Locks the hold's account and `others` in sorted id order (one statement), then the hold row,
 * and finds a transaction already written with `idempotencyKey`. Every writer of a hold locks its
 * account first, so by the time the hold row is read here, earlier writers have committed.
 */
async function lockHold(client: pg.PoolClient, tenantId: string, holdId: string, others: string[], idempotencyKey?: string) {
  const { rows: locked } = await client.query(
    prepared('ledger-lock-hold-accounts',
    `SELECT ${accountRow.columns()} FROM accounts
     WHERE tenant_id = $1 AND id = ANY($3::text[] || (SELECT account_id FROM holds WHERE id = $2 AND tenant_id = $1))
     ORDER BY id FOR NO KEY UPDATE`),
    [tenantId, holdId, others],
  );
  const accounts = new Map(locked.map((row) => [row.id as string, accountRow.map(row)]));
  const { rows } = await client.query(
    prepared('ledger-lock-hold',
    `SELECT ${holdRow.columns()},
       (SELECT id FROM ledger_transactions WHERE tenant_id = $1 AND idempotency_key = $3) AS existing_transaction_id
     FROM holds WHERE id = $2 AND tenant_id = $1 FOR NO KEY UPDATE`),
    [tenantId, holdId, idempotencyKey ?? null],
  );
  if (!rows[0]) throw new LedgerError('hold_missing', `No such hold: ${holdId}`);
  return { hold: holdRow.map(rows[0]), accounts, existingTransactionId: (rows[0].existing_transaction_id as string | null) ?? null };
}

/** Turns a hold into a posted transfer to `creditAccountId`, exactly once. */
export async function postHold(client: pg.PoolClient, input: PostHoldInput): Promise<PostedTransaction> {
  const { hold, accounts, existingTransactionId } = await lockHold(
    client, input.tenantId, input.holdId, [input.creditAccountId], input.idempotencyKey,
  );
  if (existingTransactionId) return { transactionId: existingTransactionId, replayed: true };
  const amountMinor = input.amountMinor ?? hold.amountMinor;
  checkHoldPostable(hold, amountMinor);
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
  if (!needsVoiding(hold)) return hold;
  await releaseHeld(client, hold.accountId, hold.amountMinor);
  const { rows } = await client.query(
    `UPDATE holds SET status = 'voided', resolved_at = now() WHERE id = $1 RETURNING ${holdRow.columns()}`,
    [hold.id],
  );
  return holdRow.map(rows[0]);
}

/** A hold by id, whatever its tenant (no lock): the wallet processor knows only the authorization id. */
export async function findHoldAnyTenant(db: Db, holdId: string): Promise<TenantHold | null> {
  const { rows } = await db.query(`SELECT ${tenantHoldRow.columns()} FROM holds WHERE id = $1`, [holdId]);
  return rows[0] ? tenantHoldRow.map(rows[0]) : null;
}

/** A hold by its idempotency key, whatever its tenant (no lock): the wallet processor's look-up by key. */
export async function findHoldByKeyAnyTenant(db: Db, idempotencyKey: string): Promise<TenantHold | null> {
  const { rows } = await db.query(`SELECT ${tenantHoldRow.columns()} FROM holds WHERE idempotency_key = $1`, [idempotencyKey]);
  return rows[0] ? tenantHoldRow.map(rows[0]) : null;
}

/** How many holds are active and posted, over all tenants (benchmarks' summary). */
export async function countHolds(db: Db): Promise<{ active: number; posted: number }> {
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM holds WHERE status = 'active')::int AS active_holds,
            (SELECT count(*) FROM holds WHERE status = 'posted')::int AS posted_holds`,
  );
  return { active: rows[0].active_holds as number, posted: rows[0].posted_holds as number };
}
