import type { RiskAssessment } from '../risk/types.js';
import type { PaymentAmounts } from './amounts.js';
import type { PaymentEventType, PaymentStatus } from './state-machine.js';

/** Plain data shared by the repository, the saga and the API (no behaviour, no I/O). */

export type CaptureMethod = 'automatic' | 'manual';
export type PaymentMethodType = 'card' | 'bank_transfer' | 'wallet';

/** How a payment is paid. Only processor tokens are stored, never a card number. */
export type NewPaymentMethod =
  | { type: 'card' | 'bank_transfer'; token: string; brand?: string; last4?: string }
  | { type: 'wallet'; accountId: string };

export interface PaymentMethod {
  type: PaymentMethodType;
  brand: string | null;
  last4: string | null;
  token: string | null;
  walletAccountId: string | null;
}

export interface Payment extends PaymentAmounts {
  id: string;
  tenantId: string;
  merchantAccountId: string;
  currency: string;
  status: PaymentStatus;
  captureMethod: CaptureMethod;
  paymentMethod: PaymentMethod;
  processor: string | null;
  processorReference: string | null;
  /** The wallet hold of a wallet payment (placed at authorization, posted at capture). */
  holdId: string | null;
  failureCode: string | null;
  declineCode: string | null;
  description: string | null;
  metadata: Record<string, string>;
  /** Raised by one on every event; equals the sequence of the latest event. */
  version: number;
  settledBatchId: string | null;
  /** The risk verdict (contract §8); null before it is scored, and for payments of release 0.2.0. */
  risk: RiskAssessment | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface PaymentEventRecord {
  id: string;
  paymentId: string;
  sequence: number;
  type: PaymentEventType;
  data: Record<string, unknown>;
  createdAt: Date;
}

export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface Refund {
  id: string;
  paymentId: string;
  tenantId: string;
  amountMinor: number;
  status: RefundStatus;
  failureCode: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Per currency: how many payments a batch settled and their amounts at settlement time. */
export interface SettlementTotals {
  payment_count: number;
  amount_captured: number;
  amount_refunded: number;
}
