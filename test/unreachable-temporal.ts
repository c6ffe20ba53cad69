import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { freePort } from '../platform/temporal-dev-server.js';

export interface UnreachableTemporal {
  /** A real SDK client: every call fails as in an outage (gRPC UNAVAILABLE, connection refused). */
  client: Client;
  address: string;
  close(): Promise<void>;
}

/**
 * A Temporal outage, for the paths that must survive one: a real `Client` (lazy, so creating it
 * succeeds as it does in a running API) on a free local port nobody listens on. Its calls go through
 * the SDK's own retry interceptor, limited to 2 attempts: the default 10 would only stretch the same
 * failure over ~20 s.
 *
 * @example
 * const down = await unreachableTemporal(h.config.TEMPORAL_NAMESPACE);
 * const app = createApp({ ...deps, temporal: down.client }); … await down.close();
 */
export async function unreachableTemporal(namespace: string): Promise<UnreachableTemporal> {
  const address = `127.0.0.1:${await freePort()}`;
  const connection = Connection.lazy({
    address,
    connectTimeout: 2_000,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2 }))],
  });
  return { client: new Client({ connection, namespace }), address, close: () => connection.close() };
}
