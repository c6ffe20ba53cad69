import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../../platform/log.js';
import { newId } from '../../domain/ids.js';
import { createNotificationInTransaction } from '../../store/notifications/notifications.js';
import { secretBoxOf } from '../../platform/config-security.js';
import { payloadCodecOf } from '../../platform/payload-codec.js';
import { createWebhookEndpoint, type WebhookEndpointWithSecret } from '../../store/notifications/webhook-endpoints.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { unreachableTemporal } from '../../test/unreachable-temporal.js';
import { reconcileStarts } from '../../workers/start-reconciler.js';
import { createApp } from '../app.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

/** A delivery that ran out of attempts, written with SQL the way the worker leaves one. */
async function deadLetter(tenantId: string, channel: 'sms' | 'webhook' = 'sms'): Promise<string> {
  let id: string;
  if (channel === 'webhook') {
    const endpoint = await createWebhookEndpoint(h.pool, {
      tenantId, url: 'https://m.example/h', events: ['*'], sealer: secretBoxOf(h.config), maxPerTenant: 16,
    }) as WebhookEndpointWithSecret;
    id = newId('delivery');
    await h.pool.query(
      `INSERT INTO deliveries (id, tenant_id, kind, channel, endpoint_id, event_id, status) VALUES ($1, $2, 'webhook', 'webhook', $3, $4, 'queued')`,
      [id, tenantId, endpoint.id, newId('event')],
    );
  } else {
    const { notification } = await createNotificationInTransaction(h.pool, {
      tenantId, userId: 'u1', templateId: 'otp', data: {}, channels: [channel], priority: 'high', critical: false, scheduledAt: null,
    });
    id = notification.deliveries[0]!.id;
  }
  await h.pool.query(`UPDATE deliveries SET status = 'dead_lettered', attempts = 5, last_error = 'provider answered 503' WHERE id = $1`, [id]);
  return id;
}

async function startedInput(workflowId: string): Promise<Record<string, unknown>> {
  const history = await h.temporal.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  // Encrypted in the history (platform/payload-codec.ts): decrypted with the configured keys.
  return JSON.parse(Buffer.from(payloadCodecOf(h.config).decodePayload(payload!).data!).toString('utf8')) as Record<string, unknown>;
}

const deliveryRow = async (id: string) =>
  (await h.pool.query('SELECT status, retries, last_error FROM deliveries WHERE id = $1', [id])).rows[0];

describe('ops: dead letters', () => {
  it('lists dead letters of every tenant, filtered by tenant and channel (admin key only)', async () => {
    const a = await h.newTenant();
    const b = await h.newTenant();
    const sms = await deadLetter(a.id, 'sms');
    const hook = await deadLetter(a.id, 'webhook');
    const theirs = await deadLetter(b.id, 'sms');

    const all = await h.admin('GET', '/v1/ops/dead-letters?limit=100');
    expect(all.status).toBe(200);
    expect(all.body.object).toBe('list');
    expect(all.body.data.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([sms, hook, theirs]));
    const ofA = await h.admin('GET', `/v1/ops/dead-letters?tenant_id=${a.id}`);
    expect(ofA.body.data.map((d: { id: string }) => d.id)).toEqual([hook, sms]);
    expect(ofA.body.data[1]).toMatchObject({
      object: 'delivery', tenant_id: a.id, kind: 'notification', channel: 'sms', status: 'dead_lettered', attempts: 5,
      last_error: 'provider answered 503', retries: 0,
    });
    expect((await h.admin('GET', `/v1/ops/dead-letters?tenant_id=${a.id}&channel=webhook`)).body.data.map((d: { id: string }) => d.id)).toEqual([hook]);
    const page = await h.admin('GET', `/v1/ops/dead-letters?tenant_id=${a.id}&limit=1`);
    expect(page.body).toMatchObject({ has_more: true, data: [{ id: hook }] });
    expect((await h.admin('GET', `/v1/ops/dead-letters?tenant_id=${a.id}&starting_after=${hook}`)).body.data.map((d: { id: string }) => d.id)).toEqual([sms]);
    expect((await h.admin('GET', '/v1/ops/dead-letters?channel=fax')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'channel' });
    expect((await a.call('GET', '/v1/ops/dead-letters')).status).toBe(403);
    expect((await a.call('POST', `/v1/ops/dead-letters/${sms}/retry`)).status).toBe(403);
  });

  it('retry: 202 with the delivery queued, the retry workflow started; a concurrent second retry is 409', async () => {
    const tenant = await h.newTenant();
    const id = await deadLetter(tenant.id, 'sms');
    const [first, second] = await Promise.all([
      h.admin('POST', `/v1/ops/dead-letters/${id}/retry`), h.admin('POST', `/v1/ops/dead-letters/${id}/retry`),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([202, 409]);
    const accepted = first.status === 202 ? first : second;
    const refused = first.status === 202 ? second : first;
    expect(accepted.body).toMatchObject({ id, status: 'queued', retries: 1, last_error: null, attempts: 5 });
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'delivery_invalid_state' });

    const workflowId = `dead-letter-retry-${id}-1`;
    const description = await h.temporal.workflow.getHandle(workflowId).describe();
    expect(description).toMatchObject({ type: 'deadLetterRetry', taskQueue: h.config.TASK_QUEUE_NOTIFICATIONS });
    expect(await startedInput(workflowId)).toEqual({
      tenantId: tenant.id, deliveryId: id, channel: 'sms', priority: 'high',
      retry: {
        maxAttempts: h.config.NOTIFICATION_RETRY_MAX_ATTEMPTS, initialIntervalMs: h.config.NOTIFICATION_RETRY_INITIAL_INTERVAL,
        maxIntervalMs: h.config.NOTIFICATION_RETRY_MAX_INTERVAL, backoffCoefficient: h.config.NOTIFICATION_RETRY_BACKOFF,
      },
      deliveryQueuePrefix: h.config.TASK_QUEUE_NOTIFICATIONS,
    });
    expect((await h.admin('GET', `/v1/ops/dead-letters?tenant_id=${tenant.id}`)).body.data).toEqual([]);

    // Dead-lettered again later: the next retry is a run of its own.
    await h.pool.query(`UPDATE deliveries SET status = 'dead_lettered' WHERE id = $1`, [id]);
    expect((await h.admin('POST', `/v1/ops/dead-letters/${id}/retry`)).body.retries).toBe(2);
    await h.temporal.workflow.getHandle(`dead-letter-retry-${id}-2`).describe();
  });

  it('a webhook dead letter is retried with the webhook retry settings', async () => {
    const tenant = await h.newTenant();
    const id = await deadLetter(tenant.id, 'webhook');
    expect((await h.admin('POST', `/v1/ops/dead-letters/${id}/retry`)).status).toBe(202);
    expect(await startedInput(`dead-letter-retry-${id}-1`)).toMatchObject({
      channel: 'webhook', priority: 'normal',
      retry: { maxAttempts: h.config.WEBHOOK_RETRY_MAX_ATTEMPTS, initialIntervalMs: h.config.WEBHOOK_RETRY_INITIAL_INTERVAL },
    });
  });

  it('unknown id is 404; a delivery that is not dead-lettered is 409', async () => {
    const tenant = await h.newTenant();
    expect((await h.admin('POST', '/v1/ops/dead-letters/dlv_missing/retry')).body.error).toMatchObject({ code: 'resource_missing' });
    const id = await deadLetter(tenant.id);
    await h.pool.query(`UPDATE deliveries SET status = 'sent' WHERE id = $1`, [id]);
    const res = await h.admin('POST', `/v1/ops/dead-letters/${id}/retry`);
    expect([res.status, res.body.error.code]).toEqual([409, 'delivery_invalid_state']);
    expect(await deliveryRow(id)).toMatchObject({ status: 'sent', retries: 0 });
  });

  it('a retry whose start has an unknown outcome (Temporal unreachable) stays queued (202); the start reconciler starts its run', async () => {
    const tenant = await h.newTenant();
    const id = await deadLetter(tenant.id);
    const down = await unreachableTemporal(h.config.TEMPORAL_NAMESPACE);
    // A refused connection looks like a dropped one (UNAVAILABLE): the run may have started.
    const logs = captureLogs();
    let status;
    let warnings;
    try {
      const broken = createApp({ config: { ...h.config, RATE_LIMIT_ENABLED: false }, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: down.client });
      const res = await broken.request(`/v1/ops/dead-letters/${id}/retry`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      status = res.status;
      warnings = logs.lines().filter((line) => line.level === 'warn' && line.component === 'workflow-start');
    } finally {
      logs.stop();
      await down.close();
    }
    expect(status).toBe(202);
    expect(warnings).toEqual([expect.objectContaining({ workflowId: `dead-letter-retry-${id}-1`, msg: expect.stringContaining('the start may or may not have happened') })]);
    expect(await deliveryRow(id)).toEqual({ status: 'queued', retries: 1, last_error: null });
    // Queued, not dead: a second ops retry is refused, so it can never get two runs.
    expect((await h.admin('POST', `/v1/ops/dead-letters/${id}/retry`)).status).toBe(409);
    const report = await reconcileStarts({ pool: h.pool, temporal: h.temporal, config: h.config, tenantIds: [tenant.id], afterMs: 0 });
    expect(report.dead_letter_retry).toMatchObject({ started: 1 });
    expect(await startedInput(`dead-letter-retry-${id}-1`)).toMatchObject({ deliveryId: id, channel: 'sms', priority: 'high' });
  });
});
