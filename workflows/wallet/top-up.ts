import { isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { TopUpActivities } from '../../activities/wallet/topup-activities.js';
import { bankActivity, localMustFinishActivity, mustFinishActivity, proxySteps, stepsAreLocal } from '../activity-options.js';
import { Compensations, failSaga, failureType } from '../saga.js';
import { setBusinessStatus } from '../search-attributes.js';
import type { TopUpFailureCode } from '../../domain/wallet/failures.js';
import { finishWithStatus } from './finish-step.js';
import type { TopUpInput, TopUpResult } from './types.js';

/** Calls to the bank stay regular activities (see `topUp`). */
const bank = proxyActivities<TopUpActivities>(bankActivity);
const bankMustFinish = proxyActivities<TopUpActivities>(mustFinishActivity);

function failureCodeOf(err: unknown): TopUpFailureCode | null {
  if (isCancellation(err)) return 'canceled';
  const type = failureType(err);
  if (type === 'bank_declined') return 'bank_declined';
  if (type === 'limit_exceeded') return 'limit_exceeded'; // the wallet's balance cap (schema/0015)
  if (type === 'account_missing' || type === 'currency_mismatch') return 'account_unavailable';
  return null;
}

/**
 * Top-up: pull the funds through the bank adapter (one pull per key, transient failures
 * retried), then credit the wallet from the tenant's system account. If the credit cannot be
 * booked, the pull is refunded (compensation).
 *
 * Since 0.2.0 (patch `local-steps`) the database steps (credit, recording a failure) are local
 * activities, run in the workflow task that receives the pull's result, and `pulled` is shown only
 * while the credit retries. The bank calls (pull, refund) stay regular activities: they are slow
 * and external, a bank outage is retried for minutes, and a pending activity shows its attempt and
 * last failure in the UI, where a local one would hold the workflow task and show nothing until it ends.
 */
export async function topUp(input: TopUpInput): Promise<TopUpResult> {
  const local = stepsAreLocal();
  const mustFinish = proxySteps<TopUpActivities>(local, localMustFinishActivity, mustFinishActivity);
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
    compensations.add('refund-pull', () => bankMustFinish.refundBankPull({ pullIdempotencyKey: pullKey }));

    const credit = {
      tenantId: input.tenantId,
      topupId: input.topupId,
      idempotencyKey: `${workflowId}:credit`,
      accountId: input.accountId,
      amountMinor: input.amountMinor,
      currency: input.currency,
      bankReference: reference,
    };
    const { transactionId } = await finishWithStatus(local, mustFinish, 'pulled', (steps) => steps.creditTopUp(credit));
    setBusinessStatus('succeeded');
    return { status: 'succeeded', transactionId };
  } catch (err) {
    return failSaga(err, compensations, failureCodeOf(err), (code) => mustFinish.failTopUp({ topupId: input.topupId, failureCode: code }));
  }
}
