import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSink } from '../../simulators/smtp/server.js';
import type { Call, Harness } from '../../test/harness.js';
import { byChannel, eventually, settled, startNotificationStack, type Notification, type NotificationStack } from '../../test/notifications.js';

let stack: NotificationStack;
let h: Harness;
let smtp: SmtpSink;
let sim: NotificationStack['sim'];
let call: Call;
let user = 0;
let apiKey: string;

beforeAll(async () => {
  stack = await startNotificationStack({
    // SMS calls are capped at 5/s across workers (GCRA: one every 200 ms).
    OUTBOUND_RATE_LIMITS: JSON.stringify({ sms: { algorithm: 'gcra', rate: 5, period: '1s' } }),
    OUTBOUND_RATE_LIMIT_MAX_WAIT_MS: '5000',
    // A loaded CI can take Redis past the 100 ms default: the limiter would then fail open to an
    // in-process bucket per worker (more calls at once), and the spacing test would measure that.
    RATE_LIMIT_REDIS_TIMEOUT_MS: '2000',
  });
  ({ h, smtp, sim } = stack);
  const tenant = await h.newTenant('Notifications');
  call = tenant.call;
  apiKey = tenant.apiKey;
  const template = await call('POST', '/v1/notification-templates', {
    body: {
      id: 'welcome',
      channels: {
        email: { subject: 'Welcome {{name}}', body: '<p>Hello {{name}}, your code is {{code}}.</p>' },
        sms: { body: 'Hello {{name}}: {{code}}' },
        push: { title: 'Hello', body: 'Hi {{name}}' },
        in_app: { title: 'Welcome', body: 'Hello {{name}}' },
      },
    },
  });
  expect(template.status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
});

/** A fresh user with the given contacts and preferences. */
async function newUser(contacts: Record<string, unknown>, preferences?: Record<string, unknown>): Promise<string> {
  const id = `user_${++user}_${Date.now()}`;
  expect((await call('PUT', `/v1/users/${id}/contacts`, { body: contacts })).status).toBe(200);
  if (preferences) expect((await call('PUT', `/v1/users/${id}/notification-preferences`, { body: preferences })).status).toBe(200);
  return id;
}

async function send(body: Record<string, unknown>): Promise<Notification> {
  const res = await call('POST', '/v1/notifications', {
    body: { template_id: 'welcome', data: { name: 'Ada', code: '1234' }, priority: 'normal', ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as Notification;
}

describe('notification workflow', () => {
  it('skips an opted-out channel and a channel without a contact, and sends the others', async () => {
    const userId = await newUser({ email: 'ada@example.com', phone: '+15551230001' }, { sms: false });
    const sent = await send({ user_id: userId, channels: ['email', 'sms', 'push', 'in_app'] });
    const done = byChannel(await settled(call, sent.id));
    expect(done.email?.status).toBe('sent');
    expect(done.sms?.status).toBe('skipped_opt_out');
    expect(done.push?.status).toBe('skipped_no_contact');
    expect(done.in_app?.status).toBe('sent');
    expect(done.sms?.attempts).toBe(0);

    const noEmail = await newUser({ phone: '+15551230002' });
    const second = byChannel(await settled(call, (await send({ user_id: noEmail, channels: ['email'] })).id));
    expect(second.email?.status).toBe('skipped_no_contact');
  });

  it('a critical notification bypasses an opt-out', async () => {
    const userId = await newUser({ phone: '+15551230003' }, { sms: false });
    const done = byChannel(await settled(call, (await send({ user_id: userId, channels: ['sms'], critical: true })).id));
    expect(done.sms?.status).toBe('sent');
  });

  it('sends push to every token and drops the tokens the provider says are gone', async () => {
    const userId = await newUser({ push_tokens: ['tok_phone_1', 'bad_old_phone'] });
    const done = byChannel(await settled(call, (await send({ user_id: userId, channels: ['push'] })).id));
    expect(done.push?.status).toBe('sent');
    const contacts = await call('GET', `/v1/users/${userId}/contacts`);
    expect(contacts.body.push_tokens).toEqual(['tok_phone_1']);
  });

  it('spaces SMS calls by the outbound limit of the provider', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => newUser({ phone: `+1555999000${i}` })));
    const sent = await Promise.all(users.map((userId) => send({ user_id: userId, channels: ['sms'], priority: 'high' })));
    for (const n of sent) expect(byChannel(await settled(call, n.id)).sms?.status).toBe('sent');
    expect((await sim.messages('sms')).messages.filter((m) => m.to.startsWith('+1555999000'))).toHaveLength(6);
    const { rows } = await h.pool.query(
      `SELECT d.sent_at FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.id = ANY($1) ORDER BY d.sent_at`,
      [sent.map((n) => n.id)],
    );
    const times = rows.map((r) => (r.sent_at as Date).getTime());
    // Six calls at one per 200 ms take at least a second from the first to the last.
    expect(times[5]! - times[0]!).toBeGreaterThanOrEqual(950);
  });

  it('delivers the email to the SMTP server with the data HTML-escaped', async () => {
    const userId = await newUser({ email: 'escape@example.com' });
    const sent = await send({ user_id: userId, channels: ['email'], data: { name: '<script>alert(1)</script>', code: 'a&b' } });
    expect(byChannel(await settled(call, sent.id)).email?.status).toBe('sent');
    const mail = smtp.messages().find((m) => m.envelope.to.includes('escape@example.com'));
    expect(mail?.html).toContain('&lt;script&gt;alert(1)&lt;&#x2F;script&gt;');
    expect(mail?.html).toContain('a&amp;b');
    expect(mail?.html).not.toContain('<script>');
  });

  it('retries a provider that fails twice, then records one send with 3 attempts', async () => {
    const userId = await newUser({ phone: '+15551230004' });
    await sim.fault({ provider: 'sms', mode: 'fail_times', times: 2, status: 503 });
    const sent = await send({ user_id: userId, channels: ['sms'], priority: 'high' });
    const done = byChannel(await settled(call, sent.id));
    expect(done.sms).toMatchObject({ status: 'sent', attempts: 3 });
    const accepted = (await sim.messages('sms')).messages.filter((m) => m.to === '+15551230004');
    expect(accepted).toHaveLength(1);
  });

  it('dead-letters a delivery whose provider always fails; the ops retry sends it once after recovery', async () => {
    const userId = await newUser({ push_tokens: ['tok_dead_letter_1'] });
    await sim.fault({ provider: 'push', mode: 'always', status: 500 });
    try {
      const sent = await send({ user_id: userId, channels: ['push'] });
      const done = await settled(call, sent.id);
      const push = done.deliveries.find((d) => d.channel === 'push')!;
      expect(push).toMatchObject({ status: 'dead_lettered', attempts: 3 });
      expect(push.last_error).toBeTruthy();
      const listed = await h.admin('GET', '/v1/ops/dead-letters?limit=100');
      expect(listed.body.data.map((d: { id: string }) => d.id)).toContain(push.id);
    } finally {
      await sim.clearFaults();
    }
    const dead = (await h.pool.query(
      `SELECT d.id FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.user_id = $1`, [userId])).rows[0].id;
    const retried = await h.admin('POST', `/v1/ops/dead-letters/${dead}/retry`, { body: {} });
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    const row = await eventually(
      async () => (await h.pool.query('SELECT status, attempts FROM deliveries WHERE id = $1', [dead])).rows[0],
      (r) => r.status === 'sent',
    );
    expect(row.attempts).toBe(4);
    const accepted = (await sim.messages('push')).messages.filter((m) => m.token === 'tok_dead_letter_1');
    expect(accepted).toHaveLength(1);
    // A retry of a delivery that is not dead-lettered any more is refused.
    expect((await h.admin('POST', `/v1/ops/dead-letters/${dead}/retry`, { body: {} })).status).toBe(409);
  });

  it('quiet hours defer a normal notification (cancellable) and not a critical one', async () => {
    const now = new Date();
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const quietHours = { start: hhmm(new Date(now.getTime() - 3_600_000)), end: hhmm(new Date(now.getTime() + 3_600_000)), time_zone: 'UTC' };
    const userId = await newUser({ email: 'quiet@example.com' }, { quiet_hours: quietHours });

    const critical = await send({ user_id: userId, channels: ['in_app'], critical: true });
    expect(byChannel(await settled(call, critical.id)).in_app?.status).toBe('sent');

    const normal = await send({ user_id: userId, channels: ['in_app'] });
    const deferred = await eventually(async () => (await call('GET', `/v1/notifications/${normal.id}`)).body as Notification,
      (n) => n.status === 'deferred');
    expect(deferred.deliveries[0]?.status).toBe('queued');
    const cancelled = await call('POST', `/v1/notifications/${normal.id}/cancel`, { body: {} });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', deliveries: [{ status: 'cancelled' }] });
    const inbox = await call('GET', `/v1/users/${userId}/inbox`);
    expect(inbox.body.data).toHaveLength(1);
  });

  it('a scheduled notification waits, can be cancelled, and a sent one cannot be cancelled', async () => {
    const userId = await newUser({ email: 'later@example.com' });
    const later = await send({ user_id: userId, channels: ['email'], scheduled_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(later.status).toBe('scheduled');
    const cancelled = await call('POST', `/v1/notifications/${later.id}/cancel`, { body: {} });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', deliveries: [{ channel: 'email', status: 'cancelled' }] });

    const soon = await send({ user_id: userId, channels: ['in_app'], scheduled_at: new Date(Date.now() + 1_000).toISOString() });
    const done = await settled(call, soon.id);
    expect(done.status).toBe('completed');
    const refused = await call('POST', `/v1/notifications/${soon.id}/cancel`, { body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('notification_invalid_state');
  });

  it('a channel whose template lost it before the send is failed with the reason, the others go out', async () => {
    await call('POST', '/v1/notification-templates', { body: { id: 'shrinking', channels: { sms: { body: 'A' }, in_app: { title: 'B', body: 'C' } } } });
    const userId = await newUser({ phone: '+15551230009' });
    // The template must change before the send is due: 3 s is a wide margin for one PUT on a loaded machine.
    const later = await send({ user_id: userId, template_id: 'shrinking', channels: ['sms', 'in_app'], scheduled_at: new Date(Date.now() + 3_000).toISOString() });
    const replaced = await call('POST', '/v1/notification-templates/shrinking', { body: { channels: { in_app: { title: 'B', body: 'C' } } } });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    const done = byChannel(await settled(call, later.id));
    expect(done.in_app?.status).toBe('sent');
    expect(done.sms).toMatchObject({ status: 'failed', attempts: 0 });
    expect(done.sms?.last_error).toContain('template');
  });

  it('streams an in-app message over SSE as it is delivered', async () => {
    const userId = await newUser({});
    const res = await h.app.request(`/v1/users/${userId}/inbox/stream`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const sent = await send({ user_id: userId, channels: ['in_app'], data: { name: 'Streamed', code: '1' } });
    let text = '';
    const decoder = new TextDecoder();
    const deadline = Date.now() + 15_000;
    while (!text.includes('Hello Streamed') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await reader.cancel();
    expect(text).toContain('event: message');
    expect(text).toContain('Hello Streamed');
    expect(byChannel(await settled(call, sent.id)).in_app?.status).toBe('sent');
  });
});

