import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorHeaders, startHarness, type Call, type Harness } from '../../test/harness.js';
import { eventually } from '../../test/eventually.js';

/**
 * Performance review cycles (issue #21, contract §11) through the API, with the cycle's workflow
 * and the offboarding on a real worker. Reminders and the escalation run on real timers, so they
 * are short here (REVIEW_REMINDER_BEFORE 2 s, REVIEW_ESCALATION_AFTER 1 s) and every wait polls
 * with a wide margin; what fired is read back from the outbox and the reviews afterwards.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000', REVIEW_REMINDER_BEFORE: '2s', REVIEW_ESCALATION_AFTER: '1s' } });
});
afterAll(async () => {
  await h?.close();
});

type Tenant = { id: string; apiKey: string; call: Call };
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
const HOUR_S = 3600;
const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

async function company() {
  const tenant = await h.newTenant();
  let n = 0;
  const employee = async (department: string, managerId?: string) => {
    const res = await tenant.call('POST', '/v1/employees', {
      body: {
        employee_number: `R${++n}`, first_name: 'R', last_name: `V${n}`, email: `r${n}@example.com`, department, hire_date: '2022-02-01',
        ...(managerId ? { manager_id: managerId } : {}),
      },
    });
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    return res.body.id as string;
  };
  return { tenant, employee };
}

function cycleApi(tenant: Tenant) {
  const { call } = tenant;
  return {
    create: (body: Record<string, unknown>) => call('POST', '/v1/review-cycles', {
      body: { name: 'H1', period_start: '2031-01-01', period_end: '2031-06-30', ...body },
    }),
    reviews: async (cycleId: string) => {
      const res = await call('GET', `/v1/review-cycles/${cycleId}/reviews?limit=100`);
      return new Map((res.body.data as { employee_id: string }[]).map((r) => [r.employee_id, r as Record<string, any>]));
    },
    self: async (reviewId: string, actor: string, rating: number) => call('POST', `/v1/reviews/${reviewId}/self`, {
      body: { rating, answers: { goals: 'Met them.' } }, headers: await actorHeaders(tenant, actor),
    }),
    manager: async (reviewId: string, actor: string, rating: number) => call('POST', `/v1/reviews/${reviewId}/manager`, {
      body: { rating, comments: 'Solid half.' }, headers: await actorHeaders(tenant, actor),
    }),
    close: async (cycleId: string) => call('POST', `/v1/review-cycles/${cycleId}/close`, { body: {}, headers: await actorHeaders(tenant, 'user_hr') }),
    summary: async (cycleId: string) => (await call('GET', `/v1/review-cycles/${cycleId}/summary`)).body,
  };
}

async function outbox(tenantId: string, topic: string) {
  const { rows } = await h.pool.query(
    `SELECT payload FROM outbox WHERE tenant_id = $1 AND topic = $2 ORDER BY payload->>'kind', payload->>'recipient_id'`, [tenantId, topic],
  );
  return rows.map((r) => r.payload as Record<string, unknown>);
}

describe('a review cycle', () => {
  it('reminds before each due date and escalates the overdue manager reviews to the manager’s manager', async () => {
    const { tenant, employee } = await company();
    const director = await employee('Eng');
    const manager = await employee('Eng', director);
    const early = await employee('Eng', manager);
    const late = await employee('Eng', manager);
    const api = cycleApi(tenant);
    const created = await api.create({ self_review_due: inSeconds(4), manager_review_due: inSeconds(8) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'review_cycle', status: 'open', reviews_count: 4 });
    expect(created.body.id).toMatch(/^rc_/);
    const cycleId = created.body.id as string;
    const opened = await api.reviews(cycleId);
    expect([...opened.values()].map((r) => r.id as string).every((id) => /^rvw_[0-9A-Z]{26}$/.test(id))).toBe(true);
    expect(opened.get(early)).toMatchObject({ reviewer_id: manager, status: 'awaiting_self', department: 'Eng' });
    expect((await api.self(opened.get(early)!.id, early, 4)).body).toMatchObject({ status: 'awaiting_manager', self_review: { rating: 4 } });

    // The escalation is the last step: once it is in, every reminder before it was sent.
    const escalated = await eventually(() => outbox(tenant.id, 'review.escalated'), (events) => events.length > 0, 40_000);
    expect(escalated).toEqual([expect.objectContaining({ recipient_id: director, cycle_id: cycleId, reviews: 2 })]);
    const reminders = await outbox(tenant.id, 'review.reminder');
    // Self: everyone still owing theirs (not `early`, who had submitted); manager: one per reviewer, with the count.
    expect(reminders.map((e) => [e.kind, e.recipient_id, e.reviews])).toEqual(
      [['manager', director, 1], ['manager', manager, 2], ...[director, late, manager].sort().map((p) => ['self', p, 1])],
    );
    const after = await api.reviews(cycleId);
    for (const id of [early, late]) expect(after.get(id)).toMatchObject({ reviewer_id: director, escalated_from: manager });
    expect(after.get(manager)).toMatchObject({ reviewer_id: director, escalated_from: null }); // the director has no manager
    // The old manager may no longer write it; the director may.
    expect((await api.manager(after.get(early)!.id, manager, 3)).status).toBe(403);
    expect((await api.manager(after.get(early)!.id, director, 5)).body).toMatchObject({ status: 'completed', manager_review: { rating: 5, submitted_by: director } });

    // Ops see the waiting human step by BusinessStatus, in Temporal and through the ops API.
    const workflowId = `review-cycle-${cycleId}`;
    await eventually(async () => (await h.temporal.workflow.getHandle(workflowId).describe()).searchAttributes.BusinessStatus?.[0], (s) => s === 'awaiting_close', 20_000);
    const listed = await eventually(
      async () => (await h.admin('GET', '/v1/ops/workflows?type=reviewCycle&business_status=awaiting_close')).body,
      (body) => JSON.stringify(body).includes(workflowId), 30_000,
    );
    expect(JSON.stringify(listed)).toContain(workflowId);

    expect((await api.close(cycleId)).body).toMatchObject({ status: 'closed', closed_by: 'user_hr' });
    const closed = await api.reviews(cycleId);
    expect(closed.get(early)).toMatchObject({ status: 'completed', final_rating: 5 });
    expect(closed.get(late)).toMatchObject({ status: 'incomplete', final_rating: null });
    expect((await api.close(cycleId)).body.error.code).toBe('review_invalid_state');
    expect((await api.self(closed.get(late)!.id, late, 2)).body.error.code).toBe('review_invalid_state');
    expect(await h.temporal.workflow.getHandle(workflowId).result()).toEqual({ status: 'closed', reviewsCount: 4 });
  }, 120_000);

  it('moves a review on a manager change and closes it on a termination, mid-cycle', async () => {
    const { tenant, employee } = await company();
    const director = await employee('Ops');
    const leavingManager = await employee('Ops', director);
    const otherManager = await employee('Ops', director);
    const mover = await employee('Ops', leavingManager);
    const leaver = await employee('Ops', leavingManager);
    const stayer = await employee('Ops', leavingManager);
    const api = cycleApi(tenant);
    const cycleId = (await api.create({ self_review_due: inSeconds(HOUR_S), manager_review_due: inSeconds(2 * HOUR_S) })).body.id as string;
    const before = await api.reviews(cycleId);
    expect(before.size).toBe(6);

    // A manager change: the mover's review goes to the new manager, in the same request.
    expect((await tenant.call('POST', `/v1/employees/${mover}`, { body: { manager_id: otherManager } })).status).toBe(200);
    expect((await api.reviews(cycleId)).get(mover)).toMatchObject({ reviewer_id: otherManager, status: 'awaiting_self' });
    // A termination (dated yesterday: the offboarding acts at once): the leaver's own review is cancelled.
    expect((await tenant.call('POST', `/v1/employees/${leaver}/terminate`, { body: { termination_date: yesterday() } })).status).toBe(202);
    // The leaving manager's too; the reviews waiting for them go to their own manager.
    expect((await tenant.call('POST', `/v1/employees/${leavingManager}/terminate`, { body: { termination_date: yesterday() } })).status).toBe(202);
    const after = await eventually(() => api.reviews(cycleId), (m) => m.get(leavingManager)?.status === 'cancelled' && m.get(leaver)?.status === 'cancelled', 30_000);
    expect(after.get(leaver)).toMatchObject({ status: 'cancelled', cancelled_reason: 'The employee was terminated.' });
    expect(after.get(stayer)).toMatchObject({ reviewer_id: director, status: 'awaiting_self' });
    expect(after.get(mover)).toMatchObject({ reviewer_id: otherManager });

    // The cancelled review takes no submission; the moved one is the new manager's to write.
    expect((await api.self(after.get(leaver)!.id, leaver, 3)).body.error.code).toBe('review_invalid_state');
    expect((await api.self(after.get(mover)!.id, mover, 4)).status).toBe(200);
    expect((await api.manager(after.get(mover)!.id, leavingManager, 2)).status).toBe(403);
    expect((await api.manager(after.get(mover)!.id, otherManager, 4)).body).toMatchObject({ status: 'completed' });
    expect((await api.close(cycleId)).status).toBe(200);
    const summary = await api.summary(cycleId);
    // Cancelled reviews are not counted: director, other manager, mover, stayer.
    expect(summary).toMatchObject({ final: true, reviews: 4, rated: 1, departments: [{ department: 'Ops', reviews: 4, rated: 1 }] });
  }, 90_000);

  it('refuses the wrong person (403) and the wrong moment (409); the summary matches the submitted ratings', async () => {
    const { tenant, employee } = await company();
    const head = await employee('Eng');
    const engLead = await employee('Eng', head);
    const salesLead = await employee('Sales', head);
    const engineers = [await employee('Eng', engLead), await employee('Eng', engLead), await employee('Eng', engLead)];
    const sellers = [await employee('Sales', salesLead), await employee('Sales', salesLead)];
    const api = cycleApi(tenant);
    // Self review due in an hour: the manager must wait for the self review.
    const open = (await api.create({ self_review_due: inSeconds(HOUR_S), manager_review_due: inSeconds(2 * HOUR_S) })).body.id as string;
    const reviews = await api.reviews(open);
    const [e1, e2, e3] = engineers.map((id) => reviews.get(id)!);
    expect((await api.manager(e1!.id, engLead, 3)).body.error.code).toBe('review_invalid_state'); // before the self review
    expect((await api.self(e1!.id, engLead, 3)).status).toBe(403); // not the employee
    expect((await api.manager(e1!.id, engineers[0]!, 5)).status).toBe(403); // the employee never rates themself as manager
    expect((await api.manager(e1!.id, salesLead, 5)).status).toBe(403); // not their reviewer
    const wrongBody = await tenant.call('POST', `/v1/reviews/${e1!.id}/self`, {
      body: { rating: 3, answers: {}, employee_id: engineers[1] }, headers: await actorHeaders(tenant, engineers[0]!),
    });
    expect(wrongBody.status).toBe(403);
    expect((await tenant.call('POST', `/v1/reviews/${e1!.id}/self`, { body: { rating: 3, answers: {} } })).body.error.code).toBe('actor_missing');
    for (const rating of [0, 6, 2.5]) expect((await api.self(e1!.id, engineers[0]!, rating)).status).toBe(400);
    expect((await api.self(e1!.id, engineers[0]!, 3)).status).toBe(200);
    expect((await api.self(e1!.id, engineers[0]!, 4)).body.error.code).toBe('review_invalid_state'); // once only

    const ratings: [Record<string, any>, string, number][] = [
      [e1!, engLead, 5], [reviews.get(sellers[0]!)!, salesLead, 2], [reviews.get(sellers[1]!)!, salesLead, 2], [reviews.get(engLead)!, head, 4],
    ];
    for (const [review, , ] of ratings.slice(1)) expect((await api.self(review.id, review.employee_id, 3)).status).toBe(200);
    for (const [review, reviewer, rating] of ratings) expect((await api.manager(review.id, reviewer, rating)).status).toBe(200);
    expect((await api.manager(e1!.id, engLead, 1)).body.error.code).toBe('review_invalid_state'); // once only

    const expected = {
      reviews: 8, rated: 4, distribution: { 1: 0, 2: 2, 3: 0, 4: 1, 5: 1 }, average_rating: 3.25,
      departments: [
        { department: 'Eng', reviews: 5, rated: 2, distribution: { 1: 0, 2: 0, 3: 0, 4: 1, 5: 1 }, average_rating: 4.5 },
        { department: 'Sales', reviews: 3, rated: 2, distribution: { 1: 0, 2: 2, 3: 0, 4: 0, 5: 0 }, average_rating: 2 },
      ],
    };
    expect(await api.summary(open)).toMatchObject({ object: 'review_cycle_summary', final: false, ...expected });
    expect((await api.close(open)).body.status).toBe('closed');
    expect(await api.summary(open)).toMatchObject({ final: true, ...expected });
    const final = await api.reviews(open);
    expect([e2, e3].map((r) => final.get(r!.employee_id)!.status)).toEqual(['incomplete', 'incomplete']);
    expect(final.get(engineers[0]!)!.final_rating).toBe(5);

    // A cycle whose self review is overdue: the manager writes without it.
    const overdue = (await api.create({
      self_review_due: inSeconds(-60), manager_review_due: inSeconds(HOUR_S), employee_ids: [engineers[1]],
    })).body;
    expect(overdue).toMatchObject({ reviews_count: 1, employee_ids: [engineers[1]] });
    const only = (await api.reviews(overdue.id)).get(engineers[1]!)!;
    expect((await api.manager(only.id, engLead, 3)).body).toMatchObject({ status: 'completed', self_review: null });
    await api.close(overdue.id);
  }, 90_000);

  it('refuses bad cycles and writes nothing; another tenant’s cycle is 404', async () => {
    const { tenant, employee } = await company();
    const someone = await employee('Eng');
    const api = cycleApi(tenant);
    const dues = { self_review_due: inSeconds(HOUR_S), manager_review_due: inSeconds(2 * HOUR_S) };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...dues, manager_review_due: inSeconds(60) }, 'manager_review_due'],
      [{ ...dues, period_end: '2030-01-01' }, 'period_end'],
      [{ ...dues, period_start: '2031-02-30' }, 'period_start'],
      [{ ...dues, self_review_due: 'tomorrow' }, 'self_review_due'],
      [{ ...dues, employee_ids: ['emp_00000000000000000000000000'] }, 'employee_ids'],
      [{ ...dues, employee_ids: [] }, 'employee_ids'],
    ];
    for (const [body, param] of cases) {
      const res = await api.create(body);
      expect({ status: res.status, param: res.body.error?.param }, JSON.stringify(body)).toEqual({ status: 400, param });
    }
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM review_cycles WHERE tenant_id = $1', [tenant.id]);
    expect(rows[0].n).toBe(0);
    const mine = (await api.create({ ...dues, employee_ids: [someone] })).body.id as string;
    const other = await h.newTenant();
    expect((await other.call('GET', `/v1/review-cycles/${mine}`)).status).toBe(404);
    expect((await other.call('GET', `/v1/review-cycles/${mine}/summary`)).status).toBe(404);
    await api.close(mine);
  }, 60_000);
});
