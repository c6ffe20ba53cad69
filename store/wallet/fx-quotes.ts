import type pg from 'pg';
import type { FxQuote } from '../../domain/fx/quotes.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `fx_quotes` table (schema/0016): a quote is written once and claimed by at most one
 * transfer, in the transaction that inserts the transfer (`claimFxQuote`), while it is unexpired.
 */

export type NewFxQuote = Pick<FxQuote, 'tenantId' | 'fromCurrency' | 'toCurrency' | 'amountMinor' | 'convertedMinor' | 'rate' | 'providerRate' | 'spreadBps' | 'ratesAsOf'>;

const quoteRow = rowMapper<FxQuote>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  fromCurrency: col.text('from_currency'),
  toCurrency: col.text('to_currency'),
  amountMinor: col.int('amount'),
  convertedMinor: col.int('converted_amount'),
  rate: col.text('rate'),
  providerRate: col.text('provider_rate'),
  spreadBps: col.int('spread_bps'),
  ratesAsOf: col.timestamp('rates_as_of'),
  expiresAt: col.timestamp('expires_at'),
  usedByTransferId: col.textOrNull('used_by_transfer_id'),
  usedAt: col.of<Date | null>('used_at'),
  createdAt: col.timestamp('created_at'),
});

/** Writes a quote valid for `ttlMs` from now (the database's clock, as the claim's). */
export async function insertFxQuote(db: Db, input: NewFxQuote, ttlMs: number): Promise<FxQuote> {
  const { rows } = await db.query(
    `INSERT INTO fx_quotes (id, tenant_id, from_currency, to_currency, amount, converted_amount, rate, provider_rate, spread_bps,
                            rates_as_of, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11::double precision / 1000))
     RETURNING ${quoteRow.columns()}`,
    [
      newId('fxQuote'), input.tenantId, input.fromCurrency, input.toCurrency, input.amountMinor, input.convertedMinor,
      input.rate, input.providerRate, input.spreadBps, input.ratesAsOf, ttlMs,
    ],
  );
  return quoteRow.map(rows[0]);
}

export async function findFxQuote(db: Db, tenantId: string, id: string): Promise<FxQuote | null> {
  const { rows } = await db.query(`SELECT ${quoteRow.columns()} FROM fx_quotes WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return rows[0] ? quoteRow.map(rows[0]) : null;
}

/**
 * Claims the quote for `transferId` in the caller's transaction (the one that inserts the
 * transfer): true when it was unused and unexpired, else nothing changes. A concurrent claim
 * waits for this row's lock and then finds it used: one transfer per quote.
 */
export async function claimFxQuote(client: pg.PoolClient, tenantId: string, quoteId: string, transferId: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE fx_quotes SET used_by_transfer_id = $3, used_at = now()
     WHERE id = $1 AND tenant_id = $2 AND used_by_transfer_id IS NULL AND expires_at > clock_timestamp()`,
    [quoteId, tenantId, transferId],
  );
  return rowCount === 1;
}
