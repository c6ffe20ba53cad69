import { DomainError } from '../../domain/errors.js';
import type { BankFailureCode } from '../../domain/wallet/failures.js';

/**
 * The one interface every bank integration implements. Each call carries an idempotency key
 * per step, and the bank must treat a repeated key as the same request (never a second pull).
 */
export interface BankPullRequest {
  idempotencyKey: string;
  token: string;
  amountMinor: number;
  currency: string;
}

export interface BankPullResult {
  reference: string;
}

export type { BankFailureCode };

/**
 * `retryable` failures (timeouts, 5xx) may be retried with the same key; the rest are final.
 * A `DomainError`, so `asActivityStep` turns it into a failure typed by its code.
 */
export class BankError extends DomainError {
  override name = 'BankError';
  constructor(
    readonly code: BankFailureCode,
    override readonly retryable: boolean,
    message: string,
  ) {
    super(message);
  }
}

export interface BankAdapter {
  pull(request: BankPullRequest): Promise<BankPullResult>;
  /** Returns a pull's funds (compensation). Idempotent by the pull's key. */
  refund(pullIdempotencyKey: string): Promise<void>;
}
