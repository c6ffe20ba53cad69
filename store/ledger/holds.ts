import type pg from 'pg';
import { firstIdAt, newId } from '../../domain/ids.js';
import { LedgerError, LedgerInvariantError } from '../../domain/ledger/errors.js';
import {
  assertBalanced, assertSameHold, checkBalanceCap, checkHoldPostable, checkLimits, checkNoOverdraft, effectiveLimits, needsVoiding,
  requireAccounts,
} from '../../domain/ledger/rules.js';
import type { Account, AccountType, Hold, HoldRequest, HoldStatus } from '../../domain/ledger/types.js';
import { prepared, toSafeInt, type Db } from '../db.js';
import { col, rowMapper } from '../rows.js';
import { limitsColumn, lockLedgerAccounts, releaseHeld } from './accounts.js';
import { limitWindows } from '../../domain/ledger/limits.js';
import type { PostedTransaction } from './transactions.js';

/**
 * The `holds` table: funds reserved on an account (its `held`), each resolved exactly once —
 * posted (in full or in part) by a ledger transaction, or voided. Every writer of a hold locks
 * its account first (sorted id order, like every ledger write).
 */

export interface PlaceHoldInput extends HoldRequest {
  tenantId: string;
  /** Enforce the account's per-transaction, daily and monthly debit limits, the lower of its own and its KYC tier's (wallet spending). */
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
/** A hold as `ledger_place_hold` / `ledger_post_hold` return it (columns prefixed `hold_`). */
const returnedHoldRow = rowMapper<Hold>({
  id: col.text('hold_id'),
  accountId: col.text('hold_account_id'),
  amountMinor: col.int('hold_amount'),
  currency: col.text('hold_currency'),
  status: col.of<HoldStatus>('hold_status'),
  postedAmountMinor: col.intOrNull('hold_posted_amount'),
  resolutionTransactionId: col.textOrNull('hold_resolution_transaction_id'),
});
/**
 * What the rules read of the account `ledger_place_hold` locked (its stored balance: what it may
 * spend) and of its KYC tier (`tier_*`, schema/0015). Debit limits only: the balance cap is a
 * credit's (`ledger_place_hold` returns no `balance_max` columns, read as null).
 */
const lockedAccountStateRow = rowMapper<Pick<Account, 'id' | 'type' | 'currency' | 'limits' | 'balanceMinor' | 'heldMinor'> & { tierLimits: Account['limits'] }>({
  id: col.text('id'),
  type: col.of<AccountType>('account_type'),
  currency: col.text('account_currency'),
  limits: limitsColumn(),
  tierLimits: limitsColumn('tier_'),
  balanceMinor: col.int('balance'),
  heldMinor: col.int('held'),
});
const tenantHoldRow = rowMapper<TenantHold>({ ...holdFields, tenantId: col.text('tenant_id') });

/**
 * Reserves funds on an account in ONE round trip (`ledger_place_hold`, schema/0011): lock the
 * account, check limits and funds, insert the hold and raise `held`. Idempotent by key: a replay
 * returns the same hold, also when the funds or limits check now fails (the earlier hold already
 * counts against them). The function returns the account as it found it; the domain rules
 * re-check it here, so a refusal carries their code and message, and a disagreement is a bug.
 */
export async function placeHold(client: pg.PoolClient, input: PlaceHoldInput): Promise<Hold> {
  const windows = limitWindows(new Date());
  const { rows } = await client.query(
    prepared('ledger-place-hold', 'SELECT * FROM ledger_place_hold($1, $2, $3, $4, $5, $6, $7, $8, $9)'),
    [
      input.tenantId, newId('hold'), input.idempotencyKey, input.accountId, input.amountMinor, input.currency,
      input.enforceLimits, firstIdAt('entry', windows.day.startsAt.getTime()), firstIdAt('entry', windows.month.startsAt.getTime()),
    ],
  );
  const row = rows[0] as Record<string, unknown>;
  const outcome = row.outcome as 'placed' | 'existing' | 'refused';
  if (outcome === 'existing') return assertSameHold(returnedHoldRow.map(row), input);

  const account = row.account_type === null ? null : lockedAccountStateRow.map({ ...row, id: input.accountId });
  requireAccounts(new Map(account ? [[input.accountId, account]] : []), [input.accountId], input.currency);
  if (input.enforceLimits) {
    checkLimits(effectiveLimits(account!.limits, account!.tierLimits), input.amountMinor, {
      todayMinor: toSafeInt(row.spent_today as string), monthMinor: toSafeInt(row.spent_month as string),
    });
  }
  checkNoOverdraft(account!, -input.amountMinor, account!.heldMinor, new Set());
  if (outcome !== 'placed') throw new LedgerInvariantError(`ledger_place_hold refused a hold the ledger rules accept (${input.idempotencyKey})`);
  return returnedHoldRow.map(row);
}

/**
 * Locks the hold's account, then the hold row. Every writer of a hold locks its account first, so
 * by the time the hold row is read here, earlier writers have committed.
 */
async function lockHold(client: pg.PoolClient, tenantId: string, holdId: string) {
  await lockLedgerAccounts(client, { tenantId, debitIds: [], holdId });
  const { rows } = await client.query(
    prepared('ledger-lock-hold', `SELECT ${holdRow.columns()} FROM holds WHERE id = $2 AND tenant_id = $1 FOR NO KEY UPDATE`),
    [tenantId, holdId],
  );
  if (!rows[0]) throw new LedgerError('hold_missing', `No such hold: ${holdId}`);
  return holdRow.map(rows[0]);
}

/**
 * Turns a hold into a posted transfer to `creditAccountId`, exactly once, in ONE round trip
 * (`ledger_post_hold`, schema/0011 and 0015). The payee's row lock is not waited for: when another write
 * holds it, the credit is left pending — unless the payee has a balance cap: then both accounts are
 * locked in sorted id order and the cap is checked under the payee's lock (`limit_exceeded`). The function returns the hold as it found it; the domain
 * rules re-check it here, so a refusal carries their code and message, and a disagreement between
 * the two (a post the rules refuse) is a bug that rolls the caller's transaction back.
 */
export async function postHold(client: pg.PoolClient, input: PostHoldInput): Promise<PostedTransaction> {
  const transactionId = newId('ledgerTransaction');
  const { rows } = await client.query(
    prepared('ledger-post-hold', 'SELECT * FROM ledger_post_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)'),
    [
      input.tenantId, input.holdId, input.creditAccountId, input.amountMinor ?? null, input.idempotencyKey, input.kind,
      input.referenceId ?? null, transactionId, newId('entry'), newId('entry'),
    ],
  );
  const row = rows[0] as Record<string, unknown>;
  const outcome = row.outcome as 'posted' | 'replayed' | 'hold_missing' | 'refused';
  if (outcome === 'hold_missing') throw new LedgerError('hold_missing', `No such hold: ${input.holdId}`);
  if (outcome === 'replayed') return { transactionId: row.transaction_id as string, replayed: true };

  const hold = returnedHoldRow.map({ ...row, hold_id: input.holdId });
  const amountMinor = input.amountMinor ?? hold.amountMinor;
  const accounts = new Map<string, Pick<Account, 'currency'>>();
  if (row.debit_currency !== null) accounts.set(hold.accountId, { currency: row.debit_currency as string });
  if (row.credit_currency !== null) accounts.set(input.creditAccountId, { currency: row.credit_currency as string });
  checkHoldPostable(hold, amountMinor);
  requireAccounts(accounts, [hold.accountId, input.creditAccountId], hold.currency);
  assertBalanced([
    { accountId: hold.accountId, direction: 'debit', amountMinor },
    { accountId: input.creditAccountId, direction: 'credit', amountMinor },
  ]);
  const capMinor = row.credit_balance_cap === null ? null : toSafeInt(row.credit_balance_cap as string);
  if (capMinor !== null) checkBalanceCap(input.creditAccountId, capMinor, toSafeInt(row.credit_balance as string), amountMinor);
  if (outcome !== 'posted') {
    throw new LedgerInvariantError(`ledger_post_hold refused hold ${hold.id}, which the ledger rules accept`);
  }
  return { transactionId, replayed: false };
}

/** Releases a hold. Voiding a voided hold is a no-op; voiding a posted one is an error. */
export async function voidHold(client: pg.PoolClient, tenantId: string, holdId: string): Promise<Hold> {
  const hold = await lockHold(client, tenantId, holdId);
  if (!needsVoiding(hold)) return hold;
  await releaseHeld(client, hold.accountId, hold.amountMinor);
  const { rows } = await client.query(
    `UPDATE holds SET status = 'voided', resolved_at = now() WHERE id = $1 RETURNING ${holdRow.columns()}`,
    [hold.id],
  );
  return holdRow.map(rows[0]);
}

/**
 * Places many holds on ONE account in one statement (a payroll run's lines at approval): the
 * caller has locked the account (`lockLedgerAccounts`) and checked that it can hold the sum; each
 * hold's key is `<keyPrefix><owner>`, and the account's `held` grows by their sum. Returns the
 * hold id per owner.
 */
export async function placeHoldsOnAccount(
  client: pg.PoolClient,
  input: { tenantId: string; accountId: string; currency: string; keyPrefix: string; holds: readonly { owner: string; amountMinor: number }[] },
): Promise<Map<string, string>> {
  const { rows } = await client.query(
    `WITH h AS (
       INSERT INTO holds (id, tenant_id, account_id, amount, currency, idempotency_key)
       SELECT h.id, $1, $2, h.amount, $3, $4 || h.owner
       FROM unnest($5::text[], $6::text[], $7::bigint[]) AS h(id, owner, amount)
       RETURNING id, amount, idempotency_key),
     a AS (UPDATE accounts SET held = held + (SELECT coalesce(sum(amount), 0) FROM h) WHERE id = $2)
     SELECT id, substr(idempotency_key, length($4) + 1) AS owner FROM h`,
    [
      input.tenantId, input.accountId, input.currency, input.keyPrefix, input.holds.map(() => newId('hold')),
      input.holds.map((h) => h.owner), input.holds.map((h) => h.amountMinor),
    ],
  );
  return new Map(rows.map((r) => [r.owner as string, r.id as string]));
}

/**
 * Voids the active holds among `holdIds`, all on one account, in one statement: `held` drops by
 * their sum (the caller has locked the account). Voided or posted ones are left as they are, as
 * `voidHold` leaves them. Returns how many were voided.
 */
export async function voidHoldsOnAccount(client: pg.PoolClient, accountId: string, holdIds: readonly string[]): Promise<number> {
  const { rows } = await client.query(
    `WITH v AS (
       UPDATE holds SET status = 'voided', resolved_at = now()
       WHERE status = 'active' AND account_id = $1 AND id = ANY($2::text[])
       RETURNING amount),
     a AS (UPDATE accounts SET held = held - (SELECT coalesce(sum(amount), 0) FROM v) WHERE id = $1)
     SELECT count(*)::int AS voided FROM v`,
    [accountId, holdIds],
  );
  return rows[0].voided as number;
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
