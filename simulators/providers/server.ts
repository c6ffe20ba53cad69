import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createProvidersApp } from './app.js';
import type { SmsCredentials } from './sms.js';

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
export async function startProvidersServer(options: { port: number; hostname?: string; sms?: SmsCredentials }): Promise<ProvidersServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  const stopping = new AbortController();
  const app = createProvidersApp({ signal: stopping.signal, ...(options.sms ? { sms: options.sms } : {}) });
  const server = await new Promise<Server>((resolveServer, reject) => {
    const started = serve({ fetch: app.fetch, hostname, port: options.port }, () => resolveServer(started as Server));
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname}:${port}`,
    close: () =>
      new Promise<void>((resolveClose, reject) => {
        stopping.abort();
        server.close((err) => (err ? reject(err) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}
