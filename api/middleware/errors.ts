import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError } from '../../domain/errors.js';
import { requestLog } from './access-log.js';
import { routePattern } from './route.js';
import { ApiError, errors, fromDomainError } from '../errors.js';

export function errorBody(err: ApiError) {
  return {
    error: { type: err.type, code: err.code, message: err.message, ...(err.param ? { param: err.param } : {}) },
  };
}

export function sendError(c: Context, err: ApiError): Response {
  return c.json(errorBody(err), err.status as ContentfulStatusCode);
}

/** Hono's own exceptions (malformed JSON, 415 from a validator) in the contract's shape. */
function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      return errors.invalidJson();
    case 413:
      return errors.bodyTooLarge();
    case 415:
      return errors.unsupportedMediaType();
    default:
      return new ApiError(err.status, err.status >= 500 ? 'api_error' : 'invalid_request_error',
        err.status >= 500 ? 'internal_error' : 'parameter_invalid', err.message);
  }
}

/**
 * The one error handler: domain errors map to their codes; anything else is a 500 without a stack,
 * logged with the request's id and tenant. The line names a database error by code and constraint
 * only: its detail holds row data (platform/log.ts `serializeError`).
 */
export const onError: ErrorHandler = function onError(err, c) {
  if (err instanceof ApiError) return sendError(c, err);
  const answer = err instanceof DomainError ? fromDomainError(err) : undefined;
  if (answer) return sendError(c, answer);
  if (err instanceof HTTPException) return sendError(c, fromHttpException(err));
  requestLog(c).error({ err, method: c.req.method, route: routePattern(c) }, 'request failed');
  return sendError(c, errors.internal());
};

export const notFound: NotFoundHandler = function notFound(c) {
  return sendError(c, errors.resourceMissing('route'));
};
