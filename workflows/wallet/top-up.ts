import { isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { TopUpActivities } from '../../activities/wallet/topup-activities.js';
import { bankActivity, mustFinishActivity } from '../activity-options.js';
import { Compensations, failSaga, failureType } from '../saga.js';
import { setBusinessStatus } from '../search-attributes.js';
import type { TopUpFailureCode } from '../../domain/wallet/failures.js';
import type { TopUpInput, TopUpResult } from './types.js';

const bank = proxyActivities<TopUpActivities>(bankActivity);
const mustFinish = proxyActivities<TopUpActivities>(mustFinishActivity);

function failureCodeOf(err: unknown): TopUpFailureCode | null {
  if (isCancellation(err)) return 'canceled';
  const type = failureType(err);
  if (type === 'bank_declined') return 'bank_declined';
  if (type === 'account_missing' || type === 'currency_mismatch') return 'account_unavailable';
  return null;
}

/**
 * Top-up: pull the funds through the bank adapter (one pull per key, transient failures
 * retried), then credit the wallet from the tenant's system account. If the credit cannot be
 * booked, the pull is refunded (compensation).
 */
export async function topUp(input: TopUpInput): Promise<TopUpResult> {
  const { workflowId } = workflowInfo();
  const compensations = new Compensations();
  const pullKey = `${workflowId}:pull`;
  try {
    const { reference } = await bank.pullFromBank({
      idempotencyKey: pullKey,
      token: input.source.token,
      amountMinor: input.amountMinor,
      currency: input.currency,
    });
    compensations.add('refund-pull', () => mustFinish.refundBankPull({ pullIdempotencyKey: pullKey }));
    setBusinessStatus('pulled');

    const { transactionId } = await mustFinish.creditTopUp({
      tenantId: input.tenantId,
      topupId: input.topupId,
      idempotencyKey: `${workflowId}:credit`,
      accountId: input.accountId,
      amountMinor: input.amountMinor,
      currency: input.currency,
      bankReference: reference,
    });
    setBusinessStatus('succeeded');
    return { status: 'succeeded', transactionId };
  } catch (err) {
    return failSaga(err, compensations, failureCodeOf(err), (code) => mustFinish.failTopUp({ topupId: input.topupId, failureCode: code }));
  }
}
