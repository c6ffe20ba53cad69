import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditedTenants, startHarness, type Call, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});
const newTenant = auditedTenants(() => h);

let employeeCount = 0;
async function employee(call: Call): Promise<string> {
  employeeCount++;
  const res = await call('POST', '/v1/employees', {
    body: {
      employee_number: `P-${employeeCount}`, first_name: 'Ada', last_name: `Payroll ${employeeCount}`, email: `pay${employeeCount}@example.com`,
      department: 'Finance', hire_date: '2025-03-10', country: 'DE',
    },
  });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.id as string;
}

/** Rows the tenant holds in the payroll tables and the audit entries of its successful changes. */
async function payrollRows(tenantId: string) {
  const { rows } = await h.pool.query(
    `SELECT (SELECT count(*) FROM compensations WHERE tenant_id = $1)::int AS compensations,
            (SELECT count(*) FROM payroll_rules WHERE tenant_id = $1)::int AS rules,
            (SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND status < 300 AND action IN ('compensation.create', 'payroll_rules.update'))::int AS audited`,
    [tenantId],
  );
  return rows[0] as { compensations: number; rules: number; audited: number };
}

const DE_RULES = {
  currency: 'EUR',
  tax_brackets: [{ up_to: 1_209_600, rate_bps: 0 }, { up_to: 6_800_000, rate_bps: 2_400 }, { up_to: null, rate_bps: 4_200 }],
  contributions: [{ code: 'pension', rate_bps: 930, cap: 70_680 }, { code: 'health', rate_bps: 730 }],
};

describe('compensation', () => {
  it('is effective-dated: the history lists newest effective date first, as a contract list with pages', async () => {
    const { id: tenantId, call } = await newTenant();
    const emp = await employee(call);
    for (const [date, salary] of [['2025-03-10', 5_400_000], ['2026-01-01', 6_000_000], ['2025-09-01', 5_700_000]] as const) {
      const res = await call('POST', `/v1/employees/${emp}/compensation`, { body: { effective_date: date, annual_salary: salary, currency: 'EUR' } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ object: 'compensation', employee_id: emp, effective_date: date, annual_salary: salary, currency: 'EUR' });
      expect(res.body.id).toMatch(/^comp_/);
    }
    const all = await call('GET', `/v1/employees/${emp}/compensation`);
    expect(all.status).toBe(200);
    expect(all.body.object).toBe('list');
    expect(all.body.has_more).toBe(false);
    expect(all.body.data.map((c: { effective_date: string }) => c.effective_date)).toEqual(['2026-01-01', '2025-09-01', '2025-03-10']);

    const first = await call('GET', `/v1/employees/${emp}/compensation?limit=2`);
    expect(first.body.has_more).toBe(true);
    const next = await call('GET', `/v1/employees/${emp}/compensation?limit=2&starting_after=${first.body.data[1].id}`);
    expect(next.body).toMatchObject({ has_more: false, data: [{ effective_date: '2025-03-10', annual_salary: 5_400_000 }] });

    // The same date twice is a conflict, not a silent change of history.
    const again = await call('POST', `/v1/employees/${emp}/compensation`, { body: { effective_date: '2026-01-01', annual_salary: 1, currency: 'EUR' } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'resource_exists', param: 'effective_date' });
    expect(await payrollRows(tenantId)).toMatchObject({ compensations: 3, audited: 3 });
  });

  it('refuses bad requests and writes nothing', async () => {
    const { id: tenantId, call } = await newTenant();
    const emp = await employee(call);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ effective_date: '2026-02-30', annual_salary: 100, currency: 'EUR' }, 'parameter_invalid', 'effective_date'],
      [{ effective_date: '2026-01', annual_salary: 100, currency: 'EUR' }, 'parameter_invalid', 'effective_date'],
      [{ effective_date: '2026-01-01', annual_salary: 0, currency: 'EUR' }, 'parameter_invalid', 'annual_salary'],
      [{ effective_date: '2026-01-01', annual_salary: 100.5, currency: 'EUR' }, 'parameter_invalid', 'annual_salary'],
      [{ effective_date: '2026-01-01', annual_salary: 1_000_000_000_001, currency: 'EUR' }, 'parameter_invalid', 'annual_salary'],
      [{ effective_date: '2026-01-01', annual_salary: 100, currency: 'eur' }, 'currency_invalid', 'currency'],
      [{ effective_date: '2026-01-01', annual_salary: 100, currency: 'XAU' }, 'currency_invalid', 'currency'],
      [{ effective_date: '2026-01-01', currency: 'EUR' }, 'parameter_missing', 'annual_salary'],
      [{ effective_date: '2026-01-01', annual_salary: 100, currency: 'EUR', bonus: 1 }, 'parameter_unknown', 'bonus'],
    ];
    for (const [body, code, param] of cases) {
      const res = await call('POST', `/v1/employees/${emp}/compensation`, { body });
      expect({ status: res.status, code: res.body.error?.code, param: res.body.error?.param }, JSON.stringify(body)).toEqual({ status: 400, code, param });
    }
    expect(await payrollRows(tenantId)).toEqual({ compensations: 0, rules: 0, audited: 0 });
  });

  it('another tenant’s employee, or an unknown one, is 404 and gets no row', async () => {
    const owner = await newTenant();
    const other = await newTenant();
    const emp = await employee(owner.call);
    const body = { effective_date: '2026-01-01', annual_salary: 100, currency: 'EUR' };
    for (const [call, id] of [[other.call, emp], [owner.call, 'emp_00000000000000000000000000']] as const) {
      const post = await call('POST', `/v1/employees/${id}/compensation`, { body });
      expect(post.status).toBe(404);
      expect(post.body.error.code).toBe('resource_missing');
      expect((await call('GET', `/v1/employees/${id}/compensation`)).status).toBe(404);
    }
    expect((await payrollRows(owner.id)).compensations).toBe(0);
    expect((await payrollRows(other.id)).compensations).toBe(0);
  });
});

describe('payroll rules', () => {
  it('round-trip: PUT creates, PUT replaces, GET reads; a tenant sees only its own', async () => {
    const { id: tenantId, call } = await newTenant();
    expect((await call('GET', '/v1/payroll/rules/DE')).status).toBe(404);
    const put = await call('PUT', '/v1/payroll/rules/DE', { body: DE_RULES });
    expect(put.status).toBe(200);
    const expected = {
      object: 'payroll_rules', country: 'DE', currency: 'EUR', tax_brackets: DE_RULES.tax_brackets,
      contributions: [{ code: 'pension', rate_bps: 930, cap: 70_680 }, { code: 'health', rate_bps: 730, cap: null }],
    };
    expect(put.body).toMatchObject(expected);
    expect((await call('GET', '/v1/payroll/rules/DE')).body).toMatchObject(expected);

    const replaced = await call('PUT', '/v1/payroll/rules/DE', { body: { currency: 'EUR', tax_brackets: [{ up_to: null, rate_bps: 1_000 }], contributions: [] } });
    expect(replaced.status).toBe(200);
    expect((await call('GET', '/v1/payroll/rules/DE')).body).toMatchObject({ tax_brackets: [{ up_to: null, rate_bps: 1_000 }], contributions: [] });

    const other = await newTenant();
    expect((await other.call('GET', '/v1/payroll/rules/DE')).status).toBe(404);
    expect(await payrollRows(tenantId)).toEqual({ compensations: 0, rules: 1, audited: 2 });
  });

  it('refuses bad rules and writes nothing', async () => {
    const { id: tenantId, call } = await newTenant();
    const cases: [string, Record<string, unknown>, string, string][] = [
      ['de', DE_RULES, 'parameter_invalid', 'country'],
      ['DEU', DE_RULES, 'parameter_invalid', 'country'],
      ['DE', { ...DE_RULES, currency: 'EURO' }, 'currency_invalid', 'currency'],
      ['DE', { ...DE_RULES, tax_brackets: [] }, 'parameter_invalid', 'tax_brackets'],
      ['DE', { ...DE_RULES, tax_brackets: [{ up_to: 100, rate_bps: 0 }] }, 'parameter_invalid', 'tax_brackets[0][up_to]'],
      ['DE', { ...DE_RULES, tax_brackets: [{ up_to: null, rate_bps: 0 }, { up_to: null, rate_bps: 0 }] }, 'parameter_invalid', 'tax_brackets[0][up_to]'],
      ['DE', { ...DE_RULES, tax_brackets: [{ up_to: 200, rate_bps: 0 }, { up_to: 100, rate_bps: 0 }, { up_to: null, rate_bps: 0 }] }, 'parameter_invalid', 'tax_brackets[1][up_to]'],
      ['DE', { ...DE_RULES, tax_brackets: [{ up_to: null, rate_bps: 10_001 }] }, 'parameter_invalid', 'tax_brackets[0][rate_bps]'],
      ['DE', { ...DE_RULES, tax_brackets: [{ up_to: null, rate_bps: -1 }] }, 'parameter_invalid', 'tax_brackets[0][rate_bps]'],
      ['DE', { ...DE_RULES, contributions: [{ code: 'x', rate_bps: 100, cap: 0 }] }, 'parameter_invalid', 'contributions[0][cap]'],
      ['DE', { ...DE_RULES, contributions: [{ code: 'x y', rate_bps: 100 }] }, 'parameter_invalid', 'contributions[0][code]'],
      ['DE', { ...DE_RULES, contributions: [{ code: 'x', rate_bps: 100 }, { code: 'x', rate_bps: 100 }] }, 'parameter_invalid', 'contributions'],
      ['DE', { ...DE_RULES, contributions: [{ code: 'x', rate_bps: 6_000 }] }, 'parameter_invalid', 'contributions'],
      ['DE', { currency: 'EUR', tax_brackets: DE_RULES.tax_brackets }, 'parameter_missing', 'contributions'],
      ['DE', { ...DE_RULES, contributions: [{ code: 'x', rate_bps: 100, floor: 1 }] }, 'parameter_unknown', 'contributions[0][floor]'],
    ];
    for (const [country, body, code, param] of cases) {
      const res = await call('PUT', `/v1/payroll/rules/${country}`, { body });
      expect({ status: res.status, code: res.body.error?.code, param: res.body.error?.param }, `${country} ${JSON.stringify(body)}`)
        .toEqual({ status: 400, code, param });
    }
    expect(await payrollRows(tenantId)).toEqual({ compensations: 0, rules: 0, audited: 0 });
  });
});
