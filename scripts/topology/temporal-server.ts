import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { logTail, stopWithGrace } from '../../platform/run-command.js';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { REPO_ROOT, waitForTemporal } from '../../platform/temporal-dev-server.js';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

/**
 * Temporal Server 1.29 on PostgreSQL, built from source (README "Temporal Server on PostgreSQL"):
 * its databases, the server process with the repository's config (deploy/temporal/config/cluster.yaml,
 * templated from the environment), the namespace and our search attributes, and the UI server.
 * Used by `npm run cluster` (fixed ports) and by the topology and the chaos suite (free ports, the
 * database on a primary/standby pair).
 */

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

export const SERVER_VERSION = 'v1.29.2';
/** The UI server the Temporal CLI v1.5.1 embeds (already in the Go module cache once the CLI is built). */
export const UI_SERVER_VERSION = 'v2.42.1';
const RETENTION_DAYS = 3;

/** The ports of the four services (cluster.yaml's environment variables). */
export interface ServerPorts {
  frontendGrpc: number;
  frontendHttp: number;
  frontendMembership: number;
  historyGrpc: number;
  historyMembership: number;
  matchingGrpc: number;
  matchingMembership: number;
  workerGrpc: number;
  workerMembership: number;
}

/** cluster.yaml's defaults: none is the dev server's (7233/8233) nor in the ephemeral range. */
export const DEFAULT_SERVER_PORTS: ServerPorts = {
  frontendGrpc: 7833, frontendHttp: 7843, frontendMembership: 6833,
  historyGrpc: 7834, historyMembership: 6834,
  matchingGrpc: 7835, matchingMembership: 6835,
  workerGrpc: 7839, workerMembership: 6839,
};

/**
 * Free ports for the server, below 32768: the server records its membership port in a `smallint`
 * column (cluster_membership.rpc_port), so a port from the kernel's ephemeral range (32768–60999)
 * stops it at start ("greater than maximum value for int2").
 */
export async function freeServerPorts(): Promise<ServerPorts> {
  const keys = Object.keys(DEFAULT_SERVER_PORTS) as (keyof ServerPorts)[];
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 11_000 + 20 * Math.floor(Math.random() * 1_000); // 11000–30980
    const candidates = keys.map((_, i) => base + i);
    const free = await Promise.all(candidates.map(portIsFree));
    if (free.every(Boolean)) return Object.fromEntries(keys.map((k, i) => [k, candidates[i]!])) as unknown as ServerPorts;
  }
  throw new Error('no free run of ports for the Temporal server below 32768');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

function portsEnv(ports: ServerPorts): Record<string, string> {
  return {
    TEMPORAL_FRONTEND_GRPC_PORT: String(ports.frontendGrpc),
    TEMPORAL_FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    TEMPORAL_FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    TEMPORAL_HISTORY_GRPC_PORT: String(ports.historyGrpc),
    TEMPORAL_HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    TEMPORAL_MATCHING_GRPC_PORT: String(ports.matchingGrpc),
    TEMPORAL_MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    TEMPORAL_WORKER_GRPC_PORT: String(ports.workerGrpc),
    TEMPORAL_WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
  };
}

export interface ServerBinaries {
  server: string;
  sql: string;
  /** The UI server, when built (optional). */
  ui: string | null;
}

function findBinary(envVar: string, candidates: string[]): string | null {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${envVar} points to a missing file: ${fromEnv}`);
    return fromEnv;
  }
  return candidates.map((c) => resolve(REPO_ROOT, c)).find((c) => existsSync(c)) ?? null;
}

export const SERVER_INSTALL = `GOBIN=$PWD/.tools/bin go install go.temporal.io/server/cmd/server@${SERVER_VERSION}`;
export const SQL_TOOL_INSTALL = `GOBIN=$PWD/.tools/temporal-server/bin go install go.temporal.io/server/cmd/tools/sql@${SERVER_VERSION}`;

/** The server and its schema tool (TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH, else .tools/); throws naming the install command. */
export function findServerBinaries(): ServerBinaries {
  const server = findBinary('TEMPORAL_SERVER_PATH', ['.tools/bin/server', '.tools/temporal-server/bin/server']);
  const sql = findBinary('TEMPORAL_SQL_TOOL_PATH', ['.tools/temporal-server/bin/sql', '.tools/bin/sql']);
  const missing = [!server && SERVER_INSTALL, !sql && SQL_TOOL_INSTALL].filter(Boolean);
  if (missing.length) throw new Error(`Temporal Server ${SERVER_VERSION} is not built here; run:\n  ${missing.join('\n  ')}`);
  return { server: server!, sql: sql!, ui: findBinary('TEMPORAL_UI_SERVER_PATH', ['.tools/temporal-ui/bin/server']) };
}

export interface ServerDatabase {
  /** `host:port`, or several (`h1:p1,h2:p2`: a primary and its standby; the server connects to the writable one). */
  addr: string;
  user: string;
  password: string;
  main: string;
  visibility: string;
}

/**
 * Creates the two databases when missing, then sets up (first time) and updates their schemas with
 * the sql tool's embedded scripts: safe to rerun. `host`/`port`: the writable server.
 */
export function prepareServerDatabases(sqlBin: string, db: ServerDatabase, writable: { host: string; port: number }): void {
  const sqlTool = (database: string, command: string[]) => {
    const args = ['--plugin', 'postgres12', '--ep', writable.host, '--port', String(writable.port), '--user', db.user, '--db', database, ...command];
    const result = spawnSync(sqlBin, args, { env: { ...process.env, SQL_PASSWORD: db.password }, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`sql ${command.join(' ')} on ${database} failed:\n${result.stderr || result.stdout}`);
  };
  for (const [name, schema] of [[db.main, 'postgresql/v12/temporal'], [db.visibility, 'postgresql/v12/visibility']] as const) {
    try {
      sqlTool(name, ['create-database']);
    } catch (err) {
      if (!/already exists/.test((err as Error).message)) throw err;
    }
    // `setup-schema -v 0.0` only creates the version tables (and keeps a later version); `update-schema`
    // applies the embedded versioned scripts newer than the database's version.
    sqlTool(name, ['setup-schema', '-v', '0.0']);
    sqlTool(name, ['update-schema', '--schema-name', schema]);
  }
}

export interface StartedProcess {
  child: ChildProcess;
  logFile: string;
}

/** A child in its own process group (a terminal's Ctrl-C reaches only the supervisor), output appended to `<logDir>/<name>.log`. */
export function startLogged(name: string, bin: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): StartedProcess {
  mkdirSync(logDir, { recursive: true });
  const logFile = resolve(logDir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(bin, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, out], detached: true });
  return { child, logFile };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopProcess(child: ChildProcess | null | undefined, graceMs = 20_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await stopWithGrace(child, new Promise<void>((r) => child.once('exit', () => r())), graceMs, 'SIGTERM');
}

export interface ServerOptions {
  bin: string;
  ports: ServerPorts;
  db: ServerDatabase;
  logDir: string;
  logName?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Starts the server with the repository's config; `address` is its frontend. Wait with `waitForTemporal`. */
export function startServer(options: ServerOptions): StartedProcess & { address: string } {
  const started = startLogged(options.logName ?? 'server', options.bin, [
    '--root', REPO_ROOT, '--config', 'deploy/temporal/config', '--env', 'cluster', '--allow-no-auth', 'start',
  ], {
    ...portsEnv(options.ports),
    TEMPORAL_DYNAMIC_CONFIG: resolve(REPO_ROOT, 'deploy/temporal/dynamic-config.yaml'),
    TEMPORAL_DB_ADDR: options.db.addr,
    TEMPORAL_DB_USER: options.db.user,
    TEMPORAL_DB_PASSWORD: options.db.password,
    TEMPORAL_DB: options.db.main,
    TEMPORAL_VISIBILITY_DB: options.db.visibility,
    TEMPORAL_LOG_LEVEL: options.logLevel ?? 'warn',
  }, options.logDir);
  return { ...started, address: `127.0.0.1:${options.ports.frontendGrpc}` };
}

/** Starts the server and waits until its frontend answers; on failure the error carries its log's tail. */
export async function startServerAndWait(options: ServerOptions, timeoutMs = 120_000): Promise<StartedProcess & { address: string }> {
  const started = startServer(options);
  let exited = false;
  started.child.once('exit', () => { exited = true; });
  try {
    await waitForTemporal(started.address, timeoutMs, () => exited);
  } catch (err) {
    await stopProcess(started.child, 2_000);
    throw new Error(`${(err as Error).message}\nits log (${started.logFile}):\n${logTail(started.logFile, 30)}`);
  }
  return started;
}

const isGrpcCode = (err: unknown, code: number) => (err as { code?: unknown }).code === code;
const ALREADY_EXISTS = 6;

/** 'KeywordList' → INDEXED_VALUE_TYPE_KEYWORD_LIST. */
function indexedValueType(type: string): IndexedValueType {
  const key = `INDEXED_VALUE_TYPE_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
  const value = IndexedValueType[key as keyof typeof IndexedValueType];
  if (value === undefined) throw new Error(`Unknown search attribute type ${type}`);
  return value;
}

/** Registers the namespace (when missing) and our search attributes, and waits until a query over them is accepted. */
export async function registerNamespace(address: string, namespace: string, log: (msg: string) => void = () => undefined): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(`${RETENTION_DAYS} days`),
      });
      log(`registered namespace ${namespace} (retention ${RETENTION_DAYS} days)`);
    } catch (err) {
      if (!isGrpcCode(err, ALREADY_EXISTS)) throw err;
    }
    // A new namespace reaches the services' caches within seconds: retry until the operator call takes it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.entries(CUSTOM_SEARCH_ATTRIBUTES).filter(([name]) => !(name in customAttributes));
        for (const [name, type] of Object.entries(CUSTOM_SEARCH_ATTRIBUTES)) {
          const existing = customAttributes[name];
          if (existing !== undefined && existing !== indexedValueType(type)) {
            throw new Error(`Search attribute ${name} exists with another type (${IndexedValueType[existing]}), expected ${type}`);
          }
        }
        if (missing.length) {
          await connection.operatorService.addSearchAttributes({
            namespace,
            searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, indexedValueType(type)])),
          });
          log(`added search attributes ${missing.map(([name, type]) => `${name}=${type}`).join(', ')}`);
        }
        // Usable once a visibility query over them is accepted (the frontend's namespace cache has them).
        const query = Object.keys(CUSTOM_SEARCH_ATTRIBUTES).map((name) => `${name} = 'probe'`).join(' AND ');
        await connection.workflowService.countWorkflowExecutions({ namespace, query });
        return;
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('Search attribute')) throw err;
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  } finally {
    await connection.close();
  }
}

/** The UI server pointed at the cluster, payloads decoded through the API's `/codec`. */
export function startUi(options: { bin: string; address: string; port: number; namespace: string; codecEndpoint: string; logDir: string }): StartedProcess {
  return startLogged('ui', options.bin, [resolve(REPO_ROOT, 'deploy/temporal/ui'), 'cluster'], {
    TEMPORAL_ADDRESS: options.address,
    TEMPORAL_UI_PORT: String(options.port),
    TEMPORAL_NAMESPACE: options.namespace,
    TEMPORAL_CODEC_ENDPOINT: options.codecEndpoint,
  }, options.logDir);
}
