import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TLSConfig } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError, type Config } from './config.js';
import { temporalTlsEnabled, type TemporalEnv } from './config-temporal.js';

/** What a connection needs from the configuration (the whole `Config` fits). */
export type TemporalConnectionConfig = TemporalEnv & Pick<Config, 'TEMPORAL_ADDRESS'>;

/** The parts both connection kinds share: address, TLS (false = plain TCP) and the API key. */
export interface TemporalConnectionSettings {
  address: string;
  tls: TLSConfig | false;
  apiKey?: string;
}

/**
 * The ONE place the Temporal connection is described from configuration (issue #13): TLS on or
 * off, the server CA, the mTLS client pair, the server name, the API key. Certificate files are
 * read here, at connect time, so a renewed certificate is picked up by a restart; a missing file
 * fails with the variable's name. With the defaults this is `{ address, tls: false }`: plain TCP.
 */
export function temporalConnectionSettings(config: TemporalConnectionConfig): TemporalConnectionSettings {
  const settings: TemporalConnectionSettings = { address: config.TEMPORAL_ADDRESS, tls: false };
  if (config.TEMPORAL_API_KEY !== undefined) settings.apiKey = config.TEMPORAL_API_KEY;
  if (!temporalTlsEnabled(config)) return settings;
  const tls: TLSConfig = {};
  const ca = pemOf(config, 'TEMPORAL_TLS_SERVER_CA_CERT');
  if (ca) tls.serverRootCACertificate = ca;
  const crt = pemOf(config, 'TEMPORAL_TLS_CLIENT_CERT');
  const key = pemOf(config, 'TEMPORAL_TLS_CLIENT_KEY');
  if (crt && key) tls.clientCertPair = { crt, key };
  else if (crt || key) throw new ConfigError('Invalid environment:\n  TEMPORAL_TLS_CLIENT_CERT_PATH: the client certificate and key go together');
  if (config.TEMPORAL_TLS_SERVER_NAME !== undefined) tls.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
  settings.tls = tls;
  return settings;
}

/** Options for `Connection.connect` / `Connection.lazy` (@temporalio/client): API, scripts, ops CLI. */
export function clientConnectionOptions(
  config: TemporalConnectionConfig,
  extra: Omit<ConnectionOptions, 'address' | 'tls' | 'apiKey'> = {},
): ConnectionOptions {
  return { ...extra, ...temporalConnectionSettings(config) };
}

/** Options for `NativeConnection.connect` (@temporalio/worker): the workers. */
export function workerConnectionOptions(
  config: TemporalConnectionConfig,
  extra: Omit<NativeConnectionOptions, 'address' | 'tls' | 'apiKey'> = {},
): NativeConnectionOptions {
  return { ...extra, ...temporalConnectionSettings(config) };
}

function pemOf(config: TemporalConnectionConfig, name: 'TEMPORAL_TLS_SERVER_CA_CERT' | 'TEMPORAL_TLS_CLIENT_CERT' | 'TEMPORAL_TLS_CLIENT_KEY'): Buffer | undefined {
  const data = config[`${name}_DATA`];
  if (data !== undefined) return Buffer.from(data.replace(/\\n/g, '\n'));
  const path = config[`${name}_PATH`];
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`Invalid environment:\n  ${name}_PATH: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
