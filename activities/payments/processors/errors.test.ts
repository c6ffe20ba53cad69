import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { toActivityFailure } from '../../failure.js';
import { ProcessorDeclined, ProcessorOutcomeUnknown, ProcessorRequestRejected, ProcessorUnavailable } from './errors.js';

describe('processor errors as activity failures', () => {
  it('are typed by their class name, with the codes the payment records in the details', () => {
    const declined = toActivityFailure(new ProcessorDeclined('acq_primary', 'authorize', 'card_declined', 'insufficient_funds', 'auth_1'));
    expect(declined).toBeInstanceOf(ApplicationFailure);
    expect(declined).toMatchObject({
      type: 'ProcessorDeclined', nonRetryable: true, message: 'acq_primary declined the authorize: card_declined (insufficient_funds)',
      details: [{ processor: 'acq_primary', operation: 'authorize', failure_code: 'card_declined', decline_code: 'insufficient_funds', reason: undefined }],
    });
    const rejected = toActivityFailure(new ProcessorRequestRejected(null, 'authorize', 'processor_route_missing', 'No route'));
    expect(rejected).toMatchObject({
      type: 'ProcessorRequestRejected', nonRetryable: true,
      details: [{ processor: null, operation: 'authorize', failure_code: undefined, decline_code: undefined, reason: 'processor_route_missing' }],
    });
  });

  it('transport trouble stays retryable', () => {
    expect(toActivityFailure(new ProcessorUnavailable('acq_primary', 'capture', 'HTTP 503'))).toMatchObject({ type: 'ProcessorUnavailable', nonRetryable: false });
    expect(toActivityFailure(new ProcessorOutcomeUnknown('bank_sim', 'refund', 'timeout'))).toMatchObject({ type: 'ProcessorOutcomeUnknown', nonRetryable: false });
  });
});
