import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appendOutboxEvent } from '../store/outbox/outbox.js';
import { withTransaction } from '../store/db.js';
import { eventWorkflowSettings } from '../platform/notification-settings.js';
import { providersControl } from '../simulators/providers/client.js';
import { startProvidersServer, type ProvidersServer } from '../simulators/providers/server.js';
import { createAccount, startHarness, type Call, type Harness } from '../test/harness.js';
import { settled } from '../test/notifications.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));
/** Every workflow and outcome whose history is kept as a fixture. */
const SCENARIOS = [
  'p2pTransfer-succeeded', 'p2pTransfer-insufficient_funds', 'topUp-flaky', 'topUp-declined',
  'paymentSaga-captured', 'paymentSaga-declined', 'paymentSaga-capture_fails', 'paymentSaga-manual_refunded',
  'leaveApproval-approved', 'leaveApproval-rejected', 'leaveApproval-auto_approved',
  'notification-sent', 'notification-cancelled', 'domainEvent-webhook', 'deadLetterRetry-sent',
] as const;

let h: Harness;
let providers: ProvidersServer;
beforeAll(async () => {
  providers = await startProvidersServer({ port: 0 });
  h = await startHarness({
    notifications: true,
    env: { API_WAIT_WINDOW_MS: '30000', PUSH_PROVIDER_URL: `${providers.url}/push`, SMS_PROVIDER_URL: `${providers.url}/sms` },
  });
});
afterAll(async () => {
  await h?.close();
  await providers?.close();
});

/** Runs each scenario through the API and returns its workflow id. */
async function runScenarios(): Promise<Record<(typeof SCENARIOS)[number], string>> {
  const tenant = await h.newTenant();
  const from = await createAccount(tenant.call, { fundMinor: 1_000 });
  const to = await createAccount(tenant.call);
  const transfer = (amount: number) =>
    tenant.call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount, currency: 'USD' } });
  const topUp = (token: string) =>
    tenant.call('POST', '/v1/topups', { body: { account_id: to, amount: 100, currency: 'USD', source: { type: 'bank_account', token } } });
  const merchant = await createAccount(tenant.call, { type: 'merchant' });
  const pay = async (token: string, captureMethod = 'automatic') => (await tenant.call('POST', '/v1/payments', {
    body: { amount: 500, currency: 'USD', merchant_account_id: merchant, capture_method: captureMethod, payment_method: { type: 'card', token } },
  })).body.id as string;
  const leave = await leaveScenarios(tenant.call);
  const notifications = await notificationScenarios(tenant);
  const manual = await pay('tok_visa', 'manual');
  await tenant.call('POST', `/v1/payments/${manual}/capture`, { body: { amount: 400 } });
  await tenant.call('POST', `/v1/payments/${manual}/refunds`, { body: {} });
  return {
    'paymentSaga-captured': `payment-${await pay('tok_visa')}`,
    'paymentSaga-declined': `payment-${await pay('tok_card_declined')}`,
    'paymentSaga-capture_fails': `payment-${await pay('tok_capture_fails')}`,
    'paymentSaga-manual_refunded': `payment-${manual}`,
    'leaveApproval-approved': `leave-${leave.approved}`,
    'leaveApproval-rejected': `leave-${leave.rejected}`,
    'leaveApproval-auto_approved': `leave-${leave.autoApproved}`,
    'p2pTransfer-succeeded': `transfer-${(await transfer(600)).body.id}`,
    'p2pTransfer-insufficient_funds': `transfer-${(await transfer(600)).body.id}`,
    'topUp-flaky': `topup-${(await topUp('btok_flaky')).body.id}`,
    'topUp-declined': `topup-${(await topUp('btok_insufficient_funds')).body.id}`,
    ...notifications,
  };
}

/** A sent and a cancelled notification, a webhook event, and an ops retry of a dead letter. */
async function notificationScenarios(tenant: { id: string; call: Call }) {
  const { call } = tenant;
  await call('POST', '/v1/notification-templates', {
    body: { id: 'replay', channels: { sms: { body: 'Hi {{name}}' }, in_app: { title: 'Hi', body: 'Hi {{name}}' } } },
  });
  await call('PUT', '/v1/users/replay_user/contacts', { body: { phone: '+15557654321' } });
  const notify = async (extra: Record<string, unknown>) => (await call('POST', '/v1/notifications', {
    body: { user_id: 'replay_user', template_id: 'replay', data: { name: 'R' }, channels: ['sms', 'in_app'], priority: 'normal', ...extra },
  })).body.id as string;
  const sent = await notify({});
  const cancelled = await notify({ scheduled_at: new Date(Date.now() + 3_600_000).toISOString() });
  await call('POST', `/v1/notifications/${cancelled}/cancel`, { body: {} });
  await settled(call, sent);

  const sim = providersControl(providers.url);
  await sim.fault({ provider: 'sms', mode: 'always', status: 500 });
  const dead = await notify({});
  const deadSms = (await settled(call, dead)).deliveries.find((d) => d.channel === 'sms')!.id;
  await sim.clearFaults();
  await h.admin('POST', `/v1/ops/dead-letters/${deadSms}/retry`, { body: {} });

  await call('POST', '/v1/webhook-endpoints', { body: { url: `${providers.url}/webhooks/replay`, events: ['*'] } });
  const eventId = await withTransaction(h.pool, (client) => appendOutboxEvent(client, {
    tenantId: tenant.id, topic: 'payment.failed', idempotencyKey: `replay-${Date.now()}`, payload: { payment_id: 'pay_replay', amount: 1, currency: 'USD' },
  }));
  const event = await h.temporal.workflow.start('domainEvent', {
    workflowId: `event-${eventId}`, taskQueue: h.config.TASK_QUEUE_NOTIFICATIONS,
    args: [{ ...eventWorkflowSettings(h.config), tenantId: tenant.id, eventId: eventId!, topic: 'payment.failed' }],
  });
  await event.result();
  const retry = h.temporal.workflow.getHandle(`dead-letter-retry-${deadSms}-1`);
  await retry.result();
  return {
    'notification-sent': `notification-${sent}`,
    'notification-cancelled': `notification-${cancelled}`,
    'domainEvent-webhook': event.workflowId,
    'deadLetterRetry-sent': retry.workflowId,
  };
}

/** Leave requests that reach a final state: approved, rejected, and approved at once (no manager). */
async function leaveScenarios(call: Call) {
  await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } });
  let n = 0;
  const employee = async (managerId?: string) => (await call('POST', '/v1/employees', {
    body: { employee_number: `R${++n}`, first_name: 'R', last_name: `P${n}`, email: `r${n}@example.com`, department: 'Ops', hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}) },
  })).body.id as string;
  const boss = await employee();
  const worker = await employee(boss);
  for (const id of [boss, worker]) await call('POST', `/v1/employees/${id}/leave-allocations`, { body: { leave_type: 'annual', year: 2020, days: 10 } });
  // Leave in the past: an approved leave's run ends at once (nothing left to cancel).
  const request = async (employeeId: string, start: string, end: string) => (await call('POST', '/v1/leave-requests', {
    body: { employee_id: employeeId, leave_type: 'annual', start_date: start, end_date: end },
  })).body.id as string;
  const approved = await request(worker, '2020-03-02', '2020-03-03');
  await call('POST', `/v1/leave-requests/${approved}/approve`, { body: { approver_id: boss } });
  const rejected = await request(worker, '2020-04-06', '2020-04-07');
  await call('POST', `/v1/leave-requests/${rejected}/reject`, { body: { approver_id: boss } });
  return { approved, rejected, autoApproved: await request(boss, '2020-05-04', '2020-05-05') };
}

const replay = (history: unknown, workflowId: string) =>
  Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, workflowId);

describe('workflow determinism', () => {
  it('replays the recorded histories of every workflow with the current code', async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([...SCENARIOS].sort());
    for (const file of files) {
      const history = historyFromJSON(JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8')));
      await expect(replay(history, file)).resolves.toBeUndefined();
    }
  });

  it('replays fresh histories of this run (RECORD_HISTORIES=1 saves them as the fixtures)', async () => {
    const ids = await runScenarios();
    for (const [scenario, workflowId] of Object.entries(ids)) {
      const history = await h.temporal.workflow.getHandle(workflowId).fetchHistory();
      await expect(replay(history, workflowId)).resolves.toBeUndefined();
      if (process.env.RECORD_HISTORIES === '1') {
        mkdirSync(FIXTURES, { recursive: true });
        writeFileSync(`${FIXTURES}${scenario}.json`, historyToJSON(history));
      }
    }
  });
});
