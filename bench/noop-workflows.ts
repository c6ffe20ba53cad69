/**
 * The workflow bundle of bench/transfers.ts: every real workflow plus `noopTransfer`, a workflow
 * of the same shape as `p2pTransfer` on its success path (two activities, the same activity
 * options) whose activities do nothing. It is the baseline: Temporal's own cost of a transfer.
 */
import { proxyActivities } from '@temporalio/workflow';
import { ledgerActivity, mustFinishActivity } from '../workflows/activity-options.js';
import type { P2PTransferInput, P2PTransferResult } from '../workflows/wallet/types.js';

export * from '../workflows/index.js';

/** No-op stand-ins for placeTransferHold and postTransfer (registered on the worker next to the real ones). */
export const noopActivities = {
  async noopPlaceHold(input: { transferId: string }): Promise<{ holdId: string }> {
    return { holdId: `noop-hold-${input.transferId}` };
  },
  async noopPost(input: { transferId: string; holdId: string }): Promise<{ transactionId: string }> {
    return { transactionId: `noop-txn-${input.transferId}` };
  },
};

type NoopActivities = typeof noopActivities;

const ledger = proxyActivities<NoopActivities>(ledgerActivity);
const mustFinish = proxyActivities<NoopActivities>(mustFinishActivity);

export async function noopTransfer(input: P2PTransferInput): Promise<P2PTransferResult> {
  const { holdId } = await ledger.noopPlaceHold({ transferId: input.transferId });
  const { transactionId } = await mustFinish.noopPost({ transferId: input.transferId, holdId });
  return { status: 'succeeded', transactionId };
}
