import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { loadConfig } from '../platform/config.js';
import { clientConnectionOptions } from '../platform/temporal-connection.js';
import { createPool } from '../store/db.js';
import { ensureDatabase, migrateUp } from '../store/migrate.js';
import {
  ensureTemporalCli, REPO_ROOT, startDevServer, waitForTemporal, type DevServer,
} from '../platform/temporal-dev-server.js';
import { dieWithParent, parentDeathSignalAvailable } from '../platform/parent-death.js';
import { DatabaseUnreachableError, resolveDatabase, type ResolvedDatabase } from '../platform/embedded-postgres.js';
import { bootstrapDemoTenant, localAdminKey } from './bootstrap.js';
import { childArgv } from './start/child-argv.js';
import { watchLaunchers } from './start/launchers.js';
import { StartPidFile } from './start/pid-file.js';
import { checkPrerequisites, checkTable, missingLines, redisStatus, type RedisStatus } from './start/prerequisites.js';
import { SINGLE_INSTANCE_SUMMARY } from '../platform/redis-mode.js';
import { childLogger, setLogService } from '../platform/log.js';
import { stopWithGrace } from '../platform/run-command.js';

/**
 * `npm start`: the whole stack on embedded defaults — the Temporal dev server (with its UI),
 * database and migrations, Redis (or single-instance mode without it), the simulated processors,
 * the worker and the API as child processes, a demo tenant — then prints where everything is.
 * Ctrl-C stops it all in order: API, worker, processors, Temporal. `npm start` builds first and
 * runs this compiled (`node dist/scripts/start.js`); the children are then the compiled entry
 * points the image runs (scripts/start/child-argv.ts).
 *
 * Nothing outlives it. Ctrl-C, SIGTERM, SIGHUP (its terminal closed) and the death of a process
 * that launched it (npm, sh: scripts/start/launchers.ts) stop everything in that order. If
 * it is killed outright (SIGKILL), the kernel kills the children with it on Linux (setpriv
 * --pdeathsig: platform/parent-death.ts); everywhere, the pid file in START_DATA_DIR names them,
 * and the next start stops those still running before it binds anything (scripts/start/pid-file.ts).
 */
setLogService('start');
const log = childLogger({ component: 'supervisor' });
const config = loadConfig();
const dataDir = resolve(REPO_ROOT, config.START_DATA_DIR);
const adminApiKey = localAdminKey(config.ADMIN_API_KEY, dataDir);
const pidFile = new StartPidFile(resolve(dataDir, 'npm-start.json'));
const children: { name: string; child: ChildProcess }[] = [];
let temporal: DevServer | null = null;
/** The dev server's pid from its spawn on: `temporal` is set only once it answers. */
let devServerPid: number | null = null;
/** PostgreSQL: the machine's, or the embedded one we started (platform/embedded-postgres.ts), stopped last. */
let database: ResolvedDatabase | null = null;
/** The embedded PostgreSQL's pid from its spawn on: `database` is set only once it answers. */
let embeddedPgPid: number | null = null;
/**
 * Redis as decided before anything starts (platform/redis-mode.ts): handed to the children as
 * REDIS_MODE (and REDIS_URL), so that they do not probe again.
 */
let redisEnv: Record<string, string> = {};

async function startTemporal(): Promise<void> {
  try {
    await waitForTemporal(clientConnectionOptions(config), 1_000);
    log.info({ address: config.TEMPORAL_ADDRESS }, 'using the Temporal server already there');
    return;
  } catch {
    // none running: start our own
  }
  const [, portText] = config.TEMPORAL_ADDRESS.split(':');
  const cliPath = ensureTemporalCli(config.TEMPORAL_CLI_PATH);
  log.info('starting the Temporal dev server…');
  temporal = await startDevServer({
    cliPath,
    searchAttributes: CUSTOM_SEARCH_ATTRIBUTES,
    port: Number(portText ?? 7233),
    uiPort: config.TEMPORAL_UI_PORT,
    // The UI decodes payloads through the API's codec server (unauthenticated from this UI in development).
    uiCodecEndpoint: `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}/codec`,
    dbFile: resolve(REPO_ROOT, config.TEMPORAL_DB_FILE),
    namespace: config.TEMPORAL_NAMESPACE,
    logLevel: 'error',
    ownProcessGroup: true,
    dieWithParent: true,
    onSpawn: ({ pid, argv }) => {
      devServerPid = pid;
      pidFile.add('temporal', pid, argv);
    },
  });
}

async function startDatabase(): Promise<ResolvedDatabase> {
  return resolveDatabase(config, {
    log: (line) => log.info(line),
    onSpawn: ({ pid, argv }) => {
      embeddedPgPid = pid;
      pidFile.add('postgres', pid, argv);
    },
  });
}

async function prepareStores(databaseUrl: string): Promise<{ id: string; apiKey: string }> {
  await ensureDatabase(databaseUrl);
  await migrateUp(databaseUrl);
  const pool = createPool(databaseUrl, 2);
  try {
    return await bootstrapDemoTenant(pool, resolve(dataDir, 'demo-tenant.json'));
  } finally {
    await pool.end();
  }
}

/**
 * Webhooks in development: plain http, and the providers simulator's receiver
 * (`http://127.0.0.1:4020/webhooks/…`) exempt from the private-address refusal — that one
 * host:port (contract §5), besides any the environment already lists.
 */
const localWebhookReceiver = `${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PROVIDERS_SIM_PORT}`;
const localWebhookEnv = {
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_PRIVATE_ALLOWLIST: [...new Set([localWebhookReceiver, ...config.WEBHOOK_PRIVATE_ALLOWLIST])].join(','),
};

/** The simulators post their delivery receipts (contract §10) to this API, unless the environment names another receiver. */
const localReceiptsEnv = {
  PROVIDER_CALLBACK_URL: config.PROVIDER_CALLBACK_URL ?? `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}/v1/provider-callbacks`,
};

/** The codec server's CORS origins: the dev UI on its configured port, unless the environment says otherwise. */
const localUiEnv = {
  TEMPORAL_UI_ORIGINS: process.env.TEMPORAL_UI_ORIGINS ?? `http://localhost:${config.TEMPORAL_UI_PORT},http://127.0.0.1:${config.TEMPORAL_UI_PORT}`,
};

function startChild(name: string, entry: string, databaseUrl: string): void {
  const argv = childArgv(entry);
  const [command, args] = dieWithParent(argv[0], argv.slice(1));
  const child = spawn(command, args, {
    env: { ...process.env, DATABASE_URL: databaseUrl, ADMIN_API_KEY: adminApiKey, ...redisEnv, ...localWebhookEnv, ...localUiEnv, ...localReceiptsEnv },
    stdio: 'inherit',
    // Own process group: Ctrl-C reaches only this supervisor, which stops the children in order.
    detached: true,
  });
  if (child.pid !== undefined) pidFile.add(name, child.pid, argv);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      log.error({ child: name, exit: signal ?? code }, `${name} exited; stopping everything`);
      void stop(1);
    }
  });
  children.push({ name, child });
}

async function waitForApi(timeoutMs: number): Promise<void> {
  const url = `http://${config.HOST}:${config.PORT}/readyz`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`The API did not become ready at ${url}`);
}

let stopping = false;
async function stopChild({ name, child }: { name: string; child: ChildProcess }): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await stopWithGrace(child, new Promise<void>((r) => child.once('exit', () => r())), 20_000, 'SIGTERM');
  log.info({ child: name }, `${name} stopped`);
}

async function stop(code: number): Promise<void> {
  stopping = true;
  // API first (stop accepting), then the worker (drain), then the server they talk to.
  for (const entry of [...children].reverse()) await stopChild(entry);
  await temporal?.stop();
  // Still starting (spawned, not answering yet): nothing to drain.
  if (!temporal && devServerPid !== null) killQuietly(devServerPid);
  devServerPid = null;
  // PostgreSQL last: everything above may still write on its way out.
  await database?.embedded?.stop();
  if (!database?.embedded && embeddedPgPid !== null) killQuietly(embeddedPgPid);
  embeddedPgPid = null;
  pidFile.release();
  process.exit(code);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Ctrl-C, SIGTERM, SIGHUP (the terminal closed) and the end of what launched this process stop
 * everything in order; if this process exits anyway, its children are SIGKILLed on the way out.
 */
function stopWithThisProcess(): void {
  // If this supervisor dies, take the children with it (they are in their own process groups).
  process.once('exit', () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (devServerPid !== null) killQuietly(devServerPid);
    if (embeddedPgPid !== null) killQuietly(embeddedPgPid);
  });
  // `on`, not `once`: a Ctrl-C may arrive twice (the terminal's, and one a launcher such as tsx relays);
  // a second signal with no handler left would kill this supervisor mid-drain and orphan the rest.
  const onSignal = () => {
    if (!stopping) void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closed: its foreground group (npm, sh, this process) gets SIGHUP, the children
  // (own groups) do not. Stop as on Ctrl-C; writes to the gone terminal fail (EIO): not a reason to die mid-drain.
  process.on('SIGHUP', onSignal);
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  watchLaunchers((gone) => {
    if (stopping) return;
    log.warn({ launcher: gone.name, launcherPid: gone.pid }, `${gone.name} (pid ${gone.pid}), which ran this npm start, is gone: stopping everything`);
    void stop(0);
  });
}

async function main(): Promise<void> {
  // `npm start -- --check`: what is there and what would be used, a table; starts nothing.
  // Redis first: the table reports the decision the start then hands down (external, single-instance or missing).
  const redis = await redisStatus(config);
  if (process.argv.includes('--check')) {
    const found = await checkPrerequisites(config, { redis: async () => redis });
    console.log(checkTable(found));
    process.exit(found.every((p) => p.ok) ? 0 : 1);
  }
  stopWithThisProcess();
  await pidFile.clearLeftovers();
  // Every missing prerequisite, a line each with its fix, before anything starts (scripts/start/prerequisites.ts).
  const missing = missingLines(await checkPrerequisites(config, { redis: async () => redis }));
  if (missing.length > 0) {
    console.error(`npm start cannot start; missing (npm start -- --check shows everything):\n${missing.join('\n')}`);
    await stop(1);
    return;
  }
  pidFile.claim();
  redisEnv = childRedisEnv(redis);
  if (!parentDeathSignalAvailable()) {
    log.info({ pidFile: pidFile.path }, 'no setpriv here: if this process is killed outright, the next npm start stops what it left');
  }
  // Before anything else starts: an explicit DATABASE_URL that does not answer stops here.
  database = await startDatabase();
  const databaseUrl = database.url;
  await startTemporal();
  const demo = await prepareStores(databaseUrl);
  // The simulated card acquirers and bank stand in for outside processors (PROCESSORS_URL).
  startChild('processors', 'simulators/processors/main', databaseUrl);
  // A local SMTP server and fake push/SMS providers stand in for the real ones (SMTP_URL, *_PROVIDER_URL).
  startChild('smtp', 'simulators/smtp/main', databaseUrl);
  startChild('providers', 'simulators/providers/main', databaseUrl);
  startChild('worker', 'workers/main', databaseUrl);
  startChild('api', 'api/main', databaseUrl);
  await waitForApi(60_000);
  const api = `http://${config.HOST}:${config.PORT}`;
  console.log(`
  Steadfast is up.
    API            ${api}
    API docs       ${api}/docs   (OpenAPI: ${api}/openapi.json)
    PostgreSQL     ${database.description}
    Redis          ${redisLine(redis)}
    Temporal UI    http://localhost:${config.TEMPORAL_UI_PORT}   (payloads encrypted; decoded in the UI through ${api}/codec)
    Metrics        ${api}/metrics (admin key), worker http://${config.HOST}:${config.WORKER_METRICS_PORT}/metrics
    Processors sim ${config.PROCESSORS_URL}   (simulated acquirers and bank)
    SMTP sim       ${config.SMTP_URL}
    Push/SMS sim   ${config.PUSH_PROVIDER_URL}, ${config.SMS_PROVIDER_URL}
    Webhook sim    http://${localWebhookReceiver}/webhooks/<any path>   (the one private host:port webhooks may reach)
    Demo tenant    ${demo.id}
    Demo API key   ${demo.apiKey}
    Admin API key  ${adminApiKey}

  Try:  curl -s -H "Authorization: Bearer ${demo.apiKey}" -H 'Content-Type: application/json' \\
          -d '{"type":"user","currency":"USD"}' ${api}/v1/accounts
  Ctrl-C stops everything.
`);
}

/** The children's REDIS_MODE/REDIS_URL: the decision as it is (a missing Redis has stopped the start before). */
function childRedisEnv(status: RedisStatus): Record<string, string> {
  switch (status.kind) {
    case 'external':
      return { REDIS_MODE: 'external', REDIS_URL: status.url };
    case 'single-instance':
      return { REDIS_MODE: 'none' };
    case 'missing':
      throw new Error(`Redis missing after the prerequisites passed: ${status.reason}`);
  }
}

function redisLine(status: RedisStatus): string {
  if (status.kind === 'external') return `${status.address} (Redis ${status.version})`;
  return `none — ${SINGLE_INSTANCE_SUMMARY}; more than one instance needs REDIS_URL`;
}

main().catch(async (err) => {
  // A missing prerequisite is one line naming the fix, not a stack.
  if (err instanceof DatabaseUnreachableError) log.fatal(err.message);
  else log.fatal({ err }, 'failed');
  await stop(1);
});
