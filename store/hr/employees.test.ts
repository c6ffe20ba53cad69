import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { ORG_DEPTH_MAX } from '../../domain/hr/employees.js';
import { LeaveError } from '../../domain/hr/errors.js';
import { testConfig } from '../../test/harness.js';
import { createPool, withTransaction } from '../db.js';
import { findEmployee, insertEmployee, listReports, lockEmployee, managerOf, setManager, type NewEmployee } from './employees.js';

let pool: pg.Pool;
let tenantId: string;
let counter = 0;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, 10);
  tenantId = (await createTenant(pool, 'employee repository tests')).id;
});
afterAll(async () => {
  await pool?.end();
});

async function hire(fields: Partial<NewEmployee> = {}, tenant = tenantId) {
  counter++;
  return insertEmployee(pool, {
    tenantId: tenant, employeeNumber: `E${counter}`, firstName: 'Ada', lastName: `Person${String(counter).padStart(3, '0')}`,
    email: `person${counter}@example.com`, department: 'Engineering', hireDate: '2020-02-29', ...fields,
  });
}

const move = (employeeId: string, managerId: string | null) =>
  withTransaction(pool, (client) => setManager(client, { tenantId, employeeId, managerId }));

describe('employees', () => {
  it('inserts and finds an employee, dates as YYYY-MM-DD; another tenant cannot see it', async () => {
    const employee = await hire({ country: 'DE' });
    expect(employee).toMatchObject({ hireDate: '2020-02-29', country: 'DE', managerId: null });
    expect(employee.id).toMatch(/^emp_[0-9A-Z]{26}$/);
    expect(await findEmployee(pool, tenantId, employee.id)).toEqual(employee);
    const other = (await createTenant(pool, 'other tenant')).id;
    expect(await findEmployee(pool, other, employee.id)).toBeNull();
  });

  it('a duplicate number or email (any case) is resource_exists', async () => {
    const first = await hire();
    await expect(hire({ employeeNumber: first.employeeNumber })).rejects.toMatchObject({ code: 'resource_exists', param: 'employee_number' });
    await expect(hire({ email: first.email.toUpperCase() })).rejects.toMatchObject({ code: 'resource_exists', param: 'email' });
    // Unique per tenant only.
    const other = (await createTenant(pool, 'another tenant')).id;
    await expect(hire({ employeeNumber: first.employeeNumber, email: first.email }, other)).resolves.toMatchObject({ tenantId: other });
  });

  it('an unknown manager, or one of another tenant, is resource_missing', async () => {
    await expect(hire({ managerId: 'emp_unknown' })).rejects.toMatchObject({ code: 'resource_missing', param: 'manager_id' });
    const other = (await createTenant(pool, 'manager elsewhere')).id;
    const foreign = await hire({}, other);
    await expect(hire({ managerId: foreign.id })).rejects.toMatchObject({ code: 'resource_missing', param: 'manager_id' });
  });

  it('refuses bad dates and countries before touching the database', async () => {
    await expect(hire({ hireDate: '2021-02-29' })).rejects.toMatchObject({ code: 'parameter_invalid', param: 'hire_date' });
    await expect(hire({ country: 'de' })).rejects.toMatchObject({ code: 'parameter_invalid', param: 'country' });
  });
});

describe('org chart', () => {
  /** ceo ← (vp1 ← (lead1 ← dev1, dev2), vp2 ← lead2) */
  async function tree() {
    const ceo = await hire();
    const vp1 = await hire({ managerId: ceo.id });
    const vp2 = await hire({ managerId: ceo.id });
    const lead1 = await hire({ managerId: vp1.id });
    const lead2 = await hire({ managerId: vp2.id });
    const dev1 = await hire({ managerId: lead1.id });
    const dev2 = await hire({ managerId: lead1.id });
    return { ceo, vp1, vp2, lead1, lead2, dev1, dev2 };
  }

  it('depth 1 lists direct reports; all lists the subtree by depth', async () => {
    const t = await tree();
    const direct = await listReports(pool, tenantId, t.ceo.id, 1);
    expect(direct.data.map((r) => [r.id, r.depth])).toEqual([[t.vp1.id, 1], [t.vp2.id, 1]]);
    const all = await listReports(pool, tenantId, t.ceo.id, 'all');
    expect(all.has_more).toBe(false);
    expect(all.data.map((r) => [r.id, r.depth])).toEqual([
      [t.vp1.id, 1], [t.vp2.id, 1], [t.lead1.id, 2], [t.lead2.id, 2], [t.dev1.id, 3], [t.dev2.id, 3],
    ]);
    expect((await listReports(pool, tenantId, t.vp1.id, 'all')).data.map((r) => r.id)).toEqual([t.lead1.id, t.dev1.id, t.dev2.id]);
    expect((await listReports(pool, tenantId, t.dev1.id, 'all')).data).toEqual([]);
    await expect(listReports(pool, tenantId, 'emp_unknown', 1)).rejects.toMatchObject({ code: 'resource_missing' });
  });

  it('managerOf walks one level up', async () => {
    const t = await tree();
    expect(await managerOf(pool, tenantId, t.dev1.id)).toBe(t.lead1.id);
    expect(await managerOf(pool, tenantId, t.ceo.id)).toBeNull();
    await expect(managerOf(pool, tenantId, 'emp_unknown')).rejects.toMatchObject({ code: 'resource_missing' });
  });

  it('refuses cycles: nobody reports to themselves or to their own report', async () => {
    const t = await tree();
    for (const [employee, manager] of [[t.ceo, t.dev1], [t.ceo, t.vp1], [t.vp1, t.lead1], [t.lead1, t.lead1]] as const) {
      await expect(move(employee.id, manager.id)).rejects.toMatchObject({ code: 'parameter_invalid', param: 'manager_id' });
    }
    expect((await findEmployee(pool, tenantId, t.ceo.id))!.managerId).toBeNull();
  });

  it('moves a subtree and back to the top', async () => {
    const t = await tree();
    const moved = await move(t.lead1.id, t.vp2.id);
    expect(moved.managerId).toBe(t.vp2.id);
    expect((await listReports(pool, tenantId, t.vp2.id, 'all')).data.map((r) => r.id).sort())
      .toEqual([t.lead1.id, t.lead2.id, t.dev1.id, t.dev2.id].sort());
    expect((await move(t.lead1.id, null)).managerId).toBeNull();
    expect((await listReports(pool, tenantId, t.ceo.id, 'all')).data).toHaveLength(3);
  });

  it('concurrent moves cannot build a cycle that none of them saw', async () => {
    // Eight rings of three: each move alone is fine, the three of a ring together close a cycle.
    const rings = await Promise.all(Array.from({ length: 8 }, () => Promise.all([hire(), hire(), hire()])));
    const results = await Promise.all(rings.map((ring) => Promise.allSettled(ring.map((e, i) => move(e.id, ring[(i + 1) % 3]!.id)))));
    for (const ring of results) {
      expect(ring.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      const refused = ring.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect(refused.reason).toBeInstanceOf(LeaveError);
      expect(refused.reason.code).toBe('parameter_invalid');
    }
  });

  it(`keeps the chart within ${ORG_DEPTH_MAX} levels`, async () => {
    let top = await hire();
    const root = top;
    for (let level = 2; level <= ORG_DEPTH_MAX; level++) top = await hire({ managerId: top.id });
    await expect(hire({ managerId: top.id })).rejects.toMatchObject({ code: 'parameter_invalid', param: 'manager_id' });
    // A two-level subtree under a chain of 49 is too deep as well.
    const lead = await hire();
    await hire({ managerId: lead.id });
    const above = await managerOf(pool, tenantId, top.id);
    await expect(move(lead.id, above!)).rejects.toMatchObject({ code: 'parameter_invalid' });
    const all = await listReports(pool, tenantId, root.id, 'all');
    expect(all.data).toHaveLength(ORG_DEPTH_MAX - 1);
    expect(all.data.at(-1)).toMatchObject({ id: top.id, depth: ORG_DEPTH_MAX - 1 });
  });

  it('row locks and org moves refuse to run outside a transaction', async () => {
    const e = await hire();
    await expect(lockEmployee(pool as unknown as pg.PoolClient, tenantId, e.id)).rejects.toThrow(/must run inside a transaction/);
    await expect(setManager(pool as unknown as pg.PoolClient, { tenantId, employeeId: e.id, managerId: null }))
      .rejects.toThrow(/must run inside a transaction/);
  });
});
