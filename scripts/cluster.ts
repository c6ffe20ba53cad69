import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { loadConfig } from '../platform/config.js';
import { REPO_ROOT, waitForTemporal } from '../platform/temporal-dev-server.js';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

/**
 * `npm run cluster`: Temporal Server 1.29 on PostgreSQL (the real server, not the dev server), with
 * the repository's config (deploy/temporal/config/cluster.yaml) and dynamic config
 * (deploy/temporal/dynamic-config.yaml). Creates the databases `temporal` and `temporal_visibility`
 * and sets up or updates their schemas (the sql tool's embedded ones; every run, idempotent), starts
 * the server, registers the namespace and our search attributes, serves the UI when the UI server is
 * installed, prints the addresses; Ctrl-C stops it. Then, in another terminal:
 * `TEMPORAL_ADDRESS=127.0.0.1:7833 TEMPORAL_UI_PORT=8833 npm start` (npm start uses a server already
 * there), or `TEMPORAL_TARGET=cluster npm test`.
 *
 * Environment (all optional): TEMPORAL_DB_HOST, TEMPORAL_DB_PORT, TEMPORAL_DB_USER,
 * TEMPORAL_DB_PASSWORD, TEMPORAL_DB, TEMPORAL_VISIBILITY_DB (read by the config file too),
 * TEMPORAL_CLUSTER_UI_PORT (8833), TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH, TEMPORAL_UI_SERVER_PATH.
 */

/** The frontend's address: services.frontend.rpc.grpcPort in deploy/temporal/config/cluster.yaml. */
export const CLUSTER_ADDRESS = '127.0.0.1:7833';
const SERVER_VERSION = 'v1.29.2';
/** The UI server the Temporal CLI v1.5.1 embeds (already in the Go module cache once the CLI is built). */
const UI_SERVER_VERSION = 'v2.42.1';
const RETENTION_DAYS = 3;

const db = {
  host: process.env.TEMPORAL_DB_HOST ?? '127.0.0.1',
  port: process.env.TEMPORAL_DB_PORT ?? '5432',
  user: process.env.TEMPORAL_DB_USER ?? 'postgres',
  password: process.env.TEMPORAL_DB_PASSWORD ?? '',
  main: process.env.TEMPORAL_DB ?? 'temporal',
  visibility: process.env.TEMPORAL_VISIBILITY_DB ?? 'temporal_visibility',
};
const config = loadConfig();
const namespace = config.TEMPORAL_NAMESPACE;
const uiPort = Number(process.env.TEMPORAL_CLUSTER_UI_PORT ?? 8833);
const logDir = resolve(REPO_ROOT, '.data/temporal-cluster');

function findBinary(envVar: string, candidates: string[], install: string): string | null {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${envVar} points to a missing file: ${fromEnv}`);
    return fromEnv;
  }
  const found = candidates.map((c) => resolve(REPO_ROOT, c)).find((c) => existsSync(c));
  if (found) return found;
  if (install) console.error(`[cluster] missing ${candidates[0]}: ${install}`);
  return null;
}

const serverBin = findBinary('TEMPORAL_SERVER_PATH', ['.tools/bin/server', '.tools/temporal-server/bin/server'],
  `GOBIN=$PWD/.tools/bin go install go.temporal.io/server/cmd/server@${SERVER_VERSION}`);
const sqlBin = findBinary('TEMPORAL_SQL_TOOL_PATH', ['.tools/temporal-server/bin/sql', '.tools/bin/sql'],
  `GOBIN=$PWD/.tools/temporal-server/bin go install go.temporal.io/server/cmd/tools/sql@${SERVER_VERSION}`);
if (!serverBin || !sqlBin) process.exit(1);
const uiBin = findBinary('TEMPORAL_UI_SERVER_PATH', ['.tools/temporal-ui/bin/server'], '');

/** Creates the database when missing, then sets up (first time) and updates its schema: safe to rerun. */
function prepareDatabase(name: string, schema: string): void {
  try {
    sqlTool(name, ['create-database']); // succeeds when it exists already (the tool's own check)
  } catch (err) {
    if (!/already exists/.test((err as Error).message)) throw err;
  }
  // `setup-schema -v 0.0` only creates the version tables (and keeps a later version); `update-schema`
  // applies the embedded versioned scripts newer than the database's version.
  sqlTool(name, ['setup-schema', '-v', '0.0']);
  sqlTool(name, ['update-schema', '--schema-name', schema]);
}

function sqlTool(database: string, command: string[]): void {
  const args = ['--plugin', 'postgres12', '--ep', db.host, '--port', db.port, '--user', db.user, '--db', database, ...command];
  const result = spawnSync(sqlBin!, args, { env: { ...process.env, SQL_PASSWORD: db.password }, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`sql ${command.join(' ')} on ${database} failed:\n${result.stderr || result.stdout}`);
  }
}

function startProcess(name: string, bin: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; logFile: string } {
  mkdirSync(logDir, { recursive: true });
  const logFile = resolve(logDir, `${name}.log`);
  const out = openSync(logFile, 'a');
  // Own process group: Ctrl-C reaches only this script, which stops the UI, then the server.
  const child = spawn(bin, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, out], detached: true });
  return { child, logFile };
}

async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await done;
  clearTimeout(timer);
}

function tail(file: string, lines = 30): string {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
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

async function registerNamespaceAndSearchAttributes(): Promise<void> {
  const connection = await Connection.connect({ address: CLUSTER_ADDRESS });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(`${RETENTION_DAYS} days`),
      });
      console.log(`[cluster] registered namespace ${namespace} (retention ${RETENTION_DAYS} days)`);
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
          console.log(`[cluster] added search attributes ${missing.map(([name, type]) => `${name}=${type}`).join(', ')}`);
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

let server: ChildProcess | null = null;
let ui: ChildProcess | null = null;
let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  await stopProcess(ui);
  await stopProcess(server);
  console.log('[cluster] stopped');
  process.exit(code);
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

try {
  prepareDatabase(db.main, 'postgresql/v12/temporal');
  prepareDatabase(db.visibility, 'postgresql/v12/visibility');
  console.log(`[cluster] databases ${db.main} and ${db.visibility} on ${db.host}:${db.port} are at the server's schema`);

  const started = startProcess('server', serverBin, [
    '--root', REPO_ROOT, '--config', 'deploy/temporal/config', '--env', 'cluster', '--allow-no-auth', 'start',
  ], { TEMPORAL_DYNAMIC_CONFIG: resolve(REPO_ROOT, 'deploy/temporal/dynamic-config.yaml') });
  server = started.child;
  let exited = false;
  server.once('exit', (code, signal) => {
    exited = true;
    if (!stopping) {
      console.error(`[cluster] the server exited (${signal ?? code}); its log (${started.logFile}):\n${tail(started.logFile)}`);
      void stop(1);
    }
  });
  try {
    await waitForTemporal(CLUSTER_ADDRESS, 120_000, () => exited);
  } catch (err) {
    if (!exited) console.error(`[cluster] its log (${started.logFile}):\n${tail(started.logFile)}`);
    throw err;
  }
  await registerNamespaceAndSearchAttributes();

  let uiLine = `UI: not served (build the UI server ${UI_SERVER_VERSION} from deploy/temporal/ui-server/main.go, README "Temporal Server on PostgreSQL", or run the temporalio/ui image with TEMPORAL_ADDRESS=${CLUSTER_ADDRESS})`;
  if (uiBin) {
    const apiHost = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
    const startedUi = startProcess('ui', uiBin, [resolve(REPO_ROOT, 'deploy/temporal/ui'), 'cluster'], {
      TEMPORAL_ADDRESS: CLUSTER_ADDRESS,
      TEMPORAL_UI_PORT: String(uiPort),
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_CODEC_ENDPOINT: process.env.TEMPORAL_CODEC_ENDPOINT ?? `http://${apiHost}:${config.PORT}/codec`,
    });
    ui = startedUi.child;
    ui.once('exit', (code, signal) => {
      if (!stopping) console.error(`[cluster] the UI server exited (${signal ?? code}); its log: ${startedUi.logFile}`);
    });
    uiLine = `UI http://127.0.0.1:${uiPort}`;
  }
  console.log(`[cluster] Temporal Server ${SERVER_VERSION} on PostgreSQL at ${CLUSTER_ADDRESS}, namespace ${namespace}; ${uiLine}`);
  console.log(`[cluster] logs in ${logDir}. Use it: TEMPORAL_ADDRESS=${CLUSTER_ADDRESS} TEMPORAL_UI_PORT=${uiPort} npm start, or TEMPORAL_TARGET=cluster npm test. Ctrl-C stops it.`);
} catch (err) {
  console.error(`[cluster] ${(err as Error).message}`);
  await stop(1);
}
