import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { TopUpFailureCode } from '../../domain/wallet/failures.js';
import type { TopUp, WalletOperationStatus } from '../../domain/wallet/types.js';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

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
  const id = newId('topup');
  await db.query(
    `INSERT INTO topups (id, tenant_id, account_id, amount, currency, source_type, source_token)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [id, input.tenantId, input.accountId, input.amountMinor, input.currency, input.source.type, input.source.token],
  );
  return id;
}

export async function findTopUp(db: Db, tenantId: string, id: string): Promise<TopUp | null> {
  const { rows } = await db.query(`SELECT ${topUpRow.columns()} FROM topups WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return rows[0] ? topUpRow.map(rows[0]) : null;
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
