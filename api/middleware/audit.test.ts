import { randomUUID } from 'node:crypto';
import { Hono, type Handler } from 'hono';
import { requestId } from 'hono/request-id';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../platform/metrics.js';
import { captureLogs } from '../../platform/log.js';
import { withTransaction } from '../../store/db.js';
import { insertEmployee } from '../../store/hr/employees.js';
import { actorHeaders, createAccount, startHarness, type ApiResponse, type Harness } from '../../test/harness.js';
import { tenantOf, type AppEnv } from '../context.js';
import { errors } from '../errors.js';
import { accessLog } from './access-log.js';
import { auditLog, recordAuditInTransaction } from './audit.js';
import { onError } from './errors.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '60000' } });
});
afterAll(async () => {
  await h?.close();
});

interface Row {
  tenant_id: string | null;
  actor_type: string;
  actor_id: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  status: number;
}

/** The audit rows one request left (every answer names its request in `Request-Id`). */
async function eventsOf(res: ApiResponse | Response): Promise<Row[]> {
  const id = res.headers.get('request-id');
  expect(id).toBeTruthy();
  const { rows } = await h.pool.query<Row>(
    `SELECT tenant_id, actor_type, actor_id, action, resource_type, resource_id, status FROM audit_events WHERE request_id = $1`,
    [id],
  );
  return rows;
}

async function keyIdOf(tenantId: string): Promise<string> {
  const { rows } = await h.pool.query<{ id: string }>('SELECT id FROM api_keys WHERE tenant_id = $1 ORDER BY id LIMIT 1', [tenantId]);
  return rows[0]!.id;
}

describe('every state-changing request leaves exactly one event', () => {
  it('a transfer: the API key, transfer.create, the new transfer and the status answered', async () => {
    const tenant = await h.newTenant();
    const [from, to] = [await createAccount(tenant.call), await createAccount(tenant.call)];
    const res = await tenant.call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount: 100, currency: 'USD' } });
    expect(res.status).toBe(201); // failed for want of funds, but created
    expect(await eventsOf(res)).toEqual([{
      tenant_id: tenant.id, actor_type: 'api_key', actor_id: await keyIdOf(tenant.id),
      action: 'transfer.create', resource_type: 'transfer', resource_id: res.body.id, status: 201,
    }]);
  });

  it('refusals are recorded with their status: a 400, a malformed body, a 404 on a named resource', async () => {
    const tenant = await h.newTenant();
    const bad = await tenant.call('POST', '/v1/transfers', { body: { from_account_id: 'acct_x', to_account_id: 'acct_y', amount: -5, currency: 'USD' } });
    expect(bad.status).toBe(400);
    expect(await eventsOf(bad)).toMatchObject([{ tenant_id: tenant.id, action: 'transfer.create', resource_id: null, status: 400 }]);

    const malformed = await tenant.call('POST', '/v1/payments', { raw: '{"amount":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(await eventsOf(malformed)).toMatchObject([{ action: 'payment.create', resource_id: null, status: 400 }]);

    const missing = await tenant.call('POST', '/v1/payments/pay_01JD3W5X8Q2F6Y0V7K9M4N1B3C/capture', { body: {} });
    expect(missing.status).toBe(404);
    expect(await eventsOf(missing)).toMatchObject([
      { action: 'payment.capture', resource_type: 'payment', resource_id: 'pay_01JD3W5X8Q2F6Y0V7K9M4N1B3C', status: 404 },
    ]);
  });

  it('a card number in the path or in a client-chosen Request-Id is not stored', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('POST', '/v1/payments/4242424242424242/cancel', { body: {}, headers: { 'request-id': '4242-4242-4242-4242' } });
    expect(res.status).toBe(404);
    const { rows } = await h.pool.query('SELECT action, resource_id, request_id, status FROM audit_events WHERE tenant_id = $1', [tenant.id]);
    expect(rows).toEqual([{ action: 'payment.cancel', resource_id: null, request_id: null, status: 404 }]);
  });

  it('an admin action: actor admin, and the tenant it created', async () => {
    const res = await h.admin('POST', '/v1/admin/tenants', { body: { name: 'Audited' } });
    expect(res.status).toBe(201);
    expect(await eventsOf(res)).toEqual([{
      tenant_id: res.body.id, actor_type: 'admin', actor_id: 'admin', action: 'tenant.create', resource_type: 'tenant',
      resource_id: res.body.id, status: 201,
    }]);
  });

  it('an admin action on one tenant (an API key issued) shows in that tenant’s own log', async () => {
    const tenant = await h.newTenant();
    const res = await h.admin('POST', `/v1/admin/tenants/${tenant.id}/api-keys`, { body: {} });
    expect(res.status).toBe(201);
    const expected = { tenant_id: tenant.id, actor_type: 'admin', actor_id: 'admin', action: 'api_key.create', resource_id: res.body.id, status: 201 };
    expect(await eventsOf(res)).toMatchObject([expected]);
    const listed = await tenant.call('GET', '/v1/audit-log?action=api_key.create');
    expect(listed.body.data).toMatchObject([{ actor: { type: 'admin', id: 'admin' }, resource_id: res.body.id }]);
  });

  it('a verified Steadfast-Actor is the actor: the user, not the key', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('POST', '/v1/leave-requests/lr_01JD3W5X8Q2F6Y0V7K9M4N1B3C/approve', {
      body: {}, headers: await actorHeaders(tenant, 'emp_approver'),
    });
    expect(res.status).toBe(404);
    expect(await eventsOf(res)).toMatchObject([{
      actor_type: 'user', actor_id: 'emp_approver', action: 'leave_request.approve', resource_id: 'lr_01JD3W5X8Q2F6Y0V7K9M4N1B3C', status: 404,
    }]);
  });

  it('an admin change of no tenant (product update, recorded in its transaction): tenant null', async () => {
    const id = `prod_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    await h.pool.query(`INSERT INTO products (id, type, name, terms) VALUES ($1, 'card', 'Audited product', '{}')`, [id]);
    try {
      const res = await h.admin('PUT', `/v1/admin/products/${id}`, { body: { name: 'Renamed' } });
      expect(res.status).toBe(200);
      expect(await eventsOf(res)).toEqual([{
        tenant_id: null, actor_type: 'admin', actor_id: 'admin', action: 'product.update', resource_type: 'product', resource_id: id, status: 200,
      }]);
    } finally {
      await h.pool.query('DELETE FROM products WHERE id = $1', [id]);
    }
  });

  it('an in-transaction handler (employee create) is recorded once, not again by the middleware', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('POST', '/v1/employees', {
      body: { employee_number: 'E1', first_name: 'Ada', last_name: 'L', email: 'ada@example.com', department: 'Eng', hire_date: '2024-01-02' },
    });
    expect(res.status).toBe(201);
    expect(await eventsOf(res)).toMatchObject([{ tenant_id: tenant.id, action: 'employee.create', resource_id: res.body.id, status: 201 }]);
    const duplicate = await tenant.call('POST', '/v1/employees', {
      body: { employee_number: 'E1', first_name: 'Ada', last_name: 'L', email: 'other@example.com', department: 'Eng', hire_date: '2024-01-02' },
    });
    expect(duplicate.status).toBe(409);
    expect(await eventsOf(duplicate)).toMatchObject([{ action: 'employee.create', resource_id: null, status: 409 }]);
  });

  it('not recorded: an idempotent replay, a GET, a request that did not authenticate', async () => {
    const tenant = await h.newTenant();
    const first = await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' }, idempotencyKey: 'k1' });
    const replay = await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' }, idempotencyKey: 'k1' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await eventsOf(first)).toMatchObject([{ action: 'account.create', resource_id: first.body.id, status: 201 }]);
    // (A replay carries no Request-Id of its own: count the tenant's entries instead.)
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1', [tenant.id]);
    expect(rows[0].n).toBe(1);
    expect(await eventsOf(await tenant.call('GET', `/v1/accounts/${first.body.id}`))).toEqual([]);
    const anonymous = await h.as('sk_not_a_key_0123456789')('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' } });
    expect(anonymous.status).toBe(401);
    expect(await eventsOf(anonymous)).toEqual([]);
  });
});

describe('GET /v1/audit-log and /v1/ops/audit-log', () => {
  it('a tenant sees its own entries only; ops sees each tenant’s with tenant_id', async () => {
    const a = await h.newTenant();
    const b = await h.newTenant();
    const accountA = await createAccount(a.call);
    const accountB = await createAccount(b.call);

    const listA = await a.call('GET', '/v1/audit-log?limit=100');
    expect(listA.status).toBe(200);
    expect(listA.body).toMatchObject({ object: 'list', has_more: false });
    // The harness makes tenants without the API: account.create is A's one entry.
    expect(listA.body.data).toEqual([{
      id: expect.stringMatching(/^aud_[0-9A-Z]{26}$/), object: 'audit_event', at: expect.any(String),
      actor: { type: 'api_key', id: await keyIdOf(a.id) }, action: 'account.create', resource_type: 'account', resource_id: accountA,
      request_id: expect.any(String), status: 201,
    }]);
    expect(listA.body.data.map((e: { resource_id: string }) => e.resource_id)).not.toContain(accountB);
    expect((await a.call('GET', `/v1/audit-log?resource_id=${accountB}`)).body.data).toEqual([]);
    expect((await a.call('GET', '/v1/audit-log?action=account.create')).body.data.map((e: { resource_id: string }) => e.resource_id))
      .toEqual([accountA]);

    const opsA = await h.admin('GET', `/v1/ops/audit-log?tenant_id=${a.id}&action=account.create`);
    const opsB = await h.admin('GET', `/v1/ops/audit-log?tenant_id=${b.id}&action=account.create`);
    expect(opsA.body.data.map((e: { resource_id: string }) => e.resource_id)).toEqual([accountA]);
    expect(opsB.body.data.map((e: { resource_id: string }) => e.resource_id)).toEqual([accountB]);
    expect((await h.admin('GET', `/v1/ops/audit-log?resource_id=${accountB}`)).body.data).toHaveLength(1);
    expect((await a.call('GET', '/v1/ops/audit-log')).status).toBe(403);
  });

  it('pages newest first with limit and starting_after, and filters by actor', async () => {
    const tenant = await h.newTenant();
    const created = [await createAccount(tenant.call), await createAccount(tenant.call), await createAccount(tenant.call)];
    const keyId = await keyIdOf(tenant.id);
    const first = await tenant.call('GET', `/v1/audit-log?limit=2&actor_id=${keyId}`);
    expect(first.body.has_more).toBe(true);
    const second = await tenant.call('GET', `/v1/audit-log?limit=2&actor_id=${keyId}&starting_after=${first.body.data[1].id}`);
    expect(second.body.has_more).toBe(false);
    expect([...first.body.data, ...second.body.data].map((e: { resource_id: string }) => e.resource_id)).toEqual(created.reverse());
  });
});

describe('append-only in the database', () => {
  it('UPDATE, DELETE and TRUNCATE on audit_events raise', async () => {
    const tenant = await h.newTenant();
    await createAccount(tenant.call);
    await expect(h.pool.query(`UPDATE audit_events SET status = 200 WHERE tenant_id = $1`, [tenant.id])).rejects.toMatchObject({ code: '23001' });
    await expect(h.pool.query(`DELETE FROM audit_events WHERE tenant_id = $1`, [tenant.id])).rejects.toMatchObject({ code: '23001' });
    // In a transaction that rolls back whatever happens, with a short lock wait: other files write beside this one.
    await expect(withTransaction(h.pool, async (client) => {
      await client.query(`SET LOCAL lock_timeout = '5s'`);
      await client.query('TRUNCATE audit_events');
    })).rejects.toMatchObject({ code: '23001' });
    expect((await h.pool.query('SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1', [tenant.id])).rows[0].n).toBe(1);
  });
});

/**
 * The in-transaction path on a small app with the real middleware and a handler of our own on an
 * audited route (`POST /v1/employees`), authenticated as a tenant key.
 */
describe('recordAuditInTransaction', () => {
  async function appWith(handler: Handler<AppEnv>, pool: pg.Pool = h.pool) {
    const tenant = await h.newTenant();
    const keyId = await keyIdOf(tenant.id);
    const app = new Hono<AppEnv>();
    app.onError(onError);
    app.use('*', requestId({ headerName: 'Request-Id' }));
    app.use('*', accessLog());
    app.use('*', async (c, next) => {
      c.set('auth', { kind: 'tenant', scope: tenant.id, tenantId: tenant.id, apiKeyId: keyId });
      await next();
    });
    app.use('/v1/*', auditLog({ pool }));
    app.post('/v1/employees', handler);
    return { tenant, post: () => app.request('/v1/employees', { method: 'POST' }) };
  }
  const employee = (tenantId: string, number: string) => ({
    tenantId, employeeNumber: number, firstName: 'A', lastName: 'B', email: `${number}@example.com`, department: 'Eng', hireDate: '2024-01-02',
  });

  it('a transaction that rolls back takes its event with it: the one entry is the refusal', async () => {
    const number = `E-${randomUUID()}`;
    const { tenant, post } = await appWith(async (c) => {
      await withTransaction(h.pool, async (client) => {
        const inserted = await insertEmployee(client, employee(tenantOf(c), number));
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        throw errors.resourceExists('Fails after the audit insert.');
      });
      return c.json({}, 201);
    });
    const res = await post();
    expect(res.status).toBe(409);
    expect(await eventsOf(res)).toMatchObject([{ tenant_id: tenant.id, action: 'employee.create', resource_id: null, status: 409 }]);
    expect((await h.pool.query('SELECT count(*)::int AS n FROM employees WHERE employee_number = $1', [number])).rows[0].n).toBe(0);
  });

  it('a change that committed before the request failed keeps its one event', async () => {
    const number = `E-${randomUUID()}`;
    let id = '';
    const { post } = await appWith(async (c) => {
      await withTransaction(h.pool, async (client) => {
        id = (await insertEmployee(client, employee(tenantOf(c), number))).id;
        await recordAuditInTransaction(client, c, { resourceId: id, status: 201 });
      });
      throw errors.resourceExists('Fails after the commit.');
    });
    const res = await post();
    expect(res.status).toBe(409);
    expect(await eventsOf(res)).toMatchObject([{ action: 'employee.create', resource_id: id, status: 201 }]);
  });

  it('an audit write that fails after the change: the answer stands, the failure is logged and counted', async () => {
    const unreachable = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    const logs = captureLogs();
    try {
      const { post } = await appWith((c) => c.json({ id: 'emp_made' }, 201), unreachable);
      const before = (await metrics.auditWriteFailures.get()).values.find((v) => v.labels.action === 'employee.create')?.value ?? 0;
      const res = await post();
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ id: 'emp_made' });
      const after = (await metrics.auditWriteFailures.get()).values.find((v) => v.labels.action === 'employee.create')?.value ?? 0;
      expect(after).toBe(before + 1);
      const failed = logs.lines().filter((line) => line.msg === 'audit event not recorded');
      expect(failed).toEqual([expect.objectContaining({
        level: 'error', component: 'audit', action: 'employee.create', status: 201, code: expect.any(String),
        requestId: res.headers.get('request-id'),
      })]);
    } finally {
      logs.stop();
      await unreachable.end();
    }
  });
});
