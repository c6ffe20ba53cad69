import type pg from 'pg';
import type { TopUpFailureCode } from '../../domain/wallet/failures.js';
import { withTransaction } from '../../store/db.js';
import { ensureSystemAccount } from '../../store/ledger/accounts.js';
import { postTransaction } from '../../store/ledger/transactions.js';
import { failTopUp, succeedTopUp } from '../../store/wallet/topups.js';
import type { BankAdapter } from '../bank/bank-adapter.js';
import { asActivityStep } from '../failure.js';

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
    /**
     * Pulls through the bank adapter; the key makes a retried pull the same pull. A transient
     * bank error (`retryable`) is retried by Temporal, a decline is final.
     */
    async pullFromBank(input: PullFromBankInput): Promise<{ reference: string }> {
      return asActivityStep(() => bank.pull(input));
    },

    /** Compensation for a pull whose credit could not be booked. */
    async refundBankPull(input: { pullIdempotencyKey: string }): Promise<void> {
      await bank.refund(input.pullIdempotencyKey);
    },

    /** Credits the wallet from the tenant's system account and marks the top-up succeeded, atomically. */
    async creditTopUp(input: CreditTopUpInput): Promise<{ transactionId: string }> {
      const systemAccountId = await ensureSystemAccount(pool, input.tenantId, input.currency);
      return asActivityStep(() =>
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
          await succeedTopUp(client, input.topupId, input.bankReference, posted.transactionId);
          return { transactionId: posted.transactionId };
        }),
      );
    },

    async failTopUp(input: { topupId: string; failureCode: TopUpFailureCode }): Promise<void> {
      await failTopUp(pool, input.topupId, input.failureCode);
    },
  };
}

export type TopUpActivities = ReturnType<typeof createTopUpActivities>;
