import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { Account, AccountLimits, AccountType, KycLevel } from '../../domain/ledger/types.js';
import { prepared, toSafeInt, type Db } from '../db.js';
import { col, rowMapper, type Column } from '../rows.js';

/**
 * The `accounts` table: live balances (`balance`, `held`) kept by the ledger writes under row locks.
 * A credit that found its account's row lock taken waits in `ledger_pending_credits` until the next
 * lock holder folds it in (schema/0011): every read here returns `balance` plus those credits.
 */

export interface NewAccount {
  tenantId: string;
  type: AccountType;
  currency: string;
  ownerId?: string | null;
  kycLevel?: KycLevel;
  limits?: Partial<AccountLimits>;
  metadata?: Record<string, string>;
}

const LIMIT_COLUMNS = ['per_transaction_max', 'daily_debit_max', 'monthly_debit_max', 'balance_max'] as const;
/** Limits from their four columns, each name with `prefix` (`tier_`: what `ledger_place_hold` returns of the tier). */
export function limitsColumn(prefix = '') {
  const [perTransaction, daily, monthly, balance] = LIMIT_COLUMNS.map((name) => col.intOrNull(`${prefix}${name}`));
  return col.combined(LIMIT_COLUMNS.map((name) => `${prefix}${name}`), (row): AccountLimits => ({
    per_transaction_max: perTransaction!.read(row),
    daily_debit_max: daily!.read(row),
    monthly_debit_max: monthly!.read(row),
    balance_max: balance!.read(row),
  }));
}
/** An account's own limits, from its four columns. */
export const accountLimitsColumn = limitsColumn();

/** The balance a reader sees: the stored one plus the credits not folded in yet (one index probe). */
const balanceWithPendingCredits: Column<number> = {
  names: ['balance'],
  select: (alias) => {
    const account = alias ?? 'accounts';
    return `${account}.balance + coalesce((SELECT sum(p.amount) FROM ledger_pending_credits p WHERE p.account_id = ${account}.id), 0) AS balance`;
  },
  read: (row) => toSafeInt(row.balance as string),
};

const accountFields = {
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  type: col.of<AccountType>('type'),
  currency: col.text('currency'),
  ownerId: col.textOrNull('owner_id'),
  kycLevel: col.of<KycLevel>('kyc_level'),
  limits: accountLimitsColumn,
  metadata: col.custom('metadata', (v) => (v as Record<string, string> | null | undefined) ?? {}),
  balanceMinor: balanceWithPendingCredits,
  heldMinor: col.int('held'),
  createdAt: col.timestamp('created_at'),
};
export const accountRow = rowMapper<Account>(accountFields);

export async function insertAccount(db: Db, input: NewAccount): Promise<Account> {
  const { rows } = await db.query(
    `INSERT INTO accounts (id, tenant_id, type, currency, owner_id, per_transaction_max, daily_debit_max, metadata,
                           kyc_level, monthly_debit_max, balance_max)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${accountRow.columns()}`,
    [
      newId('account'), input.tenantId, input.type, input.currency, input.ownerId ?? null,
      input.limits?.per_transaction_max ?? null, input.limits?.daily_debit_max ?? null, input.metadata ?? {},
      input.kycLevel ?? 'none', input.limits?.monthly_debit_max ?? null, input.limits?.balance_max ?? null,
    ],
  );
  return accountRow.map(rows[0]);
}

/** What an account update changes (Stripe-style): a field left out keeps its value; a limit set to null is lifted. */
export interface AccountChanges {
  kycLevel?: KycLevel;
  limits?: Partial<AccountLimits>;
}

/**
 * Updates a tenant's user or merchant account's KYC level and limits; null when there is no such
 * account. One UPDATE: it waits for the account's row lock, so a ledger write in flight finishes
 * under the old limits and the next one reads the new (limits are never cached).
 */
export async function updateAccount(db: Db, tenantId: string, accountId: string, changes: AccountChanges): Promise<Account | null> {
  const limits = changes.limits ?? {};
  const given = (name: keyof AccountLimits) => limits[name] !== undefined;
  const { rows } = await db.query(
    `UPDATE accounts SET
       kyc_level = coalesce($3, kyc_level),
       per_transaction_max = CASE WHEN $4 THEN $5::bigint ELSE per_transaction_max END,
       daily_debit_max = CASE WHEN $6 THEN $7::bigint ELSE daily_debit_max END,
       monthly_debit_max = CASE WHEN $8 THEN $9::bigint ELSE monthly_debit_max END,
       balance_max = CASE WHEN $10 THEN $11::bigint ELSE balance_max END
     WHERE id = $1 AND tenant_id = $2 AND type <> 'system' RETURNING ${accountRow.columns()}`,
    [
      accountId, tenantId, changes.kycLevel ?? null,
      given('per_transaction_max'), limits.per_transaction_max ?? null,
      given('daily_debit_max'), limits.daily_debit_max ?? null,
      given('monthly_debit_max'), limits.monthly_debit_max ?? null,
      given('balance_max'), limits.balance_max ?? null,
    ],
  );
  return rows[0] ? accountRow.map(rows[0]) : null;
}

/** Reads live balances straight from PostgreSQL (balances are never cached). */
export async function findAccount(db: Db, tenantId: string, accountId: string): Promise<Account | null> {
  const { rows } = await db.query(`SELECT ${accountRow.columns()} FROM accounts WHERE id = $1 AND tenant_id = $2`, [
    accountId,
    tenantId,
  ]);
  return rows[0] ? accountRow.map(rows[0]) : null;
}

/**
 * The tenant of an account, whatever the tenant: for callers that know only the account id (the
 * wallet as a payment processor, whose token is the account id). Null when there is no such account.
 */
export async function findAccountTenantId(db: Db, accountId: string): Promise<string | null> {
  const { rows } = await db.query('SELECT tenant_id FROM accounts WHERE id = $1', [accountId]);
  return (rows[0]?.tenant_id as string | undefined) ?? null;
}

/** An account read under `ledgerLockAccounts`: `locked` ones may be updated, the others only credited. */
export interface LockedAccount extends Account {
  locked: boolean;
  /** Its effective balance cap (`ledger_balance_cap`, schema/0015; null: none). An account with one is always locked. */
  balanceCapMinor: number | null;
}

/** The accounts of one ledger write: what to lock and wait for, and what to lock only if free. */
export interface LockRequest {
  tenantId: string;
  /** Debited (or otherwise changed) accounts: locked in sorted id order, waiting for each. */
  debitIds: readonly string[];
  /** Credited-only accounts: locked when free, else credited through pending credits. */
  creditIds?: readonly string[];
  /** A hold whose account is locked like a debited one. */
  holdId?: string;
}

/** `ledger_lock_accounts` computes the balance itself (stored for locked rows, with pending for the others). */
const lockedAccountRow = rowMapper<LockedAccount>({
  ...accountFields, balanceMinor: col.int('balance'), locked: col.bool('locked'), balanceCapMinor: col.intOrNull('balance_cap'),
});

/**
 * Locks a ledger write's accounts in ONE round trip (`ledger_lock_accounts`, schema/0011): the
 * debited ones in sorted id order (the one lock order everywhere, so concurrent ledger writes never
 * deadlock), the credited-only ones only if their lock is free (a hot payee does not serialize
 * its payers) — unless they have a balance cap (schema/0015): those are waited for in the same
 * sorted order, so the cap is checked under their lock — and folds the locked accounts' pending credits into their stored balance. Returns
 * the tenant's accounts among them by id; a locked account's `balanceMinor` is what it may spend.
 */
export async function lockLedgerAccounts(client: pg.PoolClient, request: LockRequest): Promise<Map<string, LockedAccount>> {
  const { rows } = await client.query(
    prepared('ledger-lock-accounts', 'SELECT * FROM ledger_lock_accounts($1, $2::text[], $3::text[], $4)'),
    [request.tenantId, [...new Set(request.debitIds)].sort(), [...new Set(request.creditIds ?? [])].sort(), request.holdId ?? null],
  );
  return new Map(rows.map((row) => [row.id as string, lockedAccountRow.map(row)]));
}

/** The accounts a write may only credit through pending credits (their lock was taken). */
export function unlockedIds(accounts: Map<string, LockedAccount>): Set<string> {
  return new Set([...accounts.values()].filter((a) => !a.locked).map((a) => a.id));
}

/** Gives back a voided hold's funds: lowers `held` of its (locked) account. */
export async function releaseHeld(client: pg.PoolClient, accountId: string, amountMinor: number): Promise<void> {
  await client.query('UPDATE accounts SET held = held - $2 WHERE id = $1', [accountId, amountMinor]);
}

/**
 * A tenant's system accounts per currency (the only kind allowed below zero), one per purpose:
 * `funding` (owner_id NULL) funds top-ups; `fx` (owner_id 'fx') holds the house's position in a
 * currency for conversions (store/ledger/fx-post.ts). Each purpose has its own unique partial index
 * (schema/0016), named by the same predicate here.
 */
export type SystemAccountPurpose = 'funding' | 'fx';
const SYSTEM_ACCOUNT_OWNER: Record<SystemAccountPurpose, { owner: string | null; predicate: string }> = {
  funding: { owner: null, predicate: 'owner_id IS NULL' },
  fx: { owner: 'fx', predicate: "owner_id = 'fx'" },
};

/** The tenant's system account of `purpose` for `currency`, created on first use (concurrent creators get the one row). */
export async function ensureSystemAccount(db: Db, tenantId: string, currency: string, purpose: SystemAccountPurpose = 'funding'): Promise<string> {
  const { owner, predicate } = SYSTEM_ACCOUNT_OWNER[purpose];
  const find = () => db.query(`SELECT id FROM accounts WHERE tenant_id = $1 AND currency = $2 AND type = 'system' AND ${predicate}`, [tenantId, currency]);
  const found = await find();
  if (found.rows[0]) return found.rows[0].id as string;
  await db.query(
    `INSERT INTO accounts (id, tenant_id, type, currency, owner_id, metadata) VALUES ($1, $2, 'system', $3, $4, $5)
     ON CONFLICT (tenant_id, currency) WHERE type = 'system' AND ${predicate} DO NOTHING`,
    [newId('account'), tenantId, currency, owner, { purpose }],
  );
  return (await find()).rows[0].id as string;
}

/**
 * Account id → its owner (null: it has none) for the tenant's accounts among `accountIds`; an id
 * that is not one of the tenant's accounts is absent. Who hears of a transfer.
 */
export async function accountOwners(db: Db, tenantId: string, accountIds: unknown[]): Promise<Map<string, string | null>> {
  const { rows } = await db.query<{ id: string; owner_id: string | null }>(
    'SELECT id, owner_id FROM accounts WHERE id = ANY($1) AND tenant_id = $2',
    [accountIds, tenantId],
  );
  return new Map(rows.map((row) => [row.id, row.owner_id]));
}

/** How many credits wait to be folded into their account's stored balance, over all tenants (benchmarks' summary). */
export async function countPendingCredits(db: Db): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM ledger_pending_credits');
  return rows[0].n as number;
}
