import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { loadConfig } from '../platform/config.js';
import { REPO_ROOT } from '../platform/temporal-dev-server.js';
import { childLogger, setLogService } from '../platform/log.js';
import {
  DEFAULT_SERVER_PORTS, findServerBinaries, prepareServerDatabases, registerNamespace, SERVER_VERSION,
  startServerAndWait, startUi, stopProcess, UI_SERVER_VERSION,
} from './topology/temporal-server.js';
import { logTail } from '../platform/run-command.js';

/**
 * `npm run cluster`: Temporal Server 1.29 on PostgreSQL (the real server, not the dev server), with
 * the repository's config (deploy/temporal/config/cluster.yaml) and dynamic config
 * (deploy/temporal/dynamic-config.yaml). Creates the databases `temporal` and `temporal_visibility`
 * and sets up or updates their schemas (the sql tool's embedded ones; every run, idempotent), starts
 * the server, registers the namespace and our search attributes, serves the UI when the UI server is
 * installed, prints the addresses; Ctrl-C stops it. Then, in another terminal:
 * `TEMPORAL_ADDRESS=127.0.0.1:7833 TEMPORAL_UI_PORT=8833 npm start` (npm start uses a server already
 * there), or `TEMPORAL_TARGET=cluster npm test`. The whole production topology: `npm run topology`.
 *
 * Environment (all optional): TEMPORAL_DB_HOST, TEMPORAL_DB_PORT, TEMPORAL_DB_USER,
 * TEMPORAL_DB_PASSWORD, TEMPORAL_DB, TEMPORAL_VISIBILITY_DB (read by the config file too),
 * TEMPORAL_CLUSTER_UI_PORT (8833), TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH, TEMPORAL_UI_SERVER_PATH.
 */

/** The frontend's address: cluster.yaml's default frontend port. */
export const CLUSTER_ADDRESS = `127.0.0.1:${DEFAULT_SERVER_PORTS.frontendGrpc}`;

setLogService('cluster');
const log = childLogger({ component: 'cluster' });

const host = process.env.TEMPORAL_DB_HOST ?? '127.0.0.1';
const port = Number(process.env.TEMPORAL_DB_PORT ?? 5432);
const db = {
  addr: `${host}:${port}`,
  user: process.env.TEMPORAL_DB_USER ?? 'postgres',
  password: process.env.TEMPORAL_DB_PASSWORD ?? '',
  main: process.env.TEMPORAL_DB ?? 'temporal',
  visibility: process.env.TEMPORAL_VISIBILITY_DB ?? 'temporal_visibility',
};
const config = loadConfig();
const uiPort = Number(process.env.TEMPORAL_CLUSTER_UI_PORT ?? 8833);
const logDir = resolve(REPO_ROOT, '.data/temporal-cluster');

let server: ChildProcess | null = null;
let ui: ChildProcess | null = null;
let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  await stopProcess(ui);
  await stopProcess(server);
  log.info('stopped');
  process.exit(code);
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

try {
  const bin = findServerBinaries();
  prepareServerDatabases(bin.sql, db, { host, port });
  log.info({ databases: [db.main, db.visibility], address: db.addr }, "the databases are at the server's schema");

  const started = await startServerAndWait({ bin: bin.server, ports: DEFAULT_SERVER_PORTS, db, logDir });
  server = started.child;
  server.once('exit', (code, signal) => {
    if (!stopping) {
      log.error({ exit: signal ?? code, logFile: started.logFile, logTail: logTail(started.logFile, 30) }, 'the server exited');
      void stop(1);
    }
  });
  await registerNamespace(CLUSTER_ADDRESS, config.TEMPORAL_NAMESPACE, (msg) => log.info(msg));

  let uiLine = `UI: not served (build the UI server ${UI_SERVER_VERSION} from deploy/temporal/ui-server/main.go, README "Temporal Server on PostgreSQL", or run the temporalio/ui image with TEMPORAL_ADDRESS=${CLUSTER_ADDRESS})`;
  if (bin.ui) {
    const apiHost = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
    const startedUi = startUi({
      bin: bin.ui, address: CLUSTER_ADDRESS, port: uiPort, namespace: config.TEMPORAL_NAMESPACE, logDir,
      codecEndpoint: process.env.TEMPORAL_CODEC_ENDPOINT ?? `http://${apiHost}:${config.PORT}/codec`,
    });
    ui = startedUi.child;
    ui.once('exit', (code, signal) => {
      if (!stopping) log.error({ exit: signal ?? code, logFile: startedUi.logFile }, 'the UI server exited');
    });
    uiLine = `UI http://127.0.0.1:${uiPort}`;
  }
  console.log(`[cluster] Temporal Server ${SERVER_VERSION} on PostgreSQL at ${CLUSTER_ADDRESS}, namespace ${config.TEMPORAL_NAMESPACE}; ${uiLine}`);
  console.log(`[cluster] logs in ${logDir}. Use it: TEMPORAL_ADDRESS=${CLUSTER_ADDRESS} TEMPORAL_UI_PORT=${uiPort} npm start, or TEMPORAL_TARGET=cluster npm test. Ctrl-C stops it.`);
} catch (err) {
  log.fatal({ err }, 'failed');
  await stop(1);
}
