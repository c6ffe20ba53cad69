import { NamespaceNotFoundError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';

/**
 * What a failed start call says about the run:
 * - `not_started`: the server refused the request (nothing started): undo is safe;
 * - `exists`: a closed run with this id exists (REJECT_DUPLICATE): what the caller wrote belongs to it;
 * - `ambiguous`: the request may have reached the server and started the run (a deadline, a dropped
 *   or refused connection, a cancel, anything unknown). Keep what the caller wrote: it is the
 *   durable start request the start reconciler acts on.
 */
export type StartErrorKind = 'not_started' | 'exists' | 'ambiguous';

/** gRPC status codes (grpc-js `status`) with which the server refuses a request before acting on it. */
const REFUSED_CODES = new Set([
  3, // INVALID_ARGUMENT
  5, // NOT_FOUND (namespace)
  7, // PERMISSION_DENIED
  8, // RESOURCE_EXHAUSTED (rate-limited before it was taken)
  9, // FAILED_PRECONDITION
  12, // UNIMPLEMENTED
  16, // UNAUTHENTICATED
]);
const ALREADY_EXISTS = 6;
/** How deep a chain of `cause`s is followed (SDK errors wrap the gRPC error once or twice). */
const CAUSE_DEPTH_MAX = 5;

/** Classifies a start error by its gRPC status (on the error or one of its causes); see StartErrorKind. */
export function classifyStartError(err: unknown): StartErrorKind {
  let current: unknown = err;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && current instanceof Error; depth++) {
    if (current instanceof WorkflowExecutionAlreadyStartedError) return 'exists';
    if (current instanceof NamespaceNotFoundError || current instanceof WorkflowNotFoundError) return 'not_started';
    // A gRPC status error (grpc-js ServiceError): a numeric `code` with its `details` text.
    const { code, details } = current as { code?: unknown; details?: unknown };
    if (typeof code === 'number' && typeof details === 'string') {
      if (code === ALREADY_EXISTS) return 'exists';
      return REFUSED_CODES.has(code) ? 'not_started' : 'ambiguous';
    }
    current = (current as { cause?: unknown }).cause;
  }
  return 'ambiguous';
}
