import { createTopUpActivities, type TopUpActivityDeps } from './topup-activities.js';
import { createTransferActivities, type TransferActivityDeps } from './transfer-activities.js';

export type WalletActivityDeps = TopUpActivityDeps & TransferActivityDeps;

/** All activities of the wallet task queue; the worker owns the connections they use. */
export function createWalletActivities(deps: WalletActivityDeps) {
  return { ...createTopUpActivities(deps), ...createTransferActivities(deps) };
}

export type WalletActivities = ReturnType<typeof createWalletActivities>;
