import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { TopUpFailureCode } from '../../domain/wallet/failures.js';
import type { TopUp, WalletOperationStatus } from '../../domain/wallet/types.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';
import { adoptByRequestKey, releaseExpiredRequestKey, type RequestKey } from '../start-requests.js';
import type { InsertedOrAdopted } from './transfers.js';

/**
 * The `topups` table: the API inserts a top-up `pending`, the top-up workflow's activities end it
 * exactly once (`WHERE status = 'pending'`), succeeded or failed.
 */

export interface NewTopUp {
  tenantId: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  source: { type: 'bank_account'; token: string };
}

const topUpRow = rowMapper<TopUp>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  accountId: col.text('account_id'),
  amountMinor: col.int('amount'),
  currency: col.text('currency'),
  sourceType: col.of<TopUp['sourceType']>('source_type'),
  status: col.of<WalletOperationStatus>('status'),
  failureCode: col.ofOrNull<TopUpFailureCode>('failure_code'),
  bankReference: col.textOrNull('bank_reference'),
  transactionId: col.textOrNull('transaction_id'),
  createdAt: col.timestamp('created_at'),
});

/** Inserts a pending top-up and returns its id (the workflow id derives from it). */
export async function insertTopUp(db: Db, input: NewTopUp): Promise<string> {
  return (await insertOrAdoptTopUp(db, input, { key: null, retentionHours: 0 })).id;
}

/**
 * Inserts a pending top-up, or returns the tenant's top-up that already carries this request key
 * (an earlier attempt of the same request): one top-up per key, so one run, one credit.
 */
export async function insertOrAdoptTopUp(db: Db, input: NewTopUp, requestKey: RequestKey): Promise<InsertedOrAdopted> {
  if (requestKey.key !== null) await releaseExpiredRequestKey(db, 'topups', input.tenantId, requestKey.key, requestKey.retentionHours);
  const id = newId('topup');
  const inserted = await db.query(
    `INSERT INTO topups (id, tenant_id, account_id, amount, currency, source_type, source_token, request_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, request_key) DO NOTHING`,
    [id, input.tenantId, input.accountId, input.amountMinor, input.currency, input.source.type, input.source.token, requestKey.key],
  );
  if (inserted.rowCount === 1) return { id, adopted: false, sameRequest: true };
  const { id: existingId, row: existing } = await adoptByRequestKey(
    db, 'topups', input.tenantId, requestKey.key, (existingId) => findTopUpStart(db, input.tenantId, existingId),
  );
  const sameRequest = existing.accountId === input.accountId && existing.amountMinor === input.amountMinor
    && existing.currency === input.currency && existing.source.type === input.source.type && existing.source.token === input.source.token;
  return { id: existingId, adopted: true, sameRequest };
}

/** What the top-up workflow is started with, read back from the row (the start reconciler's input). */
export async function findTopUpStart(db: Db, tenantId: string, id: string): Promise<NewTopUp | null> {
  const { rows } = await db.query(
    `SELECT tenant_id, account_id, amount, currency, source_type, source_token FROM topups WHERE id = $1 AND tenant_id = $2`,
    [id, tenantId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    tenantId: row.tenant_id as string, accountId: row.account_id as string, amountMinor: Number(row.amount),
    currency: row.currency as string, source: { type: row.source_type as 'bank_account', token: row.source_token as string },
  };
}

export async function findTopUp(db: Db, tenantId: string, id: string): Promise<TopUp | null> {
  const { rows } = await db.query(`SELECT ${topUpRow.columns()} FROM topups WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return rows[0] ? topUpRow.map(rows[0]) : null;
}

/** A tenant's top-ups, newest first, by account and status (contract §2 "History"). */
export async function listTopUps(
  db: Db, tenantId: string, filter: { accountId?: string | undefined; status?: WalletOperationStatus | undefined }, page: PageQuery,
): Promise<ListPage<TopUp>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${topUpRow.columns()} FROM topups
     WHERE tenant_id = $1 AND ($2::text IS NULL OR account_id = $2) AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR id < $4)
     ORDER BY id DESC LIMIT $5`,
    [tenantId, filter.accountId ?? null, filter.status ?? null, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, topUpRow.map);
}

/** Removes a top-up whose workflow never started: nothing happened, so the client may retry. */
export async function deleteUnstartedTopUp(db: Db, id: string): Promise<void> {
  await db.query(`DELETE FROM topups WHERE id = $1 AND status = 'pending'`, [id]);
}

/** Marks a pending top-up succeeded, in the caller's transaction (the one that books the credit). */
export async function succeedTopUp(
  client: pg.PoolClient,
  topupId: string,
  bankReference: string,
  transactionId: string,
): Promise<void> {
  await client.query(
    `UPDATE topups SET status = 'succeeded', bank_reference = $2, transaction_id = $3, updated_at = now()
     WHERE id = $1 AND status = 'pending'`,
    [topupId, bankReference, transactionId],
  );
}

/** Ends a pending top-up failed (a top-up that already ended is left alone). */
export async function failTopUp(db: Db, topupId: string, failureCode: TopUpFailureCode): Promise<void> {
  await db.query(
    `UPDATE topups SET status = 'failed', failure_code = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`,
    [topupId, failureCode],
  );
}
