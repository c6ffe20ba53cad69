import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import type { Config } from '../../platform/config.js';
import { embeddedBinDir } from '../../platform/embedded-postgres.js';
import { parsePostgresUrl, withDatabaseName } from '../../platform/postgres-url.js';
import { REPO_ROOT } from '../../platform/repo-root.js';
import { redisAddress, RedisUnavailableError, resolveRedisMode, SINGLE_INSTANCE_SUMMARY, type ResolveRedisOptions } from '../../platform/redis-mode.js';
import { findGo, findTemporalCli, TEMPORAL_CLI_FIXES } from '../../platform/temporal-cli.js';
import { clientConnectionOptions } from '../../platform/temporal-connection.js';
import { waitForTemporal } from '../../platform/temporal-dev-server.js';
import { createPool } from '../../store/db.js';

/**
 * What `npm start` needs, checked before anything starts (issue #17): Node's version, PostgreSQL,
 * Redis, the Temporal CLI (or a server already there) and the ports it will bind. Each missing one
 * is one line with its fix; `npm start -- --check` prints them all as a table and exits.
 */

export interface Prerequisite {
  /** `Node`, `PostgreSQL`, `Redis`, `Temporal`, `port 3000`. */
  name: string;
  ok: boolean;
  /** What was found and what will be used; when missing, what is wrong. */
  found: string;
  /** When missing: what to do, in one line. */
  fix?: string;
}

/**
 * PostgreSQL as `npm start` will use it. The embedded server (platform/embedded-postgres.ts, when
 * DATABASE_URL is unset and nothing answers on the default address) reports `embedded`.
 */
export type PostgresStatus =
  | { kind: 'external'; address: string; version: string }
  | { kind: 'embedded'; port: number; version?: string; dataDir?: string; starting?: boolean }
  | { kind: 'missing'; reason: string; fix: string };

/** Redis as `npm start` will use it; `single-instance` is the stated mode without one (platform/redis-mode.ts). */
export type RedisStatus =
  | { kind: 'external'; url: string; address: string; version: string }
  | { kind: 'single-instance'; reason: string }
  | { kind: 'missing'; reason: string; fix: string };

export function postgresPrerequisite(status: PostgresStatus): Prerequisite {
  switch (status.kind) {
    case 'external':
      return { name: 'PostgreSQL', ok: true, found: `external ${status.address} (PostgreSQL ${status.version})` };
    case 'embedded': {
      const version = status.version ? ` (PostgreSQL ${status.version})` : '';
      const where = status.dataDir ? `, data in ${status.dataDir}` : '';
      return { name: 'PostgreSQL', ok: true, found: `embedded, ${status.starting === false ? 'running on' : 'will start on'} 127.0.0.1:${status.port}${version}${where}` };
    }
    case 'missing':
      return { name: 'PostgreSQL', ok: false, found: `missing: ${status.reason}`, fix: status.fix };
  }
}

export function redisPrerequisite(status: RedisStatus): Prerequisite {
  switch (status.kind) {
    case 'external':
      return { name: 'Redis', ok: true, found: `external ${status.address} (Redis ${status.version})` };
    case 'single-instance':
      return { name: 'Redis', ok: true, found: `none (${status.reason}): ${SINGLE_INSTANCE_SUMMARY}; more than one instance needs REDIS_URL` };
    case 'missing':
      return { name: 'Redis', ok: false, found: `missing: ${status.reason}`, fix: status.fix };
  }
}

/** Whether a variable was set by the user (not the schema's default). */
type Env = Record<string, string | undefined>;

/** PostgreSQL at DATABASE_URL: its version, or why not (the `postgres` database: the app's may not exist yet). */
export async function probePostgres(databaseUrl: string): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const pool = createPool(withDatabaseName(databaseUrl, 'postgres'), 1);
  try {
    const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
    return { ok: true, version: rows[0]!.server_version.split(' ')[0]! };
  } catch (err) {
    return { ok: false, reason: errorText(err) };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

export function postgresAddress(databaseUrl: string): string {
  try {
    return parsePostgresUrl(databaseUrl).hosts.map((h) => `${h.host}:${h.port}`).join(',');
  } catch {
    return 'DATABASE_URL';
  }
}

/** Today's rule without an embedded server: PostgreSQL answers, or it is missing (with the fix for an explicit URL or the default). */
export async function externalPostgresStatus(config: Pick<Config, 'DATABASE_URL'>, env: Env): Promise<PostgresStatus> {
  const address = postgresAddress(config.DATABASE_URL);
  const probe = await probePostgres(config.DATABASE_URL);
  if (probe.ok) return { kind: 'external', address, version: probe.version };
  return env.DATABASE_URL
    ? { kind: 'missing', reason: `DATABASE_URL (${address}) does not answer: ${probe.reason}`, fix: 'start that PostgreSQL, or correct DATABASE_URL' }
    : { kind: 'missing', reason: `nothing answers on ${address} (${probe.reason})`,
      fix: 'install and start PostgreSQL 15+ there (user postgres, trust auth; e.g. apt-get install postgresql), or set DATABASE_URL' };
}

/**
 * What `npm start` will do for PostgreSQL (platform/embedded-postgres.ts's rule, without starting
 * anything): the one that answers; else, DATABASE_URL unset, the embedded server; else missing.
 */
export async function plannedPostgresStatus(config: Pick<Config, 'DATABASE_URL' | 'EMBEDDED_PG_DIR' | 'EMBEDDED_PG_PORT'>, env: Env): Promise<PostgresStatus> {
  const status = await externalPostgresStatus(config, env);
  if (status.kind !== 'missing' || env.DATABASE_URL) return status;
  let binDir: string;
  try {
    binDir = await embeddedBinDir();
  } catch (err) {
    return { ...status, fix: `${status.fix} (${(err as Error).message})` };
  }
  const version = /(\d+(?:\.\d+)+)/.exec(commandOutput(resolve(binDir, 'postgres'), ['--version']))?.[1];
  return { kind: 'embedded', port: config.EMBEDDED_PG_PORT, version, dataDir: config.EMBEDDED_PG_DIR, starting: true };
}

function commandOutput(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/**
 * Redis as `npm start` will use it (platform/redis-mode.ts's rule, probing even with
 * REDIS_MODE=external: the rest starts now): the one that answers; else, REDIS_URL unset and one
 * instance, single-instance mode; else missing with the fix.
 */
export async function redisStatus(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_MODE' | 'STEADFAST_INSTANCES' | 'RATE_LIMIT_REDIS_URL'>,
  options: Pick<ResolveRedisOptions, 'defaultUrl'> = {},
): Promise<RedisStatus> {
  try {
    const mode = await resolveRedisMode(config, { ...options, probeExternal: true });
    return mode.mode === 'external'
      ? { kind: 'external', url: mode.url, address: redisAddress(mode.url), version: mode.version ?? 'unknown version' }
      : { kind: 'single-instance', reason: mode.reason };
  } catch (err) {
    if (!(err instanceof RedisUnavailableError)) throw err;
    return { kind: 'missing', reason: err.reason, fix: err.fix };
  }
}

/** `>=20.19` (package.json engines) against this Node. */
export function nodePrerequisite(engines: string | undefined, version = process.versions.node): Prerequisite {
  const wanted = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(engines?.trim() ?? '');
  if (!wanted) return { name: 'Node', ok: true, found: `${version}${engines ? ` (engines: ${engines}, not checked)` : ''}` };
  const need = wanted.slice(1).map((part) => Number(part ?? 0));
  const have = version.split('.').map(Number);
  let ok = true;
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== need[i]) {
      ok = (have[i] ?? 0) > need[i]!;
      break;
    }
  }
  return ok
    ? { name: 'Node', ok, found: `${version} (needs ${engines})` }
    : { name: 'Node', ok, found: `${version}, needs ${engines}`, fix: `install Node ${need.join('.')} or newer (https://nodejs.org, or nvm install ${need[0]})` };
}

export interface TemporalCheckOptions {
  /** Whether the CLI's download host answers (default: a request to temporal.download, a few seconds at most). */
  downloadReachable?: () => Promise<boolean>;
  /** The PATH to search (default: this process's). */
  pathEnv?: string;
  /** Where the project keeps its own binary (default: `.tools/bin`). */
  toolsBinDir?: string;
  goFallbacks?: string[];
}

/**
 * Temporal as `npm start` will use it: the server already at TEMPORAL_ADDRESS, or its own dev
 * server from the CLI found (platform/temporal-cli.ts), or downloaded or built at start — never
 * fetched or built by the check itself.
 */
export async function temporalPrerequisite(config: Config, options: TemporalCheckOptions = {}): Promise<{ prerequisite: Prerequisite; ownServer: boolean }> {
  try {
    await waitForTemporal(clientConnectionOptions(config), 1_000);
    return { prerequisite: { name: 'Temporal', ok: true, found: `external server at ${config.TEMPORAL_ADDRESS} (already running; no CLI needed)` }, ownServer: false };
  } catch {
    // none there: npm start runs its own dev server
  }
  const serves = `dev server on ${config.TEMPORAL_ADDRESS}, UI :${config.TEMPORAL_UI_PORT}`;
  let cli;
  try {
    cli = findTemporalCli({ cliPath: config.TEMPORAL_CLI_PATH, pathEnv: options.pathEnv, toolsBinDir: options.toolsBinDir });
  } catch (err) {
    return { prerequisite: { name: 'Temporal', ok: false, found: `missing: ${(err as Error).message}`, fix: 'correct TEMPORAL_CLI_PATH, or unset it' }, ownServer: true };
  }
  if (cli) {
    return { prerequisite: { name: 'Temporal', ok: true, found: `${serves}; CLI ${cli.version ?? ''} at ${cli.path} (${cli.source})` }, ownServer: true };
  }
  if (await (options.downloadReachable ?? temporalDownloadReachable)()) {
    return { prerequisite: { name: 'Temporal', ok: true, found: `${serves}; CLI to download from temporal.download into .tools/bin at start` }, ownServer: true };
  }
  const go = findGo({ pathEnv: options.pathEnv, goFallbacks: options.goFallbacks });
  if (go) {
    return { prerequisite: { name: 'Temporal', ok: true, found: `${serves}; CLI to build with ${go} into .tools/bin at start (first run, a few minutes)` }, ownServer: true };
  }
  return {
    prerequisite: { name: 'Temporal', ok: false, found: 'missing: no Temporal CLI (not on PATH, not in .tools/bin), temporal.download out of reach, no Go to build it', fix: TEMPORAL_CLI_FIXES },
    ownServer: true,
  };
}

async function temporalDownloadReachable(): Promise<boolean> {
  try {
    await fetch('https://temporal.download/', { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
    return true;
  } catch {
    return false;
  }
}

export interface PortUse {
  port: number;
  what: string;
  /** The setting that moves it. */
  setting: string;
}

/** The ports `npm start` binds (the Temporal ones only when it runs its own dev server). */
export function portsToBind(config: Config, ownTemporal: boolean): PortUse[] {
  const temporalPort = Number(config.TEMPORAL_ADDRESS.split(':').at(-1));
  const ports: PortUse[] = [
    { port: config.PORT, what: 'API', setting: 'PORT' },
    ...(ownTemporal ? [
      { port: temporalPort, what: 'Temporal dev server', setting: 'TEMPORAL_ADDRESS' },
      { port: config.TEMPORAL_UI_PORT, what: 'Temporal UI', setting: 'TEMPORAL_UI_PORT' },
    ] : []),
    { port: config.PROCESSORS_SIM_PORT, what: 'processors simulator', setting: 'PROCESSORS_SIM_PORT' },
    { port: config.PROVIDERS_SIM_PORT, what: 'push/SMS/webhook simulator', setting: 'PROVIDERS_SIM_PORT' },
    { port: config.SMTP_SIM_PORT, what: 'SMTP simulator', setting: 'SMTP_SIM_PORT' },
    { port: config.WORKER_METRICS_PORT, what: 'worker metrics', setting: 'WORKER_METRICS_PORT' },
  ];
  return ports.filter((use) => Number.isInteger(use.port) && use.port > 0);
}

/** Whether `port` can be bound on `host` now: null when free, else why not (`in use`). */
export async function portProblem(host: string, port: number): Promise<string | null> {
  return new Promise((resolveProblem) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolveProblem(err.code === 'EADDRINUSE' ? 'in use' : err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolveProblem(null)));
  });
}

export async function portPrerequisite(host: string, use: PortUse): Promise<Prerequisite> {
  const problem = await portProblem(host, use.port);
  const name = `port ${use.port}`;
  if (!problem) return { name, ok: true, found: `free for the ${use.what} (${use.setting})` };
  return { name, ok: false, found: `${problem} (wanted by the ${use.what})`, fix: `stop what holds it (lsof -i :${use.port}), or set ${use.setting}` };
}

export interface CheckOptions extends TemporalCheckOptions {
  /** The environment as given (which of DATABASE_URL, REDIS_URL were set). */
  env?: Env;
  /** PostgreSQL's status (default: `plannedPostgresStatus`: external, embedded or missing). */
  postgres?: (config: Config) => Promise<PostgresStatus>;
  /** Redis's status (default: `redisStatus`: external, single-instance or missing). */
  redis?: (config: Config) => Promise<RedisStatus>;
}

/** Every prerequisite, in the order they are printed. */
export async function checkPrerequisites(config: Config, options: CheckOptions = {}): Promise<Prerequisite[]> {
  const env = options.env ?? process.env;
  const engines = (JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node;
  const [postgres, redis, temporal] = await Promise.all([
    (options.postgres ?? ((c) => plannedPostgresStatus(c, env)))(config),
    (options.redis ?? redisStatus)(config),
    temporalPrerequisite(config, options),
  ]);
  const ports = [];
  for (const use of portsToBind(config, temporal.ownServer)) ports.push(await portPrerequisite(config.HOST, use));
  return [nodePrerequisite(engines), postgresPrerequisite(postgres), redisPrerequisite(redis), temporal.prerequisite, ...ports];
}

/** One line per missing prerequisite, with its fix. */
export function missingLines(prerequisites: readonly Prerequisite[]): string[] {
  return prerequisites.filter((p) => !p.ok).map((p) => `  ✗ ${p.name}: ${p.found} — fix: ${p.fix ?? '?'}`);
}

/** `npm start -- --check`: what was found and what will be used, a row each. */
export function checkTable(prerequisites: readonly Prerequisite[]): string {
  const width = Math.max(...prerequisites.map((p) => p.name.length));
  const rows = prerequisites.map((p) => `  ${p.name.padEnd(width)}  ${p.ok ? 'ok     ' : 'MISSING'}  ${p.found}${p.ok ? '' : ` — fix: ${p.fix ?? '?'}`}`);
  const missing = prerequisites.filter((p) => !p.ok).length;
  const verdict = missing === 0 ? '  Everything npm start needs is there.' : `  ${missing} missing: npm start would stop before starting anything.`;
  return [`  ${'What'.padEnd(width)}  Status   Found / will use`, ...rows, '', verdict].join('\n');
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorText(err.errors[0]);
  const e = err as { code?: string; message?: string };
  return e.message || e.code || String(err);
}
