import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../../domain/ids.js';
import { withTransaction } from '../../platform/db.js';
import { placeHold, postHold, voidHold } from '../ledger/ledger.js';
import { asActivity } from '../ledger/failures.js';
import type { TransferFailureCode } from '../../workflows/wallet/types.js';

export interface TransferActivityDeps {
  pool: pg.Pool;
  /** Fault injection for crash drills: wait this long before posting (0 in production). */
  faultDelayBeforePostMs?: number;
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
export function createTransferActivities({ pool, faultDelayBeforePostMs = 0 }: TransferActivityDeps) {
  return {
    async placeTransferHold(input: PlaceTransferHoldInput): Promise<{ holdId: string }> {
      const hold = await asActivity(() =>
        withTransaction(pool, async (client) => {
          const placed = await placeHold(client, {
            tenantId: input.tenantId,
            idempotencyKey: input.idempotencyKey,
            accountId: input.fromAccountId,
            amountMinor: input.amountMinor,
            currency: input.currency,
            enforceLimits: true,
          });
          await client.query('UPDATE transfers SET hold_id = $2, updated_at = now() WHERE id = $1', [
            input.transferId,
            placed.id,
          ]);
          return placed;
        }),
      );
      return { holdId: hold.id };
    },

    /** Posts the hold and marks the transfer succeeded in the same transaction. */
    async postTransfer(input: PostTransferInput): Promise<{ transactionId: string }> {
      if (faultDelayBeforePostMs > 0) await sleep(faultDelayBeforePostMs);
      return asActivity(() =>
        withTransaction(pool, async (client) => {
          const posted = await postHold(client, {
            tenantId: input.tenantId,
            idempotencyKey: input.idempotencyKey,
            holdId: input.holdId,
            creditAccountId: input.toAccountId,
            kind: 'transfer',
            referenceId: input.transferId,
          });
          // The event is written with the change it describes (the relay delivers it later).
          await client.query(
            `WITH t AS (
               UPDATE transfers SET status = 'succeeded', transaction_id = $2, updated_at = now()
               WHERE id = $1 AND status = 'pending'
               RETURNING id, tenant_id, from_account_id, to_account_id, amount, currency, description)
             INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload)
             SELECT $3, t.tenant_id, 'transfer.succeeded', 'transfer.succeeded:' || t.id, jsonb_build_object(
               'transfer_id', t.id, 'from_account_id', t.from_account_id, 'to_account_id', t.to_account_id,
               'amount', t.amount, 'currency', t.currency, 'description', t.description, 'status', 'succeeded')
             FROM t`,
            [input.transferId, posted.transactionId, newId('event')],
          );
          return { transactionId: posted.transactionId };
        }),
      );
    },

    /** Compensation: releases the hold. Safe to repeat. */
    async voidTransferHold(input: { tenantId: string; holdId: string }): Promise<void> {
      await asActivity(() => withTransaction(pool, (client) => voidHold(client, input.tenantId, input.holdId)));
    },

    async failTransfer(input: { transferId: string; failureCode: TransferFailureCode }): Promise<void> {
      await pool.query(
        `UPDATE transfers SET status = 'failed', failure_code = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`,
        [input.transferId, input.failureCode],
      );
    },
  };
}

export type TransferActivities = ReturnType<typeof createTransferActivities>;
