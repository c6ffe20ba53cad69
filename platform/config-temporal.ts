import { z } from 'zod';
import { booleanFromEnv } from './env.js';
import { RELEASE } from './release.js';

/**
 * How to reach a secured Temporal cluster (issue #13): TLS, mTLS and API-key auth. Spread into the
 * one schema in platform/config.ts; the connection options are built from these in
 * platform/temporal-connection.ts. The names are Temporal's own environment-configuration names
 * (the CLI's and the SDKs' `envconfig`), so a shell already set up for `temporal` works as is.
 * Unset, every one keeps the plain-TCP connection to the local dev server.
 */
const optionalText = z.string().min(1).optional();
/** A PEM file's path, or its contents inline (`…_DATA`, e.g. from a secret store); never both. */
const pem = z.string().min(1).max(100_000).optional();

export const temporalEnv = {
  /** `true` or `false`; unset means on when any TLS option or TEMPORAL_API_KEY is set, else off. */
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  /** The CA that signed the server's certificate (self-hosted); unset: the system's trusted CAs (Temporal Cloud). */
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalText,
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: pem,
  /** mTLS: this client's certificate and private key (both or neither). */
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalText,
  TEMPORAL_TLS_CLIENT_CERT_DATA: pem,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalText,
  TEMPORAL_TLS_CLIENT_KEY_DATA: pem,
  /** The name the server's certificate is checked against (and SNI), when it differs from the address's host. */
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  /** Only `false` is accepted: the TypeScript SDK cannot skip host verification (use TEMPORAL_TLS_SERVER_NAME). */
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: z.enum(['true', 'false']).optional(),
  /** An API key (Temporal Cloud, or a cluster with an authorizer): sent as `Authorization: Bearer …`; implies TLS. */
  TEMPORAL_API_KEY: z.string().min(1).max(10_000).optional(),
};

/**
 * Worker Versioning (Worker Deployments, README "Changing a workflow"): every worker polls as one
 * Version (deployment name + build id) of one Worker Deployment; the server routes each run to the
 * Current Version. Off, the workers poll unversioned (the test suite's default; a cluster without
 * the deployment APIs).
 */
export const versioningEnv = {
  WORKER_VERSIONING: booleanFromEnv('true'),
  /** The Worker Deployment: one name for every worker process of this system. */
  WORKER_DEPLOYMENT_NAME: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'letters, digits, - and _ (at most 100)').default('steadfast'),
  /** This build's id: the release (package.json version) by default; a deploy sets the image tag or commit. */
  WORKER_BUILD_ID: z.string().regex(/^[A-Za-z0-9_.+-]{1,100}$/, 'letters, digits, . + - and _ (at most 100)').default(RELEASE),
  /**
   * Whether a starting worker makes its version the Current Version: `always` (one box, `npm start`:
   * a restart with new code takes over), `first` (only when the deployment has none yet; the
   * default in production, where the deploy runs `npm run ops -- deployment set-current`), `never`.
   */
  WORKER_PROMOTE_ON_START: z.enum(['always', 'first', 'never']).optional(),
};

/** The parsed variables; every one may be absent (a bare `{ TEMPORAL_ADDRESS }` is the plain dev-server connection). */
export type TemporalEnv = { [K in keyof typeof temporalEnv]?: z.infer<(typeof temporalEnv)[K]> };

/** Whether the connection uses TLS: TEMPORAL_TLS when given, else on when anything TLS-ish or an API key is set. */
export function temporalTlsEnabled(env: TemporalEnv): boolean {
  if (env.TEMPORAL_TLS !== undefined) return env.TEMPORAL_TLS === 'true';
  return tlsOptionNames(env).length > 0 || env.TEMPORAL_API_KEY !== undefined;
}

function tlsOptionNames(env: TemporalEnv): string[] {
  const names = [
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
    'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA',
    'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA',
    'TEMPORAL_TLS_SERVER_NAME',
  ] as const;
  return names.filter((name) => env[name] !== undefined);
}

/**
 * The rules one variable alone cannot check, as `NAME: message` lines (empty when all is well);
 * `loadConfig` fails start-up with them.
 */
export function temporalConfigProblems(env: TemporalEnv): string[] {
  const problems: string[] = [];
  for (const item of ['SERVER_CA_CERT', 'CLIENT_CERT', 'CLIENT_KEY'] as const) {
    if (env[`TEMPORAL_TLS_${item}_PATH`] !== undefined && env[`TEMPORAL_TLS_${item}_DATA`] !== undefined) {
      problems.push(`TEMPORAL_TLS_${item}_DATA: set either TEMPORAL_TLS_${item}_PATH or TEMPORAL_TLS_${item}_DATA, not both`);
    }
  }
  const hasCert = env.TEMPORAL_TLS_CLIENT_CERT_PATH !== undefined || env.TEMPORAL_TLS_CLIENT_CERT_DATA !== undefined;
  const hasKey = env.TEMPORAL_TLS_CLIENT_KEY_PATH !== undefined || env.TEMPORAL_TLS_CLIENT_KEY_DATA !== undefined;
  if (hasCert && !hasKey) problems.push('TEMPORAL_TLS_CLIENT_KEY_PATH: a client certificate needs its private key (TEMPORAL_TLS_CLIENT_KEY_PATH or _DATA)');
  if (hasKey && !hasCert) problems.push('TEMPORAL_TLS_CLIENT_CERT_PATH: a client private key needs its certificate (TEMPORAL_TLS_CLIENT_CERT_PATH or _DATA)');
  if (env.TEMPORAL_TLS === 'false') {
    const contradicting = tlsOptionNames(env);
    if (contradicting.length > 0) problems.push(`TEMPORAL_TLS: is false but ${contradicting.join(', ')} ${contradicting.length === 1 ? 'is' : 'are'} set`);
  }
  if (env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true') {
    problems.push('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: not supported by the TypeScript SDK; set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate');
  }
  return problems;
}
