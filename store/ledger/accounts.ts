import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { Account, AccountLimits, AccountType } from '../../domain/ledger/types.js';
import { prepared, type Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/** The `accounts` table: live balances (`balance`, `held`) kept by the ledger writes under row locks. */

export interface NewAccount {
  tenantId: string;
  type: AccountType;
  currency: string;
  ownerId?: string | null;
  limits?: Partial<AccountLimits>;
  metadata?: Record<string, string>;
}

const perTransactionMax = col.intOrNull('per_transaction_max');
const dailyDebitMax = col.intOrNull('daily_debit_max');

export const accountRow = rowMapper<Account>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  type: col.of<AccountType>('type'),
  currency: col.text('currency'),
  ownerId: col.textOrNull('owner_id'),
  limits: col.combined(['per_transaction_max', 'daily_debit_max'], (row) => ({
    per_transaction_max: perTransactionMax.read(row),
    daily_debit_max: dailyDebitMax.read(row),
  })),
  metadata: col.custom('metadata', (v) => (v as Record<string, string> | null | undefined) ?? {}),
  balanceMinor: col.int('balance'),
  heldMinor: col.int('held'),
  createdAt: col.timestamp('created_at'),
});

export async function insertAccount(db: Db, input: NewAccount): Promise<Account> {
  const { rows } = await db.query(
    `INSERT INTO accounts (id, tenant_id, type, currency, owner_id, per_transaction_max, daily_debit_max, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${accountRow.columns()}`,
    [
      newId('account'), input.tenantId, input.type, input.currency, input.ownerId ?? null,
      input.limits?.per_transaction_max ?? null, input.limits?.daily_debit_max ?? null, input.metadata ?? {},
    ],
  );
  return accountRow.map(rows[0]);
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

/**
 * Locks the given accounts of one tenant in sorted id order (the one lock order everywhere, so
 * concurrent ledger writes never deadlock) and returns them by id.
 */
export async function lockAccounts(
  client: pg.PoolClient,
  tenantId: string,
  accountIds: string[],
): Promise<Map<string, Account>> {
  const sorted = [...new Set(accountIds)].sort();
  const { rows } = await client.query(
    prepared('ledger-lock-accounts', `SELECT ${accountRow.columns()} FROM accounts WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR NO KEY UPDATE`),
    [tenantId, sorted],
  );
  return new Map(rows.map((row) => [row.id as string, accountRow.map(row)]));
}

/** Gives back a voided hold's funds: lowers `held` of its (locked) account. */
export async function releaseHeld(client: pg.PoolClient, accountId: string, amountMinor: number): Promise<void> {
  await client.query('UPDATE accounts SET held = held - $2 WHERE id = $1', [accountId, amountMinor]);
}

/** The per-tenant, per-currency system account that funds top-ups (the only one allowed below zero). */
export async function ensureSystemAccount(db: Db, tenantId: string, currency: string): Promise<string> {
  const found = await db.query(`SELECT id FROM accounts WHERE tenant_id = $1 AND currency = $2 AND type = 'system'`, [
    tenantId,
    currency,
  ]);
  if (found.rows[0]) return found.rows[0].id as string;
  await db.query(
    `INSERT INTO accounts (id, tenant_id, type, currency, metadata) VALUES ($1, $2, 'system', $3, '{"purpose":"funding"}')
     ON CONFLICT (tenant_id, currency) WHERE type = 'system' DO NOTHING`,
    [newId('account'), tenantId, currency],
  );
  const { rows } = await db.query(`SELECT id FROM accounts WHERE tenant_id = $1 AND currency = $2 AND type = 'system'`, [
    tenantId,
    currency,
  ]);
  return rows[0].id as string;
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
