import { DomainError } from '../errors.js';

/** A conversion offered at a fixed rate until it expires; a transfer uses it at most once. */
export interface FxQuote {
  id: string;
  tenantId: string;
  fromCurrency: string;
  toCurrency: string;
  amountMinor: number;
  convertedMinor: number;
  /** The quoted rate (the provider's less the spread), a decimal string. */
  rate: string;
  providerRate: string;
  spreadBps: number;
  /** When the provider fixed the rate the quote is based on. */
  ratesAsOf: Date;
  expiresAt: Date;
  usedByTransferId: string | null;
  usedAt: Date | null;
  createdAt: Date;
}

/** The quote a transfer names is expired or already used by another transfer (`409 fx_quote_invalid`). */
export class FxQuoteInvalidError extends DomainError {
  override name = 'FxQuoteInvalidError';
  readonly code = 'fx_quote_invalid';
  override readonly param = 'quote_id';
  constructor(quoteId: string) {
    super(`The quote ${quoteId} has expired or was used by another transfer: ask for a new one.`);
  }
}
