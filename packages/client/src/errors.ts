/** The contract's error types (§0): the HTTP status class of a failure. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'idempotency_error'
  | 'rate_limit_error'
  | 'api_error';

/**
 * The contract's error codes (§0 and the resources' sections). The API may add codes: any other
 * string is possible too, so code against the ones you handle and treat the rest by `type`.
 */
export type ErrorCode =
  | 'invalid_json' | 'parameter_missing' | 'parameter_unknown' | 'parameter_invalid' | 'amount_invalid'
  | 'currency_invalid' | 'currency_mismatch' | 'same_account' | 'amount_too_large'
  | 'api_key_missing' | 'api_key_invalid' | 'actor_missing' | 'actor_invalid'
  | 'forbidden' | 'not_approver'
  | 'resource_missing'
  | 'resource_exists' | 'payment_invalid_state' | 'leave_request_invalid_state' | 'leave_conflict' | 'fx_quote_invalid'
  | 'idempotency_key_in_use' | 'idempotency_key_reused'
  | 'body_too_large' | 'unsupported_media_type' | 'insufficient_leave_balance'
  | 'rate_limited' | 'internal_error'
  | (string & {});

/** The body of every error answer: `{ error: { type, code, message, param? } }`. */
export interface ErrorBody {
  error: { type: string; code: string; message: string; param?: string };
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.type === 'string';
}

/**
 * A non-2xx answer of the API (after the client's retries), with the contract's `code`.
 *
 * @example
 * try { await unwrap(api.POST('/v1/transfers', { body })); }
 * catch (e) { if (e instanceof SteadfastError && e.code === 'currency_mismatch') … }
 */
export class SteadfastError extends Error {
  override name = 'SteadfastError';
  readonly status: number;
  readonly type: ErrorType;
  readonly code: ErrorCode;
  readonly param: string | undefined;
  /** The `Request-Id` response header: quote it when asking the operator about this request. */
  readonly requestId: string | null;

  constructor(response: Response, body: unknown) {
    const parsed: ErrorBody['error'] = isErrorBody(body)
      ? body.error
      // Not the contract's shape (a proxy's page, an empty body): keep the status, say so.
      : { type: response.status >= 500 ? 'api_error' : 'invalid_request_error', code: `http_${response.status}`, message: `HTTP ${response.status} without an error body` };
    super(parsed.message);
    this.status = response.status;
    this.type = parsed.type as ErrorType;
    this.code = parsed.code;
    this.param = parsed.param;
    this.requestId = response.headers.get('request-id');
  }
}
