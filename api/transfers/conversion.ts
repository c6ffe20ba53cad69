import type pg from 'pg';
import { findFxQuote } from '../../store/wallet/fx-quotes.js';
import { errors } from '../errors.js';

/** What a cross-currency transfer records: the quote it claims and what the payee is credited. */
export interface TransferConversion {
  quoteId: string;
  toCurrency: string;
  convertedMinor: number;
}

/**
 * The currencies of a transfer request (contract §2 "Currency conversion"), checked before
 * anything is written:
 * - `currency` is the payer's account currency, else `400 currency_mismatch` (param `currency`);
 * - same-currency accounts: no `quote_id` (`400 parameter_invalid`, param `quote_id`): null;
 * - two currencies: a `quote_id` is required (`400 currency_mismatch`, param `quote_id`); an unknown
 *   quote is `404 resource_missing`; the quote must convert from the payer's to the payee's currency
 *   (`400 currency_mismatch`, param `quote_id`) and `amount` must be the quote's (`400
 *   parameter_invalid`, param `amount`).
 * Whether the quote is still unexpired and unused is decided when the transfer claims it, in the
 * transaction that inserts it (`409 fx_quote_invalid`): a retry of the same request adopts its
 * first transfer, whose quote it used itself.
 */
export async function transferConversion(
  pool: pg.Pool, tenantId: string,
  body: { amount: number; currency: string; quote_id?: string | undefined },
  fromCurrency: string, toCurrency: string,
): Promise<TransferConversion | null> {
  if (fromCurrency !== body.currency) throw errors.currencyMismatch();
  if (toCurrency === fromCurrency) {
    if (body.quote_id !== undefined) throw errors.parameterInvalid('quote_id', 'Both accounts hold the same currency: a transfer between them takes no quote.');
    return null;
  }
  if (body.quote_id === undefined) {
    throw errors.currencyMismatch('quote_id', `The accounts hold ${fromCurrency} and ${toCurrency}: name an FX quote (POST /v1/fx/quotes) in quote_id.`);
  }
  const quote = await findFxQuote(pool, tenantId, body.quote_id);
  if (!quote) throw errors.resourceMissing('fx_quote', 'quote_id');
  if (quote.fromCurrency !== fromCurrency || quote.toCurrency !== toCurrency) {
    throw errors.currencyMismatch('quote_id', `The quote converts ${quote.fromCurrency} to ${quote.toCurrency}, the accounts hold ${fromCurrency} and ${toCurrency}.`);
  }
  if (quote.amountMinor !== body.amount) throw errors.parameterInvalid('amount', `The amount must be the quote's: ${quote.amountMinor}.`);
  return { quoteId: quote.id, toCurrency: quote.toCurrency, convertedMinor: quote.convertedMinor };
}
