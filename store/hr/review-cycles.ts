import type pg from 'pg';
import { ReviewError, type ReviewCycleStatus } from '../../domain/hr/reviews.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { assertInTransaction, col, rowMapper } from '../rows.js';

/**
 * The `review_cycles` table (schema/0028): a performance review cycle, moved by its workflow's
 * activities (workflows/hr/review-cycle.ts) — `opening` → `open` when its reviews are inserted,
 * `closed` by the close Update — each move guarded by the status it leaves.
 */

export interface ReviewCycle {
  id: string;
  tenantId: string;
  name: string;
  periodStart: string;
  periodEnd: string;
  selfReviewDue: Date;
  managerReviewDue: Date;
  /** Only these employees (each must be active: `checkActiveEmployees`); null: every active employee. */
  employeeIds: string[] | null;
  status: ReviewCycleStatus;
  reviewsCount: number;
  openedAt: Date | null;
  closedAt: Date | null;
  closedBy: string | null;
  createdAt: Date;
}

const cycle = rowMapper<ReviewCycle>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  name: col.text('name'),
  periodStart: col.date('period_start'),
  periodEnd: col.date('period_end'),
  selfReviewDue: col.timestamp('self_review_due'),
  managerReviewDue: col.timestamp('manager_review_due'),
  employeeIds: col.ofOrNull<string[]>('employee_ids'),
  status: col.of<ReviewCycleStatus>('status'),
  reviewsCount: col.int('reviews_count'),
  openedAt: col.timestampOrNull('opened_at'),
  closedAt: col.timestampOrNull('closed_at'),
  closedBy: col.textOrNull('closed_by'),
  createdAt: col.timestamp('created_at'),
});

export type NewReviewCycle = Pick<ReviewCycle, 'tenantId' | 'name' | 'periodStart' | 'periodEnd' | 'selfReviewDue' | 'managerReviewDue' | 'employeeIds'>;

export async function insertReviewCycle(client: pg.PoolClient, input: NewReviewCycle): Promise<ReviewCycle> {
  assertInTransaction(client, 'insertReviewCycle');
  const { rows } = await client.query(
    `INSERT INTO review_cycles (id, tenant_id, name, period_start, period_end, self_review_due, manager_review_due, employee_ids)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${cycle.columns()}`,
    [newId('reviewCycle'), input.tenantId, input.name, input.periodStart, input.periodEnd, input.selfReviewDue, input.managerReviewDue, input.employeeIds],
  );
  return cycle.map(rows[0]);
}

/**
 * `employee_ids` of a new cycle must name active employees of the tenant: the first that does not
 * is `parameter_invalid` (another tenant's reads as unknown).
 */
export async function checkActiveEmployees(db: Db, tenantId: string, employeeIds: readonly string[]): Promise<void> {
  const { rows } = await db.query(
    `SELECT given.id FROM unnest($2::text[]) WITH ORDINALITY AS given(id, n)
     WHERE NOT EXISTS (SELECT 1 FROM employees e WHERE e.tenant_id = $1 AND e.id = given.id AND e.status = 'active')
     ORDER BY given.n LIMIT 1`,
    [tenantId, employeeIds],
  );
  if (rows[0]) throw new ReviewError('parameter_invalid', `employee_ids: ${rows[0].id as string} is not an active employee.`, 'employee_ids');
}

/** Another tenant's cycle reads as missing (`null`). */
export async function findReviewCycle(db: Db, tenantId: string, cycleId: string): Promise<ReviewCycle | null> {
  const { rows } = await db.query(`SELECT ${cycle.columns()} FROM review_cycles WHERE tenant_id = $1 AND id = $2`, [tenantId, cycleId]);
  return rows[0] ? cycle.map(rows[0]) : null;
}

/** The tenant's cycles, newest first. */
export async function listReviewCycles(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<ReviewCycle>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${cycle.columns()} FROM review_cycles WHERE tenant_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, cycle.map);
}

/** Locks the cycle's row in the caller's transaction (its reviews' writes then see one status). */
export async function lockReviewCycle(client: pg.PoolClient, tenantId: string, cycleId: string): Promise<ReviewCycle> {
  assertInTransaction(client, 'lockReviewCycle');
  const { rows } = await client.query(`SELECT ${cycle.columns()} FROM review_cycles WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`, [tenantId, cycleId]);
  if (!rows[0]) throw new Error(`review cycle ${cycleId} is missing`);
  return cycle.map(rows[0]);
}

/** `opening` → `open` with its reviews' count (a no-op once open). */
export async function markReviewCycleOpen(client: pg.PoolClient, tenantId: string, cycleId: string, reviewsCount: number): Promise<void> {
  await client.query(
    `UPDATE review_cycles SET status = 'open', reviews_count = $3, opened_at = now() WHERE tenant_id = $1 AND id = $2 AND status = 'opening'`,
    [tenantId, cycleId, reviewsCount],
  );
}

/** `open` → `closed` (by `closedBy`); returns whether this call closed it. */
export async function markReviewCycleClosed(client: pg.PoolClient, tenantId: string, cycleId: string, closedBy: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE review_cycles SET status = 'closed', closed_at = now(), closed_by = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'open'`,
    [tenantId, cycleId, closedBy],
  );
  return rowCount === 1;
}

/** Removes a cycle whose workflow definitely did not start (still `opening`, so no review exists). */
export async function deleteOpeningCycle(db: Db, tenantId: string, cycleId: string): Promise<void> {
  await db.query(`DELETE FROM review_cycles WHERE tenant_id = $1 AND id = $2 AND status = 'opening'`, [tenantId, cycleId]);
}
