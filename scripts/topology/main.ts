import { resolve } from 'node:path';
import { loadConfig } from '../../platform/config.js';
import { REPO_ROOT } from '../../platform/temporal-dev-server.js';
import { createPool } from '../../store/db.js';
import { bootstrapDemoTenant, localAdminKey } from '../bootstrap.js';
import { DEFAULT_TOPOLOGY_PORTS, startTopology, type Topology } from './topology.js';
import { childLogger, setLogService } from '../../platform/log.js';

setLogService('topology');
const log = childLogger({ component: 'topology' });

/**
 * `npm run topology`: the production topology on this machine (README "Running in production"):
 * HAProxy on :3100 over two APIs, two workers, Temporal Server on a PostgreSQL primary with a
 * synchronous standby (automatic failover), a Redis of its own, the simulators. Data and logs in
 * `.data/topology/`; the PostgreSQL pair is created fresh on every start. Ctrl-C stops it all.
 */
const baseDir = resolve(REPO_ROOT, '.data/topology');
const config = loadConfig();
const adminApiKey = localAdminKey(config.ADMIN_API_KEY);
let topology: Topology | null = null;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await topology?.stop();
    log.info('stopped');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  const ports = DEFAULT_TOPOLOGY_PORTS;
  topology = await startTopology({
    baseDir, ports, adminApiKey, namespace: config.TEMPORAL_NAMESPACE,
    log: (msg) => log.info(msg),
  });
  topology.pg.onEvent((event) => log.info({ event: event.type, detail: event.detail }, `postgres: ${event.type}`));
  const pool = createPool(topology.databaseUrl, 2);
  const demo = await bootstrapDemoTenant(pool, resolve(baseDir, 'demo-tenant.json')).finally(() => pool.end());
  const t = topology;
  console.log(`
  Steadfast production topology is up.
    API (HAProxy)  ${t.apiUrl}        behind it: ${t.apiUrls.join(', ')}
    HAProxy stats  ${t.lbStatsUrl}
    Temporal       ${t.temporalAddress} (Temporal Server on PostgreSQL)${t.uiUrl ? `, UI ${t.uiUrl}` : ''}
    PostgreSQL     primary :${t.pg.primary.port}, synchronous standby :${t.pg.standby.port}
                   DATABASE_URL=${t.databaseUrl}
    Redis          ${t.redisUrl}
    Workers        metrics ${ports.workerMetrics.map((p) => `http://127.0.0.1:${p}/metrics`).join(', ')}
    Processors sim ${t.processorsUrl}
    Logs           ${t.logDir}
    Demo tenant    ${demo.id}
    Demo API key   ${demo.apiKey}
    Admin API key  ${adminApiKey}

  Ctrl-C stops everything.
`);
} catch (err) {
  log.fatal({ err }, 'failed');
  await stop(1);
}
