import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { RiskAssessment } from '../../domain/risk/types.js';
import type { TransferFailureCode } from '../../domain/wallet/failures.js';
import type { Transfer, TransferStatus } from '../../domain/wallet/types.js';
import { FxQuoteInvalidError } from '../../domain/fx/quotes.js';
import { isUniqueViolation, prepared, toSafeInt, withTransaction, type Db } from '../db.js';
import { appendOutboxEvent } from '../outbox/outbox.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';
import { adoptByRequestKey, releaseExpiredRequestKey, type RequestKey } from '../start-requests.js';
import { claimFxQuote } from './fx-quotes.js';

/**
 * The `transfers` table: the API inserts a transfer `pending`, the P2P workflow's activities record
 * its hold and end it exactly once (`WHERE status IN ('pending', 'in_review')`), succeeded or failed.
 */

export type NewTransfer = Pick<Transfer, 'tenantId' | 'fromAccountId' | 'toAccountId' | 'amountMinor' | 'currency' | 'description'>
  /** Cross-currency only: the quote it claims (`insertOrAdoptQuotedTransfer`) and what it converts to. */
  & Partial<Pick<Transfer, 'quoteId' | 'toCurrency' | 'convertedMinor'>>;

const transferRow = rowMapper<Transfer>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  fromAccountId: col.text('from_account_id'),
  toAccountId: col.text('to_account_id'),
  amountMinor: col.int('amount'),
  currency: col.text('currency'),
  description: col.textOrNull('description'),
  status: col.of<TransferStatus>('status'),
  failureCode: col.ofOrNull<TransferFailureCode>('failure_code'),
  holdId: col.textOrNull('hold_id'),
  transactionId: col.textOrNull('transaction_id'),
  quoteId: col.textOrNull('quote_id'),
  toCurrency: col.textOrNull('to_currency'),
  convertedMinor: col.intOrNull('converted_amount'),
  risk: col.ofOrNull<RiskAssessment>('risk'),
  createdAt: col.timestamp('created_at'),
});

/** Inserts a pending transfer and returns its id (the workflow id derives from it). */
export async function insertTransfer(db: Db, input: NewTransfer): Promise<string> {
  return (await insertOrAdoptTransfer(db, input, { key: null, retentionHours: 0 })).id;
}

/** A transfer whose ledger transaction is already posted (a payroll line): written `succeeded`. */
export interface PostedTransfer {
  id: string;
  toAccountId: string;
  amountMinor: number;
  currency: string;
  holdId: string;
  transactionId: string;
}

/** Many posted transfers from one account, in one statement (the caller's transaction, beside their postings). */
export async function insertPostedTransfers(
  db: Db, input: { tenantId: string; fromAccountId: string; description: string; transfers: readonly PostedTransfer[] },
): Promise<void> {
  const t = input.transfers;
  if (t.length === 0) return;
  await db.query(
    `INSERT INTO transfers (id, tenant_id, from_account_id, to_account_id, amount, currency, description, status, hold_id, transaction_id)
     SELECT t.id, $1, $2, t.to_account_id, t.amount, t.currency, $3, 'succeeded', t.hold_id, t.transaction_id
     FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[]) AS t(id, to_account_id, amount, currency, hold_id, transaction_id)`,
    [
      input.tenantId, input.fromAccountId, input.description, t.map((x) => x.id), t.map((x) => x.toAccountId), t.map((x) => x.amountMinor),
      t.map((x) => x.currency), t.map((x) => x.holdId), t.map((x) => x.transactionId),
    ],
  );
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
    `INSERT INTO transfers (id, tenant_id, from_account_id, to_account_id, amount, currency, description, request_key,
                            quote_id, to_currency, converted_amount)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (tenant_id, request_key) DO NOTHING`,
    [
      id, input.tenantId, input.fromAccountId, input.toAccountId, input.amountMinor, input.currency, input.description, requestKey.key,
      input.quoteId ?? null, input.toCurrency ?? null, input.convertedMinor ?? null,
    ],
  );
  if (inserted.rowCount === 1) return { id, adopted: false, sameRequest: true };
  const { row: existing } = await adoptByRequestKey(db, 'transfers', input.tenantId, requestKey.key, (id) => findTransfer(db, input.tenantId, id));
  const sameRequest = existing.fromAccountId === input.fromAccountId && existing.toAccountId === input.toAccountId
    && existing.amountMinor === input.amountMinor && existing.currency === input.currency && existing.description === input.description
    && existing.quoteId === (input.quoteId ?? null);
  return { id: existing.id, adopted: true, sameRequest };
}

/**
 * `insertOrAdoptTransfer` for a transfer between two currencies, in ONE transaction with the claim
 * of its quote: a new transfer claims `input.quoteId` (unused, unexpired) or nothing is written and
 * `FxQuoteInvalidError` is thrown. A retry with the same request key adopts the first attempt's
 * transfer, which claimed the quote in its own insert: it is not refused for that quote being used.
 */
export async function insertOrAdoptQuotedTransfer(pool: pg.Pool, input: NewTransfer & { quoteId: string }, requestKey: RequestKey): Promise<InsertedOrAdopted> {
  try {
    return await withTransaction(pool, async (client) => {
      const written = await insertOrAdoptTransfer(client, input, requestKey);
      if (!written.adopted && !(await claimFxQuote(client, input.tenantId, input.quoteId, written.id))) {
        throw new FxQuoteInvalidError(input.quoteId);
      }
      return written;
    });
  } catch (err) {
    // Another transfer (another request key) holds the quote already, or its insert committed
    // while this one waited for it: `transfers_one_per_quote` (schema/0016) refuses the row.
    if (isUniqueViolation(err, 'transfers_one_per_quote')) throw new FxQuoteInvalidError(input.quoteId);
    throw err;
  }
}

/** What a cross-currency transfer converts (its post goes through the FX accounts); null when same-currency. */
export async function findTransferConversion(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query(
    prepared('transfer-conversion', `SELECT amount, currency, to_currency, converted_amount FROM transfers
     WHERE id = $1 AND tenant_id = $2 AND quote_id IS NOT NULL`),
    [id, tenantId],
  );
  if (!rows[0]) return null;
  return {
    amountMinor: toSafeInt(rows[0].amount as string), currency: rows[0].currency as string,
    toCurrency: rows[0].to_currency as string, convertedMinor: toSafeInt(rows[0].converted_amount as string),
  };
}

export async function findTransfer(db: Db, tenantId: string, id: string): Promise<Transfer | null> {
  const { rows } = await db.query(`SELECT ${transferRow.columns()} FROM transfers WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return rows[0] ? transferRow.map(rows[0]) : null;
}

export interface TransferFilter {
  /** Either side: transfers from or to this account. */
  accountId?: string | undefined;
  status?: TransferStatus | undefined;
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

/**
 * Records the risk verdict of a pending transfer (contract §8), once: a retried scoring step gets
 * the verdict recorded first, so the transfer never shows two scores.
 */
export async function setTransferRisk(db: Db, transferId: string, risk: RiskAssessment): Promise<RiskAssessment> {
  const { rows } = await db.query(
    `UPDATE transfers SET risk = coalesce(risk, $2::jsonb), updated_at = now() WHERE id = $1 RETURNING risk`,
    [transferId, JSON.stringify(risk)],
  );
  return rows[0].risk as RiskAssessment;
}

/** A pending transfer waits for its review (funds held): `in_review` until the review is decided. */
export async function markTransferInReview(db: Db, transferId: string): Promise<void> {
  await db.query(`UPDATE transfers SET status = 'in_review', updated_at = now() WHERE id = $1 AND status = 'pending'`, [transferId]);
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
     WHERE id = $1 AND status IN ('pending', 'in_review')
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
      // A conversion: what the payee got (a same-currency transfer's payload is unchanged).
      ...(transfer.quoteId ? { to_currency: transfer.toCurrency, converted_amount: transfer.convertedMinor, quote_id: transfer.quoteId } : {}),
    },
  });
}

/** Ends a pending transfer failed (a transfer that already ended is left alone). */
export async function failTransfer(db: Db, transferId: string, failureCode: TransferFailureCode): Promise<void> {
  await db.query(
    `UPDATE transfers SET status = 'failed', failure_code = $2, updated_at = now() WHERE id = $1 AND status IN ('pending', 'in_review')`,
    [transferId, failureCode],
  );
}

/** A tenant's transfers counted by status (benchmarks' summary). */
export async function countTransfersByStatus(db: Db, tenantId: string): Promise<{ status: TransferStatus; count: number }[]> {
  const { rows } = await db.query(
    `SELECT status, count(*)::int AS n FROM transfers WHERE tenant_id = $1 GROUP BY status ORDER BY status`, [tenantId],
  );
  return rows.map((row) => ({ status: row.status as TransferStatus, count: row.n as number }));
}
