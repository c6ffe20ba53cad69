import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSink } from '../../simulators/smtp/server.js';
import type { Call, Harness } from '../../test/harness.js';
import { byChannel, settled, startNotificationStack, type NotificationStack } from '../../test/notifications.js';

/** Locale variants of templates (issue #20): contacts' `locale`, its language, then the default. */

let stack: NotificationStack;
let h: Harness;
let smtp: SmtpSink;
let call: Call;

const english = {
  email: { subject: 'Your code {{code}}', body: '<p>Hello {{name}}, your code is {{code}}.</p>' },
  in_app: { title: 'Your code', body: 'Hello {{name}}: {{code}}' },
};
const french = {
  email: { subject: 'Votre code {{code}}', body: '<p>Bonjour {{name}}, votre code est {{code}}.</p>' },
  in_app: { title: 'Votre code', body: 'Bonjour {{name}} : {{code}}' },
};

beforeAll(async () => {
  stack = await startNotificationStack();
  ({ h, smtp } = stack);
  ({ call } = await h.newTenant('Locales'));
  const created = await call('POST', '/v1/notification-templates', { body: { id: 'code', channels: english, locales: { fr: french } } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.locales).toEqual({ fr: french });
});
afterAll(async () => {
  await stack?.close();
});

async function notify(locale: string | null): Promise<{ inApp: { title: string; body: string }; mail: { subject: string | null; html: string | null } }> {
  const userId = `locale_${locale ?? 'none'}_${Date.now()}`;
  const address = `${userId}@example.com`;
  const contacts = await call('PUT', `/v1/users/${userId}/contacts`, { body: { email: address, ...(locale ? { locale } : {}) } });
  expect(contacts.status, JSON.stringify(contacts.body)).toBe(200);
  const sent = await call('POST', '/v1/notifications', {
    body: { user_id: userId, template_id: 'code', data: { name: 'Ada', code: '42' }, channels: ['email', 'in_app'], priority: 'high' },
  });
  expect(sent.status, JSON.stringify(sent.body)).toBe(202);
  const done = byChannel(await settled(call, sent.body.id as string));
  expect([done.email?.status, done.in_app?.status]).toEqual(['sent', 'sent']);
  const inbox = await call('GET', `/v1/users/${userId}/inbox`);
  const mail = smtp.messages().find((m) => m.envelope.to.includes(address))!;
  return { inApp: inbox.body.data[0], mail };
}

describe('template locales', () => {
  it('a contact in fr-CA gets the French variant (its language), in-app and by e-mail', async () => {
    const { inApp, mail } = await notify('fr-CA');
    expect(inApp).toMatchObject({ title: 'Votre code', body: 'Bonjour Ada : 42' });
    expect(mail.subject).toBe('Votre code 42');
    expect(mail.html).toContain('Bonjour Ada, votre code est 42.');
  });

  it('a contact in another locale, or in none, gets the default', async () => {
    for (const locale of ['de-DE', null]) {
      const { inApp, mail } = await notify(locale);
      expect(inApp).toMatchObject({ title: 'Your code', body: 'Hello Ada: 42' });
      expect(mail.subject).toBe('Your code 42');
    }
  });

  it('stores tags in canonical case and refuses what is not BCP 47', async () => {
    const put = await call('PUT', '/v1/users/canon/contacts', { body: { locale: 'fr-ca' } });
    expect(put.body.locale).toBe('fr-CA');
    const bad = await call('PUT', '/v1/users/canon/contacts', { body: { locale: 'fr_CA' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'parameter_invalid', param: 'locale' });
    expect((await call('PUT', '/v1/users/canon/contacts', { body: {} })).body.locale).toBeNull();
  });

  it('refuses a bad tag, a repeated locale, a channel the default lacks and a broken variant, and changes nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ fr_FR: french }, 'locales[fr_FR]'],
      [{ fr: french, FR: french }, 'locales[FR]'],
      [{ fr: { sms: { body: 'Salut' } } }, 'locales[fr][sms]'],
      [{ fr: { email: { subject: 'x', body: '{{{raw}}}' } } }, 'locales[fr][email][body]'],
    ];
    for (const [locales, param] of cases) {
      const res = await call('POST', '/v1/notification-templates', { body: { id: 'refused', channels: english, locales } });
      expect(res.status, param).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param });
    }
    expect((await call('GET', '/v1/notification-templates/refused')).status).toBe(404);
  });

  it('an update replaces the locales; a notification whose data a variant cannot render is refused up front', async () => {
    await call('POST', '/v1/notification-templates', { body: { id: 'upd', channels: english, locales: { 'fr-ca': french } } });
    expect((await call('GET', '/v1/notification-templates/upd')).body.locales).toEqual({ 'fr-CA': french });
    const replaced = await call('POST', '/v1/notification-templates/upd', { body: { channels: english } });
    expect(replaced.body.locales).toEqual({});

    await call('POST', '/v1/notification-templates', {
      body: { id: 'strict', channels: { in_app: { title: 'x', body: 'y' } }, locales: { fr: { in_app: { title: 'x', body: '{{#a}}' } } } },
    }).then((res) => expect(res.status).toBe(400));
  });
});
