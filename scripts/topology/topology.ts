import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, REPO_ROOT, waitForTemporal } from '../../platform/temporal-dev-server.js';
import { ensureDatabase, migrateUp } from '../../store/migrate.js';
import { resolveWritableUrl } from '../../store/multi-host.js';
import { portOpen } from './pg-node.js';
import { createPgPair, type PgPair } from './pg-pair.js';
import {
  DEFAULT_SERVER_PORTS, findServerBinaries, freeServerPorts, prepareServerDatabases, registerNamespace,
  startLogged, startServer, startUi, stopProcess, type ServerDatabase, type ServerPorts,
} from './temporal-server.js';

/**
 * The production topology on one machine (issue #15, README "Running in production"): PostgreSQL
 * as a primary with a synchronous standby (two private clusters under `baseDir`), Temporal Server on
 * that pair, a Redis of its own, the simulated outside world (processors, SMTP, push/SMS), two
 * worker processes, two API processes and HAProxy in front of them. Every part can be killed and
 * started again (the chaos suite does); `npm run topology` runs it for people.
 */

export interface TopologyPorts {
  lb: number;
  lbStats: number;
  apis: number[];
  workerMetrics: number[];
  pg: [number, number];
  redis: number;
  temporal: ServerPorts;
  ui: number;
  processors: number;
  providers: number;
  smtp: number;
}

/** `npm run topology`'s fixed ports: none is `npm start`'s, the dev server's or `npm run cluster`'s UI. */
export const DEFAULT_TOPOLOGY_PORTS: TopologyPorts = {
  lb: 3100,
  lbStats: 3199,
  apis: [3101, 3102],
  workerMetrics: [9471, 9472],
  pg: [5442, 5443],
  redis: 6390,
  temporal: DEFAULT_SERVER_PORTS,
  ui: 8834,
  processors: 4110,
  providers: 4120,
  smtp: 2625,
};

export async function freeTopologyPorts(apis = 2, workers = 2): Promise<TopologyPorts> {
  const taken = new Set<number>();
  const next = async () => {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    return port;
  };
  const many = async (n: number) => { const out: number[] = []; for (let i = 0; i < n; i++) out.push(await next()); return out; };
  const temporal = await freeServerPorts();
  for (const p of Object.values(temporal)) taken.add(p);
  return {
    lb: await next(), lbStats: await next(), apis: await many(apis), workerMetrics: await many(workers),
    pg: [await next(), await next()], redis: await next(), temporal, ui: await next(),
    processors: await next(), providers: await next(), smtp: await next(),
  };
}

export interface TopologyOptions {
  /** Data directories (PostgreSQL pair) and logs live here. */
  baseDir: string;
  ports: TopologyPorts;
  adminApiKey: string;
  namespace?: string;
  /** Extra environment for the API and worker processes (durations, faults). */
  appEnv?: Record<string, string>;
  log?: (msg: string) => void;
  /** Promote the standby automatically when the primary stops answering (default on). */
  autoFailover?: { checkIntervalMs: number; failAfterMs: number } | false;
}

/** A process of the topology that can be killed and started again on the same ports. */
export class Managed {
  child: ChildProcess | null = null;
  /** Each start, with its time: the chaos suite counts them. */
  starts = 0;
  private expectedExit = false;

  constructor(
    readonly name: string,
    private readonly launch: () => ChildProcess,
    private readonly ready: () => Promise<void>,
    private readonly onUnexpectedExit: (name: string, how: string) => void,
  ) {}

  async start(): Promise<void> {
    this.expectedExit = false;
    const child = this.launch();
    this.child = child;
    this.starts += 1;
    child.once('exit', (code, signal) => {
      if (!this.expectedExit && this.child === child) this.onUnexpectedExit(this.name, String(signal ?? code));
    });
    await this.ready();
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL, as a crash does; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectedExit = true;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  }

  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    this.expectedExit = true;
    await stopProcess(this.child, graceMs);
  }
}

export interface Crash {
  name: string;
  how: string;
  atMs: number;
}

export interface Topology {
  ports: TopologyPorts;
  /** Processes that exited by themselves (not killed by us) and were restarted. */
  crashes: Crash[];
  pg: PgPair;
  /** Multi-host, read-write: what the APIs and workers use. */
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  apiUrl: string;
  apiUrls: string[];
  lbStatsUrl: string;
  uiUrl: string | null;
  processorsUrl: string;
  providersUrl: string;
  redisUrl: string;
  redis: Managed;
  temporal: Managed;
  haproxy: Managed;
  apis: Managed[];
  workers: Managed[];
  simulators: Managed[];
  logDir: string;
  stop(): Promise<void>;
}

const APP_DATABASE = 'steadfast';



async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error(`${what}: the process exited`);
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms`);
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.ok;
}


export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const log = options.log ?? (() => undefined);
  const { ports } = options;
  const namespace = options.namespace ?? 'default';
  const logDir = resolve(options.baseDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const started: Managed[] = [];
  let pg: PgPair | null = null;
  let stopping = false;
  const crashes: Crash[] = [];
  // A supervisor's job (systemd Restart=always, a Kubernetes restart policy): a process that exits by
  // itself is started again after a second. The chaos suite counts these: none may happen.
  const onUnexpectedExit = (name: string, how: string) => {
    if (stopping) return;
    crashes.push({ name, how, atMs: Date.now() });
    log(`${name} exited by itself (${how}); restarting it`);
    const m = started.find((x) => x.name === name);
    setTimeout(() => {
      if (!stopping && m && !m.running) m.start().catch((err) => log(`${name} restart failed: ${(err as Error).message}`));
    }, 1_000).unref();
  };
  const managed = (name: string, launch: () => ChildProcess, ready: (m: Managed) => Promise<void>) => {
    const m: Managed = new Managed(name, launch, () => ready(m), onUnexpectedExit);
    started.push(m);
    return m;
  };
  const alive = (m: Managed) => () => !m.running;

  const stop = async () => {
    stopping = true;
    // Outside in: the balancer and the APIs, the workers (drain), the simulators, Temporal, Redis, PostgreSQL.
    const order = ['haproxy', 'api', 'worker', 'sim', 'ui', 'temporal', 'redis'];
    const rank = (m: Managed) => order.findIndex((p) => m.name.startsWith(p));
    for (const group of order.map((_, i) => started.filter((m) => rank(m) === i))) {
      await Promise.all(group.map((m) => m.stop(10_000)));
    }
    await pg?.stop();
  };

  try {
    const binaries = findServerBinaries();
    log(`PostgreSQL primary :${ports.pg[0]} with a synchronous standby :${ports.pg[1]}`);
    pg = await createPgPair({ baseDir: resolve(options.baseDir, 'pg'), ports: ports.pg });
    if (options.autoFailover !== false) {
      pg.startAutoFailover(options.autoFailover ?? { checkIntervalMs: 500, failAfterMs: 3_000 });
    }
    const databaseUrl = pg.url(APP_DATABASE);
    const writable = new URL(await resolveWritableUrl(databaseUrl));
    const serverDb: ServerDatabase = {
      addr: `127.0.0.1:${ports.pg[0]},127.0.0.1:${ports.pg[1]}`,
      user: 'postgres', password: '', main: 'temporal', visibility: 'temporal_visibility',
    };
    prepareServerDatabases(binaries.sql, serverDb, { host: writable.hostname, port: Number(writable.port) });
    await ensureDatabase(writable.toString());
    await migrateUp(writable.toString());

    const redisUrl = `redis://127.0.0.1:${ports.redis}`;
    const redis = managed('redis', () => startLogged('redis', 'redis-server', [
      '--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    ], {}, logDir).child, (m) => waitFor('redis', () => portOpen(ports.redis), 10_000, alive(m)));

    const temporalAddress = `127.0.0.1:${ports.temporal.frontendGrpc}`;
    const temporal = managed('temporal', () => startServer({ bin: binaries.server, ports: ports.temporal, db: serverDb, logDir }).child,
      (m) => waitForTemporal(temporalAddress, 120_000, alive(m)));

    await Promise.all([redis.start(), temporal.start()]);
    await registerNamespace(temporalAddress, namespace);
    log(`Temporal Server on the pair at ${temporalAddress}; Redis ${redisUrl}`);

    const host = '127.0.0.1';
    const processorsUrl = `http://${host}:${ports.processors}`;
    const providersUrl = `http://${host}:${ports.providers}`;
    const appEnv: Record<string, string> = {
      NODE_ENV: 'development',
      HOST: host,
      DATABASE_URL: databaseUrl,
      DATABASE_READ_URL: pg.url(APP_DATABASE, 'prefer-standby'),
      DB_POOL_MAX: '10',
      REDIS_URL: redisUrl,
      // Several instances share this Redis: required, and not probed at start (a process restarted
      // while Redis bounces waits for it instead of refusing to start; platform/redis-mode.ts).
      REDIS_MODE: 'external',
      STEADFAST_INSTANCES: String(Math.max(ports.apis.length, ports.workerMetrics.length)),
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      ADMIN_API_KEY: options.adminApiKey,
      PROCESSORS_SIM_PORT: String(ports.processors),
      PROCESSORS_URL: processorsUrl,
      FX_PROVIDER_URL: `${processorsUrl}/fx`,
      PROVIDERS_SIM_PORT: String(ports.providers),
      PUSH_PROVIDER_URL: `${providersUrl}/push`,
      SMS_PROVIDER_URL: `${providersUrl}/sms`,
      SMTP_SIM_PORT: String(ports.smtp),
      SMTP_URL: `smtp://${host}:${ports.smtp}`,
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_PRIVATE_ALLOWLIST: `${host}:${ports.providers}`,
      // Behind HAProxy: the client's address is the last X-Forwarded-For hop.
      TRUST_PROXY: '1',
      TEMPORAL_UI_ORIGINS: `http://127.0.0.1:${ports.ui},http://localhost:${ports.ui}`,
      ...options.appEnv,
    };
    const node = (name: string, entry: string, env: Record<string, string> = {}) =>
      startLogged(name, process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, entry)], { ...appEnv, ...env }, logDir).child;

    const simulators = [
      managed('sim-processors', () => node('sim-processors', 'simulators/processors/main.ts'),
        (m) => waitFor('processors simulator', () => portOpen(ports.processors), 60_000, alive(m))),
      managed('sim-providers', () => node('sim-providers', 'simulators/providers/main.ts'),
        (m) => waitFor('providers simulator', () => portOpen(ports.providers), 60_000, alive(m))),
      managed('sim-smtp', () => node('sim-smtp', 'simulators/smtp/main.ts'),
        (m) => waitFor('SMTP simulator', () => portOpen(ports.smtp), 60_000, alive(m))),
    ];
    await Promise.all(simulators.map((s) => s.start()));

    const workers = ports.workerMetrics.map((metricsPort, i) => managed(`worker-${i + 1}`,
      () => node(`worker-${i + 1}`, 'workers/main.ts', { WORKER_METRICS_PORT: String(metricsPort) }),
      (m) => waitFor(`worker ${i + 1}`, () => httpOk(`http://${host}:${metricsPort}/metrics`), 120_000, alive(m))));
    const apiUrls = ports.apis.map((p) => `http://${host}:${p}`);
    const apis = ports.apis.map((port, i) => managed(`api-${i + 1}`,
      () => node(`api-${i + 1}`, 'api/main.ts', { PORT: String(port) }),
      (m) => waitFor(`API ${i + 1}`, () => httpOk(`${apiUrls[i]}/readyz`), 120_000, alive(m))));
    // One at a time: each compiles the TypeScript on first start (2 cores).
    for (const w of workers) await w.start();
    for (const a of apis) await a.start();

    const apiUrl = `http://${host}:${ports.lb}`;
    const haproxy = managed('haproxy', () => startLogged('haproxy', 'haproxy', ['-db', '-f', resolve(REPO_ROOT, 'deploy/haproxy/haproxy.cfg')], {
      STEADFAST_LB_BIND: `${host}:${ports.lb}`,
      STEADFAST_LB_STATS: `${host}:${ports.lbStats}`,
      STEADFAST_API_1: `${host}:${ports.apis[0]}`,
      STEADFAST_API_2: `${host}:${ports.apis[1] ?? ports.apis[0]}`,
    }, logDir).child, (m) => waitFor('HAProxy', () => httpOk(`${apiUrl}/readyz`), 30_000, alive(m)));
    await haproxy.start();

    let uiUrl: string | null = null;
    if (binaries.ui) {
      const uiBin = binaries.ui;
      const ui = managed('ui', () => startUi({
        bin: uiBin, address: temporalAddress, port: ports.ui, namespace, logDir, codecEndpoint: `${apiUrl}/codec`,
      }).child, async () => undefined);
      await ui.start();
      uiUrl = `http://127.0.0.1:${ports.ui}`;
    }

    return {
      ports, crashes, pg, databaseUrl, temporalAddress, namespace, apiUrl, apiUrls,
      lbStatsUrl: `http://${host}:${ports.lbStats}/stats`, uiUrl, processorsUrl, providersUrl, redisUrl,
      redis, temporal, haproxy, apis, workers, simulators, logDir, stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
