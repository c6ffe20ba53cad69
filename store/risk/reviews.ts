import { newId } from '../../domain/ids.js';
import type { FiredRule, ReviewDecision, ReviewObjectType, ReviewStatus } from '../../domain/risk/types.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `risk_reviews` table: one per transfer or payment the score sent to review, opened by its
 * workflow and decided once (`WHERE status = 'open'`) by the workflow's `decideReview` Update or
 * its expiry timer — so the row and the run never disagree on who decided.
 */

export { REVIEW_STATUSES, type ReviewDecision, type ReviewObjectType, type ReviewStatus } from '../../domain/risk/types.js';

export interface RiskReview {
  id: string;
  tenantId: string;
  objectType: ReviewObjectType;
  objectId: string;
  workflowId: string;
  status: ReviewStatus;
  score: number;
  rules: FiredRule[];
  amountMinor: number;
  currency: string;
  expiresAt: Date;
  decidedBy: string | null;
  note: string | null;
  decidedAt: Date | null;
  createdAt: Date;
}

const reviewRow = rowMapper<RiskReview>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  objectType: col.of<ReviewObjectType>('object_type'),
  objectId: col.text('object_id'),
  workflowId: col.text('workflow_id'),
  status: col.of<ReviewStatus>('status'),
  score: col.int('score'),
  rules: col.json<FiredRule[]>('rules'),
  amountMinor: col.int('amount'),
  currency: col.text('currency'),
  expiresAt: col.timestamp('expires_at'),
  decidedBy: col.textOrNull('decided_by'),
  note: col.textOrNull('note'),
  decidedAt: col.timestampOrNull('decided_at'),
  createdAt: col.timestamp('created_at'),
});

export type NewReview = Pick<RiskReview, 'tenantId' | 'objectType' | 'objectId' | 'workflowId' | 'score' | 'rules' | 'amountMinor' | 'currency'> & {
  expiresInMs: number;
};

/** Opens the object's review, or returns the one opened already (a retried step). */
export async function openReview(db: Db, input: NewReview): Promise<RiskReview> {
  const { rows } = await db.query(
    `WITH ins AS (
       INSERT INTO risk_reviews (id, tenant_id, object_type, object_id, workflow_id, score, rules, amount, currency, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10::double precision / 1000))
       ON CONFLICT (object_type, object_id) DO NOTHING RETURNING ${reviewRow.columns()})
     SELECT * FROM ins UNION ALL
     SELECT ${reviewRow.columns()} FROM risk_reviews WHERE object_type = $3 AND object_id = $4 AND NOT EXISTS (SELECT 1 FROM ins)`,
    [newId('riskReview'), input.tenantId, input.objectType, input.objectId, input.workflowId, input.score,
      JSON.stringify(input.rules), input.amountMinor, input.currency, input.expiresInMs],
  );
  return reviewRow.map(rows[0]);
}

/**
 * Decides an open review, once: the decided row, or the row as it is when it was decided before
 * (the caller compares its status: a retried step finds its own decision).
 */
export async function decideReview(
  db: Db, reviewId: string, decision: ReviewDecision, decidedBy: string | null, note: string | null,
): Promise<RiskReview> {
  const { rows } = await db.query(
    `WITH upd AS (
       UPDATE risk_reviews SET status = $2, decided_by = $3, note = $4, decided_at = now()
       WHERE id = $1 AND status = 'open' RETURNING ${reviewRow.columns()})
     SELECT * FROM upd UNION ALL
     SELECT ${reviewRow.columns()} FROM risk_reviews WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM upd)`,
    [reviewId, decision, decidedBy, note],
  );
  if (!rows[0]) throw new Error(`no such review: ${reviewId}`);
  return reviewRow.map(rows[0]);
}

/** A tenant's review; with `tenantId` null (the admin key), any tenant's. */
export async function findReview(db: Db, tenantId: string | null, id: string): Promise<RiskReview | null> {
  const { rows } = await db.query(
    `SELECT ${reviewRow.columns()} FROM risk_reviews WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
    [id, tenantId],
  );
  return rows[0] ? reviewRow.map(rows[0]) : null;
}

export async function listReviews(db: Db, tenantId: string, status: ReviewStatus | undefined, page: PageQuery): Promise<ListPage<RiskReview>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${reviewRow.columns()} FROM risk_reviews
     WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [tenantId, status ?? null, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, reviewRow.map);
}
