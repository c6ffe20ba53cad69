import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { logTail, runCommand, stopWithGrace } from '../../platform/run-command.js';

/**
 * One private PostgreSQL cluster of the topology's pair (scripts/topology/pg-pair.ts): its data
 * directory, its postmaster as a child of this process, and the binaries that make it (`initdb`,
 * `pg_basebackup`). PostgreSQL refuses to run as root: as root, every binary runs as the `postgres`
 * OS user (`setpriv`, which execs, so the postmaster is our child and its pid is the one we know),
 * and the base directory is chowned to it. Every process gets `--pdeathsig KILL`: if this
 * process dies, abnormally or not, its servers die with it.
 */

export const DEFAULT_PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** The OS identity the servers run as: null = this process's own (not root). */
export interface OsOwner {
  uid: number;
  gid: number;
}

export function osOwner(user = 'postgres'): OsOwner | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export interface PgNodeOptions {
  name: string;
  port: number;
  baseDir: string;
  binDir: string;
  owner: OsOwner | null;
}

/** How long a server may take to start, the old processes to go (a command: platform/run-command.ts). */
const START_TIMEOUT_MS = 30_000;
const GONE_TIMEOUT_MS = 10_000;

export class PgNode {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly options: PgNodeOptions) {
    this.name = options.name;
    this.port = options.port;
    this.dataDir = resolve(options.baseDir, options.name);
    this.logFile = resolve(options.baseDir, `${options.name}.log`);
  }

  /** Whether its postmaster (our child) is alive. */
  get running(): boolean {
    return this.child !== null;
  }

  /** A superuser session on it; ended after `fn`. */
  async withAdmin<T>(fn: (client: pg.Client) => Promise<T>, timeoutMs = 5_000): Promise<T> {
    const client = new pg.Client({
      host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres',
      connectionTimeoutMillis: timeoutMs, application_name: 'steadfast-pg-pair',
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** A fresh cluster: trust on 127.0.0.1 (replication included, initdb's default hba), our settings. */
  async initdb(settings: Record<string, string | number>): Promise<void> {
    await this.assertNotRunningElsewhere();
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.run('initdb', ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    const lines = Object.entries(settings).map(([key, value]) => `${key} = ${typeof value === 'number' ? value : `'${value}'`}`);
    writeFileSync(resolve(this.dataDir, 'postgresql.conf'),
      `${readFileSync(resolve(this.dataDir, 'postgresql.conf'), 'utf8')}\n# scripts/topology/pg-pair.ts\n${lines.join('\n')}\n`);
  }

  /**
   * Replaces the data directory with a copy of `source`'s, as its standby (`-R`: standby.signal and
   * primary_conninfo with our name as application_name, which synchronous_standby_names matches).
   */
  async cloneFrom(source: PgNode): Promise<void> {
    await this.assertNotRunningElsewhere();
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.run('pg_basebackup', [
      '-h', '127.0.0.1', '-p', String(source.port), '-U', 'postgres', '-D', this.dataDir,
      '-R', '-X', 'stream', '-c', 'fast', '--no-sync', '-d', `application_name=${this.name}`,
    ]);
    // The source's synchronous_standby_names came along; as a primary later, this one starts asynchronous.
    const autoConf = resolve(this.dataDir, 'postgresql.auto.conf');
    const kept = readFileSync(autoConf, 'utf8').split('\n').filter((line) => !/^\s*synchronous_standby_names\s*=/.test(line));
    writeFileSync(autoConf, kept.join('\n'));
  }

  /** Starts the postmaster and waits until it accepts connections (a standby: read-only ones). */
  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} runs already`);
    const log = openSync(this.logFile, 'a');
    const [command, args] = this.asOwner(resolve(this.options.binDir, 'postgres'), [
      '-D', this.dataDir, '-p', String(this.port), '-c', `cluster_name=${this.name}`,
    ]);
    const child = spawn(command, args, { stdio: ['ignore', log, log], env: this.env() });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolveExit) => child.once('exit', () => {
      if (this.child === child) this.child = null;
      resolveExit();
    }));
    child.once('error', () => undefined); // a failed spawn also exits
    try {
      await this.waitUntilReady(child);
    } catch (err) {
      await this.kill().catch(() => undefined);
      throw err;
    }
  }

  /** SIGKILL to the postmaster (a crash: no shutdown checkpoint), then waits until its port is closed and its processes are gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child) {
      // setpriv execs, so our child is the postmaster; postmaster.pid names it too (unless it is stale).
      const fromFile = this.postmasterPid();
      process.kill(fromFile !== undefined && processesIn(this.dataDir).includes(fromFile) ? fromFile : child.pid!, 'SIGKILL');
    }
    await this.exited;
    await this.waitPortClosed();
    await this.waitProcessesGone();
  }

  /** Fast shutdown (`pg_ctl stop -m fast`: SIGINT), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.child) return;
    await stopWithGrace(this.child, this.exited, graceMs);
    await this.waitProcessesGone();
  }

  /** The last lines of its server log (for errors). */
  logTail(lines = 20): string {
    return logTail(this.logFile, lines);
  }

  private postmasterPid(): number | undefined {
    const pidFile = resolve(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** postmaster.pid's status line says `ready` (or `standby`), and a session answers. */
  private async waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const pidFile = resolve(this.dataDir, 'postmaster.pid');
    while (Date.now() < deadline) {
      if (this.child !== child) throw new Error(`${this.name} (port ${this.port}) exited while starting:\n${this.logTail()}`);
      const status = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n')[7]?.trim() : undefined;
      if (status === 'ready' || status === 'standby') {
        const answers = await this.withAdmin(async () => true, 1_000).catch(() => false);
        if (answers) return;
      }
      await sleep(50);
    }
    throw new Error(`${this.name} (port ${this.port}) did not start within ${START_TIMEOUT_MS} ms:\n${this.logTail()}`);
  }

  private async waitPortClosed(): Promise<void> {
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    while (await portOpen(this.port)) {
      if (Date.now() > deadline) throw new Error(`port ${this.port} still open ${GONE_TIMEOUT_MS} ms after ${this.name} was killed`);
      await sleep(20);
    }
  }

  /** Backends outlive a killed postmaster by a moment; the data directory is wiped only once they are gone. */
  private async waitProcessesGone(): Promise<void> {
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    for (;;) {
      const left = processesIn(this.dataDir);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        for (const pid of left) process.kill(pid, 'SIGKILL');
        await sleep(100);
        return;
      }
      await sleep(20);
    }
  }

  /** A data directory with a live postmaster that is not ours (an earlier run's) is not ours to wipe. */
  private async assertNotRunningElsewhere(): Promise<void> {
    if (this.child) throw new Error(`${this.name} runs: stop or kill it first`);
    const pid = this.postmasterPid();
    if (pid !== undefined && processesIn(this.dataDir).includes(pid)) {
      throw new Error(`a PostgreSQL server (pid ${pid}) still runs on ${this.dataDir}; stop it first`);
    }
  }

  /** Runs initdb or pg_basebackup as the owner; rejects with the tail of its output. */
  private run(binary: string, args: string[]): Promise<void> {
    mkdirSync(this.options.baseDir, { recursive: true });
    if (this.options.owner) chownSync(this.options.baseDir, this.options.owner.uid, this.options.owner.gid);
    const [command, fullArgs] = this.asOwner(resolve(this.options.binDir, binary), args);
    return runCommand(`${binary} for ${this.name}`, command, fullArgs, this.env());
  }

  /** setpriv execs (no process in between): as the owner when we are root, dying with us always. */
  private asOwner(binary: string, args: string[]): [string, string[]] {
    const owner = this.options.owner;
    const identity = owner ? [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups'] : [];
    return ['setpriv', [...identity, '--pdeathsig', 'KILL', '--', binary, ...args]];
  }

  private env(): NodeJS.ProcessEnv {
    // HOME: libpq looks for ~/.pgpass there (the owner cannot read root's home); nothing from our PG* variables.
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.options.baseDir, LC_ALL: 'C', TZ: 'UTC' };
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolveOpen(true);
    });
    socket.once('error', () => resolveOpen(false));
  });
}

/** The pids whose working directory is `dir` (a postmaster and its children chdir to the data directory). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // gone, or not ours to look at
    }
  }
  return pids;
}
