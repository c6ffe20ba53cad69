import { describe, expect, it } from 'vitest';
import { useProvidersSimulator } from '../../test/simulators.js';

const server = useProvidersSimulator();

async function call(path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', signal: AbortSignal.timeout(2_000), ...init });
  return { status: res.status, body: (await res.json()) as any };
}
const pushBatch = (body: unknown) => call('/push/v1/send-batch', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const BASIC = `Basic ${Buffer.from('AC_steadfast_dev:dev-token').toString('base64')}`;
const sms = (form: Record<string, string>, headers: Record<string, string> = {}) =>
  call('/sms/2010-04-01/Accounts/AC_steadfast_dev/Messages.json', {
    body: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: BASIC, ...headers },
  });

describe('push simulator', () => {
  it('send-each: a message per token with its own text and key; the same key and token the same id; refuses a bad body', async () => {
    const json = { 'content-type': 'application/json' };
    const each = (messages: unknown) => call('/push/v1/send-each', { body: JSON.stringify({ messages }), headers: json });
    const messages = [
      { token: 'a', notification: { title: 'A', body: 'a' }, idempotency_key: 'n1' },
      { token: 'bad_b', notification: { title: 'B', body: 'b' }, idempotency_key: 'n2' },
      { token: 'c', notification: { title: 'C', body: 'c' }, idempotency_key: 'n1' },
    ];
    const first = await each(messages);
    expect(first.status).toBe(200);
    expect(first.body.results[1]).toEqual({ token: 'bad_b', error: 'UNREGISTERED' });
    expect((await each(messages)).body).toEqual(first.body);
    expect((await each([])).status).toBe(400);
    const report = await server.sim.messages('push');
    expect(report.send_each_calls).toEqual([3, 3]);
    expect(report.messages.map((m) => [m.token, m.title, m.attempts])).toEqual([['a', 'A', 2], ['c', 'C', 2]]);
  });

  it('answers a result per token: bad_ tokens UNREGISTERED, the same key and token the same id', async () => {
    const body = { tokens: ['a', 'bad_b'], notification: { title: 'T', body: 'B' }, idempotency_key: 'k1' };
    const first = await pushBatch(body);
    expect(first.status).toBe(200);
    expect(first.body.results[1]).toEqual({ token: 'bad_b', error: 'UNREGISTERED' });
    expect((await pushBatch(body)).body).toEqual(first.body);
    expect((await pushBatch({ ...body, idempotency_key: 'k2' })).body.results[0].message_id).not.toBe(first.body.results[0].message_id);
    const report = await server.sim.messages('push');
    expect(report.requests_received).toBe(3);
    expect(report.messages.map((m) => [m.idempotency_key, m.attempts])).toEqual([['k1', 2], ['k2', 1]]);
  });

  it('refuses bad requests: no tokens, over 1000, unknown fields', async () => {
    const ok = { tokens: ['a'], notification: { title: 'T', body: 'B' }, idempotency_key: 'k' };
    expect((await pushBatch({ ...ok, tokens: [] })).status).toBe(400);
    expect((await pushBatch({ ...ok, tokens: Array.from({ length: 1_001 }, (_, i) => `t${i}`) })).status).toBe(400);
    expect((await pushBatch({ ...ok, extra: 1 })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await server.sim.messages('push')).messages).toHaveLength(0);
  });
});

describe('SMS simulator', () => {
  it('bulk: one sender, a result per message in order (a bad number fails alone), one message per key', async () => {
    const bulk = (body: unknown, authorization = BASIC) => call('/sms/2010-04-01/Accounts/AC_steadfast_dev/Messages/Bulk.json', {
      body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization },
    });
    const body = { from: '+15550000000', messages: [{ to: '+15551230001', body: 'Hi', idempotency_key: 'b1' }, { to: '555', body: 'Hi', idempotency_key: 'b2' }] };
    const first = await bulk(body);
    expect(first.status).toBe(200);
    expect(first.body.results[0].sid).toMatch(/^SM/);
    expect(first.body.results[1]).toMatchObject({ to: '555', code: 21211 });
    expect((await bulk(body)).body).toEqual(first.body);
    expect((await bulk(body, 'Basic eDp5')).status).toBe(401);
    expect((await bulk({ from: '+15550000000', messages: [] })).status).toBe(400);
    expect((await server.sim.messages('sms')).messages.map((m) => [m.to, m.attempts])).toEqual([['+15551230001', 2]]);
  });

  it('201 with a sid; the idempotency token replays it', async () => {
    const first = await sms({ To: '+15551234567', From: '+15550000000', Body: 'Hi' }, { 'i-twilio-idempotency-token': 'k' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'queued', to: '+15551234567', body: 'Hi', sid: expect.stringMatching(/^SM/) });
    expect((await sms({ To: '+15551234567', From: '+15550000000', Body: 'Hi' }, { 'i-twilio-idempotency-token': 'k' })).body.sid).toBe(first.body.sid);
    // Without a token every request is a new message.
    await sms({ To: '+15551234567', From: '+15550000000', Body: 'Hi' });
    await sms({ To: '+15551234567', From: '+15550000000', Body: 'Hi' });
    expect((await server.sim.messages('sms')).messages).toHaveLength(3);
  });

  it('Twilio errors: 401 on wrong credentials or account, 400 21211 on a number that is not E.164', async () => {
    expect((await sms({ To: '+15551234567', From: '+1', Body: 'x' }, { authorization: 'Basic eDp5' })).body).toMatchObject({ code: 20003, status: 401 });
    const otherAccount = await call('/sms/2010-04-01/Accounts/AC_other/Messages.json', { body: 'To=%2B15551234567&From=x&Body=x', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: BASIC } });
    expect(otherAccount.status).toBe(401);
    expect((await sms({ To: '0555 1234', From: '+15550000000', Body: 'x' })).body).toMatchObject({ code: 21211, status: 400 });
    expect((await sms({ To: '+15551234567', From: '+15550000000', Body: '' })).body.code).toBe(21602);
    expect((await sms({ To: '+15551234567', From: '+15550000000', Body: 'x'.repeat(1_601) })).body.code).toBe(21617);
    expect((await server.sim.messages('sms')).messages).toHaveLength(0);
  });
});

describe('control', () => {
  it('a fault without a provider applies to all; always lasts until cleared; faulted requests do nothing', async () => {
    await server.sim.fault({ mode: 'always', status: 502 });
    expect((await sms({ To: '+15551234567', From: '+1', Body: 'x' })).status).toBe(502);
    expect((await pushBatch({ tokens: ['a'], notification: { title: 'T', body: 'B' }, idempotency_key: 'k' })).status).toBe(502);
    expect((await call('/webhooks/x', { body: '{}' })).status).toBe(502);
    await server.sim.clearFaults();
    expect((await call('/webhooks/x', { body: '{}' })).status).toBe(200);
    const webhook = await server.sim.messages('webhook');
    expect(webhook.requests_received).toBe(2);
    expect(webhook.messages).toHaveLength(1);
    expect((await server.sim.messages('sms')).messages).toHaveLength(0);
  });

  it('a provider fault beats the all-providers one; fail_times counts down', async () => {
    await server.sim.fault({ mode: 'always', status: 500 });
    await server.sim.fault({ provider: 'webhook', mode: 'fail_times', times: 2, status: 503 });
    expect((await call('/webhooks/x', { body: '{}' })).status).toBe(503);
    expect((await call('/webhooks/x', { body: '{}' })).status).toBe(503);
    expect((await call('/webhooks/x', { body: '{}' })).status).toBe(500);
  });

  it('delay holds a request, then handles it', async () => {
    await server.sim.fault({ provider: 'webhook', mode: 'delay', ms: 300, times: 1 });
    const started = Date.now();
    expect((await call('/webhooks/x', { body: '{}', headers: { 'idempotency-key': 'd' } })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('refuses bad fault specs and unknown providers; reset forgets everything', async () => {
    for (const spec of [{ mode: 'fail_times' }, { mode: 'always', status: 200 }, { mode: 'nope' }, { provider: 'fax', mode: 'always' }]) {
      expect((await call('/control/faults', { body: JSON.stringify(spec), headers: { 'content-type': 'application/json' } })).status).toBe(400);
    }
    expect((await fetch(`${server.url}/control/messages?provider=fax`)).status).toBe(400);
    await call('/webhooks/x', { body: '{}' });
    await server.sim.reset();
    expect(await server.sim.messages('webhook')).toEqual({ provider: 'webhook', requests_received: 0, messages: [] });
  });

  it('bodies over 1 MiB are refused', async () => {
    expect((await call('/webhooks/x', { body: 'x'.repeat(1024 * 1024 + 1) })).status).toBe(413);
  });
});
