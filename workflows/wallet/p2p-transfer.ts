import {
  isCancellation,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { TransferActivities } from '../../activities/wallet/transfer-activities.js';
import { ledgerActivity, mustFinishActivity } from '../activity-options.js';
import { Compensations, failSaga, failureType } from '../saga.js';
import { setBusinessStatus } from '../search-attributes.js';
import { LEDGER_ERROR_CODES } from '../../domain/ledger/errors.js';
import { TRANSFER_FAILURE_CODES, type TransferFailureCode } from '../../domain/wallet/failures.js';
import type { P2PTransferInput, P2PTransferResult } from './types.js';

const ledger = proxyActivities<TransferActivities>(ledgerActivity);
const mustFinish = proxyActivities<TransferActivities>(mustFinishActivity);

/** The ledger's business refusals that are a transfer's own failure codes (insufficient funds, a limit). */
const BUSINESS_FAILURES: ReadonlySet<string> = new Set<string>(
  LEDGER_ERROR_CODES.filter((code) => (TRANSFER_FAILURE_CODES as readonly string[]).includes(code)),
);

function failureCodeOf(err: unknown): TransferFailureCode | null {
  if (isCancellation(err)) return 'canceled';
  const type = failureType(err);
  if (type && BUSINESS_FAILURES.has(type)) return type as TransferFailureCode;
  if (type === 'account_missing' || type === 'currency_mismatch') return 'account_unavailable';
  return null;
}

/**
 * P2P transfer (user → user, or user → merchant): hold the funds on the payer (limits and
 * balance checked under the account lock), then post the hold to the payee. A failure after the
 * hold voids it (compensation). Business failures end the run `failed`; bugs fail the run.
 */
export async function p2pTransfer(input: P2PTransferInput): Promise<P2PTransferResult> {
  const { workflowId } = workflowInfo();
  const compensations = new Compensations();
  try {
    const { holdId } = await ledger.placeTransferHold({
      tenantId: input.tenantId,
      transferId: input.transferId,
      idempotencyKey: `${workflowId}:hold`,
      fromAccountId: input.fromAccountId,
      amountMinor: input.amountMinor,
      currency: input.currency,
    });
    compensations.add('void-hold', () => mustFinish.voidTransferHold({ tenantId: input.tenantId, holdId }));
    setBusinessStatus('held');

    const { transactionId } = await mustFinish.postTransfer({
      tenantId: input.tenantId,
      transferId: input.transferId,
      idempotencyKey: `${workflowId}:post`,
      holdId,
      toAccountId: input.toAccountId,
    });
    setBusinessStatus('succeeded');
    return { status: 'succeeded', transactionId };
  } catch (err) {
    return failSaga(err, compensations, failureCodeOf(err), (code) => mustFinish.failTransfer({ transferId: input.transferId, failureCode: code }));
  }
}
