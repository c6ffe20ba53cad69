import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';

/** What `serve` calls per request: a Hono app's `fetch`. */
type FetchHandler = Parameters<typeof serve>[0]['fetch'];

export interface ServedApp {
  /** `http://${hostname}:${port}`, with the port actually bound. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves a Hono app with @hono/node-server on `hostname:port` (`port: 0` picks a free one) and
 * resolves once it listens. `close` first calls `onClose` (a simulator aborts its held responses
 * there), then stops listening and ends open keep-alive connections, so it never waits on a client.
 *
 * @example
 * const stopping = new AbortController();
 * const served = await serveApp(createApp({ signal: stopping.signal }), { hostname: '127.0.0.1', port: 0, onClose: () => stopping.abort() });
 */
export async function serveApp(
  app: { fetch: FetchHandler },
  options: { hostname: string; port: number; onClose?: () => void },
): Promise<ServedApp> {
  const { hostname } = options;
  const server = await new Promise<Server>((resolveServer, reject) => {
    const started = serve({ fetch: app.fetch, hostname, port: options.port }, () => resolveServer(started as Server));
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolveClose, reject) => {
        options.onClose?.();
        server.close((err) => (err ? reject(err) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}
