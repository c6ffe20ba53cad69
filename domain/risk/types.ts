/**
 * Fraud scoring (contract §8): the rules, their per-tenant parameters, what the store measures for
 * one transfer or payment (`RiskSignals`), and the verdict on the object (`RiskAssessment`).
 */

export const RISK_RULE_CODES = [
  'velocity_count', 'velocity_amount', 'amount_outlier', 'new_counterparty', 'new_account',
  'topup_then_drain', 'card_testing', 'blocklisted',
] as const;
export type RiskRuleCode = (typeof RISK_RULE_CODES)[number];

export const RISK_DECISIONS = ['allow', 'review', 'block'] as const;
export type RiskDecision = (typeof RISK_DECISIONS)[number];

/** Each rule's parameters; `score` is what the rule adds when it fires (0..100). */
export interface RiskRuleParams {
  velocity_count: { enabled: boolean; score: number; max_count: number; window_seconds: number };
  velocity_amount: { enabled: boolean; score: number; max_amount: number; window_seconds: number };
  amount_outlier: { enabled: boolean; score: number; multiplier: number; min_history: number; lookback_days: number };
  new_counterparty: { enabled: boolean; score: number };
  new_account: { enabled: boolean; score: number; min_age_seconds: number };
  topup_then_drain: { enabled: boolean; score: number; window_seconds: number; drain_percent: number };
  card_testing: { enabled: boolean; score: number; min_declines: number; small_amount_max: number; window_seconds: number };
  blocklisted: { enabled: boolean; score: number };
}

export interface RiskSettings {
  review_threshold: number;
  block_threshold: number;
  rules: RiskRuleParams;
}

/**
 * What the store measured, live, for one transfer or payment (never from a cache). Counts and sums
 * exclude the object being scored; `null` where a signal does not apply (no card, no account).
 */
export interface RiskSignals {
  amountMinor: number;
  /** Debits (or card payments) in the `velocity_count` window. */
  recentCount: number;
  /** Their sum in the `velocity_amount` window. */
  recentAmountMinor: number;
  /** The payer's own history in the `amount_outlier` lookback (at most the last 50). */
  historyCount: number;
  historyAmountMinor: number;
  /** Whether money went from this payer to this payee before. */
  paidPayeeBefore: boolean;
  /** The paying account's age; null for a card. */
  accountAgeSeconds: number | null;
  /** Top-ups to the paying account in the `topup_then_drain` window, and what left it since the first. */
  recentTopupMinor: number;
  drainedSinceTopupMinor: number;
  /** Declined small payments with this card token in the `card_testing` window; null without a card. */
  smallDeclines: number | null;
  /** The payee account or card token is on the tenant's block list. */
  blocklisted: boolean;
}

export interface FiredRule {
  code: RiskRuleCode;
  score: number;
  detail: string;
}

export interface RiskAssessment {
  score: number;
  decision: RiskDecision;
  rules: FiredRule[];
}

/** A review of a transfer or payment the score sent to review: open until decided once. */
export const REVIEW_STATUSES = ['open', 'approved', 'declined', 'expired'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export type ReviewDecision = Exclude<ReviewStatus, 'open'>;
export type ReviewObjectType = 'transfer' | 'payment';
