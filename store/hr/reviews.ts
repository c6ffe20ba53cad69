import type pg from 'pg';
import { OPEN_REVIEW_STATUSES, ReviewError, type RatingGroup, type ReviewCycleStatus, type ReviewStatus } from '../../domain/hr/reviews.js';
import { idTimePrefix } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { assertInTransaction, col, rowMapper } from '../rows.js';

/**
 * The `reviews` table (schema/0028): one row per cycle and employee. Everything that touches many
 * reviews is ONE statement (10,000 employees open, remind and escalate in one round trip each):
 * the workflow carries no employee ids in its history. Ids are made in SQL: the type prefix and
 * time part from domain/ids.ts, 16 random upper-case hex characters (valid Crockford base32) per row.
 */

export interface Review {
  id: string;
  tenantId: string;
  cycleId: string;
  employeeId: string;
  reviewerId: string | null;
  department: string;
  status: ReviewStatus;
  selfRating: number | null;
  selfAnswers: Record<string, string> | null;
  selfSubmittedAt: Date | null;
  managerRating: number | null;
  managerComments: string | null;
  managerSubmittedBy: string | null;
  managerSubmittedAt: Date | null;
  finalRating: number | null;
  escalatedFrom: string | null;
  escalatedAt: Date | null;
  cancelledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const reviewFields = {
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  cycleId: col.text('cycle_id'),
  employeeId: col.text('employee_id'),
  reviewerId: col.textOrNull('reviewer_id'),
  department: col.text('department'),
  status: col.of<ReviewStatus>('status'),
  selfRating: col.ofOrNull<number>('self_rating'),
  selfAnswers: col.ofOrNull<Record<string, string>>('self_answers'),
  selfSubmittedAt: col.timestampOrNull('self_submitted_at'),
  managerRating: col.ofOrNull<number>('manager_rating'),
  managerComments: col.textOrNull('manager_comments'),
  managerSubmittedBy: col.textOrNull('manager_submitted_by'),
  managerSubmittedAt: col.timestampOrNull('manager_submitted_at'),
  finalRating: col.ofOrNull<number>('final_rating'),
  escalatedFrom: col.textOrNull('escalated_from'),
  escalatedAt: col.timestampOrNull('escalated_at'),
  cancelledReason: col.textOrNull('cancelled_reason'),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
};
const review = rowMapper<Review>(reviewFields);

const OPEN = `status IN (${OPEN_REVIEW_STATUSES.map((s) => `'${s}'`).join(', ')})`;
/** 16 random characters per row (ids, not secrets: tenants are kept apart by tenant_id). */
const RANDOM_PART = (seed: string) => `upper(substr(md5(random()::text || ${seed}), 1, 16))`;

/**
 * Opens the cycle's reviews in ONE statement: every active employee (or those of the cycle's
 * `employee_ids` still active), reviewer = their manager, department as it is now. A retry inserts
 * nothing twice (one review per cycle and employee). Returns the cycle's review count.
 */
export async function openReviews(client: pg.PoolClient, input: { tenantId: string; cycleId: string; nowMs: number }): Promise<number> {
  assertInTransaction(client, 'openReviews');
  await client.query(
    `INSERT INTO reviews (id, tenant_id, cycle_id, employee_id, reviewer_id, department)
     SELECT $3 || ${RANDOM_PART('e.id')}, e.tenant_id, c.id, e.id, e.manager_id, e.department
     FROM review_cycles c JOIN employees e ON e.tenant_id = c.tenant_id AND e.status = 'active'
       AND (c.employee_ids IS NULL OR e.id = ANY (c.employee_ids))
     WHERE c.tenant_id = $1 AND c.id = $2
     ON CONFLICT (cycle_id, employee_id) DO NOTHING`,
    [input.tenantId, input.cycleId, idTimePrefix('performanceReview', input.nowMs)],
  );
  return countReviews(client, input.tenantId, input.cycleId);
}

export async function countReviews(db: Db, tenantId: string, cycleId: string, status?: ReviewStatus): Promise<number> {
  const { rows } = await db.query(
    'SELECT count(*)::int AS n FROM reviews WHERE tenant_id = $1 AND cycle_id = $2 AND ($3::text IS NULL OR status = $3)',
    [tenantId, cycleId, status ?? null],
  );
  return rows[0].n as number;
}

/** A review with what its submission rules need of its cycle. Another tenant's reads as missing. */
export interface ReviewWithCycle extends Review {
  cycleStatus: ReviewCycleStatus;
  selfReviewDue: Date;
}

const withCycle = rowMapper<ReviewWithCycle>({
  ...reviewFields,
  cycleStatus: col.of<ReviewCycleStatus>('cycle_status'),
  selfReviewDue: col.timestamp('self_review_due'),
});

/** The review (locked in the caller's transaction with `forUpdate`), with its cycle's status and self due date. */
export async function findReview(db: Db, tenantId: string, reviewId: string, forUpdate = false): Promise<ReviewWithCycle | null> {
  const { rows } = await db.query(
    `SELECT ${review.columns('r')}, c.status AS cycle_status, c.self_review_due FROM reviews r
     JOIN review_cycles c ON c.tenant_id = r.tenant_id AND c.id = r.cycle_id
     WHERE r.tenant_id = $1 AND r.id = $2 ${forUpdate ? 'FOR NO KEY UPDATE OF r FOR SHARE OF c' : ''}`,
    [tenantId, reviewId],
  );
  return rows[0] ? withCycle.map(rows[0]) : null;
}

export interface ReviewFilter extends PageQuery {
  status?: ReviewStatus | undefined;
  reviewerId?: string | undefined;
}

/** A cycle's reviews by id (`starting_after` the last id of the previous page). */
export async function listCycleReviews(db: Db, tenantId: string, cycleId: string, filter: ReviewFilter): Promise<ListPage<Review>> {
  checkPageLimit(filter.limit);
  const { rows } = await db.query(
    `SELECT ${review.columns()} FROM reviews
     WHERE tenant_id = $1 AND cycle_id = $2 AND ($3::text IS NULL OR id > $3) AND ($4::text IS NULL OR status = $4)
       AND ($5::text IS NULL OR reviewer_id = $5)
     ORDER BY id LIMIT $6`,
    [tenantId, cycleId, filter.startingAfter ?? null, filter.status ?? null, filter.reviewerId ?? null, filter.limit + 1],
  );
  return toPage(rows, filter.limit, review.map);
}

/** The self review (the caller checked the rules on the locked row): → `next`. */
export async function writeSelfReview(
  client: pg.PoolClient, input: { tenantId: string; reviewId: string; rating: number; answers: Record<string, string>; next: ReviewStatus },
): Promise<void> {
  assertInTransaction(client, 'writeSelfReview');
  const { rowCount } = await client.query(
    `UPDATE reviews SET self_rating = $3, self_answers = $4, self_submitted_at = now(), status = $5, updated_at = now()
     WHERE tenant_id = $1 AND id = $2 AND status = 'awaiting_self'`,
    [input.tenantId, input.reviewId, input.rating, JSON.stringify(input.answers), input.next],
  );
  if (rowCount !== 1) throw new ReviewError('review_invalid_state', 'The review is no longer waiting for the self review.');
}

/** The manager review by `reviewerId` (the caller checked the rules on the locked row): → `next`. */
export async function writeManagerReview(
  client: pg.PoolClient,
  input: { tenantId: string; reviewId: string; reviewerId: string; rating: number; comments: string; next: ReviewStatus },
): Promise<void> {
  assertInTransaction(client, 'writeManagerReview');
  const { rowCount } = await client.query(
    `UPDATE reviews SET manager_rating = $4, manager_comments = $5, manager_submitted_by = $3, manager_submitted_at = now(),
                        status = $6, updated_at = now()
     WHERE tenant_id = $1 AND id = $2 AND reviewer_id = $3 AND ${OPEN}`,
    [input.tenantId, input.reviewId, input.reviewerId, input.rating, input.comments, input.next],
  );
  if (rowCount !== 1) throw new ReviewError('review_invalid_state', 'The review is no longer waiting for this reviewer.');
}

/**
 * One outbox event per person to remind, in ONE statement: `self` — each employee whose review
 * waits for their self review; `manager` — each reviewer with reviews waiting for them (the count
 * in the payload). Keyed `<cycle>:<kind>-reminder:<person>`: a retry sends nobody a second one.
 */
export async function appendReminderEvents(
  client: pg.PoolClient, input: { tenantId: string; cycleId: string; kind: 'self' | 'manager'; dueAt: string; nowMs: number },
): Promise<number> {
  const recipients = input.kind === 'self'
    ? `SELECT r.employee_id AS person, count(*)::int AS n FROM reviews r
       WHERE r.tenant_id = $1 AND r.cycle_id = $2 AND r.status = 'awaiting_self' GROUP BY r.employee_id`
    : `SELECT r.reviewer_id AS person, count(*)::int AS n FROM reviews r
       WHERE r.tenant_id = $1 AND r.cycle_id = $2 AND r.${OPEN} AND r.reviewer_id IS NOT NULL GROUP BY r.reviewer_id`;
  const { rowCount } = await client.query(
    `INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload)
     SELECT $3 || ${RANDOM_PART('p.person')}, $1, 'review.reminder', $2 || ':' || $4 || '-reminder:' || p.person,
            jsonb_build_object('recipient_id', p.person, 'kind', $4::text, 'cycle_id', $2::text, 'cycle_name', c.name,
                               'due_at', $5::text, 'reviews', p.n)
     FROM (${recipients}) p JOIN review_cycles c ON c.tenant_id = $1 AND c.id = $2
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
    [input.tenantId, input.cycleId, idTimePrefix('event', input.nowMs), input.kind, input.dueAt],
  );
  return rowCount ?? 0;
}

/**
 * Overdue manager reviews go to the reviewer's manager, in ONE statement (a review escalates once;
 * a reviewer without a manager keeps theirs), and each new reviewer gets one `review.escalated`
 * event (keyed per cycle and person) in the same transaction. Returns how many reviews moved.
 */
export async function escalateOverdueReviews(client: pg.PoolClient, input: { tenantId: string; cycleId: string; nowMs: number }): Promise<number> {
  assertInTransaction(client, 'escalateOverdueReviews');
  const { rowCount } = await client.query(
    `UPDATE reviews r SET reviewer_id = m.manager_id, escalated_from = r.reviewer_id, escalated_at = now(), updated_at = now()
     FROM employees m
     WHERE r.tenant_id = $1 AND r.cycle_id = $2 AND r.${OPEN} AND r.escalated_at IS NULL
       AND m.tenant_id = r.tenant_id AND m.id = r.reviewer_id AND m.manager_id IS NOT NULL AND m.manager_id <> r.employee_id`,
    [input.tenantId, input.cycleId],
  );
  await client.query(
    `INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload)
     SELECT $3 || ${RANDOM_PART('p.person')}, $1, 'review.escalated', $2 || ':escalated:' || p.person,
            jsonb_build_object('recipient_id', p.person, 'cycle_id', $2::text, 'cycle_name', c.name, 'reviews', p.n)
     FROM (SELECT reviewer_id AS person, count(*)::int AS n FROM reviews
           WHERE tenant_id = $1 AND cycle_id = $2 AND ${OPEN} AND escalated_at IS NOT NULL GROUP BY reviewer_id) p
     JOIN review_cycles c ON c.tenant_id = $1 AND c.id = $2
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
    [input.tenantId, input.cycleId, idTimePrefix('event', input.nowMs)],
  );
  return rowCount ?? 0;
}

/** At close: completed reviews' manager rating becomes final; reviews still waiting are `incomplete`. */
export async function finalizeCycleReviews(client: pg.PoolClient, tenantId: string, cycleId: string): Promise<void> {
  assertInTransaction(client, 'finalizeCycleReviews');
  await client.query(
    `UPDATE reviews SET final_rating = CASE WHEN status = 'completed' THEN manager_rating END,
                        status = CASE WHEN ${OPEN} THEN 'incomplete' ELSE status END, updated_at = now()
     WHERE tenant_id = $1 AND cycle_id = $2 AND status <> 'cancelled'`,
    [tenantId, cycleId],
  );
}

/**
 * A manager change (`POST /v1/employees/:id {manager_id}`): the employee's waiting reviews in open
 * cycles go to the new manager (null: no reviewer). Returns how many moved.
 */
export async function moveReviewsToManager(db: Db, input: { tenantId: string; employeeId: string; managerId: string | null }): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE reviews r SET reviewer_id = $3, escalated_from = NULL, escalated_at = NULL, updated_at = now()
     FROM review_cycles c
     WHERE r.tenant_id = $1 AND r.employee_id = $2 AND r.${OPEN} AND r.reviewer_id IS DISTINCT FROM $3
       AND c.tenant_id = r.tenant_id AND c.id = r.cycle_id AND c.status = 'open'`,
    [input.tenantId, input.employeeId, input.managerId],
  );
  return rowCount ?? 0;
}

/**
 * Offboarding: the reviews waiting for the leaving reviewer go to `successorId` (their own manager;
 * null: no reviewer), never to the reviewed employee themself. Returns how many moved.
 */
export async function handOverReviews(db: Db, input: { tenantId: string; reviewerId: string; successorId: string | null }): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE reviews SET reviewer_id = CASE WHEN employee_id = $3 THEN NULL ELSE $3 END, updated_at = now()
     WHERE tenant_id = $1 AND reviewer_id = $2 AND ${OPEN}`,
    [input.tenantId, input.reviewerId, input.successorId],
  );
  return rowCount ?? 0;
}

/** Offboarding: the leaving employee's own waiting reviews are `cancelled` (with the reason). Returns how many. */
export async function cancelReviewsOf(db: Db, input: { tenantId: string; employeeId: string; reason: string }): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE reviews SET status = 'cancelled', cancelled_reason = $3, updated_at = now()
     WHERE tenant_id = $1 AND employee_id = $2 AND ${OPEN}`,
    [input.tenantId, input.employeeId, input.reason],
  );
  return rowCount ?? 0;
}

/**
 * The summary's groups: reviews (not cancelled) per department and rating — the final rating once
 * the cycle is closed, the manager rating of completed reviews before (null: not rated).
 */
export async function ratingGroups(db: Db, tenantId: string, cycleId: string): Promise<RatingGroup[]> {
  const { rows } = await db.query(
    `SELECT department, CASE WHEN status = 'completed' THEN manager_rating END AS rating, count(*)::int AS n
     FROM reviews WHERE tenant_id = $1 AND cycle_id = $2 AND status <> 'cancelled' GROUP BY 1, 2`,
    [tenantId, cycleId],
  );
  return rows.map((r) => ({ department: r.department as string, rating: (r.rating as number | null) ?? null, count: r.n as number }));
}

/** Checks (bench:reviews): the cycle's reviews, distinct employees, and those whose reviewer is the employee's manager now. */
export async function cycleReviewerCheck(db: Db, tenantId: string, cycleId: string): Promise<{ reviews: number; employees: number; rightReviewer: number }> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS reviews, count(DISTINCT r.employee_id)::int AS employees,
            count(*) FILTER (WHERE r.reviewer_id IS NOT DISTINCT FROM e.manager_id)::int AS right_reviewer
     FROM reviews r JOIN employees e ON e.tenant_id = r.tenant_id AND e.id = r.employee_id
     WHERE r.tenant_id = $1 AND r.cycle_id = $2`,
    [tenantId, cycleId],
  );
  return { reviews: rows[0].reviews as number, employees: rows[0].employees as number, rightReviewer: rows[0].right_reviewer as number };
}
