import type { RiskRuleCode, RiskRuleParams, RiskSettings } from './types.js';

/**
 * The defaults (contract §8: review at 60, block at 90). No single behavioural signal stops money
 * alone: review needs three together (a burst of debits that also moves a day's volume and is far
 * above the payer's usual amount: 65; a burst that drains a fresh top-up of a day's volume: 65) or
 * card testing during a burst (60); a block needs four, or the block list. Tenants tune the
 * scores and parameters (`PUT /v1/risk/settings`); these keep ordinary traffic — many payments
 * with one card, payroll-like bursts to new payees — flowing.
 */
export const DEFAULT_RISK_SETTINGS: RiskSettings = {
  review_threshold: 60,
  block_threshold: 90,
  rules: {
    velocity_count: { enabled: true, score: 20, max_count: 20, window_seconds: 600 },
    velocity_amount: { enabled: true, score: 20, max_amount: 5_000_000, window_seconds: 86_400 },
    amount_outlier: { enabled: true, score: 25, multiplier: 10, min_history: 5, lookback_days: 30 },
    new_counterparty: { enabled: true, score: 5 },
    new_account: { enabled: true, score: 5, min_age_seconds: 86_400 },
    topup_then_drain: { enabled: true, score: 25, window_seconds: 900, drain_percent: 90 },
    card_testing: { enabled: true, score: 40, min_declines: 5, small_amount_max: 500, window_seconds: 3_600 },
    blocklisted: { enabled: true, score: 100 },
  },
};

/** A `PUT /v1/risk/settings` body: what it names changes, the rest keeps its setting. */
export interface RiskSettingsPatch {
  review_threshold?: number | undefined;
  block_threshold?: number | undefined;
  rules?: { [C in RiskRuleCode]?: Partial<RiskRuleParams[C]> | undefined } | undefined;
}

/** `base` with `patch` applied, rule by rule and parameter by parameter. */
export function applyRiskSettingsPatch(base: RiskSettings, patch: RiskSettingsPatch): RiskSettings {
  const rules = { ...base.rules } as Record<RiskRuleCode, object>;
  for (const [code, params] of Object.entries(patch.rules ?? {}) as [RiskRuleCode, object | undefined][]) {
    if (params === undefined) continue;
    const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
    rules[code] = { ...rules[code], ...defined };
  }
  return {
    review_threshold: patch.review_threshold ?? base.review_threshold,
    block_threshold: patch.block_threshold ?? base.block_threshold,
    rules: rules as unknown as RiskRuleParams,
  };
}

/** Settings are usable when review comes at or before block (both 1..100). Returns why not, or null. */
export function riskSettingsProblem(settings: RiskSettings): string | null {
  if (settings.review_threshold > settings.block_threshold) return 'review_threshold must not exceed block_threshold.';
  return null;
}
