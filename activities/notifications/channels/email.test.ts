import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderContent } from '../../../domain/notifications/render.js';
import { startSmtpSink, type SmtpSink } from '../../../simulators/smtp/server.js';
import { failureOf } from '../../../test/channels.js';
import { createEmailSender, emailError, transportOptions } from './email.js';
import type { EmailSender } from './types.js';

let sink: SmtpSink;
let email: EmailSender;

beforeAll(async () => {
  sink = await startSmtpSink({ port: 0 });
  email = createEmailSender({ smtpUrl: sink.url, from: 'Steadfast <notifications@steadfast.local>', timeoutMs: 2_000 });
});
afterAll(async () => {
  email.close();
  await sink.close();
});
beforeEach(() => sink.clear());

const template = { email: { subject: 'Hello {{name}}', body: '<p>Hello <b>{{name}}</b>, café ✓</p>' } };

async function sendRendered(idempotencyKey: string, to = 'ada@example.com', data: Record<string, unknown> = { name: 'Ada' }) {
  const content = renderContent(template, 'email', data);
  if (content.channel !== 'email') throw new Error('not email');
  return email.send({ to, subject: content.subject, html: content.html, text: content.text, idempotencyKey });
}

describe('email adapter against the SMTP sink', () => {
  it('delivers the rendered message with the data HTML-escaped, and its Message-ID from the key', async () => {
    const result = await sendRendered('dlv_01', 'ada@example.com', { name: '<script>alert(1)</script>' });
    expect(result).toEqual({ providerMessageId: '<dlv_01@steadfast>', responseStatus: 250 });
    const [message] = sink.messages();
    expect(message).toMatchObject({
      messageId: '<dlv_01@steadfast>',
      envelope: { from: 'notifications@steadfast.local', to: ['ada@example.com'] },
      subject: 'Hello <script>alert(1)</script>',
      html: '<p>Hello <b>&lt;script&gt;alert(1)&lt;&#x2F;script&gt;</b>, café ✓</p>',
      text: 'Hello <script>alert(1)</script>, café ✓',
    });
    expect(message?.html).not.toContain('<script>');
  });

  it('a retried send carries the same Message-ID, so the duplicate is recognisable', async () => {
    await sendRendered('dlv_same');
    await sendRendered('dlv_same');
    expect(sink.messages().map((m) => m.messageId)).toEqual(['<dlv_same@steadfast>', '<dlv_same@steadfast>']);
  });

  it('SMTP 451 is retryable, and the next attempt goes through', async () => {
    sink.failNext(1, 451);
    const failure = await failureOf(sendRendered('dlv_451'));
    expect(failure).toMatchObject({ retryable: true, code: 'provider_unavailable', responseStatus: 451 });
    expect(sink.messages()).toHaveLength(0);
    await sendRendered('dlv_451');
    expect(sink.messages()).toHaveLength(1);
  });

  it('a refused recipient (550) and a refused message (554) are not retryable', async () => {
    const recipient = await failureOf(sendRendered('dlv_550', 'bad_mailbox@example.com'));
    expect(recipient).toMatchObject({ retryable: false, code: 'recipient_rejected', responseStatus: 550 });
    sink.failAlways(554);
    const message = await failureOf(sendRendered('dlv_554'));
    expect(message).toMatchObject({ retryable: false, code: 'rejected', responseStatus: 554 });
  });

  it('an address list or a malformed address is refused before any SMTP', async () => {
    for (const to of ['a@example.com, b@example.com', 'no-at-sign', 'x@y.z\r\nBcc: c@d.e']) {
      expect(await failureOf(sendRendered('dlv_bad_to', to))).toMatchObject({ retryable: false, code: 'recipient_rejected' });
    }
    expect(sink.messages()).toHaveLength(0);
  });

  it('no server: retryable', async () => {
    const closed = await startSmtpSink({ port: 0 });
    await closed.close();
    const nowhere = createEmailSender({ smtpUrl: closed.url, from: 'x@steadfast.local', timeoutMs: 1_000 });
    try {
      const failure = await failureOf(nowhere.send({ to: 'a@example.com', subject: 's', html: 'h', text: 't', idempotencyKey: 'k' }));
      expect(failure).toMatchObject({ retryable: true, code: 'unreachable' });
    } finally {
      nowhere.close();
    }
  });
});

describe('credentials only over TLS', () => {
  it('smtp:// with a user must upgrade with STARTTLS; smtps:// is TLS from the start; no user: opportunistic', () => {
    const options = (smtpUrl: string) => transportOptions({ smtpUrl, from: 'x@steadfast.local', timeoutMs: 1_000 });
    expect(options('smtp://user:p%40ss@mail.example.com')).toMatchObject({
      secure: false, requireTLS: true, port: 587, auth: { user: 'user', pass: 'p@ss' },
    });
    expect(options('smtps://user:pass@mail.example.com')).toMatchObject({ secure: true, requireTLS: false, port: 465 });
    expect(options('smtp://127.0.0.1:2525')).toMatchObject({ secure: false, requireTLS: false });
    expect(options('smtp://127.0.0.1:2525')).not.toHaveProperty('auth');
  });

  it('a server without STARTTLS never sees the credentials: the send fails, retryable, before AUTH', async () => {
    const withPassword = new URL(sink.url);
    [withPassword.username, withPassword.password] = ['steadfast', 'secret'];
    const sender = createEmailSender({ smtpUrl: withPassword.href, from: 'x@steadfast.local', timeoutMs: 2_000 });
    try {
      const failure = await failureOf(sender.send({ to: 'a@example.com', subject: 's', html: 'h', text: 't', idempotencyKey: 'dlv_tls' }));
      expect(failure).toMatchObject({ retryable: true, code: 'unreachable' });
      expect(failure.message).toMatch(/could not be encrypted/);
    } finally {
      sender.close();
    }
    expect(sink.logins()).toEqual([]);
    expect(sink.messages()).toHaveLength(0);
  });
});

describe('emailError', () => {
  const err = (fields: Record<string, unknown>) => emailError(Object.assign(new Error('boom'), fields));

  it('classifies by reply code, then by the lack of one', () => {
    expect(err({ responseCode: 421, command: 'DATA' })).toMatchObject({ retryable: true });
    expect(err({ responseCode: 503, command: 'DATA' })).toMatchObject({ retryable: true });
    expect(err({ responseCode: 552, command: 'DATA' })).toMatchObject({ retryable: false, code: 'rejected' });
    expect(err({ code: 'EENVELOPE', rejectedErrors: [{ responseCode: 553, response: '553 bad' }] })).toMatchObject({ retryable: false, code: 'recipient_rejected' });
    expect(err({ code: 'EAUTH', responseCode: 535 })).toMatchObject({ retryable: true, code: 'auth_failed' });
    expect(err({ code: 'ETIMEDOUT' })).toMatchObject({ retryable: true, code: 'timeout' });
    expect(err({ code: 'ECONNECTION' })).toMatchObject({ retryable: true, code: 'unreachable' });
  });
});
