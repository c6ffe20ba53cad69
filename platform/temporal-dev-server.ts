import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { stopWithGrace } from './run-command.js';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { dieWithParent } from './parent-death.js';
import { childLogger } from './log.js';
import { REPO_ROOT } from './repo-root.js';
import { resolveTemporalCli, TEMPORAL_CLI_VERSION } from './temporal-cli.js';

export { REPO_ROOT };
export { TEMPORAL_CLI_VERSION };
const cliLog = childLogger({ component: 'temporal-cli' });

/**
 * Returns the Temporal CLI binary from wherever it is (platform/temporal-cli.ts): `TEMPORAL_CLI_PATH`
 * when given, else `temporal` on PATH, else `.tools/bin/temporal`, else downloaded or built there.
 */
export function ensureTemporalCli(cliPath?: string, log: (msg: string) => void = (msg) => cliLog.info(msg)): string {
  return resolveTemporalCli({ cliPath, log }).path;
}

/**
 * Where `freePort` looks: below the kernel's ephemeral range (Linux 32768–60999, macOS and Windows
 * 49152–65535). A port the OS hands out for `listen(0)` is an ephemeral one, which any outgoing
 * connection of any process may take before the server we picked it for binds it — a test run
 * opens thousands (it happened: a dev server's UI port taken between the pick and the bind).
 */
export const FREE_PORT_RANGE = { from: 20_000, to: 32_767 } as const;

/** Binds `port` on 127.0.0.1 and lets it go: the port, or null when something holds it. */
function tryPort(port: number): Promise<number | null> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(null));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : null));
    });
  });
}

/** A port nothing listens on now, picked at random in FREE_PORT_RANGE (else one the OS gives). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tryPort(FREE_PORT_RANGE.from + Math.floor(Math.random() * (FREE_PORT_RANGE.to - FREE_PORT_RANGE.from + 1)));
    if (port !== null) return port;
  }
  const any = await tryPort(0);
  if (any === null) throw new Error('no free port on 127.0.0.1');
  return any;
}

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Omit for a headless server (tests). */
  uiPort?: number;
  /** The UI's remote codec endpoint (`--ui-codec-endpoint`): the API's `/codec` (issue #13). */
  uiCodecEndpoint?: string;
  /** SQLite file for a server that keeps its state; omit for in-memory (tests). */
  dbFile?: string;
  namespace?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
  /**
   * Run in its own process group, so a terminal's Ctrl-C reaches only the supervisor, which stops
   * the server last (after the API and the workers that talk to it).
   */
  ownProcessGroup?: boolean;
  /** Custom search attributes to register, name → type (`Keyword`, …): the workflows' own. */
  searchAttributes: Readonly<Record<string, string>>;
  /** `--dynamic-config-value KEY=JSON` per entry (e.g. `{ 'history.maxInFlightUpdates': 100 }`). */
  dynamicConfig?: Readonly<Record<string, string | number | boolean>>;
  /** No start-up banner on stdout (the server's log goes to stderr). */
  quiet?: boolean;
  /** The kernel kills the server when this process dies, however it dies (platform/parent-death.ts; Linux). */
  dieWithParent?: boolean;
  /** Told the server's pid and command line as soon as it is spawned (before it answers): `npm start`'s pid file. */
  onSpawn?: (spawned: { pid: number; argv: string[] }) => void;
}

export interface DevServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Every dev server we start: a worker registers its Worker Deployment Version on each of its task
 * queues (and their partitions) at once, through Updates to one system workflow, and the default cap
 * of 10 in-flight Updates per workflow turned most of those into retried errors (hundreds of ERROR
 * lines at start-up).
 */
export const DEV_SERVER_DYNAMIC_CONFIG = {
  'history.maxInFlightUpdates': 200,
  // Latency (issue #14): the dev server has one history shard, and each shard's transfer and timer
  // queues are read at most 20 times a second by default, so every hand-off between the server and
  // a worker (workflow task, activity task) waited 35–50 ms for the next read. 1000/s: 1–3 ms.
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
} as const;

function devServerArgs(options: DevServerOptions, httpPort: number): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port),
    '--http-port', String(httpPort), '--log-level', options.logLevel ?? 'warn',
    '--namespace', options.namespace ?? 'default'];
  for (const [name, type] of Object.entries(options.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig })) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.uiPort && options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile,
      '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  }
  return args;
}

/** Starts `temporal server start-dev` and resolves once it answers a gRPC health check. */
export async function startDevServer(options: DevServerOptions, readyTimeoutMs = 60_000): Promise<DevServer> {
  const serverArgs = devServerArgs(options, await freePort());
  const [command, args] = options.dieWithParent ? dieWithParent(options.cliPath, serverArgs) : [options.cliPath, serverArgs];
  const child = spawn(command, args, {
    stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', 'inherit'],
    detached: options.ownProcessGroup ?? false,
  });
  if (child.pid !== undefined) options.onSpawn?.({ pid: child.pid, argv: [options.cliPath, ...serverArgs] });
  let exited = false;
  child.once('exit', () => (exited = true));
  const address = `127.0.0.1:${options.port}`;
  const stop = async () => {
    if (exited) return;
    await stopWithGrace(child, new Promise<void>((r) => child.once('exit', () => r())), 10_000, 'SIGTERM');
  };
  try {
    await waitForTemporal(address, readyTimeoutMs, () => exited);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, process: child, stop };
}

/**
 * Polls the frontend until it answers (the dev server needs a few seconds on a busy machine).
 * `target` is an address (a plain-TCP dev server) or full options (`clientConnectionOptions(config)`
 * from platform/temporal-connection.ts, for a secured cluster).
 */
export async function waitForTemporal(target: string | ConnectionOptions, timeoutMs: number, gaveUp: () => boolean = () => false) {
  const options: ConnectionOptions = typeof target === 'string' ? { address: target } : target;
  const address = options.address ?? '127.0.0.1:7233';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gaveUp()) throw new Error('The Temporal dev server exited during start-up');
    try {
      const connection = await Connection.connect({ ...options, connectTimeout: 1_000 });
      try {
        await connection.healthService.check({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} did not answer within ${timeoutMs} ms: ${err}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
