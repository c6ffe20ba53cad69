import { serveApp } from '../serve.js';
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
  return serveApp(app, { hostname, port: options.port, onClose: () => stopping.abort() });
}
