import { DomainError } from '../../../domain/errors.js';
import type { OperationKind } from './types.js';

/**
 * What can go wrong talking to a processor. `retryable` tells the saga whether the same call,
 * with the same idempotency key, may be tried again; the class name is the Temporal failure type
 * (workflows and `nonRetryableErrorTypes` match on `ProcessorDeclined`, …), and the details carry
 * the codes the payment records.
 */
export abstract class ProcessorError extends DomainError {
  abstract override readonly retryable: boolean;
  constructor(
    /** null when no processor was chosen (no route, every processor down). */
    readonly processor: string | null,
    readonly operation: OperationKind,
    message: string,
  ) {
    super(message);
  }

  override get failureType(): string {
    return this.name;
  }

  override get failureDetails(): Record<string, unknown> {
    return {
      processor: this.processor,
      operation: this.operation,
      failure_code: 'failureCode' in this ? this.failureCode : undefined,
      decline_code: 'declineCode' in this ? this.declineCode : undefined,
      reason: 'reason' in this ? this.reason : undefined,
    };
  }
}

/** A business outcome, final: the card or bank said no, or a capture was refused for good. */
export class ProcessorDeclined extends ProcessorError {
  override name = 'ProcessorDeclined';
  readonly code = 'processor_declined';
  override readonly retryable = false;
  constructor(
    processor: string,
    operation: OperationKind,
    /** e.g. `card_declined`, `expired_card`, `bank_declined`, `capture_failed`. */
    readonly failureCode: string,
    readonly declineCode: string | undefined,
    /** The declined authorization's id at the processor, when it made one. */
    readonly authorizationId: string | undefined,
  ) {
    super(processor, operation, `${processor} declined the ${operation}: ${failureCode}${declineCode ? ` (${declineCode})` : ''}`);
  }
}

/** Nothing happened (5xx, connection refused, open circuit): safe to retry or to fail over. */
export class ProcessorUnavailable extends ProcessorError {
  override name = 'ProcessorUnavailable';
  readonly code = 'processor_unavailable';
  override readonly retryable = true;
}

/**
 * The request was sent and no answer came back (timeout, connection reset): it may have been
 * applied. Resolve it by looking the key up at the same processor, never by charging elsewhere.
 */
export class ProcessorOutcomeUnknown extends ProcessorError {
  override name = 'ProcessorOutcomeUnknown';
  readonly code = 'processor_outcome_unknown';
  override readonly retryable = true;
}

/**
 * The processor refused the request itself (bad parameters, wrong state, key reused for another
 * request, no route configured): a bug or a misconfiguration, so retrying cannot help.
 */
export class ProcessorRequestRejected extends ProcessorError {
  override name = 'ProcessorRequestRejected';
  readonly code = 'processor_request_rejected';
  override readonly retryable = false;
  constructor(
    processor: string | null,
    operation: OperationKind,
    /** The processor's own error code, e.g. `idempotency_key_reused`, `amount_too_large`. */
    readonly reason: string,
    message: string,
  ) {
    super(processor, operation, message);
  }
}
