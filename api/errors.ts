import type { DomainError } from '../domain/errors.js';

/**
 * Domain errors carry a stable `code` (the contract's error code) and the HTTP shape it maps to.
 * The one `app.onError` turns them into `{ error: { type, code, message, param? } }`.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'idempotency_error'
  | 'rate_limit_error'
  | 'api_error';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

export const errors = {
  invalidJson: () => new ApiError(400, 'invalid_request_error', 'invalid_json', 'The request body is not valid JSON.'),
  parameterMissing: (param: string) =>
    new ApiError(400, 'invalid_request_error', 'parameter_missing', `Missing required parameter: ${param}.`, param),
  parameterUnknown: (param: string) =>
    new ApiError(400, 'invalid_request_error', 'parameter_unknown', `Received unknown parameter: ${param}.`, param),
  parameterInvalid: (param: string, message: string) =>
    new ApiError(400, 'invalid_request_error', 'parameter_invalid', message, param),
  amountInvalid: (param = 'amount') =>
    new ApiError(400, 'invalid_request_error', 'amount_invalid',
      'Amount must be an integer in the minor unit, from 1 to 1000000000000.', param),
  currencyInvalid: (param = 'currency') =>
    new ApiError(400, 'invalid_request_error', 'currency_invalid', 'Currency must be an upper-case ISO 4217 code.', param),
  currencyMismatch: (param = 'currency', message = 'The currency does not match the account currency.') =>
    new ApiError(400, 'invalid_request_error', 'currency_mismatch', message, param),
  sameAccount: () =>
    new ApiError(400, 'invalid_request_error', 'same_account', 'Source and destination accounts must differ.', 'to_account_id'),
  amountTooLarge: (message = 'The amount exceeds what is left to capture or refund.', param = 'amount') =>
    new ApiError(400, 'invalid_request_error', 'amount_too_large', message, param),
  apiKeyMissing: () =>
    new ApiError(401, 'authentication_error', 'api_key_missing', 'No API key provided: use Authorization: Bearer <key>.'),
  apiKeyInvalid: () => new ApiError(401, 'authentication_error', 'api_key_invalid', 'Invalid API key provided.'),
  /** A provider callback (contract §10) without its `Provider-Signature`, or one that does not verify (or is too old). */
  signatureMissing: () =>
    new ApiError(401, 'authentication_error', 'signature_missing', 'No Provider-Signature header: provider callbacks are signed.'),
  signatureInvalid: () =>
    new ApiError(401, 'authentication_error', 'signature_invalid',
      'The Provider-Signature does not match this body and the provider’s secret, or its timestamp is over 5 minutes from now.'),
  actorMissing: () =>
    new ApiError(401, 'authentication_error', 'actor_missing', 'This request records a decision: name the acting user in Steadfast-Actor: <JWT>.'),
  actorInvalid: () =>
    new ApiError(401, 'authentication_error', 'actor_invalid', 'The Steadfast-Actor token is malformed, expired, or not signed by a signing key of this tenant.'),
  forbidden: (message = 'This API key cannot access this resource.') => new ApiError(403, 'permission_error', 'forbidden', message),
  resourceMissing: (what = 'resource', param?: string) =>
    new ApiError(404, 'invalid_request_error', 'resource_missing', `No such ${what}.`, param),
  resourceExists: (message: string, param?: string) =>
    new ApiError(409, 'invalid_request_error', 'resource_exists', message, param),
  /** A per-tenant cap is reached (e.g. WEBHOOK_ENDPOINTS_MAX_PER_TENANT): delete one to make room. */
  resourceLimitReached: (message: string) =>
    new ApiError(409, 'invalid_request_error', 'resource_limit_reached', message),
  paymentInvalidState: (message = 'The payment cannot do this in its current status.') =>
    new ApiError(409, 'invalid_request_error', 'payment_invalid_state', message),
  notApprover: (message = 'Only the current approver can decide this leave request.') =>
    new ApiError(403, 'permission_error', 'not_approver', message),
  leaveRequestInvalidState: (message = 'The leave request cannot do this in its current status.') =>
    new ApiError(409, 'invalid_request_error', 'leave_request_invalid_state', message),
  notificationInvalidState: (message = 'The notification cannot do this in its current status.') =>
    new ApiError(409, 'invalid_request_error', 'notification_invalid_state', message),
  broadcastInvalidState: (message = 'The broadcast cannot do this in its current status.') =>
    new ApiError(409, 'invalid_request_error', 'broadcast_invalid_state', message),
  deliveryInvalidState: (message = 'The delivery cannot do this in its current status.') =>
    new ApiError(409, 'invalid_request_error', 'delivery_invalid_state', message),
  /** The quote a cross-currency transfer names has expired or is used (contract §2 "Currency conversion"). */
  fxQuoteInvalid: (message = 'The quote has expired or was used by another transfer: ask for a new one.') =>
    new ApiError(409, 'invalid_request_error', 'fx_quote_invalid', message, 'quote_id'),
  leaveConflict: (message = 'The leave overlaps a pending or approved leave request of the employee.', param = 'start_date') =>
    new ApiError(409, 'invalid_request_error', 'leave_conflict', message, param),
  insufficientLeaveBalance: (message = 'The employee does not have enough leave available.') =>
    new ApiError(422, 'invalid_request_error', 'insufficient_leave_balance', message),
  idempotencyKeyInUse: () =>
    new ApiError(409, 'idempotency_error', 'idempotency_key_in_use',
      'A request with this Idempotency-Key is still being processed; retry later.'),
  idempotencyKeyReused: () =>
    new ApiError(422, 'idempotency_error', 'idempotency_key_reused',
      'This Idempotency-Key was used with a different request.'),
  bodyTooLarge: () => new ApiError(413, 'invalid_request_error', 'body_too_large', 'The request body exceeds 64 KiB.'),
  unsupportedMediaType: () =>
    new ApiError(415, 'invalid_request_error', 'unsupported_media_type', 'Send the body as application/json.'),
  rateLimited: (message = 'Too many requests: slow down and retry after the time in Retry-After.') =>
    new ApiError(429, 'rate_limit_error', 'rate_limited', message),
  payrollRunInvalidState: (message = 'The payroll run cannot do this in its current status.') =>
    new ApiError(409, 'invalid_request_error', 'payroll_run_invalid_state', message),
  reviewInvalidState: (message = 'The review is decided already.') =>
    new ApiError(409, 'invalid_request_error', 'review_invalid_state', message),
  candidateInvalidState: (message = 'The candidate cannot move to this stage.') =>
    new ApiError(409, 'invalid_request_error', 'candidate_invalid_state', message, 'to'),
  offerInvalidState: (message = 'The offer cannot do this in its current status.') =>
    new ApiError(409, 'invalid_request_error', 'offer_invalid_state', message),
  internal: () => new ApiError(500, 'api_error', 'internal_error', 'An internal error occurred.'),
};

type Answer = (message: string | undefined, param: string | undefined) => ApiError;

/**
 * The ONE mapping from a domain code (a `DomainError`'s, or a workflow failure's type) to the
 * contract's HTTP answer. The domain says what happened; only the API knows HTTP.
 */
const DOMAIN_ANSWERS: Readonly<Record<string, Answer>> = {
  parameter_invalid: (message, param) => errors.parameterInvalid(param ?? '', message ?? 'Invalid parameter.'),
  amount_too_large: (message) => errors.amountTooLarge(message),
  resource_missing: (message, param) =>
    new ApiError(404, 'invalid_request_error', 'resource_missing', message ?? 'No such resource.', param),
  payment_missing: () => errors.resourceMissing('payment', 'id'),
  refund_missing: () => errors.resourceMissing('refund', 'id'),
  resource_exists: (message, param) => errors.resourceExists(message ?? 'The resource exists already.', param),
  not_approver: (message) => errors.notApprover(message),
  payment_invalid_state: (message) => errors.paymentInvalidState(message),
  leave_request_invalid_state: (message) => errors.leaveRequestInvalidState(message),
  leave_conflict: (message, param) => errors.leaveConflict(message, param),
  fx_quote_invalid: (message) => errors.fxQuoteInvalid(message),
  currency_mismatch: (message, param) => errors.currencyMismatch(param, message),
  insufficient_leave_balance: (message) => errors.insufficientLeaveBalance(message),
  review_invalid_state: (message) => errors.reviewInvalidState(message),
  payroll_run_invalid_state: (message) => errors.payrollRunInvalidState(message),
  forbidden: (message) => errors.forbidden(message),
  candidate_invalid_state: (message) => errors.candidateInvalidState(message),
  offer_invalid_state: (message) => errors.offerInvalidState(message),
  idempotency_key_reused: () => errors.idempotencyKeyReused(),
  notification_invalid_state: (message) => errors.notificationInvalidState(message),
  delivery_invalid_state: (message) => errors.deliveryInvalidState(message),
  broadcast_invalid_state: (message) => errors.broadcastInvalidState(message),
};

/** The contract's answer for a domain code, or undefined when the code is not one users see. */
export function answerFor(code: string, message: string | undefined, param?: string): ApiError | undefined {
  return DOMAIN_ANSWERS[code]?.(message, param);
}

/** A domain error as the contract's error; a code users never see (a bug) is a 500. */
export function fromDomainError(err: DomainError): ApiError | undefined {
  return answerFor(err.code, err.message, err.param);
}
