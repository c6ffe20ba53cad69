import type { RiskAssessment } from '../risk/types.js';
import type { TopUpFailureCode, TransferFailureCode } from './failures.js';

/** A transfer or top-up is `pending` until its workflow ends it, exactly once. */
export const WALLET_OPERATION_STATUSES = ['pending', 'succeeded', 'failed'] as const;
/** A transfer may also wait for a person: `in_review` (contract §8), its funds held. */
export const TRANSFER_STATUSES = ['pending', 'in_review', 'succeeded', 'failed'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];
export type WalletOperationStatus = (typeof WALLET_OPERATION_STATUSES)[number];

/** Money moved between two accounts of one tenant (P2P, or paying a merchant). */
export interface Transfer {
  id: string;
  tenantId: string;
  fromAccountId: string;
  toAccountId: string;
  amountMinor: number;
  currency: string;
  description: string | null;
  status: TransferStatus;
  failureCode: TransferFailureCode | null;
  holdId: string | null;
  transactionId: string | null;
  /** A conversion (contract §2): the quote it used, the payee's currency and what the payee is credited; null when same-currency. */
  quoteId: string | null;
  toCurrency: string | null;
  convertedMinor: number | null;
  /** The risk verdict (contract §8); null for a transfer scored before release 0.3.0. */
  risk: RiskAssessment | null;
  createdAt: Date;
}

/** A wallet funded from a bank account. The source token is the bank's, never shown back. */
export interface TopUp {
  id: string;
  tenantId: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  sourceType: 'bank_account';
  status: WalletOperationStatus;
  failureCode: TopUpFailureCode | null;
  bankReference: string | null;
  transactionId: string | null;
  createdAt: Date;
}
