/** The ledger's records: accounts with live balances, their entries, and holds reserving funds. */

export type AccountType = 'user' | 'merchant' | 'system';

/** KYC levels (contract §2): an account's level picks its tier's limits; `none` is the default. */
export const KYC_LEVELS = ['none', 'basic', 'full'] as const;
export type KycLevel = (typeof KYC_LEVELS)[number];

/** Limits in minor units; null: no limit. An account's own, a tier's, or the effective ones (the lower of both). */
export interface AccountLimits {
  per_transaction_max: number | null;
  daily_debit_max: number | null;
  monthly_debit_max: number | null;
  /** The most a user account may hold (a credit above it fails `limit_exceeded`). */
  balance_max: number | null;
}

/** A tenant's limits for one KYC level and currency. */
export interface KycTier {
  tenantId: string;
  level: KycLevel;
  currency: string;
  limits: AccountLimits;
  createdAt: Date;
  updatedAt: Date;
}

export interface Account {
  id: string;
  tenantId: string;
  type: AccountType;
  currency: string;
  ownerId: string | null;
  kycLevel: KycLevel;
  limits: AccountLimits;
  metadata: Record<string, string>;
  balanceMinor: number;
  heldMinor: number;
  createdAt: Date;
}

export type Direction = 'debit' | 'credit';

/** One leg of a transaction: credits add to the account's balance, debits subtract. */
export interface Posting {
  accountId: string;
  direction: Direction;
  amountMinor: number;
}

export interface Entry {
  id: string;
  transactionId: string;
  direction: Direction;
  amountMinor: number;
  currency: string;
  createdAt: Date;
}

export type HoldStatus = 'active' | 'posted' | 'voided';

export interface Hold {
  id: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  status: HoldStatus;
  postedAmountMinor: number | null;
  resolutionTransactionId: string | null;
}

/** What a hold request asks for: a replay of its key must ask for the same. */
export interface HoldRequest {
  idempotencyKey: string;
  accountId: string;
  amountMinor: number;
  currency: string;
}
