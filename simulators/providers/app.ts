import { setTimeout as sleep } from 'node:timers/promises';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { SIM_PROVIDERS, createFaults, faultSchema, type Faults, type SimProvider } from './faults.js';
import { createPushApp, PushStore } from './push.js';
import { Records } from './records.js';
import { createSmsApp, type SmsCredentials, type SmsRecord } from './sms.js';
import { createWebhookReceiverApp, type WebhookRecord } from './webhook-receiver.js';
import type { ReceiptSender } from '../receipts.js';

export interface ProvidersAppOptions {
  /** What the SMS provider accepts as basic auth (defaults: the dev values in platform/config-notifications.ts). */
  sms?: SmsCredentials;
  /** Ends delayed requests when the server closes. */
  signal?: AbortSignal;
  /** Sends the push and SMS delivery receipts (simulators/receipts.ts); none without it. */
  receipts?: ReceiptSender;
}

export const DEFAULT_SMS_CREDENTIALS: SmsCredentials = { accountSid: 'AC_steadfast_dev', authToken: 'dev-token' };
const BODY_MAX_BYTES = 1024 * 1024;

/**
 * The fake outside world of notifications: an FCM-like push API under `/push`, a Twilio-like
 * SMS API under `/sms`, a merchant webhook receiver under `/webhooks`, and `/control` to inject
 * faults and look at what each accepted. Each provider has its own records and idempotency.
 */
export function createProvidersApp(options: ProvidersAppOptions = {}) {
  const faults = createFaults();
  const stores = {
    push: new PushStore(),
    sms: new Records<SmsRecord>(),
    webhook: new Records<WebhookRecord>(),
  } satisfies Record<SimProvider, Records<{ attempts: number }>>;
  const { receipts } = options;
  if (receipts) {
    stores.push.onAccepted((m) => receipts.accepted('push', { messageId: m.message_id, recipient: m.token }));
    stores.sms.onAccepted((m) => receipts.accepted('sms', { messageId: m.sid, recipient: m.to }));
  }
  const app = new Hono();
  app.use('*', bodyLimit({ maxSize: BODY_MAX_BYTES, onError: (c) => c.json({ error: { code: 'body_too_large', message: 'Body over 1 MiB' } }, 413) }));

  app.post('/control/faults', async (c) => {
    const parsed = faultSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: { code: 'parameter_invalid', message: z.prettifyError(parsed.error) } }, 400);
    faults.arm(parsed.data);
    return c.json({ armed: parsed.data });
  });
  /** The providers recover: armed faults are dropped, the records are kept. */
  app.post('/control/faults/clear', (c) => {
    faults.clear();
    return c.json({ cleared: true });
  });
  app.post('/control/reset', (c) => {
    faults.clear();
    for (const provider of SIM_PROVIDERS) stores[provider].clear();
    return c.json({ reset: true });
  });
  app.get('/control/messages', (c) => {
    const provider = z.enum(SIM_PROVIDERS).safeParse(c.req.query('provider'));
    if (!provider.success) return c.json({ error: { code: 'parameter_invalid', message: `provider must be one of ${SIM_PROVIDERS.join(', ')}` } }, 400);
    const records = stores[provider.data];
    const calls = provider.data === 'push' ? { send_each_calls: stores.push.sendCalls } : {};
    return c.json({ provider: provider.data, requests_received: records.requestsReceived, ...calls, messages: records.list() });
  });

  app.use('/push/*', faulted('push', stores.push, faults, options.signal));
  app.use('/sms/*', faulted('sms', stores.sms, faults, options.signal));
  app.use('/webhooks/*', faulted('webhook', stores.webhook, faults, options.signal));
  app.route('/push', createPushApp(stores.push));
  app.route('/sms', createSmsApp(stores.sms, options.sms ?? DEFAULT_SMS_CREDENTIALS));
  app.route('/webhooks', createWebhookReceiverApp(stores.webhook));
  app.notFound((c) => c.json({ error: { code: 'route_unknown', message: 'No such route' } }, 404));
  return app;
}

/** Counts every request to a provider, then applies the fault armed for it, if any. */
function faulted(provider: SimProvider, records: Records<{ attempts: number }>, faults: Faults, signal?: AbortSignal): MiddlewareHandler {
  return async function providerFaults(c, next) {
    records.requestsReceived += 1;
    const fault = faults.take(provider);
    if (fault?.kind === 'fail') {
      return c.json({ error: { code: 'injected_fault', message: `Injected ${fault.status}` } }, fault.status as 500);
    }
    if (fault?.kind === 'delay') {
      const waited = await sleep(fault.ms, true, { signal }).catch(() => false);
      if (!waited) return c.json({ error: { code: 'shutting_down', message: 'Simulator closing' } }, 503);
    }
    await next();
  };
}
