import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planEvent } from '../notifications/event-plan.js';
import { withTransaction, createPool } from '../../store/db.js';
import { insertReviewCycle } from '../../store/hr/review-cycles.js';
import { countReviews, listCycleReviews } from '../../store/hr/reviews.js';
import { testConfig } from '../../test/harness.js';
import { hrTenant } from '../../test/hr-fixtures.js';
import { createReviewCycleActivities } from './review-activities.js';

/**
 * The review cycle's steps against the real database: each is retried by Temporal after a crash
 * that may come after its commit, so running one twice must change nothing the second time; the
 * events they write reach the notification system (planned into notifications for the person).
 */

let pool: pg.Pool;
beforeAll(() => {
  pool = createPool(testConfig().DATABASE_URL, 6);
});
afterAll(async () => {
  await pool?.end();
});

async function outboxOf(tenantId: string) {
  const { rows } = await pool.query(`SELECT id, topic, payload FROM outbox WHERE tenant_id = $1 ORDER BY topic, payload->>'recipient_id'`, [tenantId]);
  return rows as { id: string; topic: string; payload: Record<string, unknown> }[];
}

describe('the review cycle activities', () => {
  it('open, remind, escalate and close once each, however often they run; the events plan into notifications', async () => {
    const hr = await hrTenant(pool, 'review activities');
    const boss = await hr.hire();
    const manager = await hr.hire({ managerId: boss.id });
    const worker = await hr.hire({ managerId: manager.id });
    const cycle = await withTransaction(pool, (c) => insertReviewCycle(c, {
      tenantId: hr.tenantId, name: 'H1', periodStart: '2031-01-01', periodEnd: '2031-06-30',
      selfReviewDue: new Date('2031-07-01T00:00:00Z'), managerReviewDue: new Date('2031-07-15T00:00:00Z'), employeeIds: null,
    }));
    const steps = createReviewCycleActivities({ pool });
    const ref = { tenantId: hr.tenantId, cycleId: cycle.id };

    expect([await steps.openReviewCycle(ref), await steps.openReviewCycle(ref)]).toEqual([3, 3]);
    expect(await countReviews(pool, hr.tenantId, cycle.id)).toBe(3);
    const remind = { ...ref, kind: 'self' as const, dueAt: '2031-07-01T00:00:00.000Z' };
    expect([await steps.remindReviewers(remind), await steps.remindReviewers(remind)]).toEqual([3, 0]);
    expect([await steps.escalateOverdueReviews(ref), await steps.escalateOverdueReviews(ref)]).toEqual([1, 0]);
    const reviews = (await listCycleReviews(pool, hr.tenantId, cycle.id, { limit: 10 })).data;
    expect(reviews.find((r) => r.employeeId === worker.id)).toMatchObject({ reviewerId: boss.id, escalatedFrom: manager.id });
    const events = await outboxOf(hr.tenantId);
    expect(events.map((e) => [e.topic, e.payload.recipient_id])).toEqual([
      ['review.escalated', boss.id], ...[boss.id, manager.id, worker.id].sort().map((id) => ['review.reminder', id]),
    ]);
    expect(events.every((e) => /^evt_[0-9A-Z]{26}$/.test(e.id))).toBe(true);

    // Through the notification system: the escalation becomes the boss's notification, rendered from its template.
    const plan = await withTransaction(pool, (c) => planEvent(c, { tenantId: hr.tenantId, eventId: events[0]!.id }));
    expect(plan.notifications).toHaveLength(1);
    const { rows: [notification] } = await pool.query('SELECT user_id, template_id FROM notifications WHERE id = $1', [plan.notifications[0]!.notificationId]);
    expect(notification).toEqual({ user_id: boss.id, template_id: 'review.escalated' });

    await steps.closeReviewCycle({ ...ref, closedBy: 'user_hr' });
    await steps.closeReviewCycle({ ...ref, closedBy: 'someone_else' });
    const { rows: [closed] } = await pool.query('SELECT status, closed_by FROM review_cycles WHERE id = $1', [cycle.id]);
    expect(closed).toEqual({ status: 'closed', closed_by: 'user_hr' });
    expect(await countReviews(pool, hr.tenantId, cycle.id, 'incomplete')).toBe(3);
    // Nothing waits any more: a late reminder or escalation step finds nobody.
    expect(await steps.remindReviewers({ ...remind, kind: 'manager' })).toBe(0);
    expect(await steps.escalateOverdueReviews(ref)).toBe(0);
  });
});
