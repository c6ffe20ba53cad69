import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendOutboxEvent, purgeRelayedEvents } from '../../store/outbox/outbox.js';
import { verifyWebhookSignature } from '../../domain/notifications/signature.js';
import { withTransaction } from '../../store/db.js';
import { eventWorkflowSettings } from '../../platform/notification-settings.js';
import type { SmtpSink } from '../../simulators/smtp/server.js';
import { actorHeaders, createAccount, type Call, type Harness } from '../../test/harness.js';
import { eventually, startNotificationStack, type NotificationStack } from '../../test/notifications.js';
import { spawnRelayProcess } from '../../test/worker-process.js';
import { allLines, createPayrollRun, hirePayrollEmployee, payrollAction, payrollCompany } from '../../test/payroll-fixture.js';
import { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from '../../workers/outbox-relay.js';

let stack: NotificationStack;
let h: Harness;
let providers: NotificationStack['providers'];
let smtp: SmtpSink;
let sim: NotificationStack['sim'];
let tenant: { id: string; call: Call };
let relay: OutboxRelay;

function relayOptions(extra: Partial<OutboxRelayOptions> = {}): OutboxRelayOptions {
  return {
    pool: h.pool, databaseUrl: h.config.DATABASE_URL, temporal: h.temporal, batchSize: 10, pollIntervalMs: 200,
    taskQueue: h.config.TASK_QUEUE_NOTIFICATIONS, eventInput: eventWorkflowSettings(h.config), tenantIds: [tenant.id], ...extra,
  };
}

beforeAll(async () => {
  stack = await startNotificationStack({ API_WAIT_WINDOW_MS: '20000' });
  ({ h, providers, smtp, sim } = stack);
  tenant = await h.newTenant('Events');
  relay = await startOutboxRelay(relayOptions());
});

afterAll(async () => {
  await relay?.stop();
  await stack?.close();
});

const inboxOf = async (userId: string) => (await tenant.call('GET', `/v1/users/${userId}/inbox`)).body.data as { title: string; body: string }[];

describe('domain events through the outbox', () => {
  it('a transfer notifies both users, in-app and by push', async () => {
    await tenant.call('PUT', '/v1/users/alice/contacts', { body: { push_tokens: ['tok_alice'] } });
    await tenant.call('PUT', '/v1/users/bob/contacts', { body: { push_tokens: ['tok_bob'] } });
    const from = (await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD', owner_id: 'alice' } })).body.id;
    const to = (await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD', owner_id: 'bob' } })).body.id;
    await tenant.call('POST', '/v1/topups', { body: { account_id: from, amount: 5_000, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' } } });
    const transfer = await tenant.call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount: 1_050, currency: 'USD' } });
    expect(transfer.body.status).toBe('succeeded');

    const [alice, bob] = await Promise.all(['alice', 'bob'].map((user) => eventually(() => inboxOf(user), (m) => m.length > 0)));
    expect(alice).toEqual([expect.objectContaining({ title: 'Transfer sent', body: expect.stringContaining('10.50 USD') })]);
    expect(bob).toEqual([expect.objectContaining({ title: 'Money received', body: expect.stringContaining('10.50 USD') })]);
    const pushed = await eventually(async () => (await sim.messages('push')).messages, (m) => m.length >= 2);
    expect(pushed.map((m) => m.token).sort()).toEqual(['tok_alice', 'tok_bob']);
  });

  it('a payroll run notifies each paid employee (payroll.paid), in-app with the net in major units', async () => {
    const company = await payrollCompany(tenant, 1_000_000);
    const employee = await hirePayrollEmployee(tenant, { annualSalaryMinor: 6_000_000 });
    const run = (await createPayrollRun(tenant, 'user_hr_1', { period: '2026-09', pay_date: '2026-09-30', funding_account_id: company })).body;
    expect((await payrollAction(tenant, run.id, 'approve', 'user_hr_2')).body.status).toBe('paying');
    const [line] = await allLines(tenant.call, run.id);
    const inbox = await eventually(() => inboxOf(employee.id), (m) => m.length > 0);
    expect(inbox).toEqual([expect.objectContaining({ title: 'Pay for 2026-09', body: expect.stringContaining(`${(line!.net / 100).toFixed(2)} USD`) })]);
  });

  it('payment events reach the merchant webhook, signed with its secret, retried when the receiver fails', async () => {
    const endpoint = await tenant.call('POST', '/v1/webhook-endpoints', {
      body: { url: `${providers.url}/webhooks/merchant`, events: ['payment.captured'] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    const secret = endpoint.body.secret as string;
    await sim.fault({ provider: 'webhook', mode: 'fail_times', times: 2, status: 503 });
    const merchant = await createAccount(tenant.call, { type: 'merchant' });
    const payment = await tenant.call('POST', '/v1/payments', {
      body: { amount: 2_500, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } },
    });
    expect(payment.body.status).toBe('captured');

    const deliveries = await eventually(
      async () => (await tenant.call('GET', `/v1/webhook-endpoints/${endpoint.body.id}/deliveries`)).body.data as Record<string, unknown>[],
      (d) => d.length === 1 && d[0]!.status === 'sent',
    );
    expect(deliveries[0]).toMatchObject({ status: 'sent', attempts: 3 });
    const received = (await sim.messages('webhook')).messages.filter((m) => m.path === '/webhooks/merchant');
    expect(received).toHaveLength(1);
    const hook = received[0]!;
    const body = JSON.parse(hook.raw_body);
    expect(body).toMatchObject({ object: 'event', type: 'payment.captured', data: { object: { payment_id: payment.body.id, amount: 2_500 } } });
    expect(hook.event_id).toBe(body.id);
    expect(verifyWebhookSignature(hook.signature, secret, hook.raw_body)).toMatchObject({ ok: true });
    expect(verifyWebhookSignature(hook.signature, 'whsec_wrong', hook.raw_body)).toMatchObject({ ok: false });
    // Only subscribed events: the payment's other events (authorized) sent nothing.
    expect(body.type).toBe('payment.captured');
  });

  it('a leave request notifies the approver and the decision notifies the employee', async () => {
    const call = tenant.call;
    await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } });
    const employee = async (n: number, managerId?: string) => (await call('POST', '/v1/employees', {
      body: { employee_number: `E${n}`, first_name: 'Em', last_name: `P${n}`, email: `e${n}@example.com`, department: 'Ops', hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}) },
    })).body.id as string;
    const boss = await employee(1);
    const worker = await employee(2, boss);
    await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year: 2031, days: 10 } });
    const request = await call('POST', '/v1/leave-requests', {
      body: { employee_id: worker, leave_type: 'annual', start_date: '2031-03-03', end_date: '2031-03-04' },
    });
    expect(request.status, JSON.stringify(request.body)).toBe(201);
    const bossInbox = await eventually(() => inboxOf(boss), (m) => m.length > 0);
    expect(bossInbox[0]).toMatchObject({ title: 'Leave request to decide', body: expect.stringContaining('Em P2') });
    // The approver has no contacts row: the HR email is used.
    await eventually(async () => smtp.messages().filter((m) => m.envelope.to.includes('e1@example.com')), (m) => m.length === 1);

    await call('POST', `/v1/leave-requests/${request.body.id}/approve`, { body: {}, headers: await actorHeaders(tenant, boss) });
    const workerInbox = await eventually(() => inboxOf(worker), (m) => m.length > 0);
    expect(workerInbox[0]).toMatchObject({ title: 'Leave request approved' });
  });

  it('a relay process killed between starting the workflows and its commit: each event reaches its workflow once', async () => {
    await relay.stop(); // the events below are for the relay process
    const endpoint = await tenant.call('POST', '/v1/webhook-endpoints', {
      body: { url: `${providers.url}/webhooks/crash`, events: ['payment.refunded'] },
    });
    const ids = await withTransaction(h.pool, async (client) => {
      const written: string[] = [];
      for (let i = 0; i < 5; i++) {
        written.push((await appendOutboxEvent(client, {
          tenantId: tenant.id, topic: 'payment.refunded', idempotencyKey: `crash-test-${i}-${Date.now()}`,
          payload: { payment_id: `pay_crash_${i}`, amount: 100 + i, currency: 'USD' },
        }))!);
      }
      return written;
    });
    const unprocessed = async () =>
      (await h.pool.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1) AND processed_at IS NULL', [ids])).rows[0].n as number;
    const runIdOf = async (id: string) => {
      try {
        return (await h.temporal.workflow.getHandle(`event-${id}`).describe()).runId;
      } catch {
        return null; // not started (yet)
      }
    };

    // A real process runs the relay and stalls after starting the batch's runs, before its commit.
    const doomed = spawnRelayProcess(h, [tenant.id], { OUTBOX_BATCH_SIZE: '10', OUTBOX_FAULT_DELAY_BEFORE_COMMIT_MS: '600000' });
    let firstRuns: (string | null)[];
    try {
      await doomed.ready();
      firstRuns = await eventually(async () => {
        doomed.assertAlive();
        return Promise.all(ids.map(runIdOf));
      }, (runs) => runs.every((run) => run !== null), 30_000);
      expect(await unprocessed()).toBe(5); // the batch that started them has not committed
    } finally {
      await doomed.kill();
    }
    // Its connection died with it: the claim rolled back, nothing is marked.
    expect(await unprocessed()).toBe(5);
    const runsNow = () => Promise.all(ids.map(async (id) => {
      const run = await h.temporal.workflow.getHandle(`event-${id}`).describe();
      return { runId: run.runId, status: run.status.name };
    }));
    // The runs it started do their work meanwhile (this file's worker) and close.
    const firstClosed = await eventually(runsNow, (all) => all.every((run) => run.status !== 'RUNNING'));
    expect(firstClosed).toEqual(firstRuns.map((runId) => ({ runId, status: 'COMPLETED' })));

    // A fresh relay finds the rows unmarked and relays them again: Temporal refuses a second run
    // for an event even after the first closed, so it only marks them.
    relay = await startOutboxRelay(relayOptions());
    await eventually(unprocessed, (n) => n === 0);
    expect(await runsNow()).toEqual(firstClosed);
    for (const id of ids) {
      const count = await eventually(() => h.temporal.workflow.count(`WorkflowId = "event-${id}"`), (c) => c.count > 0);
      expect(count.count).toBe(1);
    }
    const received = (await sim.messages('webhook')).messages.filter((m) => m.path === '/webhooks/crash');
    expect(received.map((m) => m.event_id).sort()).toEqual([...ids].sort());
    expect(received.map((m) => m.attempts)).toEqual([1, 1, 1, 1, 1]);
    const rows = await h.pool.query('SELECT event_id, count(*)::int AS n FROM deliveries WHERE endpoint_id = $1 GROUP BY event_id', [endpoint.body.id]);
    expect(rows.rows.map((r) => r.n)).toEqual([1, 1, 1, 1, 1]);
  });

  it('relayed events are purged after the retention, unrelayed ones never', async () => {
    await relay.stop(); // the rows below are marked by hand
    try {
      const ids = await withTransaction(h.pool, async (client) => {
        const written: string[] = []; // one statement at a time: a client runs one query at once
        for (const age of ['old', 'recent', 'pending']) {
          written.push((await appendOutboxEvent(client, {
            tenantId: tenant.id, topic: 'payment.failed', idempotencyKey: `purge-${age}-${Date.now()}`, payload: { age },
          }))!);
        }
        return written;
      });
      await h.pool.query(`UPDATE outbox SET processed_at = now() - interval '8 days', created_at = now() - interval '8 days' WHERE id = $1`, [ids[0]]);
      await h.pool.query(`UPDATE outbox SET processed_at = now() WHERE id = $1`, [ids[1]]);
      await h.pool.query(`UPDATE outbox SET created_at = now() - interval '30 days' WHERE id = $1`, [ids[2]]);
      expect(await purgeRelayedEvents(h.pool, 7 * 86_400_000)).toBeGreaterThanOrEqual(1);
      const { rows } = await h.pool.query('SELECT id, processed_at FROM outbox WHERE id = ANY($1) ORDER BY id', [ids]);
      expect(rows.map((r) => r.id)).toEqual([ids[1], ids[2]].sort());
      await h.pool.query('DELETE FROM outbox WHERE id = $1', [ids[2]]);
    } finally {
      relay = await startOutboxRelay(relayOptions());
    }
  });
});
