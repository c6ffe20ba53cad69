import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyStartError } from './start-errors.js';

/** grpc-js `status` codes (not a direct dependency). */
const status = {
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;
type Code = (typeof status)[keyof typeof status];
const nameOf = (code: Code) => Object.entries(status).find(([, c]) => c === code)![0];

/** What the SDK throws for a gRPC failure: a ServiceError whose cause is the grpc-js status error. */
const grpcError = (code: Code) => Object.assign(new Error(`${code} ${nameOf(code)}`), { code, details: nameOf(code), metadata: {} });
const sdkError = (code: Code) => new ServiceError('Failed to start Workflow', { cause: grpcError(code) });

describe('classifyStartError', () => {
  it('undoes only on a status the server answers before it acts (definitely not started)', () => {
    for (const code of [status.INVALID_ARGUMENT, status.FAILED_PRECONDITION, status.NOT_FOUND, status.PERMISSION_DENIED,
      status.UNAUTHENTICATED, status.RESOURCE_EXHAUSTED, status.UNIMPLEMENTED]) {
      expect(classifyStartError(sdkError(code)), nameOf(code)).toBe('not_started');
      expect(classifyStartError(grpcError(code)), `${nameOf(code)} unwrapped`).toBe('not_started');
    }
    expect(classifyStartError(new NamespaceNotFoundError('nope'))).toBe('not_started');
    expect(classifyStartError(new WorkflowNotFoundError('gone', 'wf', undefined))).toBe('not_started');
  });

  it('a closed run with this id (REJECT_DUPLICATE) is `exists`: the row belongs to that run', () => {
    expect(classifyStartError(new WorkflowExecutionAlreadyStartedError('already started', 'transfer-tr_1', 'p2pTransfer'))).toBe('exists');
    expect(classifyStartError(sdkError(status.ALREADY_EXISTS))).toBe('exists');
  });

  it('everything else may have started the run: ambiguous', () => {
    for (const code of [status.DEADLINE_EXCEEDED, status.UNAVAILABLE, status.CANCELLED, status.UNKNOWN, status.INTERNAL, status.ABORTED]) {
      expect(classifyStartError(sdkError(code)), nameOf(code)).toBe('ambiguous');
    }
    expect(classifyStartError(new Error('socket hang up'))).toBe('ambiguous');
    expect(classifyStartError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('ambiguous');
    expect(classifyStartError(new DOMException('This operation was aborted', 'AbortError'))).toBe('ambiguous');
    expect(classifyStartError('not even an Error')).toBe('ambiguous');
    // A numeric code that is not a gRPC status (no `details`) says nothing.
    expect(classifyStartError(Object.assign(new Error('odd'), { code: status.INVALID_ARGUMENT }))).toBe('ambiguous');
  });
});
