/**
 * The one interface every payment processor integration implements (card acquirers, banks).
 * Every call carries the caller's idempotency key, one per step of a payment
 * (`<payment id>:authorize`, `:capture`, `:void`, `:refund:<refund id>`): a processor treats a
 * repeated key as the same request, so a retried call never charges twice.
 */
export type PaymentMethodType = 'card' | 'bank_transfer' | 'wallet';

export interface AuthorizeRequest {
  idempotencyKey: string;
  method: PaymentMethodType;
  token: string;
  amountMinor: number;
  currency: string;
}

export interface Authorization {
  /** The processor that holds the authorization: capture, void and refund must go there. */
  processor: string;
  id: string;
  method: PaymentMethodType;
  amountMinor: number;
  currency: string;
  brand?: string;
  last4?: string;
}

export interface CaptureRequest {
  idempotencyKey: string;
  authorizationId: string;
  amountMinor: number;
}

export interface Capture {
  processor: string;
  id: string;
  authorizationId: string;
  amountMinor: number;
}

export interface VoidRequest {
  idempotencyKey: string;
  authorizationId: string;
}

export interface Void {
  processor: string;
  id: string;
  authorizationId: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  authorizationId: string;
  amountMinor: number;
}

export interface Refund {
  processor: string;
  id: string;
  authorizationId: string;
  amountMinor: number;
}

/** What each kind of operation yields when it succeeds. */
export interface OperationResults {
  authorize: Authorization;
  capture: Capture;
  void: Void;
  refund: Refund;
}

export type OperationKind = keyof OperationResults;

/**
 * Declines (and failed captures) are thrown as `ProcessorDeclined`; transport trouble as
 * `ProcessorUnavailable` (nothing happened) or `ProcessorOutcomeUnknown` (it may have).
 */
export interface ProcessorAdapter {
  readonly processor: string;
  authorize(request: AuthorizeRequest): Promise<Authorization>;
  capture(request: CaptureRequest): Promise<Capture>;
  void(request: VoidRequest): Promise<Void>;
  refund(request: RefundRequest): Promise<Refund>;
  /**
   * The recorded outcome of an earlier call with this key, exactly as that call would have
   * answered (a recorded decline throws `ProcessorDeclined`); null when the processor never
   * received it.
   */
  lookup<K extends OperationKind>(kind: K, idempotencyKey: string): Promise<OperationResults[K] | null>;
}
