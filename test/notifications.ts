import { eventually } from './eventually.js';
import { providersControl } from '../simulators/providers/client.js';
import { startProvidersServer, type ProvidersServer } from '../simulators/providers/server.js';
import { startSmtpSink, type SmtpSink } from '../simulators/smtp/server.js';
import { ReceiptSender } from '../simulators/receipts.js';
import { serveApp } from '../simulators/serve.js';
import { startHarness, type Call, type Harness } from './harness.js';

export interface NotificationStack {
  h: Harness;
  providers: ProvidersServer;
  smtp: SmtpSink;
  /** With `receipts: true`: the API served over HTTP, where the simulators post their receipts (contract §10). */
  apiUrl: string | null;
  /** The providers' control API (faults, messages received). */
  sim: ReturnType<typeof providersControl>;
  close(): Promise<void>;
}

/**
 * A harness with the notification workers, wired to a fake push/SMS provider and an SMTP server of
 * this test file's own (faults armed here cannot reach another file's tests).
 */
export async function startNotificationStack(
  env: Record<string, string> = {},
  options: { receipts?: boolean } = {},
): Promise<NotificationStack> {
  // Receipts need the API on a port: the simulators are told where once it listens.
  const receipts = options.receipts ? new ReceiptSender() : undefined;
  const providers = await startProvidersServer({ port: 0, ...(receipts ? { receipts } : {}) });
  const smtp = await startSmtpSink({ port: 0, ...(receipts ? { receipts } : {}) });
  const h = await startHarness({
    notifications: true,
    env: { SMTP_URL: smtp.url, PUSH_PROVIDER_URL: `${providers.url}/push`, SMS_PROVIDER_URL: `${providers.url}/sms`, ...env },
  });
  const api = receipts ? await serveApp(h.app, { hostname: '127.0.0.1', port: 0 }) : null;
  receipts?.configure({
    url: `${api!.url}/v1/provider-callbacks`,
    secrets: { email: h.config.EMAIL_CALLBACK_SECRET, sms: h.config.SMS_CALLBACK_SECRET, push: h.config.PUSH_CALLBACK_SECRET },
  });
  return {
    h, providers, smtp, apiUrl: api?.url ?? null, sim: providersControl(providers.url),
    async close() {
      receipts?.close();
      await api?.close();
      await h.close();
      await smtp.close();
      await providers.close();
    },
  };
}

export type Notification = {
  id: string;
  status: string;
  deliveries: { id: string; channel: string; status: string; attempts: number; last_error?: string | null }[];
};

const FINAL = new Set(['sent', 'delivered', 'bounced', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled']);

export { eventually } from './eventually.js';

/** Waits until every delivery of the notification is final. */
export function settled(call: Call, id: string, timeoutMs?: number): Promise<Notification> {
  return eventually(
    async () => (await call('GET', `/v1/notifications/${id}`)).body as Notification,
    (n) => n.deliveries.every((d) => FINAL.has(d.status)) && n.status !== 'processing',
    timeoutMs,
  );
}

export function byChannel(notification: Notification): Record<string, { status: string; attempts: number; last_error?: string | null }> {
  return Object.fromEntries(notification.deliveries.map((d) => [d.channel, d]));
}
