/** Inputs and results of the wallet workflows: plain data, shared by the API and the workflows. */

import type { TopUpFailureCode, TransferFailureCode } from '../../domain/wallet/failures.js';

export interface P2PTransferInput {
  tenantId: string;
  transferId: string;
  fromAccountId: string;
  toAccountId: string;
  amountMinor: number;
  currency: string;
  /** A transfer the risk score sent to review is declined (`expired`) after this (RISK_REVIEW_TIMEOUT; since 0.3.0). */
  reviewTimeoutMs?: number;
}

export interface P2PTransferResult {
  status: 'succeeded' | 'failed';
  failureCode?: TransferFailureCode;
  transactionId?: string;
}

export interface TopUpInput {
  tenantId: string;
  topupId: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  source: { type: 'bank_account'; token: string };
}

export interface TopUpResult {
  status: 'succeeded' | 'failed';
  failureCode?: TopUpFailureCode;
  transactionId?: string;
}
