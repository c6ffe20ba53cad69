import type { FiredRule, RiskAssessment, RiskDecision, RiskRuleCode, RiskRuleParams, RiskSettings, RiskSignals } from './types.js';

/** The score's bounds (contract §8). */
export const RISK_SCORE_MAX = 100;

type Rule<C extends RiskRuleCode> = (signals: RiskSignals, params: RiskRuleParams[C]) => string | null;

/**
 * Each rule: the detail shown on the object when it fires, or null. Every rule is monotone: a
 * larger amount, more recent debits or more declines never make a fired rule stop firing.
 * Integer arithmetic only (BigInt where a product could pass 2^53).
 */
const RULES: { [C in RiskRuleCode]: Rule<C> } = {
  velocity_count: (s, p) => (s.recentCount + 1 > p.max_count
    ? `${s.recentCount + 1} debits within ${p.window_seconds} s (more than ${p.max_count})` : null),
  velocity_amount: (s, p) => (s.recentAmountMinor + s.amountMinor > p.max_amount
    ? `${s.recentAmountMinor + s.amountMinor} within ${p.window_seconds} s (more than ${p.max_amount})` : null),
  amount_outlier: (s, p) => (s.historyCount >= p.min_history
    && BigInt(s.amountMinor) * BigInt(s.historyCount) > BigInt(p.multiplier) * BigInt(s.historyAmountMinor)
    ? `${s.amountMinor} is more than ${p.multiplier}× the average of the last ${s.historyCount} (${Math.floor(s.historyAmountMinor / s.historyCount)})` : null),
  new_counterparty: (s) => (s.paidPayeeBefore ? null : 'first money to this payee'),
  new_account: (s, p) => (s.accountAgeSeconds !== null && s.accountAgeSeconds < p.min_age_seconds
    ? `paying account is ${s.accountAgeSeconds} s old (younger than ${p.min_age_seconds} s)` : null),
  topup_then_drain: (s, p) => (s.recentTopupMinor > 0
    && BigInt(s.drainedSinceTopupMinor + s.amountMinor) * 100n >= BigInt(p.drain_percent) * BigInt(s.recentTopupMinor)
    ? `${s.drainedSinceTopupMinor + s.amountMinor} of a ${s.recentTopupMinor} top-up leaves within ${p.window_seconds} s` : null),
  card_testing: (s, p) => (s.smallDeclines !== null && s.smallDeclines >= p.min_declines
    ? `${s.smallDeclines} declines of at most ${p.small_amount_max} with this card within ${p.window_seconds} s` : null),
  blocklisted: (s) => (s.blocklisted ? 'payee or card on the block list' : null),
};

/** The rule order on the object: the contract's order of §8. */
const ORDER = Object.keys(RULES) as RiskRuleCode[];

/**
 * Scores one transfer or payment: the enabled rules that fire, their scores summed and capped at
 * 100, and the decision — `block` at or above the block threshold or whenever the block list
 * matched, `review` at or above the review threshold, else `allow`.
 */
export function scoreRisk(signals: RiskSignals, settings: RiskSettings): RiskAssessment {
  const rules: FiredRule[] = [];
  for (const code of ORDER) {
    const params = settings.rules[code];
    if (!params.enabled) continue;
    const detail = (RULES[code] as Rule<typeof code>)(signals, params as never);
    if (detail !== null) rules.push({ code, score: params.score, detail });
  }
  const score = Math.min(RISK_SCORE_MAX, rules.reduce((sum, r) => sum + r.score, 0));
  return { score, decision: decide(score, rules, settings), rules };
}

function decide(score: number, rules: readonly FiredRule[], settings: RiskSettings): RiskDecision {
  if (rules.some((r) => r.code === 'blocklisted') || score >= settings.block_threshold) return 'block';
  if (score >= settings.review_threshold) return 'review';
  return 'allow';
}

/** The windows the store measures over, from the settings (one query per scoring). */
export function signalWindows(settings: RiskSettings) {
  const r = settings.rules;
  return {
    countWindowSeconds: r.velocity_count.window_seconds,
    amountWindowSeconds: r.velocity_amount.window_seconds,
    historyDays: r.amount_outlier.lookback_days,
    topupWindowSeconds: r.topup_then_drain.window_seconds,
    declineWindowSeconds: r.card_testing.window_seconds,
    smallAmountMax: r.card_testing.small_amount_max,
  };
}
export type SignalWindows = ReturnType<typeof signalWindows>;
