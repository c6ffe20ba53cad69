import { serveApp } from '../serve.js';
import { createProvidersApp } from './app.js';
import type { SmsCredentials } from './sms.js';
import type { ReceiptSender } from '../receipts.js';

export interface ProvidersServer {
  /** Base URL; the providers are at `${url}/push`, `${url}/sms` and `${url}/webhooks/…`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the fake notification providers on 127.0.0.1 (`port: 0` picks a free one). `close` ends
 * delayed responses and open keep-alive connections, so it never waits on a client.
 *
 * @example
 * const providers = await startProvidersServer({ port: 0 });
 * const config = loadConfig({ PUSH_PROVIDER_URL: `${providers.url}/push`, SMS_PROVIDER_URL: `${providers.url}/sms` });
 */
export async function startProvidersServer(
  options: { port: number; hostname?: string; sms?: SmsCredentials; receipts?: ReceiptSender },
): Promise<ProvidersServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  const stopping = new AbortController();
  const { receipts } = options;
  const app = createProvidersApp({ signal: stopping.signal, ...(options.sms ? { sms: options.sms } : {}), ...(receipts ? { receipts } : {}) });
  return serveApp(app, { hostname, port: options.port, onClose: () => stopping.abort() });
}
