import type pg from 'pg';
import { ApplicationFailure } from '@temporalio/activity';
import { withTransaction } from '../../platform/db.js';
import { ensureSystemAccount } from '../ledger/accounts.js';
import { postTransaction } from '../ledger/ledger.js';
import { asActivity } from '../ledger/failures.js';
import { BankError, type BankAdapter } from '../bank/bank-adapter.js';
import type { TopUpFailureCode } from '../../workflows/wallet/types.js';

export interface TopUpActivityDeps {
  pool: pg.Pool;
  bank: BankAdapter;
}

export interface PullFromBankInput {
  idempotencyKey: string;
  token: string;
  amountMinor: number;
  currency: string;
}

export interface CreditTopUpInput {
  tenantId: string;
  topupId: string;
  idempotencyKey: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  bankReference: string;
}

export function createTopUpActivities({ pool, bank }: TopUpActivityDeps) {
  return {
    /** Pulls through the bank adapter; the key makes a retried pull the same pull. */
    async pullFromBank(input: PullFromBankInput): Promise<{ reference: string }> {
      try {
        return await bank.pull(input);
      } catch (err) {
        if (err instanceof BankError) {
          throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: !err.retryable });
        }
        throw err;
      }
    },

    /** Compensation for a pull whose credit could not be booked. */
    async refundBankPull(input: { pullIdempotencyKey: string }): Promise<void> {
      await bank.refund(input.pullIdempotencyKey);
    },

    /** Credits the wallet from the tenant's system account and marks the top-up succeeded, atomically. */
    async creditTopUp(input: CreditTopUpInput): Promise<{ transactionId: string }> {
      const systemAccountId = await ensureSystemAccount(pool, input.tenantId, input.currency);
      return asActivity(() =>
        withTransaction(pool, async (client) => {
          const posted = await postTransaction(client, {
            tenantId: input.tenantId,
            idempotencyKey: input.idempotencyKey,
            kind: 'topup',
            referenceId: input.topupId,
            currency: input.currency,
            postings: [
              { accountId: systemAccountId, direction: 'debit', amountMinor: input.amountMinor },
              { accountId: input.accountId, direction: 'credit', amountMinor: input.amountMinor },
            ],
          });
          await client.query(
            `UPDATE topups SET status = 'succeeded', bank_reference = $2, transaction_id = $3, updated_at = now()
             WHERE id = $1 AND status = 'pending'`,
            [input.topupId, input.bankReference, posted.transactionId],
          );
          return { transactionId: posted.transactionId };
        }),
      );
    },

    async failTopUp(input: { topupId: string; failureCode: TopUpFailureCode }): Promise<void> {
      await pool.query(
        `UPDATE topups SET status = 'failed', failure_code = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`,
        [input.topupId, input.failureCode],
      );
    },
  };
}

export type TopUpActivities = ReturnType<typeof createTopUpActivities>;
