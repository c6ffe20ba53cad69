import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createProcessorsApp } from './app.js';
import { createFxApp } from './fx.js';

export interface ProcessorsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the simulated processors on 127.0.0.1 (`port: 0` picks a free one). `close` ends held
 * responses and open keep-alive connections, so it never waits on a client.
 */
export async function startProcessorsServer(options: { port: number; hostname?: string }): Promise<ProcessorsServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  const stopping = new AbortController();
  const app = createProcessorsApp({ signal: stopping.signal });
  // The FX rates provider lives here too: one simulated outside world, one port (see fx.ts).
  app.route('/fx', createFxApp());
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
