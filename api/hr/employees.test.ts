import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Call, type Harness } from '../../test/harness.js';

/** Employees you can manage (contract §4) and leave allocated on hire (§9), through the API. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

let sequence = 0;
async function hire(call: Call, fields: Record<string, unknown> = {}) {
  sequence++;
  const res = await call('POST', '/v1/employees', {
    body: {
      employee_number: `EMP-${sequence}`, first_name: 'Ada', last_name: `Person${sequence}`, email: `person${sequence}@example.com`,
      department: 'Engineering', hire_date: '2024-01-01', ...fields,
    },
  });
  if (res.status !== 201) throw new Error(`hire: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; email: string; employee_number: string };
}

const idsOf = (body: unknown) => (body as { data: { id: string }[] }).data.map((e) => e.id);

describe('GET /v1/employees', () => {
  it('filters by department, manager and status, searches name, email and number (any case), newest first', async () => {
    const { call } = await h.newTenant();
    const boss = await hire(call, { first_name: 'Grace', last_name: 'Hopper', department: 'Board' });
    const ada = await hire(call, { first_name: 'Ada', last_name: 'Lovelace', manager_id: boss.id, email: 'ada.l@analytical.example' });
    const alan = await hire(call, { first_name: 'Alan', last_name: 'Turing', manager_id: boss.id, department: 'Research', employee_number: 'ZX-99' });
    const other = await hire(call, { first_name: 'Ken', last_name: 'Thompson', department: 'Research' });

    expect(idsOf((await call('GET', '/v1/employees')).body)).toEqual([other.id, alan.id, ada.id, boss.id]);
    expect(idsOf((await call('GET', '/v1/employees?department=Research')).body)).toEqual([other.id, alan.id]);
    expect(idsOf((await call('GET', `/v1/employees?manager_id=${boss.id}`)).body)).toEqual([alan.id, ada.id]);
    expect(idsOf((await call('GET', `/v1/employees?manager_id=${boss.id}&department=Research`)).body)).toEqual([alan.id]);
    expect(idsOf((await call('GET', '/v1/employees?status=active')).body)).toHaveLength(4);
    expect(idsOf((await call('GET', '/v1/employees?status=terminated')).body)).toEqual([]);
    // q: a piece of the full name, the email or the number, any case.
    expect(idsOf((await call('GET', '/v1/employees?q=LOVE')).body)).toEqual([ada.id]);
    expect(idsOf((await call('GET', `/v1/employees?q=${encodeURIComponent('ace hop')}`)).body)).toEqual([boss.id]);
    expect(idsOf((await call('GET', '/v1/employees?q=analytical.EXAMPLE')).body)).toEqual([ada.id]);
    expect(idsOf((await call('GET', '/v1/employees?q=zx-9')).body)).toEqual([alan.id]);
    expect(idsOf((await call('GET', '/v1/employees?q=t&department=Research')).body)).toEqual([other.id, alan.id]);
    // LIKE's wildcards are plain characters in q.
    expect(idsOf((await call('GET', '/v1/employees?q=%25')).body)).toEqual([]);
    expect(idsOf((await call('GET', '/v1/employees?q=_')).body)).toEqual([]);
    const bad = await call('GET', '/v1/employees?status=fired');
    expect(bad.status).toBe(400);
  });

  it('pages with limit and starting_after', async () => {
    const { call } = await h.newTenant();
    const hired = [];
    for (let i = 0; i < 5; i++) hired.push((await hire(call)).id);
    const newestFirst = [...hired].reverse();
    const first = (await call('GET', '/v1/employees?limit=2')).body;
    expect(first).toMatchObject({ object: 'list', has_more: true });
    expect(idsOf(first)).toEqual(newestFirst.slice(0, 2));
    const second = (await call('GET', `/v1/employees?limit=2&starting_after=${newestFirst[1]}`)).body;
    expect(idsOf(second)).toEqual(newestFirst.slice(2, 4));
    const last = (await call('GET', `/v1/employees?limit=2&starting_after=${newestFirst[3]}`)).body;
    expect(last).toMatchObject({ has_more: false });
    expect(idsOf(last)).toEqual(newestFirst.slice(4));
    expect((await call('GET', '/v1/employees?limit=101')).status).toBe(400);
  });
});

describe('POST /v1/employees/:id', () => {
  it('changes only the fields given, clears nullable ones with null, and shows status and wallet', async () => {
    const { call } = await h.newTenant();
    const boss = await hire(call);
    const employee = await hire(call, { country: 'DE' });
    const created = (await call('GET', `/v1/employees/${employee.id}`)).body;
    expect(created).toMatchObject({ status: 'active', wallet_account_id: null, country: 'DE', manager_id: null });

    const wallet = (await call('POST', '/v1/accounts', { body: { type: 'user', currency: 'EUR' } })).body.id as string;
    const steps: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ first_name: 'Augusta' }, { first_name: 'Augusta', last_name: created.last_name }],
      [{ last_name: 'King' }, { first_name: 'Augusta', last_name: 'King' }],
      [{ email: 'augusta@example.com' }, { email: 'augusta@example.com' }],
      [{ department: 'Mathematics' }, { department: 'Mathematics' }],
      [{ manager_id: boss.id }, { manager_id: boss.id }],
      [{ country: 'GB' }, { country: 'GB' }],
      [{ wallet_account_id: wallet }, { wallet_account_id: wallet }],
      [{ country: null, manager_id: null }, { country: null, manager_id: null, wallet_account_id: wallet }],
      [{ wallet_account_id: null }, { wallet_account_id: null, first_name: 'Augusta', email: 'augusta@example.com' }],
    ];
    for (const [body, expected] of steps) {
      const res = await call('POST', `/v1/employees/${employee.id}`, { body });
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.body).toMatchObject({ id: employee.id, object: 'employee', ...expected });
      expect((await call('GET', `/v1/employees/${employee.id}`)).body).toEqual(res.body);
    }
    const final = (await call('GET', `/v1/employees/${employee.id}`)).body;
    expect(final).toMatchObject({ employee_number: created.employee_number, hire_date: created.hire_date, status: 'active' });
    // Fields that are not the employee's to change here are refused.
    expect((await call('POST', `/v1/employees/${employee.id}`, { body: { status: 'terminated' } })).status).toBe(400);
    expect((await call('POST', `/v1/employees/${employee.id}`, { body: { hire_date: '2020-01-01' } })).status).toBe(400);
  });

  it('a duplicate email (any case) is 409 resource_exists, and nothing changes', async () => {
    const { call } = await h.newTenant();
    const first = await hire(call);
    const second = await hire(call);
    const res = await call('POST', `/v1/employees/${second.id}`, { body: { first_name: 'Changed', email: first.email.toUpperCase() } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'resource_exists', param: 'email' });
    expect((await call('GET', `/v1/employees/${second.id}`)).body).toMatchObject({ first_name: 'Ada', email: second.email });
  });

  it('the wallet must be a user account of the tenant: 404 or 400, and nothing is written', async () => {
    const { call } = await h.newTenant();
    const stranger = await h.newTenant();
    const employee = await hire(call);
    const foreign = (await stranger.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'EUR' } })).body.id as string;
    const merchant = (await call('POST', '/v1/accounts', { body: { type: 'merchant', currency: 'EUR' } })).body.id as string;
    for (const [wallet, status, code] of [['acct_missing', 404, 'resource_missing'], [foreign, 404, 'resource_missing'], [merchant, 400, 'parameter_invalid']] as const) {
      const res = await call('POST', `/v1/employees/${employee.id}`, { body: { department: 'Changed', wallet_account_id: wallet } });
      expect(res.status, wallet).toBe(status);
      expect(res.body.error).toMatchObject({ code, param: 'wallet_account_id' });
    }
    expect((await call('GET', `/v1/employees/${employee.id}`)).body).toMatchObject({ department: 'Engineering', wallet_account_id: null });
  });

  it('a manager change that would make a cycle is refused, and nothing else changes with it', async () => {
    const { call } = await h.newTenant();
    const boss = await hire(call);
    const report = await hire(call, { manager_id: boss.id });
    const res = await call('POST', `/v1/employees/${boss.id}`, { body: { first_name: 'Changed', manager_id: report.id } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'manager_id' });
    expect((await call('GET', `/v1/employees/${boss.id}`)).body).toMatchObject({ first_name: 'Ada', manager_id: null });
  });

  it('another tenant’s employees are 404 (read, update, as a manager) and not listed', async () => {
    const mine = await h.newTenant();
    const theirs = await h.newTenant();
    const employee = await hire(mine.call);
    const stranger = await hire(theirs.call);
    expect((await theirs.call('GET', `/v1/employees/${employee.id}`)).status).toBe(404);
    const update = await theirs.call('POST', `/v1/employees/${employee.id}`, { body: { first_name: 'Mallory' } });
    expect(update.status).toBe(404);
    expect(update.body.error).toMatchObject({ code: 'resource_missing' });
    const asManager = await mine.call('POST', `/v1/employees/${employee.id}`, { body: { manager_id: stranger.id } });
    expect(asManager.status).toBe(404);
    expect(asManager.body.error).toMatchObject({ code: 'resource_missing', param: 'manager_id' });
    expect(idsOf((await theirs.call('GET', '/v1/employees')).body)).toEqual([stranger.id]);
    expect(idsOf((await theirs.call('GET', `/v1/employees?q=${encodeURIComponent(employee.email)}`)).body)).toEqual([]);
    expect((await mine.call('GET', `/v1/employees/${employee.id}`)).body).toMatchObject({ first_name: 'Ada', manager_id: null });
  });
});

describe('hiring allocates annual leave pro rata', () => {
  it('each leave type with annual_days gives its share of the rest of the hire year, in the leave ledger', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const annual = await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave', annual_days: 25 } });
    expect(annual.status).toBe(201);
    expect(annual.body).toMatchObject({ code: 'annual', annual_days: 25, unpaid: false });
    const unpaid = await call('POST', '/v1/leave-types', { body: { code: 'unpaid', name: 'Unpaid leave', unpaid: true } });
    expect(unpaid.body).toMatchObject({ annual_days: null, unpaid: true });
    expect((await call('POST', '/v1/leave-types', { body: { code: 'x', name: 'X', annual_days: 1.25 } })).status).toBe(400);
    // 2025-07-01: 184 of 365 days left; 25 × 184 / 365 = 12.60… → 12.5 (down to a half day).
    const employee = await hire(call, { hire_date: '2025-07-01' });
    const balances = (await call('GET', `/v1/employees/${employee.id}/leave-balances?year=2025`)).body;
    expect(balances).toEqual([
      { leave_type: 'annual', year: 2025, allocated: 12.5, used: 0, reserved: 0, available: 12.5 },
      { leave_type: 'unpaid', year: 2025, allocated: 0, used: 0, reserved: 0, available: 0 },
    ]);
    // Only the hire year: the next years are the allocation endpoint's (or a yearly job's) to give.
    expect((await call('GET', `/v1/employees/${employee.id}/leave-balances?year=2026`)).body[0]).toMatchObject({ allocated: 0 });
    const { rows } = await h.pool.query(
      'SELECT kind, leave_type, year, days::float8 AS days, idempotency_key FROM leave_ledger WHERE tenant_id = $1 AND employee_id = $2',
      [tenantId, employee.id],
    );
    expect(rows).toEqual([{ kind: 'allocation', leave_type: 'annual', year: 2025, days: 12.5, idempotency_key: `hire:${employee.id}:annual` }]);

    // A whole year from January 1st; nothing on December 31st (less than half a day).
    const january = await hire(call, { hire_date: '2028-01-01' });
    expect((await call('GET', `/v1/employees/${january.id}/leave-balances?year=2028`)).body[0]).toMatchObject({ allocated: 25 });
    const december = await hire(call, { hire_date: '2025-12-31' });
    expect((await call('GET', `/v1/employees/${december.id}/leave-balances?year=2025`)).body[0]).toMatchObject({ allocated: 0 });
  });
});
