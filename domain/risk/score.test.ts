import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RISK_SETTINGS, applyRiskSettingsPatch } from './settings.js';
import { scoreRisk } from './score.js';
import type { RiskRuleCode, RiskSettings, RiskSignals } from './types.js';

/** Signals that fire nothing under the defaults: an old account paying a known payee a usual amount. */
const quiet: RiskSignals = {
  amountMinor: 1_000, recentCount: 0, recentAmountMinor: 0, historyCount: 10, historyAmountMinor: 10_000,
  paidPayeeBefore: true, accountAgeSeconds: 10 * 86_400, recentTopupMinor: 0, drainedSinceTopupMinor: 0,
  smallDeclines: null, blocklisted: false,
};

const codes = (signals: Partial<RiskSignals>, settings: RiskSettings = DEFAULT_RISK_SETTINGS) =>
  scoreRisk({ ...quiet, ...signals }, settings).rules.map((r) => r.code);

const arbSignals: fc.Arbitrary<RiskSignals> = fc.record({
  amountMinor: fc.integer({ min: 1, max: 1_000_000_000_000 }),
  recentCount: fc.integer({ min: 0, max: 1_000 }),
  recentAmountMinor: fc.integer({ min: 0, max: 1_000_000_000_000 }),
  historyCount: fc.integer({ min: 0, max: 50 }),
  historyAmountMinor: fc.integer({ min: 0, max: 50_000_000_000_000 }),
  paidPayeeBefore: fc.boolean(),
  accountAgeSeconds: fc.option(fc.integer({ min: 0, max: 10 * 365 * 86_400 }), { nil: null }),
  recentTopupMinor: fc.integer({ min: 0, max: 1_000_000_000_000 }),
  drainedSinceTopupMinor: fc.integer({ min: 0, max: 1_000_000_000_000 }),
  smallDeclines: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
  blocklisted: fc.boolean(),
});

const arbSettings: fc.Arbitrary<RiskSettings> = fc
  .record({
    review: fc.integer({ min: 1, max: 100 }),
    span: fc.integer({ min: 0, max: 99 }),
    scores: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 8, maxLength: 8 }),
    enabled: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  })
  .map(({ review, span, scores, enabled }) => {
    const codesInOrder = Object.keys(DEFAULT_RISK_SETTINGS.rules) as RiskRuleCode[];
    return applyRiskSettingsPatch(DEFAULT_RISK_SETTINGS, {
      review_threshold: review,
      block_threshold: Math.min(100, review + span),
      rules: Object.fromEntries(codesInOrder.map((code, i) => [code, { score: scores[i]!, enabled: code === 'blocklisted' || enabled[i]! }])),
    });
  });

const rank = { allow: 0, review: 1, block: 2 } as const;

describe('scoreRisk: properties', () => {
  it('is bounded 0..100 and equals the capped sum of the fired rules', () => {
    fc.assert(fc.property(arbSignals, arbSettings, (signals, settings) => {
      const { score, rules } = scoreRisk(signals, settings);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(100);
      expect(score).toBe(Math.min(100, rules.reduce((s, r) => s + r.score, 0)));
    }));
  });

  it('is monotone in the amount: a larger amount never lowers the score or the decision', () => {
    fc.assert(fc.property(arbSignals, arbSettings, fc.integer({ min: 0, max: 1_000_000_000 }), (signals, settings, more) => {
      const a = scoreRisk(signals, settings);
      const b = scoreRisk({ ...signals, amountMinor: signals.amountMinor + more }, settings);
      expect(b.score).toBeGreaterThanOrEqual(a.score);
      expect(rank[b.decision]).toBeGreaterThanOrEqual(rank[a.decision]);
    }));
  });

  it('is monotone in velocity: more recent debits, more recent volume or more declines never lower it', () => {
    fc.assert(fc.property(arbSignals, arbSettings, fc.nat(100), fc.nat(1_000_000_000), fc.nat(10), (signals, settings, n, amount, declines) => {
      const a = scoreRisk(signals, settings);
      const b = scoreRisk({
        ...signals, recentCount: signals.recentCount + n, recentAmountMinor: signals.recentAmountMinor + amount,
        smallDeclines: signals.smallDeclines === null ? null : signals.smallDeclines + declines,
      }, settings);
      expect(b.score).toBeGreaterThanOrEqual(a.score);
      expect(rank[b.decision]).toBeGreaterThanOrEqual(rank[a.decision]);
    }));
  });

  it('always blocks a blocklisted counterparty, whatever else', () => {
    fc.assert(fc.property(arbSignals, arbSettings, (signals, settings) => {
      const result = scoreRisk({ ...signals, blocklisted: true }, settings);
      expect(result.decision).toBe('block');
      expect(result.rules.map((r) => r.code)).toContain('blocklisted');
    }));
  });

  it('decides by the thresholds', () => {
    fc.assert(fc.property(arbSignals, arbSettings, (signals, settings) => {
      const { score, decision } = scoreRisk({ ...signals, blocklisted: false }, settings);
      const expected = score >= settings.block_threshold ? 'block' : score >= settings.review_threshold ? 'review' : 'allow';
      expect(decision).toBe(expected);
    }));
  });
});

describe('scoreRisk: each rule at its boundary (defaults)', () => {
  const r = DEFAULT_RISK_SETTINGS.rules;
  it('fires nothing on quiet signals', () => {
    expect(scoreRisk(quiet, DEFAULT_RISK_SETTINGS)).toEqual({ score: 0, decision: 'allow', rules: [] });
  });
  it('velocity_count: more than max_count debits in the window', () => {
    expect(codes({ recentCount: r.velocity_count.max_count - 1 })).toEqual([]);
    expect(codes({ recentCount: r.velocity_count.max_count })).toEqual(['velocity_count']);
  });
  it('velocity_amount: the window sum including this one above max_amount', () => {
    expect(codes({ recentAmountMinor: r.velocity_amount.max_amount - 1_000 })).toEqual([]);
    expect(codes({ recentAmountMinor: r.velocity_amount.max_amount - 999 })).toEqual(['velocity_amount']);
  });
  it('amount_outlier: above multiplier × the average, with enough history', () => {
    // average 1,000 over 10: 10× is 10,000
    expect(codes({ amountMinor: 10_000 })).toEqual([]);
    expect(codes({ amountMinor: 10_001 })).toEqual(['amount_outlier']);
    expect(codes({ amountMinor: 10_001, historyCount: r.amount_outlier.min_history - 1, historyAmountMinor: 4_000 })).toEqual([]);
  });
  it('new_counterparty: first money to this payee', () => {
    expect(codes({ paidPayeeBefore: false })).toEqual(['new_counterparty']);
  });
  it('new_account: younger than min_age_seconds; never for a card', () => {
    expect(codes({ accountAgeSeconds: r.new_account.min_age_seconds })).toEqual([]);
    expect(codes({ accountAgeSeconds: r.new_account.min_age_seconds - 1 })).toEqual(['new_account']);
    expect(codes({ accountAgeSeconds: null })).toEqual([]);
  });
  it('topup_then_drain: drain_percent of a recent top-up leaves', () => {
    // 90 % of 10,000 = 9,000: 8,000 drained + 999 is below, + 1,000 reaches it
    expect(codes({ recentTopupMinor: 10_000, drainedSinceTopupMinor: 8_000, amountMinor: 999 })).toEqual([]);
    expect(codes({ recentTopupMinor: 10_000, drainedSinceTopupMinor: 8_000, amountMinor: 1_000 })).toEqual(['topup_then_drain']);
    expect(codes({ recentTopupMinor: 0, drainedSinceTopupMinor: 8_000, amountMinor: 1_000 })).toEqual([]);
  });
  it('card_testing: min_declines small declines with the card', () => {
    expect(codes({ smallDeclines: r.card_testing.min_declines - 1 })).toEqual([]);
    expect(codes({ smallDeclines: r.card_testing.min_declines })).toEqual(['card_testing']);
  });
  it('blocklisted: blocks at once', () => {
    expect(scoreRisk({ ...quiet, blocklisted: true }, DEFAULT_RISK_SETTINGS)).toMatchObject({ score: 100, decision: 'block' });
  });
  it('a disabled rule never fires; thresholds decide review and block', () => {
    const off = applyRiskSettingsPatch(DEFAULT_RISK_SETTINGS, { rules: { new_counterparty: { enabled: false } } });
    expect(codes({ paidPayeeBefore: false }, off)).toEqual([]);
    const strict = applyRiskSettingsPatch(DEFAULT_RISK_SETTINGS, { review_threshold: 5, block_threshold: 10 });
    expect(scoreRisk({ ...quiet, paidPayeeBefore: false }, strict).decision).toBe('review');
    expect(scoreRisk({ ...quiet, paidPayeeBefore: false, accountAgeSeconds: 0 }, strict).decision).toBe('block');
    expect(scoreRisk({ ...quiet, paidPayeeBefore: false }, DEFAULT_RISK_SETTINGS).decision).toBe('allow');
  });
});

describe('applyRiskSettingsPatch', () => {
  it('changes what the patch names and keeps the rest', () => {
    const next = applyRiskSettingsPatch(DEFAULT_RISK_SETTINGS, { review_threshold: 50, rules: { velocity_count: { max_count: 3 } } });
    expect(next.review_threshold).toBe(50);
    expect(next.block_threshold).toBe(DEFAULT_RISK_SETTINGS.block_threshold);
    expect(next.rules.velocity_count).toEqual({ ...DEFAULT_RISK_SETTINGS.rules.velocity_count, max_count: 3 });
    expect(next.rules.card_testing).toEqual(DEFAULT_RISK_SETTINGS.rules.card_testing);
  });
});
