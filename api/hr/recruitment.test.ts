import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planEvent } from '../../activities/notifications/event-plan.js';
import { withTransaction } from '../../store/db.js';
import { eventually } from '../../test/eventually.js';
import { actorHeaders, startHarness, type Harness } from '../../test/harness.js';
import { acceptOfferUpdate, approveOfferUpdate } from '../../workflows/hr/recruitment-types.js';
import { BusinessStatus } from '../../workflows/search-attributes.js';

/**
 * Recruitment (contract §11) against the real stack: stages through the API, interviews and their
 * reminder (a 2 s INTERVIEW_REMINDER_BEFORE), offers through their workflow (approval by the
 * hiring manager's manager, the candidate's answer, expiry), and refusals that write nothing.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000', INTERVIEW_REMINDER_BEFORE: '2s', INTERVIEW_FEEDBACK_WINDOW: '1s' } });
});
afterAll(async () => {
  await h?.close();
});

type Tenant = Awaited<ReturnType<Harness['newTenant']>>;

/** boss ← hiring manager; an interviewer; the `annual` leave type (20 days a year, allocated on hire); a job. */
async function recruitingTenant() {
  const tenant = await h.newTenant();
  const { call } = tenant;
  expect((await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave', annual_days: 20 } })).status).toBe(201);
  let n = 0;
  const employee = async (managerId?: string) => {
    n++;
    const res = await call('POST', '/v1/employees', {
      body: {
        employee_number: `R-${n}`, first_name: 'Emp', last_name: `N${n}`, email: `r${n}@example.com`, department: 'Eng',
        hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}),
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const boss = await employee();
  const hiringManager = await employee(boss);
  const interviewer = await employee(boss);
  const job = await call('POST', '/v1/jobs', { body: { title: 'Engineer', department: 'Platform', hiring_manager_id: hiringManager } });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  expect(job.body).toMatchObject({ object: 'job', hiring_manager_id: hiringManager });
  let c = 0;
  const candidate = async () => {
    c++;
    const res = await call('POST', '/v1/candidates', { body: { job_id: job.body.id, name: `Grace Brewster Hopper${c}`, email: `grace${c}@example.org` } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const advance = async (id: string, to: string, actor = hiringManager) =>
    call('POST', `/v1/candidates/${id}/advance`, { body: { to }, headers: await actorHeaders(tenant, actor) });
  const atOfferStage = async () => {
    const id = await candidate();
    for (const to of ['screening', 'interview', 'offer']) expect((await advance(id, to)).status).toBe(200);
    return id;
  };
  return { tenant, call, boss, hiringManager, interviewer, jobId: job.body.id as string, candidate, advance, atOfferStage };
}

async function rowCount(table: 'candidates' | 'interviews' | 'offers' | 'jobs', tenantId: string): Promise<number> {
  const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenantId]);
  return rows[0].n as number;
}

async function outboxEvents(tenantId: string, topic: string): Promise<Record<string, unknown>[]> {
  const { rows } = await h.pool.query('SELECT payload FROM outbox WHERE tenant_id = $1 AND topic = $2 ORDER BY created_at', [tenantId, topic]);
  return rows.map((r) => r.payload as Record<string, unknown>);
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('candidate stages', () => {
  it('moves applied → screening → interview → offer one step at a time, with a history naming the actor', async () => {
    const t = await recruitingTenant();
    const id = await t.candidate();
    for (const to of ['screening', 'interview', 'offer']) {
      const res = await t.advance(id, to);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.stage).toBe(to);
    }
    const got = await t.call('GET', `/v1/candidates/${id}`);
    expect(got.body.history.map((e: { from: string | null; to: string }) => [e.from, e.to])).toEqual([
      [null, 'applied'], ['applied', 'screening'], ['screening', 'interview'], ['interview', 'offer'],
    ]);
    expect(got.body.history.slice(1).every((e: { actor_id: string }) => e.actor_id === t.hiringManager)).toBe(true);
    const listed = await t.call('GET', `/v1/jobs/${t.jobId}/candidates?stage=offer`);
    expect(listed.body.data.map((c: { id: string }) => c.id)).toEqual([id]);
  });

  it('refuses a skip, a step back, a move after rejection and a withdrawn candidate’s return: 409 candidate_invalid_state, stage unchanged', async () => {
    const t = await recruitingTenant();
    const id = await t.candidate();
    const skip = await t.advance(id, 'interview');
    expect(skip.status).toBe(409);
    expect(skip.body.error).toMatchObject({ type: 'invalid_request_error', code: 'candidate_invalid_state' });
    await t.advance(id, 'screening');
    await t.advance(id, 'interview');
    expect((await t.advance(id, 'screening')).body.error.code).toBe('candidate_invalid_state');
    expect((await t.advance(id, 'rejected')).body.stage).toBe('rejected');
    for (const to of ['screening', 'interview', 'offer', 'withdrawn', 'rejected']) {
      expect((await t.advance(id, to)).body.error.code).toBe('candidate_invalid_state');
    }
    const withdrawn = await t.candidate();
    expect((await t.advance(withdrawn, 'withdrawn')).body.stage).toBe('withdrawn');
    expect((await t.advance(withdrawn, 'screening')).status).toBe(409);
    const got = await t.call('GET', `/v1/candidates/${id}`);
    expect(got.body.stage).toBe('rejected');
    expect(got.body.history).toHaveLength(4);
  });

  it('hired is not a stage advance sets (400); advance needs the acting user (401); neither writes', async () => {
    const t = await recruitingTenant();
    const id = await t.atOfferStage();
    const hired = await t.advance(id, 'hired');
    expect(hired.status).toBe(400);
    const noActor = await t.call('POST', `/v1/candidates/${id}/advance`, { body: { to: 'rejected' } });
    expect(noActor.status).toBe(401);
    expect(noActor.body.error.code).toBe('actor_missing');
    expect((await t.call('GET', `/v1/candidates/${id}`)).body).toMatchObject({ stage: 'offer', employee_id: null });
  });

  it('bad input is a 400 that writes nothing; unknown job, hiring manager or another tenant’s candidate: 404', async () => {
    const t = await recruitingTenant();
    const before = await rowCount('candidates', t.tenant.id);
    for (const body of [
      { job_id: t.jobId, name: 'A', email: 'not-an-email' }, { job_id: t.jobId, name: '', email: 'a@b.co' },
      { job_id: t.jobId, name: 'A', email: 'a@b.co', stage: 'offer' }, { job_id: t.jobId, name: 'A' },
    ]) {
      const res = await t.call('POST', '/v1/candidates', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await rowCount('candidates', t.tenant.id)).toBe(before);
    expect((await t.call('POST', '/v1/candidates', { body: { job_id: 'job_nope', name: 'A', email: 'a@b.co' } })).status).toBe(404);
    expect((await t.call('POST', '/v1/jobs', { body: { title: 'X', department: 'Y', hiring_manager_id: 'emp_nope' } })).status).toBe(404);
    expect(await rowCount('candidates', t.tenant.id)).toBe(before);
    const other = await h.newTenant();
    const id = await t.candidate();
    expect((await other.call('GET', `/v1/candidates/${id}`)).status).toBe(404);
  });
});

describe('interviews', () => {
  it('reminds the interviewer INTERVIEW_REMINDER_BEFORE the slot through the outbox; feedback only by the interviewer', async () => {
    const t = await recruitingTenant();
    const id = await t.candidate();
    // Not in stage interview yet: 409, nothing written.
    const early = await t.call('POST', `/v1/candidates/${id}/interviews`, { body: { interviewer_id: t.interviewer, at: inSeconds(4) } });
    expect(early.status).toBe(409);
    await t.advance(id, 'screening');
    await t.advance(id, 'interview');
    const past = await t.call('POST', `/v1/candidates/${id}/interviews`, { body: { interviewer_id: t.interviewer, at: inSeconds(-60) } });
    expect(past.status).toBe(400);
    expect(await rowCount('interviews', t.tenant.id)).toBe(0);

    const scheduledAt = Date.now();
    const created = await t.call('POST', `/v1/candidates/${id}/interviews`, { body: { interviewer_id: t.interviewer, at: inSeconds(4) } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const interviewId = created.body.id as string;
    expect(interviewId).toMatch(/^int_/);
    const handle = h.temporal.workflow.getHandle(`interview-${interviewId}`);
    await eventually(async () => (await handle.describe()).typedSearchAttributes.get(BusinessStatus), (s) => s === 'awaiting_reminder');
    expect((await h.pool.query('SELECT reminded_at FROM interviews WHERE id = $1', [interviewId])).rows[0].reminded_at).toBeNull();
    const reminded = await eventually(async () => (await t.call('GET', `/v1/interviews/${interviewId}`)).body, (i) => i.reminded_at !== null);
    await eventually(async () => (await handle.describe()).typedSearchAttributes.get(BusinessStatus), (s) => s === 'awaiting_feedback');
    // Reminded about 2 s after scheduling (4 s slot − 2 s), not at once and not at the slot.
    const remindedAfterMs = Date.parse(reminded.reminded_at) - scheduledAt;
    expect(remindedAfterMs).toBeGreaterThanOrEqual(1_500);
    expect(remindedAfterMs).toBeLessThan(3_900);
    expect(await outboxEvents(t.tenant.id, 'interview.reminder')).toEqual([
      expect.objectContaining({ interview_id: interviewId, interviewer_id: t.interviewer, candidate_id: id, job_title: 'Engineer' }),
    ]);

    const byOther = await t.call('POST', `/v1/interviews/${interviewId}/feedback`, {
      body: { rating: 5, notes: 'great' }, headers: await actorHeaders(t.tenant, t.hiringManager),
    });
    expect(byOther.status).toBe(403);
    expect(byOther.body.error.code).toBe('forbidden');
    const badRating = await t.call('POST', `/v1/interviews/${interviewId}/feedback`, {
      body: { rating: 6 }, headers: await actorHeaders(t.tenant, t.interviewer),
    });
    expect(badRating.status).toBe(400);
    expect((await t.call('GET', `/v1/interviews/${interviewId}`)).body).toMatchObject({ rating: null, notes: null, feedback_at: null });
    const feedback = await t.call('POST', `/v1/interviews/${interviewId}/feedback`, {
      body: { rating: 4, notes: 'solid' }, headers: await actorHeaders(t.tenant, t.interviewer),
    });
    expect(feedback.status, JSON.stringify(feedback.body)).toBe(200);
    expect(feedback.body).toMatchObject({ rating: 4, notes: 'solid' });
    expect(await handle.result()).toEqual({ reminded: true, feedbackGiven: true });
    expect((await handle.describe()).typedSearchAttributes.get(BusinessStatus)).toBe('feedback_given');
    const again = await t.call('POST', `/v1/interviews/${interviewId}/feedback`, {
      body: { rating: 1 }, headers: await actorHeaders(t.tenant, t.interviewer),
    });
    expect(again.status).toBe(409);
    expect((await t.call('GET', `/v1/candidates/${id}`)).body.interviews).toEqual([expect.objectContaining({ id: interviewId, rating: 4 })]);
  });
});

describe('interview runs', () => {
  async function scheduled(inS: number) {
    const t = await recruitingTenant();
    const id = await t.candidate();
    await t.advance(id, 'screening');
    await t.advance(id, 'interview');
    const res = await t.call('POST', `/v1/candidates/${id}/interviews`, { body: { interviewer_id: t.interviewer, at: inSeconds(inS) } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { t, interviewId: res.body.id as string, handle: h.temporal.workflow.getHandle(`interview-${res.body.id as string}`) };
  }

  it('no feedback within INTERVIEW_FEEDBACK_WINDOW after the slot: the run ends feedback_missing', async () => {
    const { t, interviewId, handle } = await scheduled(3);
    expect(await handle.result()).toEqual({ reminded: true, feedbackGiven: false });
    expect((await handle.describe()).typedSearchAttributes.get(BusinessStatus)).toBe('feedback_missing');
    expect(await outboxEvents(t.tenant.id, 'interview.reminder')).toEqual([expect.objectContaining({ interview_id: interviewId })]);
  });

  it('feedback before the reminder: no reminder is sent', async () => {
    const { t, interviewId, handle } = await scheduled(30);
    await eventually(async () => (await handle.describe()).typedSearchAttributes.get(BusinessStatus), (s) => s === 'awaiting_reminder');
    const res = await t.call('POST', `/v1/interviews/${interviewId}/feedback`, { body: { rating: 3 }, headers: await actorHeaders(t.tenant, t.interviewer) });
    expect(res.status).toBe(200);
    expect(await handle.result()).toEqual({ reminded: false, feedbackGiven: true });
    expect(await outboxEvents(t.tenant.id, 'interview.reminder')).toEqual([]);
    expect((await t.call('GET', `/v1/interviews/${interviewId}`)).body.reminded_at).toBeNull();
  });
});

describe('offers', () => {
  async function makeOffer(t: Awaited<ReturnType<typeof recruitingTenant>>, candidateId: string, expiresInS = 3600) {
    const res = await t.call('POST', `/v1/candidates/${candidateId}/offer`, {
      body: { annual_salary: 7_200_000, currency: 'USD', start_date: '2031-07-01', expires_at: inSeconds(expiresInS) },
      headers: await actorHeaders(t.tenant, t.hiringManager),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ object: 'offer', status: 'awaiting_approval', approver_id: t.boss, created_by: t.hiringManager });
    expect(res.body.id).toMatch(/^off_/);
    return res.body.id as string;
  }
  const offerOf = async (t: { call: Tenant['call'] }, id: string) => (await t.call('GET', `/v1/offers/${id}`)).body;
  const act = async (t: Awaited<ReturnType<typeof recruitingTenant>>, id: string, action: string, actor?: string) =>
    t.call('POST', `/v1/offers/${id}/${action}`, { body: {}, headers: actor ? await actorHeaders(t.tenant, actor) : {} });

  it('approved by the hiring manager’s manager, accepted: an employee with the offered compensation and pro-rata leave', async () => {
    const t = await recruitingTenant();
    const candidateId = await t.atOfferStage();
    const offerId = await makeOffer(t, candidateId);
    const handle = h.temporal.workflow.getHandle(`offer-${offerId}`);
    await eventually(async () => (await handle.describe()).typedSearchAttributes.get(BusinessStatus), (s) => s === 'awaiting_approval');
    // The approver was asked through the notification system.
    await eventually(() => outboxEvents(t.tenant.id, 'offer.approval_requested'), (events) => events.length === 1);
    expect((await outboxEvents(t.tenant.id, 'offer.approval_requested'))[0]).toMatchObject({ approver_id: t.boss, offer_id: offerId });

    // The candidate cannot answer before approval.
    expect((await act(t, offerId, 'accept')).body.error.code).toBe('offer_invalid_state');
    const approved = await act(t, offerId, 'approve', t.boss);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe('awaiting_candidate');
    expect((await handle.describe()).typedSearchAttributes.get(BusinessStatus)).toBe('awaiting_candidate');
    expect(await outboxEvents(t.tenant.id, 'offer.extended')).toEqual([expect.objectContaining({ candidate_id: candidateId, offer_id: offerId })]);
    // The candidate's e-mail is where the notification system reaches them: the event plans an e-mail to user <cand_id>.
    expect((await t.call('GET', `/v1/users/${candidateId}/contacts`)).body.email).toMatch(/@example\.org$/);
    const { rows: [extended] } = await h.pool.query(`SELECT id FROM outbox WHERE tenant_id = $1 AND topic = 'offer.extended'`, [t.tenant.id]);
    const plan = await withTransaction(h.pool, (client) => planEvent(client, { tenantId: t.tenant.id, eventId: extended.id as string }));
    expect(plan.notifications).toEqual([expect.objectContaining({ channels: ['email'], priority: 'high' })]);
    const { rows: [planned] } = await h.pool.query('SELECT user_id, template_id FROM notifications WHERE id = $1', [plan.notifications[0]!.notificationId]);
    expect(planned).toEqual({ user_id: candidateId, template_id: 'offer.extended' });

    const accepted = await act(t, offerId, 'accept');
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body.status).toBe('accepted');
    const employeeId = accepted.body.employee_id as string;
    expect(employeeId).toMatch(/^emp_/);
    expect(await handle.result()).toEqual({ status: 'accepted', employeeId });

    const employee = (await t.call('GET', `/v1/employees/${employeeId}`)).body;
    expect(employee).toMatchObject({
      manager_id: t.hiringManager, hire_date: '2031-07-01', department: 'Platform', first_name: 'Grace Brewster', last_name: 'Hopper1',
      email: 'grace1@example.org', status: 'active',
    });
    const compensation = (await t.call('GET', `/v1/employees/${employeeId}/compensation`)).body.data;
    expect(compensation).toEqual([expect.objectContaining({ annual_salary: 7_200_000, currency: 'USD', effective_date: '2031-07-01' })]);
    // 20 days × 184 of 365 days (Jul 1 – Dec 31, 2031) = 10.08 → 10 (down to a half day).
    const balances = (await t.call('GET', `/v1/employees/${employeeId}/leave-balances?year=2031`)).body;
    expect(balances).toEqual([expect.objectContaining({ leave_type: 'annual', allocated: 10, available: 10 })]);
    const candidate = (await t.call('GET', `/v1/candidates/${candidateId}`)).body;
    expect(candidate).toMatchObject({ stage: 'hired', employee_id: employeeId });
    expect(candidate.history.at(-1)).toMatchObject({ from: 'offer', to: 'hired', actor_id: `offer:${offerId}` });
    expect(await outboxEvents(t.tenant.id, 'offer.decided')).toEqual([expect.objectContaining({ decision: 'accepted', hiring_manager_id: t.hiringManager })]);

    // Decided: nothing more moves, and a second accept creates no second employee.
    expect((await act(t, offerId, 'accept')).status).toBe(409);
    expect((await act(t, offerId, 'decline')).status).toBe(409);
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM employees WHERE tenant_id = $1', [t.tenant.id]);
    expect(rows[0].n).toBe(4);
  });

  it('approve or reject by anyone but the hiring manager’s manager: 403 not_approver, nothing written', async () => {
    const t = await recruitingTenant();
    const candidateId = await t.atOfferStage();
    const offerId = await makeOffer(t, candidateId);
    for (const actor of [t.hiringManager, t.interviewer, candidateId]) {
      for (const action of ['approve', 'reject']) {
        const res = await act(t, offerId, action, actor);
        expect(res.status).toBe(403);
        expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'not_approver' });
      }
    }
    expect((await act(t, offerId, 'approve')).status).toBe(401);
    // The run's own validators refuse too (a caller that skips the API's check), before anything is recorded.
    const handle = h.temporal.workflow.getHandle(`offer-${offerId}`);
    await expect(handle.executeUpdate(approveOfferUpdate, { args: [{ actorId: t.hiringManager }] })).rejects.toMatchObject({
      cause: expect.objectContaining({ type: 'not_approver' }),
    });
    await expect(handle.executeUpdate(acceptOfferUpdate, { args: [] })).rejects.toMatchObject({
      cause: expect.objectContaining({ type: 'offer_invalid_state' }),
    });
    const offer = await offerOf(t, offerId);
    expect(offer).toMatchObject({ status: 'awaiting_approval' });
    expect(offer.history.map((e: { action: string }) => e.action)).toEqual(['created']);
    expect(await outboxEvents(t.tenant.id, 'offer.extended')).toEqual([]);
    // Ops see the waiting step (visibility is eventually consistent: polled).
    const waiting = await eventually(
      async () => (await h.admin('GET', '/v1/ops/workflows?type=offer&business_status=awaiting_approval&limit=100')).body.data as { workflow_id: string; tenant_id: string }[],
      (runs) => runs.some((run) => run.workflow_id === `offer-${offerId}`),
    );
    expect(waiting.find((run) => run.workflow_id === `offer-${offerId}`)).toMatchObject({ tenant_id: t.tenant.id, business_status: 'awaiting_approval' });
    // One live offer per candidate; the candidate's stage is frozen while the offer waits.
    const second = await t.call('POST', `/v1/candidates/${candidateId}/offer`, {
      body: { annual_salary: 1, currency: 'USD', start_date: '2031-07-01', expires_at: inSeconds(60) }, headers: await actorHeaders(t.tenant, t.hiringManager),
    });
    expect(second.status).toBe(409);
    expect((await t.advance(candidateId, 'withdrawn')).body.error.code).toBe('candidate_invalid_state');
    // The approver rejects: the offer ends, the candidate may then be rejected.
    const rejected = await act(t, offerId, 'reject', t.boss);
    expect(rejected.body.status).toBe('rejected');
    expect((await t.advance(candidateId, 'rejected')).body.stage).toBe('rejected');
  });

  it('declined by the candidate: no employee; the candidate stays in stage offer', async () => {
    const t = await recruitingTenant();
    const candidateId = await t.atOfferStage();
    const offerId = await makeOffer(t, candidateId);
    await act(t, offerId, 'approve', t.boss);
    const declined = await act(t, offerId, 'decline');
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ status: 'declined', employee_id: null });
    expect(await h.temporal.workflow.getHandle(`offer-${offerId}`).result()).toEqual({ status: 'declined', employeeId: null });
    expect((await t.call('GET', `/v1/candidates/${candidateId}`)).body).toMatchObject({ stage: 'offer', employee_id: null });
    expect((await act(t, offerId, 'accept')).body.error.code).toBe('offer_invalid_state');
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM employees WHERE tenant_id = $1', [t.tenant.id]);
    expect(rows[0].n).toBe(3);
  });

  it('unanswered at expires_at: expired (a durable timer), and the candidate can no longer accept', async () => {
    const t = await recruitingTenant();
    const candidateId = await t.atOfferStage();
    const offerId = await makeOffer(t, candidateId, 3);
    await act(t, offerId, 'approve', t.boss);
    expect(await h.temporal.workflow.getHandle(`offer-${offerId}`).result()).toEqual({ status: 'expired', employeeId: null });
    const offer = await offerOf(t, offerId);
    expect(offer.status).toBe('expired');
    expect(offer.history.map((e: { action: string }) => e.action)).toEqual(['created', 'approved', 'expired']);
    expect((await act(t, offerId, 'accept')).status).toBe(409);
    expect((await t.call('GET', `/v1/candidates/${candidateId}`)).body.stage).toBe('offer');
  });

  it('bad offers are 400s that write nothing; an offer before stage offer is 409', async () => {
    const t = await recruitingTenant();
    const candidateId = await t.atOfferStage();
    const headers = await actorHeaders(t.tenant, t.hiringManager);
    for (const body of [
      { annual_salary: 7_200_000, currency: 'USD', start_date: '2031-07-01', expires_at: inSeconds(-5) },
      { annual_salary: 0, currency: 'USD', start_date: '2031-07-01', expires_at: inSeconds(60) },
      { annual_salary: 10.5, currency: 'USD', start_date: '2031-07-01', expires_at: inSeconds(60) },
      { annual_salary: 100, currency: 'usd', start_date: '2031-07-01', expires_at: inSeconds(60) },
      { annual_salary: 100, currency: 'USD', start_date: '2031-02-30', expires_at: inSeconds(60) },
      { annual_salary: 100, currency: 'USD', start_date: '2031-07-01' },
    ]) {
      const res = await t.call('POST', `/v1/candidates/${candidateId}/offer`, { body, headers });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const early = await t.candidate();
    const res = await t.call('POST', `/v1/candidates/${early}/offer`, {
      body: { annual_salary: 100, currency: 'USD', start_date: '2031-07-01', expires_at: inSeconds(60) }, headers,
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('candidate_invalid_state');
    expect(await rowCount('offers', t.tenant.id)).toBe(0);
  });
});
