import { z } from '@hono/zod-openapi';
import { REVIEW_STATUSES, RISK_DECISIONS, RISK_RULE_CODES, type RiskAssessment } from '../../domain/risk/types.js';
import type { RiskReview } from '../../store/risk/reviews.js';

/** A rule that fired: its code, what it added to the score, why. */
const FiredRuleBody = z.object({ code: z.enum(RISK_RULE_CODES), score: z.number().int(), detail: z.string() });

/** The verdict a transfer or payment carries (contract §8); null before it is scored. */
export const RiskBody = z
  .object({
    score: z.number().int().min(0).max(100),
    decision: z.enum(RISK_DECISIONS),
    rules: z.array(FiredRuleBody),
  })
  .nullable()
  .openapi('Risk');

export function serializeRisk(risk: RiskAssessment | null): z.infer<typeof RiskBody> {
  return risk === null ? null : { score: risk.score, decision: risk.decision, rules: risk.rules.map(({ code, score, detail }) => ({ code, score, detail })) };
}

export const ReviewBody = z
  .object({
    id: z.string(),
    object: z.literal('risk_review'),
    status: z.enum(REVIEW_STATUSES),
    object_type: z.enum(['transfer', 'payment']),
    object_id: z.string(),
    score: z.number().int(),
    rules: z.array(FiredRuleBody),
    amount: z.number().int(),
    currency: z.string(),
    expires_at: z.string(),
    decided_by: z.string().nullable(),
    note: z.string().nullable(),
    decided_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('RiskReview');

export function serializeReview(r: RiskReview): z.infer<typeof ReviewBody> {
  return {
    id: r.id, object: 'risk_review', status: r.status, object_type: r.objectType, object_id: r.objectId, score: r.score,
    rules: r.rules, amount: r.amountMinor, currency: r.currency, expires_at: r.expiresAt.toISOString(),
    decided_by: r.decidedBy, note: r.note, decided_at: r.decidedAt?.toISOString() ?? null, created_at: r.createdAt.toISOString(),
  };
}
