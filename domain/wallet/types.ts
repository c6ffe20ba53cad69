import type { TopUpFailureCode, TransferFailureCode } from './failures.js';

/** A transfer or top-up is `pending` until its workflow ends it, exactly once. */
export const WALLET_OPERATION_STATUSES = ['pending', 'succeeded', 'failed'] as const;
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
  status: WalletOperationStatus;
  failureCode: TransferFailureCode | null;
  holdId: string | null;
  transactionId: string | null;
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
