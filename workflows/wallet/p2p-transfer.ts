import { ApplicationFailure, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { TransferActivities } from '../../activities/wallet/transfer-activities.js';
import {
  ledgerActivity, localLedgerActivity, localMustFinishActivity, mustFinishActivity, proxySteps, stepsAreLocal,
} from '../activity-options.js';
import { Compensations, failSaga, failureType } from '../saga.js';
import { setBusinessStatus } from '../search-attributes.js';
import { LEDGER_ERROR_CODES } from '../../domain/ledger/errors.js';
import { TRANSFER_FAILURE_CODES, type TransferFailureCode } from '../../domain/wallet/failures.js';
import { REVIEW_TIMEOUT_DEFAULT_MS, reviewDesk, riskScored, riskSteps } from '../risk/review.js';
import { finishWithStatus } from './finish-step.js';
import type { P2PTransferInput, P2PTransferResult } from './types.js';

/** The ledger's business refusals that are a transfer's own failure codes (insufficient funds, a limit). */
const BUSINESS_FAILURES: ReadonlySet<string> = new Set<string>(
  LEDGER_ERROR_CODES.filter((code) => (TRANSFER_FAILURE_CODES as readonly string[]).includes(code)),
);

function failureCodeOf(err: unknown): TransferFailureCode | null {
  if (isCancellation(err)) return 'canceled';
  const type = failureType(err);
  if (type && BUSINESS_FAILURES.has(type)) return type as TransferFailureCode;
  if (type === 'account_missing' || type === 'currency_mismatch') return 'account_unavailable';
  if (type === 'risk_declined') return 'risk_declined';
  return null;
}

/**
 * P2P transfer (user → user, or user → merchant): hold the funds on the payer (limits and
 * balance checked under the account lock), then post the hold to the payee. A failure after the
 * hold voids it (compensation). Business failures end the run `failed`; bugs fail the run.
 *
 * Since 0.2.0 (patch `local-steps`) the steps are local activities: a transfer that goes through
 * is one workflow task (hold, post, `succeeded`), and `held` is shown only while a post retries.
 * Runs started before keep their regular activities and both upserts.
 *
 * Since 0.3.0 (patch `risk-scoring`, contract §8) the transfer is scored first: `block` ends it
 * `failed` (`risk_blocked`) before anything is held; `review` holds the funds, shows `in_review`
 * and waits for a person's decision (the `decideReview` Update) or RISK_REVIEW_TIMEOUT — declined
 * or expired, the hold is voided (`risk_declined`).
 */
export async function p2pTransfer(input: P2PTransferInput): Promise<P2PTransferResult> {
  const local = stepsAreLocal();
  const ledger = proxySteps<TransferActivities>(local, localLedgerActivity, ledgerActivity);
  const mustFinish = proxySteps<TransferActivities>(local, localMustFinishActivity, mustFinishActivity);
  const { workflowId } = workflowInfo();
  const compensations = new Compensations();
  const scored = riskScored();
  const desk = scored ? reviewDesk() : null;
  try {
    const risk = scored
      ? await riskSteps.assessTransferRisk({
        tenantId: input.tenantId, transferId: input.transferId, fromAccountId: input.fromAccountId,
        toAccountId: input.toAccountId, amountMinor: input.amountMinor,
      })
      : null;
    if (risk?.decision !== 'review') desk?.close();
    if (risk?.decision === 'block') {
      setBusinessStatus('failed');
      return { status: 'failed', failureCode: 'risk_blocked' };
    }
    const { holdId } = await ledger.placeTransferHold({
      tenantId: input.tenantId,
      transferId: input.transferId,
      idempotencyKey: `${workflowId}:hold`,
      fromAccountId: input.fromAccountId,
      amountMinor: input.amountMinor,
      currency: input.currency,
    });
    compensations.add('void-hold', () => mustFinish.voidTransferHold({ tenantId: input.tenantId, holdId }));
    if (desk && risk?.decision === 'review') {
      const decision = await desk.review({
        tenantId: input.tenantId, objectType: 'transfer', objectId: input.transferId, amountMinor: input.amountMinor,
        currency: input.currency, reviewTimeoutMs: input.reviewTimeoutMs ?? REVIEW_TIMEOUT_DEFAULT_MS,
      }, risk);
      if (decision !== 'approved') {
        throw ApplicationFailure.create({ type: 'risk_declined', message: `The review was ${decision}.`, nonRetryable: true });
      }
    }

    const post = {
      tenantId: input.tenantId,
      transferId: input.transferId,
      idempotencyKey: `${workflowId}:post`,
      holdId,
      toAccountId: input.toAccountId,
    };
    const { transactionId } = await finishWithStatus(local, mustFinish, 'held', (steps) => steps.postTransfer(post));
    setBusinessStatus('succeeded');
    return { status: 'succeeded', transactionId };
  } catch (err) {
    return failSaga(err, compensations, failureCodeOf(err), (code) => mustFinish.failTransfer({ transferId: input.transferId, failureCode: code }));
  }
}
