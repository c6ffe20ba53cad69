import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TransferFailureCode } from '../../domain/wallet/failures.js';
import { withTransaction } from '../../store/db.js';
import { placeHold, postHold, voidHold } from '../../store/ledger/holds.js';
import { ensureFxAccounts, fxPostHold } from '../../store/ledger/fx-post.js';
import { failTransfer, findTransferConversion, setTransferHold, succeedTransfer } from '../../store/wallet/transfers.js';
import { asActivityStep } from '../failure.js';
import { pauseAfterCommit, type AfterCommitFault } from '../fault-injection.js';

export interface TransferActivityDeps {
  pool: pg.Pool;
  /** Fault injection for crash drills: wait this long before posting (0 in production). */
  faultDelayBeforePostMs?: number;
  /** Fault injection for crash drills: a pause after the post committed (absent in production). */
  faultAfterCommit?: AfterCommitFault;
}

export interface PlaceTransferHoldInput {
  tenantId: string;
  transferId: string;
  idempotencyKey: string;
  fromAccountId: string;
  amountMinor: number;
  currency: string;
}

export interface PostTransferInput {
  tenantId: string;
  transferId: string;
  idempotencyKey: string;
  holdId: string;
  toAccountId: string;
}

/** Activities of the P2P transfer saga; every one is idempotent by its key or by state. */
export function createTransferActivities({ pool, faultDelayBeforePostMs = 0, faultAfterCommit }: TransferActivityDeps) {
  return {
    async placeTransferHold(input: PlaceTransferHoldInput): Promise<{ holdId: string }> {
      const hold = await asActivityStep(() =>
        withTransaction(pool, async (client) => {
          const placed = await placeHold(client, {
            tenantId: input.tenantId,
            idempotencyKey: input.idempotencyKey,
            accountId: input.fromAccountId,
            amountMinor: input.amountMinor,
            currency: input.currency,
            enforceLimits: true,
          });
          await setTransferHold(client, input.transferId, placed.id);
          return placed;
        }),
      );
      return { holdId: hold.id };
    },

    /**
     * Posts the hold and marks the transfer succeeded (with its event) in the same transaction. A
     * transfer with a quote (two currencies) posts through the tenant's FX accounts (fxPostHold).
     */
    async postTransfer(input: PostTransferInput): Promise<{ transactionId: string }> {
      if (faultDelayBeforePostMs > 0) await sleep(faultDelayBeforePostMs);
      const result = await asActivityStep(() =>
        withTransaction(pool, async (client) => {
          const conversion = await findTransferConversion(client, input.tenantId, input.transferId);
          const posted = conversion ? await fxPostHold(client, {
            tenantId: input.tenantId, idempotencyKey: input.idempotencyKey, holdId: input.holdId, creditAccountId: input.toAccountId,
            ...conversion, ...await ensureFxAccounts(client, input.tenantId, conversion.currency, conversion.toCurrency),
            kind: 'transfer', referenceId: input.transferId,
          }) : await postHold(client, {
            tenantId: input.tenantId,
            idempotencyKey: input.idempotencyKey,
            holdId: input.holdId,
            creditAccountId: input.toAccountId,
            kind: 'transfer',
            referenceId: input.transferId,
          });
          await succeedTransfer(client, input.transferId, posted.transactionId);
          return { transactionId: posted.transactionId };
        }),
      );
      await pauseAfterCommit(faultAfterCommit, 'postTransfer');
      return result;
    },

    /** Compensation: releases the hold. Safe to repeat. */
    async voidTransferHold(input: { tenantId: string; holdId: string }): Promise<void> {
      await asActivityStep(() => withTransaction(pool, (client) => voidHold(client, input.tenantId, input.holdId)));
    },

    async failTransfer(input: { transferId: string; failureCode: TransferFailureCode }): Promise<void> {
      await failTransfer(pool, input.transferId, input.failureCode);
    },
  };
}

export type TransferActivities = ReturnType<typeof createTransferActivities>;
