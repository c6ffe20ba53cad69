import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { TransferFailureCode } from '../../domain/wallet/failures.js';
import type { Transfer, WalletOperationStatus } from '../../domain/wallet/types.js';
import type { Db } from '../db.js';
import { appendOutboxEvent } from '../outbox/outbox.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';
import { adoptByRequestKey, releaseExpiredRequestKey, type RequestKey } from '../start-requests.js';

/**
 * The `transfers` table: the API inserts a transfer `pending`, the P2P workflow's activities record
 * its hold and end it exactly once (`WHERE status = 'pending'`), succeeded or failed.
 */

export type NewTransfer = Pick<Transfer, 'tenantId' | 'fromAccountId' | 'toAccountId' | 'amountMinor' | 'currency' | 'description'>;

const transferRow = rowMapper<Transfer>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  fromAccountId: col.text('from_account_id'),
  toAccountId: col.text('to_account_id'),
  amountMinor: col.int('amount'),
  currency: col.text('currency'),
  description: col.textOrNull('description'),
  status: col.of<WalletOperationStatus>('status'),
  failureCode: col.ofOrNull<TransferFailureCode>('failure_code'),
  holdId: col.textOrNull('hold_id'),
  transactionId: col.textOrNull('transaction_id'),
  createdAt: col.timestamp('created_at'),
});

/** Inserts a pending transfer and returns its id (the workflow id derives from it). */
export async function insertTransfer(db: Db, input: NewTransfer): Promise<string> {
  return (await insertOrAdoptTransfer(db, input, { key: null, retentionHours: 0 })).id;
}

/** What insert-or-adopt did: `adopted` when the key's first attempt had written the row. */
export interface InsertedOrAdopted {
  id: string;
  adopted: boolean;
  /** False when the adopted row was written for another request (other accounts, amount, …). */
  sameRequest: boolean;
}

/**
 * Inserts a pending transfer, or, when a transfer of the tenant already carries this request key
 * (an earlier attempt of the same request: it may have a run already), returns that one. One
 * transfer per key, so one workflow id: a retry never moves money a second time.
 */
export async function insertOrAdoptTransfer(db: Db, input: NewTransfer, requestKey: RequestKey): Promise<InsertedOrAdopted> {
  if (requestKey.key !== null) await releaseExpiredRequestKey(db, 'transfers', input.tenantId, requestKey.key, requestKey.retentionHours);
  const id = newId('transfer');
  const inserted = await db.query(
    `INSERT INTO transfers (id, tenant_id, from_account_id, to_account_id, amount, currency, description, request_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, request_key) DO NOTHING`,
    [id, input.tenantId, input.fromAccountId, input.toAccountId, input.amountMinor, input.currency, input.description, requestKey.key],
  );
  if (inserted.rowCount === 1) return { id, adopted: false, sameRequest: true };
  const { row: existing } = await adoptByRequestKey(db, 'transfers', input.tenantId, requestKey.key, (id) => findTransfer(db, input.tenantId, id));
  const sameRequest = existing.fromAccountId === input.fromAccountId && existing.toAccountId === input.toAccountId
    && existing.amountMinor === input.amountMinor && existing.currency === input.currency && existing.description === input.description;
  return { id: existing.id, adopted: true, sameRequest };
}

export async function findTransfer(db: Db, tenantId: string, id: string): Promise<Transfer | null> {
  const { rows } = await db.query(`SELECT ${transferRow.columns()} FROM transfers WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return rows[0] ? transferRow.map(rows[0]) : null;
}

export interface TransferFilter {
  /** Either side: transfers from or to this account. */
  accountId?: string | undefined;
  status?: WalletOperationStatus | undefined;
  createdGte?: Date | undefined;
  createdLt?: Date | undefined;
}

/** A tenant's transfers, newest first, filtered (contract §2 "History"). */
export async function listTransfers(db: Db, tenantId: string, filter: TransferFilter, page: PageQuery): Promise<ListPage<Transfer>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${transferRow.columns()} FROM transfers
     WHERE tenant_id = $1 AND ($2::text IS NULL OR from_account_id = $2 OR to_account_id = $2)
       AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)
       AND ($5::timestamptz IS NULL OR created_at < $5) AND ($6::text IS NULL OR id < $6)
     ORDER BY id DESC LIMIT $7`,
    [tenantId, filter.accountId ?? null, filter.status ?? null, filter.createdGte ?? null, filter.createdLt ?? null, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, transferRow.map);
}

/**
 * Removes a transfer whose workflow never started: nothing happened (no hold), so nothing stays
 * behind and the client may retry.
 */
export async function deleteUnstartedTransfer(db: Db, id: string): Promise<void> {
  await db.query(`DELETE FROM transfers WHERE id = $1 AND status = 'pending' AND hold_id IS NULL`, [id]);
}

/** Records the hold placed for the transfer (in the transaction that places it). */
export async function setTransferHold(db: Db, transferId: string, holdId: string): Promise<void> {
  await db.query('UPDATE transfers SET hold_id = $2, updated_at = now() WHERE id = $1', [transferId, holdId]);
}

/**
 * Marks a pending transfer succeeded and appends its `transfer.succeeded` event, in the caller's
 * transaction (the one that posts the hold): the change and its event commit together, and the
 * relay delivers the event later. A transfer that is no longer pending is left alone, with no event.
 */
export async function succeedTransfer(client: pg.PoolClient, transferId: string, transactionId: string): Promise<void> {
  const { rows } = await client.query(
    `UPDATE transfers SET status = 'succeeded', transaction_id = $2, updated_at = now()
     WHERE id = $1 AND status = 'pending'
     RETURNING ${transferRow.columns()}`,
    [transferId, transactionId],
  );
  if (!rows[0]) return;
  const transfer = transferRow.map(rows[0]);
  await appendOutboxEvent(client, {
    tenantId: transfer.tenantId,
    topic: 'transfer.succeeded',
    idempotencyKey: `transfer.succeeded:${transfer.id}`,
    payload: {
      transfer_id: transfer.id, from_account_id: transfer.fromAccountId, to_account_id: transfer.toAccountId,
      amount: transfer.amountMinor, currency: transfer.currency, description: transfer.description, status: 'succeeded',
    },
  });
}

/** Ends a pending transfer failed (a transfer that already ended is left alone). */
export async function failTransfer(db: Db, transferId: string, failureCode: TransferFailureCode): Promise<void> {
  await db.query(
    `UPDATE transfers SET status = 'failed', failure_code = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`,
    [transferId, failureCode],
  );
}

/** A tenant's transfers counted by status (benchmarks' summary). */
export async function countTransfersByStatus(db: Db, tenantId: string): Promise<{ status: WalletOperationStatus; count: number }[]> {
  const { rows } = await db.query(
    `SELECT status, count(*)::int AS n FROM transfers WHERE tenant_id = $1 GROUP BY status ORDER BY status`, [tenantId],
  );
  return rows.map((row) => ({ status: row.status as WalletOperationStatus, count: row.n as number }));
}
