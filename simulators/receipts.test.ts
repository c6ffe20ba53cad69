import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDER_SIGNATURE_HEADER } from '../domain/notifications/receipts.js';
import { verifyWebhookSignature } from '../domain/notifications/signature.js';
import { eventually } from '../test/eventually.js';
import { ReceiptSender, simulatedOutcome } from './receipts.js';
import { serveApp, type ServedApp } from './serve.js';

/** A receiver that answers 404 to the first `notYet` callbacks (the sender's record not written yet), then 200. */
let notYet = 0;
const received: { provider: string; body: Record<string, unknown>; verified: boolean }[] = [];
let receiver: ServedApp;
const SECRET = 'test-sms-callback-secret';

beforeAll(async () => {
  const app = new Hono().post('/cb/:provider', async (c) => {
    const raw = await c.req.text();
    const verified = verifyWebhookSignature(c.req.header(PROVIDER_SIGNATURE_HEADER), SECRET, raw).ok;
    received.push({ provider: c.req.param('provider'), body: JSON.parse(raw) as Record<string, unknown>, verified });
    if (notYet > 0) {
      notYet -= 1;
      return c.json({}, 404);
    }
    return c.json({}, 200);
  });
  receiver = await serveApp(app, { hostname: '127.0.0.1', port: 0 });
});
afterAll(() => receiver?.close());

describe('simulatedOutcome', () => {
  it('bounces bounce_ addresses and tokens and +1 999 numbers; delivers the rest', () => {
    expect(simulatedOutcome('email', 'BOUNCE_x@example.com')).toEqual({ status: 'bounced', errorCode: '5.1.1' });
    expect(simulatedOutcome('email', 'ada@example.com').status).toBe('delivered');
    expect(simulatedOutcome('sms', '+19995550000')).toEqual({ status: 'bounced', errorCode: '30003' });
    expect(simulatedOutcome('sms', '+15559990000').status).toBe('delivered');
    expect(simulatedOutcome('push', 'bounce_t').status).toBe('bounced');
    expect(simulatedOutcome('push', 'tok').status).toBe('delivered');
  });
});

describe('ReceiptSender', () => {
  it('sends nothing unconfigured, nor for a provider without a secret', async () => {
    received.length = 0;
    const sender = new ReceiptSender();
    sender.accepted('sms', { messageId: 'SM0', recipient: '+15550000000' });
    sender.configure({ url: `${receiver.url}/cb`, secrets: { sms: SECRET } });
    sender.accepted('push', { messageId: 'p0', recipient: 'tok' });
    sender.accepted('sms', { messageId: 'SM1', recipient: '+19990000000' });
    await eventually(async () => received.length, (n) => n === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toEqual([{
      provider: 'sms', verified: true,
      body: { id: expect.stringMatching(/^evt_sim_/), message_id: 'SM1', status: 'bounced', recipient: '+19990000000', occurred_at: expect.any(String), error_code: '30003' },
    }]);
    sender.close();
  });

  it('retries a callback answered 404 (the message not recorded yet) until it is taken', async () => {
    received.length = 0;
    notYet = 2;
    const sender = new ReceiptSender({ url: `${receiver.url}/cb/`, secrets: { sms: SECRET } });
    sender.accepted('sms', { messageId: 'SM2', recipient: '+15550000001' });
    await eventually(async () => sender.counts.delivered, (n) => n === 1, 10_000);
    expect(received.map((r) => [r.body.message_id, r.verified])).toEqual([['SM2', true], ['SM2', true], ['SM2', true]]);
    sender.close();
  });
});
