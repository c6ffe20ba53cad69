import { WorkflowNotFoundError, WorkflowUpdateStage } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { workerConnectionOptions } from '../../platform/temporal-connection.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../platform/log.js';
import { eventually } from '../../test/eventually.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { startNotificationStack, type NotificationStack } from '../../test/notifications.js';
import { unreachableTemporal } from '../../test/unreachable-temporal.js';
import { createDomainWorker } from '../../workers/domain-worker.js';
import { reconcileStarts } from '../../workers/start-reconciler.js';
import { cancelNotificationUpdate } from '../../workflows/notifications/types.js';
import { createApp } from '../app.js';
import { dataConverterOf, payloadCodecOf } from '../../platform/payload-codec.js';

let h: Harness;
beforeAll(async () => {
  // No notification worker: a started workflow stays queued, which is all these tests look at.
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

const rowCounts = async (tenantId: string) => (await h.pool.query(
  `SELECT (SELECT count(*) FROM notifications WHERE tenant_id = $1)::int AS notifications,
          (SELECT count(*) FROM deliveries WHERE tenant_id = $1)::int AS deliveries`,
  [tenantId],
)).rows[0];

const send = { user_id: 'emp_1', template_id: 'transfer.received', data: { amount: '10.50', currency: 'USD', transfer_id: 'tr_1' }, channels: ['in_app', 'push'], priority: 'high' };

/** The input the workflow was started with (first history event). */
async function startedInput(workflowId: string): Promise<Record<string, unknown>> {
  const history = await h.temporal.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  // Encrypted in the history (platform/payload-codec.ts): decrypted with the configured keys.
  return JSON.parse(Buffer.from(payloadCodecOf(h.config).decodePayload(payload!).data!).toString('utf8')) as Record<string, unknown>;
}

/** The ids of the tenant's runs the (eventually consistent) visibility store knows of. */
async function visibleRuns(tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const run of h.temporal.workflow.list({ query: `TenantId = '${tenantId}'` })) ids.push(run.workflowId);
  return ids.sort();
}

async function call(app: ReturnType<typeof createApp>, apiKey: string, method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method, headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('POST /v1/notifications', () => {
  it('answers 202 with queued deliveries and starts notification-<id> with its input', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('POST', '/v1/notifications', { body: send });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      object: 'notification', status: 'processing', user_id: 'emp_1', template_id: 'transfer.received', channels: ['in_app', 'push'],
      priority: 'high', critical: false, scheduled_at: null,
      deliveries: [{ channel: 'in_app', status: 'queued', attempts: 0, last_error: null }, { channel: 'push', status: 'queued', attempts: 0 }],
    });
    expect(res.body.id).toMatch(/^ntf_[0-9A-Z]{26}$/);
    expect((await tenant.call('GET', `/v1/notifications/${res.body.id}`)).body).toEqual(res.body);

    const workflowId = `notification-${res.body.id}`;
    const description = await h.temporal.workflow.getHandle(workflowId).describe();
    expect(description).toMatchObject({ type: 'notification', taskQueue: h.config.TASK_QUEUE_NOTIFICATIONS, status: { name: 'RUNNING' } });
    expect(description.typedSearchAttributes.getAll().map((a) => [a.key.name, a.value])).toEqual(
      expect.arrayContaining([['TenantId', tenant.id], ['BusinessStatus', 'pending']]),
    );
    expect(await startedInput(workflowId)).toEqual({
      tenantId: tenant.id, notificationId: res.body.id, priority: 'high', critical: false, scheduledAt: null, channels: ['in_app', 'push'],
      retry: {
        maxAttempts: h.config.NOTIFICATION_RETRY_MAX_ATTEMPTS, initialIntervalMs: h.config.NOTIFICATION_RETRY_INITIAL_INTERVAL,
        maxIntervalMs: h.config.NOTIFICATION_RETRY_MAX_INTERVAL, backoffCoefficient: h.config.NOTIFICATION_RETRY_BACKOFF,
      },
      deliveryQueuePrefix: h.config.TASK_QUEUE_NOTIFICATIONS,
    });
  });

  it('schedules for later (status scheduled), with critical and a tenant template', async () => {
    const tenant = await h.newTenant();
    await tenant.call('POST', '/v1/notification-templates', { body: { id: 'otp', channels: { sms: { body: 'Code {{code}}' } } } });
    const at = new Date(Date.now() + 86_400_000).toISOString();
    const res = await tenant.call('POST', '/v1/notifications', {
      body: { user_id: 'u9', template_id: 'otp', data: { code: 123456 }, channels: ['sms'], priority: 'normal', critical: true, scheduled_at: at },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'scheduled', scheduled_at: at, critical: true, priority: 'normal' });
    expect(await startedInput(`notification-${res.body.id}`)).toMatchObject({ scheduledAt: at, critical: true, channels: ['sms'] });
  });

  it('refuses bad requests with the contract’s errors, writing no row and starting no workflow', async () => {
    const tenant = await h.newTenant();
    const other = await h.newTenant();
    await other.call('POST', '/v1/notification-templates', { body: { id: 'theirs', channels: { sms: { body: 'x' } } } });
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const tooLate = new Date(Date.now() + 400 * 86_400_000).toISOString();
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ ...send, user_id: undefined }, 400, 'parameter_missing', 'user_id'],
      [{ ...send, template_id: undefined }, 400, 'parameter_missing', 'template_id'],
      [{ ...send, data: undefined }, 400, 'parameter_missing', 'data'],
      [{ ...send, channels: undefined }, 400, 'parameter_missing', 'channels'],
      [{ ...send, priority: undefined }, 400, 'parameter_missing', 'priority'],
      [{ ...send, priority: 'urgent' }, 400, 'parameter_invalid', 'priority'],
      [{ ...send, channels: [] }, 400, 'parameter_invalid', 'channels'],
      [{ ...send, channels: ['push', 'push'] }, 400, 'parameter_invalid', 'channels'],
      [{ ...send, channels: ['fax'] }, 400, 'parameter_invalid', 'channels[0]'],
      [{ ...send, channels: ['email'] }, 400, 'parameter_invalid', 'channels'],
      [{ ...send, data: [] }, 400, 'parameter_invalid', 'data'],
      [{ ...send, data: { amount: { nested: true } } }, 400, 'parameter_invalid', 'data[amount]'],
      [{ ...send, data: { 'bad key': 1 } }, 400, 'parameter_invalid', 'data'],
      [{ ...send, scheduled_at: 'tomorrow' }, 400, 'parameter_invalid', 'scheduled_at'],
      [{ ...send, scheduled_at: past }, 400, 'parameter_invalid', 'scheduled_at'],
      [{ ...send, scheduled_at: tooLate }, 400, 'parameter_invalid', 'scheduled_at'],
      [{ ...send, critical: 'yes' }, 400, 'parameter_invalid', 'critical'],
      [{ ...send, sound: 'ding' }, 400, 'parameter_unknown', 'sound'],
      [{ ...send, template_id: 'no.such' }, 404, 'resource_missing', 'template_id'],
      [{ ...send, template_id: 'theirs', channels: ['sms'] }, 404, 'resource_missing', 'template_id'],
    ];
    for (const [body, status, code, param] of cases) {
      const res = await tenant.call('POST', '/v1/notifications', { body });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(body)).toEqual([status, code, param]);
    }
    expect(await rowCounts(tenant.id)).toEqual({ notifications: 0, deliveries: 0 });
    // Nor a run. Visibility is eventually consistent, so "none visible yet" would prove nothing: one
    // good request follows, and once its run is listed it must be the tenant's only one (the dev
    // server has one history shard and indexes runs in the order they were started).
    const good = await tenant.call('POST', '/v1/notifications', { body: send });
    expect(good.status).toBe(202);
    const runs = await eventually(() => visibleRuns(tenant.id), (ids) => ids.length > 0);
    expect(runs).toEqual([`notification-${good.body.id}`]);
  });

  it('a start whose outcome is unknown (Temporal unreachable) keeps the rows (202); the start reconciler gives them their run', async () => {
    const tenant = await h.newTenant();
    const down = await unreachableTemporal(h.config.TEMPORAL_NAMESPACE);
    // A refused connection looks like a dropped one (UNAVAILABLE): the start may have happened.
    const logs = captureLogs();
    let res;
    let warnings;
    try {
      const broken = createApp({ config: { ...h.config, RATE_LIMIT_ENABLED: false }, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: down.client });
      res = await call(broken, tenant.apiKey, 'POST', '/v1/notifications', send);
      warnings = logs.lines().filter((line) => line.level === 'warn' && line.component === 'workflow-start');
    } finally {
      logs.stop();
      await down.close();
    }
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ object: 'notification', status: 'processing', deliveries: [{ status: 'queued' }, { status: 'queued' }] });
    expect(warnings).toEqual([expect.objectContaining({
      workflowId: `notification-${res.body.id}`, tenantId: tenant.id, msg: expect.stringContaining('the start may or may not have happened'),
    })]);
    expect(await rowCounts(tenant.id)).toEqual({ notifications: 1, deliveries: 2 });
    // No run yet; one reconciler pass starts it with the input the API would have given it.
    await expect(h.temporal.workflow.getHandle(`notification-${res.body.id}`).describe()).rejects.toThrow(WorkflowNotFoundError);
    const report = await reconcileStarts({ pool: h.pool, temporal: h.temporal, config: h.config, tenantIds: [tenant.id], afterMs: 0 });
    expect(report.notification).toMatchObject({ started: 1 });
    expect(await startedInput(`notification-${res.body.id}`)).toMatchObject({
      notificationId: res.body.id, priority: 'high', critical: false, scheduledAt: null, channels: ['in_app', 'push'],
    });
    expect(await rowCounts(tenant.id)).toEqual({ notifications: 1, deliveries: 2 });
  });

  it('Idempotency-Key: the same request creates one notification and one workflow', async () => {
    const tenant = await h.newTenant();
    const first = await tenant.call('POST', '/v1/notifications', { body: send, idempotencyKey: 'ntf-1' });
    const second = await tenant.call('POST', '/v1/notifications', { body: send, idempotencyKey: 'ntf-1' });
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    expect(await rowCounts(tenant.id)).toEqual({ notifications: 1, deliveries: 2 });
    const reused = await tenant.call('POST', '/v1/notifications', { body: { ...send, priority: 'normal' }, idempotencyKey: 'ntf-1' });
    expect([reused.status, reused.body.error.code]).toEqual([422, 'idempotency_key_reused']);
  });

  it('another tenant’s notification is 404', async () => {
    const a = await h.newTenant();
    const b = await h.newTenant();
    const { body } = await a.call('POST', '/v1/notifications', { body: send });
    expect((await b.call('GET', `/v1/notifications/${body.id}`)).body.error).toMatchObject({ code: 'resource_missing' });
    expect((await b.call('POST', `/v1/notifications/${body.id}/cancel`)).status).toBe(404);
    expect((await a.call('GET', '/v1/notifications/ntf_nope')).status).toBe(404);
  });
});

describe('POST /v1/notifications/:id/cancel', () => {
  const later = () => new Date(Date.now() + 3_600_000).toISOString();
  let stack: NotificationStack; // the notification workers (on task queues of their own): the real workflow answers
  beforeAll(async () => {
    stack = await startNotificationStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** The notification workflow with no activity worker on `taskQueue`: its steps wait, as if slow. */
  async function workflowsOnly(taskQueue: string): Promise<() => Promise<void>> {
    const connection = await NativeConnection.connect(workerConnectionOptions(h.config));
    const worker = await createDomainWorker({
      connection, namespace: h.config.TEMPORAL_NAMESPACE, taskQueue, workflowBundlePath: inject('workflowBundlePath'), activities: {}, dataConverter: dataConverterOf(h.config),
      maxConcurrentActivityTaskExecutions: 1, maxConcurrentWorkflowTaskExecutions: 10, shutdownGraceTimeMs: 1_000,
    });
    const running = worker.run();
    return async () => {
      worker.shutdown();
      await running;
      await connection.close();
    };
  }

  it('runs the cancel Update and answers the cancelled notification; cancelling again is 200', async () => {
    const tenant = await stack.h.newTenant();
    const { body: created } = await tenant.call('POST', '/v1/notifications', { body: { ...send, scheduled_at: later() } });
    expect(created.status).toBe('scheduled');
    const res = await tenant.call('POST', `/v1/notifications/${created.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.id, status: 'cancelled', deliveries: [{ status: 'cancelled' }, { status: 'cancelled' }] });

    // The workflow took the Update, recorded the cancellation and ended.
    const handle = stack.h.temporal.workflow.getHandle(`notification-${created.id}`);
    expect(await handle.result()).toEqual({ status: 'cancelled' });
    const attributes = (await handle.describe()).typedSearchAttributes.getAll().map((a) => [a.key.name, a.value]);
    expect(attributes).toContainEqual(['BusinessStatus', 'cancelled']);

    // Again: answered from the row (the run is over: an Update would now be refused with 409).
    const again = await tenant.call('POST', `/v1/notifications/${created.id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    const accepted = (await handle.fetchHistory()).events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
    expect(accepted).toHaveLength(1);
  });

  it('maps the workflow’s refusal and a finished run to 409 notification_invalid_state', async () => {
    // The workflow on a queue of its own with no activities: a first cancel is accepted by the real
    // workflow but cannot record itself yet, so the row still says `scheduled` when the API sends the
    // second one, and the workflow's validator refuses it (the race of two cancels, held open).
    const taskQueue = `${h.config.TASK_QUEUE_NOTIFICATIONS}-workflows-only`;
    const app = createApp({
      config: { ...h.config, TASK_QUEUE_NOTIFICATIONS: taskQueue, RATE_LIMIT_ENABLED: false }, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal,
    });
    const stop = await workflowsOnly(taskQueue);
    try {
      const tenant = await h.newTenant();
      const { body: created } = await call(app, tenant.apiKey, 'POST', '/v1/notifications', { ...send, scheduled_at: later() });
      const handle = h.temporal.workflow.getHandle(`notification-${created.id}`);
      await handle.startUpdate(cancelNotificationUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });

      const refused = await call(app, tenant.apiKey, 'POST', `/v1/notifications/${created.id}/cancel`);
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({
        type: 'invalid_request_error', code: 'notification_invalid_state', message: 'Only a scheduled or deferred notification can be cancelled.',
      });

      // A run that is over (here: terminated by an operator) while the row still says scheduled.
      await handle.terminate('test: the run is over');
      const gone = await call(app, tenant.apiKey, 'POST', `/v1/notifications/${created.id}/cancel`);
      expect([gone.status, gone.body.error.code, gone.body.error.message]).toEqual([409, 'notification_invalid_state', 'The notification has finished.']);
      expect((await tenant.call('GET', `/v1/notifications/${created.id}`)).body.status).toBe('scheduled');
    } finally {
      await stop();
    }
  });

  it('refuses at once when delivery has started (processing)', async () => {
    const tenant = await h.newTenant();
    const { body: created } = await tenant.call('POST', '/v1/notifications', { body: send });
    const res = await tenant.call('POST', `/v1/notifications/${created.id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('notification_invalid_state');
  });
});
