import nodemailer from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseMessage } from './parse.js';
import { startSmtpSink, type SmtpSink } from './server.js';

let sink: SmtpSink;
let transport: ReturnType<typeof nodemailer.createTransport>;

beforeAll(async () => {
  sink = await startSmtpSink({ port: 0 });
  transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, logger: false, connectionTimeout: 2_000 });
});
afterAll(async () => {
  transport.close();
  await sink.close();
});
beforeEach(() => sink.clear());

const mail = (overrides: Record<string, unknown> = {}) => transport.sendMail({
  from: 'Sender <s@steadfast.local>', to: 'r@example.com', subject: 'Grüße ✓ – a long subject '.repeat(4),
  text: `line one\nligne deux: café ${'long '.repeat(40)}`, html: '<p>caf&eacute; = café</p>', messageId: '<m1@steadfast>', ...overrides,
});

describe('SMTP sink', () => {
  it('keeps each message with its envelope, Message-ID and decoded parts', async () => {
    await mail();
    const [message] = sink.messages();
    expect(message).toMatchObject({
      messageId: '<m1@steadfast>',
      envelope: { from: 's@steadfast.local', to: ['r@example.com'] },
      subject: 'Grüße ✓ – a long subject '.repeat(4),
      from: 'Sender <s@steadfast.local>',
      text: `line one\nligne deux: café ${'long '.repeat(40)}`,
      html: '<p>caf&eacute; = café</p>',
    });
    expect(sink.url).toBe(`smtp://127.0.0.1:${sink.port}`);
  });

  it('failNext refuses the next messages with 451, then accepts; failAlways until clear', async () => {
    sink.failNext(2);
    await expect(mail()).rejects.toMatchObject({ responseCode: 451 });
    await expect(mail()).rejects.toMatchObject({ responseCode: 451 });
    await mail();
    expect(sink.messages()).toHaveLength(1);
    sink.failAlways(554);
    await expect(mail()).rejects.toMatchObject({ responseCode: 554 });
    await expect(mail()).rejects.toMatchObject({ responseCode: 554 });
    sink.clear();
    await mail();
    expect(sink.messages()).toHaveLength(1);
  });

  it('refuses bad_ recipients with 550', async () => {
    await expect(mail({ to: 'bad_user@example.com' })).rejects.toMatchObject({ responseCode: 550 });
    expect(sink.messages()).toHaveLength(0);
  });

  it('takes any credentials', async () => {
    const authed = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, auth: { user: 'u', pass: 'p' }, logger: false });
    try {
      await authed.sendMail({ from: 's@x.y', to: 'r@x.y', subject: 's', text: 't' });
    } finally {
      authed.close();
    }
    expect(sink.messages()).toHaveLength(1);
  });
});

describe('parseMessage', () => {
  it('reads a single-part base64 message and folded, encoded headers', () => {
    const raw = [
      'Subject: =?UTF-8?B?w6l0w6k=?=', ' =?UTF-8?Q?_=C3=A0_Paris?=', 'Message-ID: <x@y>', 'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64', '', Buffer.from('Bonjour café').toString('base64'), '',
    ].join('\r\n');
    expect(parseMessage(raw)).toMatchObject({ subject: 'été à Paris', messageId: '<x@y>', text: 'Bonjour café', html: null });
  });

  it('reads quoted-printable with soft breaks, padding and raw UTF-8 beside escapes', () => {
    const raw = ['Content-Type: text/html', 'Content-Transfer-Encoding: quoted-printable', '', 'a =\r\nb=3D=C3=A9 😀  ', 'end=20', ''].join('\r\n');
    expect(parseMessage(raw).html).toBe('a b=é 😀\nend ');
  });
});
