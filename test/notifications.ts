import { eventually } from './eventually.js';
import { providersControl } from '../simulators/providers/client.js';
import { startProvidersServer, type ProvidersServer } from '../simulators/providers/server.js';
import { startSmtpSink, type SmtpSink } from '../simulators/smtp/server.js';
import { startHarness, type Call, type Harness } from './harness.js';

export interface NotificationStack {
  h: Harness;
  providers: ProvidersServer;
  smtp: SmtpSink;
  /** The providers' control API (faults, messages received). */
  sim: ReturnType<typeof providersControl>;
  close(): Promise<void>;
}

/**
 * A harness with the notification workers, wired to a fake push/SMS provider and an SMTP server of
 * this test file's own (faults armed here cannot reach another file's tests).
 */
export async function startNotificationStack(env: Record<string, string> = {}): Promise<NotificationStack> {
  const providers = await startProvidersServer({ port: 0 });
  const smtp = await startSmtpSink({ port: 0 });
  const h = await startHarness({
    notifications: true,
    env: { SMTP_URL: smtp.url, PUSH_PROVIDER_URL: `${providers.url}/push`, SMS_PROVIDER_URL: `${providers.url}/sms`, ...env },
  });
  return {
    h, providers, smtp, sim: providersControl(providers.url),
    async close() {
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

const FINAL = new Set(['sent', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled']);

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
