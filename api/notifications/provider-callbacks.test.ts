import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../domain/ids.js';
import { PROVIDER_SIGNATURE_HEADER, type ReceiptCallback, type ReceiptProvider } from '../../domain/notifications/receipts.js';
import { signWebhook } from '../../domain/notifications/signature.js';
import { insertBroadcast, readPage, startSending } from '../../store/notifications/broadcasts.js';
import { findBounced, recordBounce } from '../../store/notifications/contact-bounces.js';
import { recordDeliverySent, setDeliveryContent } from '../../store/notifications/deliveries.js';
import { createNotificationInTransaction } from '../../store/notifications/notifications.js';
import type { Call, Harness } from '../../test/harness.js';
import { loadConfig } from '../../platform/config.js';
import { newSealingKey } from '../../platform/secrets.js';
import { byChannel, eventually, settled, startNotificationStack, type Notification, type NotificationStack } from '../../test/notifications.js';

let stack: NotificationStack;
let h: Harness;
let tenant: { id: string; call: Call };
let user = 0;

beforeAll(async () => {
  // receipts: the simulators post their signed callbacks to this file's API, served on a port.
  stack = await startNotificationStack({}, { receipts: true });
  h = stack.h;
  tenant = await h.newTenant('Receipts');
  const template = await tenant.call('POST', '/v1/notification-templates', {
    body: {
      id: 'receipt',
      channels: {
        email: { subject: 'Hi {{name}}', body: '<p>Hello {{name}}</p>' },
        sms: { body: 'Hello {{name}}' },
        push: { title: 'Hello', body: 'Hi {{name}}' },
      },
    },
  });
  expect(template.status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
});

async function newUser(contacts: Record<string, unknown>): Promise<string> {
  const id = `rcpt_user_${++user}_${Date.now()}`;
  expect((await tenant.call('PUT', `/v1/users/${id}/contacts`, { body: contacts })).status).toBe(200);
  return id;
}

async function send(userId: string, channels: string[]): Promise<string> {
  const res = await tenant.call('POST', '/v1/notifications', {
    body: { user_id: userId, template_id: 'receipt', data: { name: 'Ada' }, channels, priority: 'high' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** Waits until the notification's delivery on `channel` has the status. */
function deliveryBecomes(id: string, channel: string, status: string): Promise<Notification> {
  return eventually(
    async () => (await tenant.call('GET', `/v1/notifications/${id}`)).body as Notification,
    (n) => byChannel(n)[channel]?.status === status,
    20_000,
  );
}

function secretOf(provider: ReceiptProvider): string {
  return { email: h.config.EMAIL_CALLBACK_SECRET, sms: h.config.SMS_CALLBACK_SECRET, push: h.config.PUSH_CALLBACK_SECRET }[provider];
}

/** POSTs a callback as a provider would (in process, no API key), signed unless told otherwise. */
async function callback(
  provider: string,
  body: Partial<ReceiptCallback> | string,
  sign: { secret?: string; atSeconds?: number; header?: string | null } = {},
) {
  const raw = typeof body === 'string' ? body : JSON.stringify({
    id: `evt_${Math.random()}`, status: 'delivered', recipient: '+15551110000', occurred_at: new Date().toISOString(), ...body,
  });
  const secret = sign.secret ?? secretOf((['email', 'sms', 'push'].includes(provider) ? provider : 'sms') as ReceiptProvider);
  const header = sign.header === undefined ? signWebhook(secret, sign.atSeconds ?? Math.floor(Date.now() / 1_000), raw) : sign.header;
  const res = await h.app.request(`/v1/provider-callbacks/${provider}`, {
    method: 'POST', body: raw, headers: { 'content-type': 'application/json', ...(header === null ? {} : { [PROVIDER_SIGNATURE_HEADER]: header }) },
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** An SMS delivery left `sent` with a provider message id of our choosing, as an attempt leaves one (no simulator involved). */
async function sentSms(to = '+15551119999'): Promise<{ deliveryId: string; notificationId: string; messageId: string }> {
  const { notification } = await createNotificationInTransaction(h.pool, {
    tenantId: tenant.id, userId: 'manual', templateId: 'receipt', data: {}, channels: ['sms'], priority: 'high', critical: false, scheduledAt: null,
  });
  const deliveryId = notification.deliveries[0]!.id;
  const messageId = `SM${newId('delivery').slice(4).toLowerCase()}`;
  await setDeliveryContent(h.pool, deliveryId, { channel: 'sms', body: 'x', to });
  await recordDeliverySent(h.pool, { deliveryId, attempt: 1, providerMessageId: messageId, responseStatus: 201 });
  return { deliveryId, notificationId: notification.id, messageId };
}

async function deliveryRow(id: string) {
  return (await h.pool.query('SELECT status, last_error, updated_at FROM deliveries WHERE id = $1', [id])).rows[0];
}

describe('POST /v1/provider-callbacks/:provider: signatures', () => {
  it('refuses a missing, forged, stale or other provider’s signature with 401, and writes nothing', async () => {
    const { deliveryId, messageId } = await sentSms();
    const before = await deliveryRow(deliveryId);
    const receipt = { message_id: messageId, status: 'bounced' as const };
    const refusals = [
      [await callback('sms', receipt, { header: null }), 'signature_missing'],
      [await callback('sms', receipt, { secret: 'not-the-sms-secret-at-all' }), 'signature_invalid'],
      [await callback('sms', receipt, { secret: h.config.PUSH_CALLBACK_SECRET }), 'signature_invalid'],
      [await callback('sms', receipt, { atSeconds: Math.floor(Date.now() / 1_000) - 301 }), 'signature_invalid'],
      [await callback('sms', receipt, { header: 't=1,v1=zz' }), 'signature_invalid'],
    ] as const;
    for (const [res, code] of refusals) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { type: 'authentication_error', code, message: expect.any(String) } });
    }
    expect(await deliveryRow(deliveryId)).toEqual(before);
    expect(await findBounced(h.pool, tenant.id, [{ channel: 'sms', address: '+15551119999' }])).toEqual([]);
  });

  it('answers an unknown provider 404 and an invalid body 400, signed or not', async () => {
    expect((await callback('fax', { message_id: 'x' }, { secret: 'whatever-secret-1234' })).body.error).toMatchObject({ code: 'resource_missing', param: 'provider' });
    const unknownField = await callback('sms', { message_id: 'SMx', extra: 1 } as Partial<ReceiptCallback>);
    expect([unknownField.status, unknownField.body.error.code]).toEqual([400, 'parameter_unknown']);
    const badStatus = await callback('sms', { message_id: 'SMx', status: 'read' } as unknown as Partial<ReceiptCallback>);
    expect([badStatus.status, badStatus.body.error.param]).toEqual([400, 'status']);
    const notJson = await callback('sms', '{"message_id":');
    expect([notJson.status, notJson.body.error.code]).toEqual([400, 'invalid_json']);
  });

  it('answers 404 for a message id no delivery has (yet), so the provider retries; nothing is written', async () => {
    const res = await callback('sms', { message_id: 'SMnever', status: 'bounced', recipient: '+15551118888' });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing', param: 'message_id' });
    expect(await findBounced(h.pool, tenant.id, [{ channel: 'sms', address: '+15551118888' }])).toEqual([]);
  });

  it('looks the message id up on its own provider’s channel only', async () => {
    const { messageId } = await sentSms();
    expect((await callback('push', { message_id: messageId })).status).toBe(404);
    expect((await callback('sms', { message_id: messageId })).status).toBe(200);
  });
});

describe('configuration', () => {
  it('production refuses the public development secrets at start-up, naming each', () => {
    const production = {
      NODE_ENV: 'production', SECRETS_ENCRYPTION_KEYS: newSealingKey('s1'), TEMPORAL_PAYLOAD_KEYS: newSealingKey('t1'),
    };
    expect(() => loadConfig(production)).toThrow(
      /EMAIL_CALLBACK_SECRET: production needs its own secret[\s\S]*SMS_CALLBACK_SECRET[\s\S]*PUSH_CALLBACK_SECRET/,
    );
    const own = { ...production, EMAIL_CALLBACK_SECRET: 'e'.repeat(32), SMS_CALLBACK_SECRET: 's'.repeat(32) };
    expect(() => loadConfig(own)).toThrow(/^Invalid environment:\n {2}PUSH_CALLBACK_SECRET: [^\n]*$/);
    expect(() => loadConfig({ ...own, PUSH_CALLBACK_SECRET: 'p'.repeat(32) })).not.toThrow();
  });
});

describe('duplicates and order', () => {
  it('a duplicate changes nothing; a late `delivered` never undoes `bounced`; `bounced` may follow `delivered`', async () => {
    const { deliveryId, messageId } = await sentSms('+15551117777');
    const delivered = await callback('sms', { message_id: messageId, status: 'delivered' });
    expect(delivered.body).toEqual({ object: 'provider_receipt', provider: 'sms', message_id: messageId, delivery_status: 'delivered', applied: true });
    expect((await callback('sms', { message_id: messageId, status: 'delivered' })).body).toMatchObject({ delivery_status: 'delivered', applied: false });
    const bounced = await callback('sms', { message_id: messageId, status: 'bounced', recipient: '+15551117777', error_code: '30005' });
    expect(bounced.body).toMatchObject({ delivery_status: 'bounced', applied: true });
    expect((await callback('sms', { message_id: messageId, status: 'delivered' })).body).toMatchObject({ delivery_status: 'bounced', applied: false });
    expect((await callback('sms', { message_id: messageId, status: 'bounced' })).body).toMatchObject({ delivery_status: 'bounced', applied: false });
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'bounced', last_error: 'bounced: 30005' });
    expect(await findBounced(h.pool, tenant.id, [{ channel: 'sms', address: '+15551117777' }])).toHaveLength(1);
  });

  it('a push bounce marks the named token only if the delivery went to it', async () => {
    const { notification } = await createNotificationInTransaction(h.pool, {
      tenantId: tenant.id, userId: 'manual', templateId: 'receipt', data: {}, channels: ['push'], priority: 'high', critical: false, scheduledAt: null,
    });
    const deliveryId = notification.deliveries[0]!.id;
    await setDeliveryContent(h.pool, deliveryId, { channel: 'push', title: 't', body: 'b', to: ['tok_sent_1', 'tok_sent_2'] });
    await recordDeliverySent(h.pool, { deliveryId, attempt: 1, providerMessageId: `pm_${deliveryId}`, responseStatus: 200 });
    const res = await callback('push', { message_id: `pm_${deliveryId}`, status: 'bounced', recipient: 'tok_never_sent' });
    expect(res.body).toMatchObject({ delivery_status: 'bounced', applied: true });
    expect(await findBounced(h.pool, tenant.id, [{ channel: 'push', address: 'tok_never_sent' }])).toEqual([]);
  });

  it('concurrent duplicates apply once', async () => {
    const { messageId } = await sentSms('+15551116666');
    const answers = await Promise.all(Array.from({ length: 8 }, () => callback('sms', { message_id: messageId, status: 'bounced', recipient: '+15551116666' })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((a) => a.body.applied)).toHaveLength(1);
  });

  it('a receipt for a delivery that is not sent (queued, failed) changes nothing', async () => {
    const { notification } = await createNotificationInTransaction(h.pool, {
      tenantId: tenant.id, userId: 'manual', templateId: 'receipt', data: {}, channels: ['sms'], priority: 'high', critical: false, scheduledAt: null,
    });
    const deliveryId = notification.deliveries[0]!.id;
    // A provider id on a queued delivery cannot come from our writers; written here to prove the status guard.
    await h.pool.query(`UPDATE deliveries SET provider_message_id = 'SMqueued' WHERE id = $1`, [deliveryId]);
    expect((await callback('sms', { message_id: 'SMqueued', status: 'bounced' })).body).toMatchObject({ delivery_status: 'queued', applied: false });
    expect((await deliveryRow(deliveryId)).status).toBe('queued');
  });
});

describe('receipts from the simulators, end to end', () => {
  it('an SMS ends `delivered` through the SMS simulator’s own signed callback', async () => {
    const id = await send(await newUser({ phone: '+15551110001' }), ['sms']);
    await deliveryBecomes(id, 'sms', 'delivered');
  });

  it('a bouncing number ends `bounced`, is marked, and the next notification skips it without calling the provider', async () => {
    const userId = await newUser({ phone: '+19995550001' });
    const first = await deliveryBecomes(await send(userId, ['sms']), 'sms', 'bounced');
    expect(byChannel(first).sms).toMatchObject({ last_error: 'bounced: 30003' });
    expect(await findBounced(h.pool, tenant.id, [{ channel: 'sms', address: '+19995550001' }])).toHaveLength(1);
    const toNumber = async () => (await stack.sim.messages('sms')).messages.filter((m) => m.to === '+19995550001').length;
    const sentBefore = await toNumber();
    expect(sentBefore).toBe(1);

    const second = await settled(tenant.call, await send(userId, ['sms']));
    expect(byChannel(second).sms).toMatchObject({ status: 'skipped_no_contact', last_error: 'address_bounced', attempts: 0 });
    expect(await toNumber()).toBe(sentBefore);

    // A new number clears it for this user: the bounced one stays marked.
    expect((await tenant.call('PUT', `/v1/users/${userId}/contacts`, { body: { phone: '+15551110003' } })).status).toBe(200);
    await deliveryBecomes(await send(userId, ['sms']), 'sms', 'delivered');
  });

  it('e-mail: delivered for a good address, bounced (and skipped next time) for a `bounce_` one', async () => {
    const good = await send(await newUser({ email: 'ada@example.com' }), ['email']);
    await deliveryBecomes(good, 'email', 'delivered');
    const userId = await newUser({ email: 'Bounce_Grace@example.com' });
    await deliveryBecomes(await send(userId, ['email']), 'email', 'bounced');
    expect(await findBounced(h.pool, tenant.id, [{ channel: 'email', address: 'bounce_grace@EXAMPLE.com' }])).toHaveLength(1);
    const next = await settled(tenant.call, await send(userId, ['email', 'sms']));
    expect(byChannel(next).email).toMatchObject({ status: 'skipped_no_contact', last_error: 'address_bounced' });
  });

  it('push: a `bounce_` token ends bounced and is left out next time', async () => {
    const userId = await newUser({ push_tokens: ['bounce_tok_1'] });
    await deliveryBecomes(await send(userId, ['push']), 'push', 'bounced');
    const next = await settled(tenant.call, await send(userId, ['push']));
    expect(byChannel(next).push).toMatchObject({ status: 'skipped_no_contact', last_error: 'address_bounced' });
  });
});

describe('broadcast deliveries', () => {
  it('a receipt finds a broadcast delivery by its provider message id; its bounce marks the named token', async () => {
    expect((await tenant.call('POST', '/v1/topics', { body: { key: `rcpt-${Date.now()}`, name: 'Receipts' } })).status).toBe(201);
    const topicKey = (await h.pool.query(`SELECT key FROM topics WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 1`, [tenant.id])).rows[0].key as string;
    const broadcast = await insertBroadcast(h.pool, {
      tenantId: tenant.id, topicKey, templateId: 'receipt', data: {}, channels: ['push'], priority: 'normal', scheduledAt: null,
    });
    // As the page writer leaves a sent push: its outcome with the provider's message id.
    await h.pool.query(
      `INSERT INTO broadcast_deliveries (broadcast_id, user_id, channel, status, provider_message_id) VALUES ($1, 'bc_user', 'push', 'sent', 'projects/x/messages/bc1')`,
      [broadcast.id],
    );
    const delivered = await callback('push', { message_id: 'projects/x/messages/bc1', status: 'delivered', recipient: 'tok_bc' });
    expect(delivered.body).toMatchObject({ delivery_status: 'delivered', applied: true });
    const bounced = await callback('push', { message_id: 'projects/x/messages/bc1', status: 'bounced', recipient: 'tok_bc', error_code: 'UNREGISTERED' });
    expect(bounced.body).toMatchObject({ delivery_status: 'bounced', applied: true });
    expect((await callback('push', { message_id: 'projects/x/messages/bc1', status: 'delivered', recipient: 'tok_bc' })).body.applied).toBe(false);
    const row = (await h.pool.query(`SELECT status, error FROM broadcast_deliveries WHERE broadcast_id = $1`, [broadcast.id])).rows[0];
    expect(row).toEqual({ status: 'bounced', error: 'bounced: UNREGISTERED' });
    expect(await findBounced(h.pool, tenant.id, [{ channel: 'push', address: 'tok_bc' }])).toHaveLength(1);
  });

  it('a broadcast page reads bounced tokens, numbers and addresses as no contact', async () => {
    const topicKey = `rcpt-page-${Date.now()}`;
    expect((await tenant.call('POST', '/v1/topics', { body: { key: topicKey, name: 'Page' } })).status).toBe(201);
    const userId = await newUser({ email: 'Bounce_Page@example.com', phone: '+15551114444', push_tokens: ['tok_page_ok', 'tok_page_gone'] });
    expect((await tenant.call('POST', `/v1/topics/${topicKey}/subscribers`, { body: { user_ids: [userId] } })).status).toBe(200);
    const mark = (channel: 'email' | 'push', address: string) =>
      recordBounce(h.pool, { tenantId: tenant.id, channel, address, providerMessageId: 'm', errorCode: null });
    await mark('push', 'tok_page_gone');
    await mark('email', 'bounce_page@example.com');
    const created = await insertBroadcast(h.pool, {
      tenantId: tenant.id, topicKey, templateId: 'receipt', data: {}, channels: ['push'], priority: 'normal', scheduledAt: null,
    });
    const [recipient] = await readPage(h.pool, await startSending(h.pool, tenant.id, created.id), 10);
    expect(recipient).toMatchObject({ userId, pushTokens: ['tok_page_ok'], email: null, phone: '+15551114444' });
  });
});
