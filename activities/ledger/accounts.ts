import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { prepared, toSafeInt, type Db } from '../../platform/db.js';

export type AccountType = 'user' | 'merchant' | 'system';

export interface AccountLimits {
  per_transaction_max: number | null;
  daily_debit_max: number | null;
}

export interface Account {
  id: string;
  tenantId: string;
  type: AccountType;
  currency: string;
  ownerId: string | null;
  limits: AccountLimits;
  metadata: Record<string, string>;
  balanceMinor: number;
  heldMinor: number;
  createdAt: Date;
}

export interface NewAccount {
  tenantId: string;
  type: AccountType;
  currency: string;
  ownerId?: string | null;
  limits?: Partial<AccountLimits>;
  metadata?: Record<string, string>;
}

export const ACCOUNT_COLUMNS =
  'id, tenant_id, type, currency, owner_id, per_transaction_max, daily_debit_max, metadata, balance, held, created_at';

export function toAccount(row: Record<string, unknown>): Account {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    type: row.type as AccountType,
    currency: row.currency as string,
    ownerId: (row.owner_id as string | null) ?? null,
    limits: {
      per_transaction_max: row.per_transaction_max == null ? null : toSafeInt(row.per_transaction_max as string),
      daily_debit_max: row.daily_debit_max == null ? null : toSafeInt(row.daily_debit_max as string),
    },
    metadata: (row.metadata as Record<string, string>) ?? {},
    balanceMinor: toSafeInt(row.balance as string),
    heldMinor: toSafeInt(row.held as string),
    createdAt: row.created_at as Date,
  };
}

export async function insertAccount(db: Db, input: NewAccount): Promise<Account> {
  const { rows } = await db.query(
    `INSERT INTO accounts (id, tenant_id, type, currency, owner_id, per_transaction_max, daily_debit_max, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${ACCOUNT_COLUMNS}`,
    [
      newId('account'), input.tenantId, input.type, input.currency, input.ownerId ?? null,
      input.limits?.per_transaction_max ?? null, input.limits?.daily_debit_max ?? null, input.metadata ?? {},
    ],
  );
  return toAccount(rows[0]);
}

/** Reads live balances straight from PostgreSQL (balances are never cached). */
export async function findAccount(db: Db, tenantId: string, accountId: string): Promise<Account | null> {
  const { rows } = await db.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND tenant_id = $2`, [
    accountId,
    tenantId,
  ]);
  return rows[0] ? toAccount(rows[0]) : null;
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
    prepared('ledger-lock-accounts', `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR NO KEY UPDATE`),
    [tenantId, sorted],
  );
  return new Map(rows.map((row) => [row.id as string, toAccount(row)]));
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

export interface Entry {
  id: string;
  transactionId: string;
  direction: 'debit' | 'credit';
  amountMinor: number;
  currency: string;
  createdAt: Date;
}

/** Newest first; `startingAfter` is the last entry id of the previous page. */
export async function listEntries(
  db: Db,
  accountId: string,
  page: { limit: number; startingAfter?: string | undefined },
): Promise<{ data: Entry[]; hasMore: boolean }> {
  const { rows } = await db.query(
    `SELECT id, transaction_id, direction, amount, currency, created_at FROM ledger_entries
     WHERE account_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [accountId, page.startingAfter ?? null, page.limit + 1],
  );
  const data = rows.slice(0, page.limit).map((r) => ({
    id: r.id as string,
    transactionId: r.transaction_id as string,
    direction: r.direction as 'debit' | 'credit',
    amountMinor: toSafeInt(r.amount as string),
    currency: r.currency as string,
    createdAt: r.created_at as Date,
  }));
  return { data, hasMore: rows.length > page.limit };
}
