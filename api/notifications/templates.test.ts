import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Call, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

const templateCount = async (tenantId: string) =>
  (await h.pool.query('SELECT count(*)::int AS n FROM notification_templates WHERE tenant_id = $1', [tenantId])).rows[0].n as number;

const welcome = { email: { subject: 'Hi {{name}}', body: '<p>Welcome, {{name}}!</p>' }, in_app: { title: 'Welcome', body: 'Hi {{name}}' } };

describe('notification templates', () => {
  it('creates, reads, lists and updates a template; the same id again is 409', async () => {
    const { call } = await h.newTenant();
    const created = await call('POST', '/v1/notification-templates', { body: { id: 'welcome', channels: welcome } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'welcome', object: 'notification_template', source: 'tenant', channels: welcome });
    expect((await call('GET', '/v1/notification-templates/welcome')).body).toEqual(created.body);

    const again = await call('POST', '/v1/notification-templates', { body: { id: 'welcome', channels: { sms: { body: 'x' } } } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_exists', param: 'id' });

    await call('POST', '/v1/notification-templates', { body: { id: 'a.first', channels: { sms: { body: 'A' } } } });
    const list = await call('GET', '/v1/notification-templates?limit=1');
    expect(list.body).toMatchObject({ object: 'list', has_more: true, data: [{ id: 'a.first' }] });
    expect((await call('GET', '/v1/notification-templates?starting_after=a.first')).body.data.map((t: { id: string }) => t.id)).toEqual(['welcome']);

    const updated = await call('POST', '/v1/notification-templates/welcome', { body: { channels: { sms: { body: 'Hi {{name}}' } } } });
    expect(updated.status).toBe(200);
    expect(updated.body.channels).toEqual({ sms: { body: 'Hi {{name}}' } });
    expect((await call('POST', '/v1/notification-templates/nope', { body: { channels: { sms: { body: 'x' } } } })).status).toBe(404);
  });

  it('falls back to the built-in templates, which a tenant can override', async () => {
    const { call } = await h.newTenant();
    const builtIn = await call('GET', '/v1/notification-templates/transfer.received');
    expect(builtIn.status).toBe(200);
    expect(builtIn.body).toMatchObject({ id: 'transfer.received', source: 'built_in', created_at: null });
    expect(builtIn.body.channels.in_app.title).toBe('Money received');

    const own = await call('POST', '/v1/notification-templates', { body: { id: 'transfer.received', channels: { sms: { body: 'Got {{amount}}' } } } });
    expect(own.status).toBe(201);
    expect((await call('GET', '/v1/notification-templates/transfer.received')).body).toMatchObject({ source: 'tenant', channels: { sms: {} } });
    expect((await call('GET', '/v1/notification-templates/no.such')).body.error).toMatchObject({ code: 'resource_missing' });
  });

  it('another tenant’s template is 404 and is not listed', async () => {
    const a = await h.newTenant();
    const b = await h.newTenant();
    await a.call('POST', '/v1/notification-templates', { body: { id: 'secret.one', channels: { sms: { body: 'x' } } } });
    expect((await b.call('GET', '/v1/notification-templates/secret.one')).status).toBe(404);
    expect((await b.call('GET', '/v1/notification-templates')).body.data).toEqual([]);
    expect((await b.call('POST', '/v1/notification-templates/secret.one', { body: { channels: { sms: { body: 'y' } } } })).status).toBe(404);
  });

  it('refuses bad templates with the contract’s errors and writes nothing', async () => {
    const { id, call } = await h.newTenant();
    const cases: [unknown, number, string, string][] = [
      [{ channels: welcome }, 400, 'parameter_missing', 'id'],
      [{ id: 'has space', channels: welcome }, 400, 'parameter_invalid', 'id'],
      [{ id: 'x'.repeat(101), channels: welcome }, 400, 'parameter_invalid', 'id'],
      [{ id: 'ok' }, 400, 'parameter_missing', 'channels'],
      [{ id: 'ok', channels: {} }, 400, 'parameter_invalid', 'channels'],
      [{ id: 'ok', channels: { fax: { body: 'x' } } }, 400, 'parameter_unknown', 'channels[fax]'],
      [{ id: 'ok', channels: { email: { subject: 'x' } } }, 400, 'parameter_missing', 'channels[email][body]'],
      [{ id: 'ok', channels: { sms: { body: '' } } }, 400, 'parameter_invalid', 'channels[sms][body]'],
      [{ id: 'ok', channels: { sms: { body: 'x', title: 'y' } } }, 400, 'parameter_unknown', 'channels[sms][title]'],
      [{ id: 'ok', channels: { sms: { body: 'Hi {{name' } } }, 400, 'parameter_invalid', 'channels[sms][body]'],
      [{ id: 'ok', channels: { email: { subject: 's', body: '{{{raw}}}' } } }, 400, 'parameter_invalid', 'channels[email][body]'],
      [{ id: 'ok', channels: { sms: { body: '{{> partial}}' } } }, 400, 'parameter_invalid', 'channels[sms][body]'],
      [{ id: 'ok', channels: welcome, extra: 1 }, 400, 'parameter_unknown', 'extra'],
    ];
    for (const [body, status, code, param] of cases) {
      const res = await call('POST', '/v1/notification-templates', { body });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(body)).toEqual([status, code, param]);
    }
    expect((await call('POST', '/v1/notification-templates', { raw: '{"id":', headers: { 'content-type': 'application/json' } })).body.error.code)
      .toBe('invalid_json');
    expect(await templateCount(id)).toBe(0);
  });

  it('the notification routes are in the OpenAPI document', async () => {
    const res = await h.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/v1/notification-templates', '/v1/notification-templates/{id}', '/v1/users/{user_id}/contacts',
      '/v1/users/{user_id}/notification-preferences', '/v1/users/{user_id}/inbox', '/v1/users/{user_id}/inbox/stream',
      '/v1/users/{user_id}/inbox/{message_id}/read', '/v1/notifications', '/v1/notifications/{id}', '/v1/notifications/{id}/cancel',
      '/v1/webhook-endpoints', '/v1/webhook-endpoints/{id}', '/v1/webhook-endpoints/{id}/deliveries', '/v1/ops/dead-letters',
      '/v1/ops/dead-letters/{id}/retry',
    ]));
    expect(Object.keys(doc.paths['/v1/users/{user_id}/contacts']!)).toEqual(expect.arrayContaining(['put', 'get']));
  });

  it('Idempotency-Key replays the first answer and creates once', async () => {
    const { id, call }: { id: string; call: Call } = await h.newTenant();
    const body = { id: 'idem', channels: { sms: { body: 'x' } } };
    const first = await call('POST', '/v1/notification-templates', { body, idempotencyKey: 'tpl-1' });
    const second = await call('POST', '/v1/notification-templates', { body, idempotencyKey: 'tpl-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await templateCount(id)).toBe(1);
  });
});
