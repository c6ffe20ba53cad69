import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { formatPostgresUrl, type TargetSessionAttrs } from '../../platform/postgres-url.js';
import {
  listStandbys, promote, readSynchronousStandbys, readWalPosition, setSynchronousStandbys, type StandbyReplication,
} from '../../store/monitoring/replication.js';
import { readServerState } from '../../store/multi-host.js';
import { DEFAULT_PG_BIN_DIR, osOwner, PgNode } from './pg-node.js';

/**
 * PostgreSQL as a primary with a synchronous standby, on one machine (issue #15): two private
 * clusters under `baseDir`, on their own ports, started and owned by this process. The
 * application connects with `pair.url(db)` (both hosts, `target_session_attrs=read-write`;
 * store/multi-host.ts finds the primary). The chaos suite kills the primary; the auto-failover
 * monitor fences it, promotes the standby (every acknowledged commit is there: the standby had
 * flushed it before the primary answered COMMIT), and rebuilds the old primary from the new one
 * as the new synchronous standby. Between the promotion and the rebuild the pair runs degraded
 * (asynchronous, one copy): RPO 0 holds against one failure at a time.
 *
 * @example
 * const pair = await createPgPair({ baseDir: '.data/topology/pg', ports: [5442, 5443] });
 * pair.startAutoFailover({ checkIntervalMs: 200, failAfterMs: 1_000 });
 * const pool = createPool(pair.url('steadfast'), 10);
 * const promoted = pair.waitForEvent('promoted', 60_000);
 * await pair.killPrimary(); // … (await promoted).atMs
 * await pair.stop();
 */

export interface PgPairOptions {
  /** The two data directories and their logs go here (created; owned by the `postgres` OS user when we are root). */
  baseDir: string;
  ports: [number, number];
  /** Temporal Server takes ~60, each API and worker its pool. */
  maxConnections?: number;
  sharedBuffersMb?: number;
  /** Where initdb, pg_basebackup and postgres are. */
  binDir?: string;
  log?: (msg: string) => void;
}

export interface PgNodeInfo {
  name: string;
  port: number;
  dataDir: string;
  logFile: string;
}

export type PgPairEventType =
  /** A check of a node failed (the clock of failAfterMs starts). */
  | 'suspect'
  /** A suspect node answered again before failAfterMs. */
  | 'recovered'
  /** A node failed its checks for failAfterMs: the monitor acts. */
  | 'detected'
  /** The old primary was still running (hung, not dead): killed before the promotion. */
  | 'fenced'
  | 'killed'
  /** The standby is the primary (asynchronous until `rebuilt`). */
  | 'promoted'
  /** Commits stopped waiting for a standby (none is streaming). */
  | 'degraded'
  /** The other node streams again as the synchronous standby. */
  | 'rebuilt'
  /** A step of the monitor failed; it tries again after failAfterMs. */
  | 'failed';

export interface PgPairEvent {
  type: PgPairEventType;
  /** Epoch milliseconds. */
  atMs: number;
  /** `name:port` of the node concerned. */
  node: string;
  detail?: string;
}

export interface AutoFailoverOptions {
  checkIntervalMs?: number;
  /** How long the primary (or the standby) fails its checks before the monitor acts. */
  failAfterMs?: number;
  onEvent?: (event: PgPairEvent) => void;
}

export interface AutoFailover {
  stop(): Promise<void>;
}

export interface PgNodeStatus extends PgNodeInfo {
  role: 'primary' | 'standby';
  running: boolean;
  /** null when it does not answer. */
  inRecovery: boolean | null;
  lsn: string | null;
}

export interface PgPairStatus {
  primary: PgNodeStatus;
  standby: PgNodeStatus;
  /** The standby as the primary sees it (pg_stat_replication), null when it is not connected. */
  replication: StandbyReplication | null;
  /** Commits wait for the standby's flush. */
  synchronous: boolean;
  synchronousStandbyNames: string | null;
}

const WAIT_STEP_MS = 50;
const STREAMING_TIMEOUT_MS = 60_000;
const PROMOTE_WAIT_SECONDS = 60;

export async function createPgPair(options: PgPairOptions): Promise<PgPair> {
  const owner = osOwner();
  const binDir = options.binDir ?? DEFAULT_PG_BIN_DIR;
  const [a, b] = options.ports.map((port, i) => new PgNode({ name: i === 0 ? 'pg_a' : 'pg_b', port, baseDir: options.baseDir, binDir, owner }));
  const pair = new PgPair(a!, b!, options.log ?? (() => undefined));
  try {
    await a!.initdb(settingsOf(options));
    await a!.start();
    await pair.rebuildStandby();
  } catch (err) {
    await pair.stop().catch(() => undefined);
    throw err;
  }
  return pair;
}

function settingsOf(options: PgPairOptions): Record<string, string | number> {
  return {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '', // TCP only: nothing shared with the machine's own cluster
    max_connections: options.maxConnections ?? 250,
    shared_buffers: `${options.sharedBuffersMb ?? 32}MB`,
    wal_level: 'replica',
    hot_standby: 'on',
    // Long reads on the standby (the audits read there) hold back the primary's vacuum instead of
    // being cancelled after max_standby_streaming_delay or delaying replay.
    hot_standby_feedback: 'on',
    max_wal_senders: 10,
    wal_keep_size: '512MB',
    fsync: 'on',
    synchronous_commit: 'on',
    full_page_writes: 'on',
    wal_receiver_status_interval: '1s',
    wal_retrieve_retry_interval: '500ms',
    log_line_prefix: '%m [%p] %q%a ',
  };
}

export class PgPair {
  private primaryIndex: 0 | 1 = 0;
  private listeners = new Set<(event: PgPairEvent) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private monitor: { stop(): Promise<void> } | null = null;
  private stopped = false;

  constructor(private readonly a: PgNode, private readonly b: PgNode, private readonly log: (msg: string) => void) {}

  private get primaryNode(): PgNode {
    return this.primaryIndex === 0 ? this.a : this.b;
  }

  private get standbyNode(): PgNode {
    return this.primaryIndex === 0 ? this.b : this.a;
  }

  /** The node that takes writes (after a failover, the other one). */
  get primary(): PgNodeInfo {
    return info(this.primaryNode);
  }

  get standby(): PgNodeInfo {
    return info(this.standbyNode);
  }

  /** Both hosts in a fixed order; the client finds the one that serves `attrs`. */
  url(database: string, attrs: TargetSessionAttrs = 'read-write'): string {
    return formatPostgresUrl({
      scheme: 'postgres', user: 'postgres', password: undefined, database, targetSessionAttrs: attrs, params: [],
      hosts: [this.a, this.b].map((node) => ({ host: '127.0.0.1', port: node.port })),
    });
  }

  /** Listens to every event (manual steps and the monitor's); returns the unsubscribe. */
  onEvent(listener: (event: PgPairEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next event of `type` (subscribe before you cause it). */
  waitForEvent(type: PgPairEventType, timeoutMs: number): Promise<PgPairEvent> {
    return new Promise((resolveEvent, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${type} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onEvent((event) => {
        if (event.type !== type) return;
        clearTimeout(timer);
        off();
        resolveEvent(event);
      });
    });
  }

  /** SIGKILL to the primary's postmaster (a crash); resolves once its port is closed. */
  async killPrimary(): Promise<void> {
    const node = this.primaryNode;
    await node.kill();
    this.emit('killed', node, 'SIGKILL to the primary');
  }

  /** SIGKILL to the standby's postmaster: the primary's commits wait until the monitor degrades it. */
  async killStandby(): Promise<void> {
    const node = this.standbyNode;
    await node.kill();
    this.emit('killed', node, 'SIGKILL to the standby');
  }

  /**
   * The standby becomes the primary, asynchronous (no standby to wait for until `rebuildStandby`).
   * Refuses while the old primary runs: two primaries would each take writes.
   */
  promoteStandby(): Promise<void> {
    return this.exclusive(async () => {
      const old = this.primaryNode;
      const next = this.standbyNode;
      if (old.running) throw new Error(`the primary ${label(old)} still runs: kill it first (two primaries would split the data)`);
      if (!next.running) throw new Error(`the standby ${label(next)} is not running: nothing to promote`);
      await next.withAdmin(async (client) => {
        // In recovery the setting does nothing; set before the promotion, a commit never waits for a standby that is gone.
        await setSynchronousStandbys(client, []);
        if (!(await promote(client, PROMOTE_WAIT_SECONDS))) throw new Error(`${label(next)} did not finish promotion within ${PROMOTE_WAIT_SECONDS} s`);
        const state = await readServerState(client);
        if (state.inRecovery) throw new Error(`${label(next)} is still in recovery after its promotion`);
      });
      this.primaryIndex = this.primaryIndex === 0 ? 1 : 0;
      this.emit('promoted', next, `${label(next)} is the primary (asynchronous until the standby is rebuilt)`);
    });
  }

  /**
   * Commits stop waiting for the standby (it is gone): `synchronous_standby_names = ''` on the
   * primary releases the commits waiting for it. From here until `rebuildStandby` one copy only.
   */
  degrade(): Promise<void> {
    return this.exclusive(async () => {
      await this.primaryNode.withAdmin((client) => setSynchronousStandbys(client, []));
      this.emit('degraded', this.primaryNode, 'commits no longer wait for a standby');
    });
  }

  /**
   * The non-primary node becomes a fresh copy of the primary (its data directory wiped: a crashed
   * old primary may hold WAL the new one never had), streams, and is made synchronous again.
   */
  rebuildStandby(): Promise<void> {
    return this.exclusive(async () => {
      const primary = this.primaryNode;
      const standby = this.standbyNode;
      const startedAt = Date.now();
      await standby.stop();
      await standby.cloneFrom(primary);
      await standby.start();
      await this.waitForStandby(primary, standby, (s) => s.state === 'streaming');
      await primary.withAdmin((client) => setSynchronousStandbys(client, [standby.name]));
      await this.waitForStandby(primary, standby, (s) => s.state === 'streaming' && s.syncState === 'sync');
      this.emit('rebuilt', standby, `${label(standby)} streams from ${label(primary)} as the synchronous standby (${Date.now() - startedAt} ms)`);
    });
  }

  /** Roles, replication state and WAL positions, as the servers report them now. */
  async status(): Promise<PgPairStatus> {
    const nodeStatus = async (node: PgNode, role: 'primary' | 'standby'): Promise<PgNodeStatus> => {
      const position = node.running ? await node.withAdmin(readWalPosition, 2_000).catch(() => null) : null;
      return { ...info(node), role, running: node.running, inRecovery: position?.inRecovery ?? null, lsn: position?.lsn ?? null };
    };
    const primary = this.primaryNode;
    const standby = this.standbyNode;
    const replication = primary.running
      ? await primary.withAdmin(async (client) => ({
        standbys: await listStandbys(client), names: await readSynchronousStandbys(client),
      }), 2_000).catch(() => null)
      : null;
    const row = replication?.standbys.find((s) => s.applicationName === standby.name) ?? null;
    return {
      primary: await nodeStatus(primary, 'primary'),
      standby: await nodeStatus(standby, 'standby'),
      replication: row,
      synchronous: row?.syncState === 'sync',
      synchronousStandbyNames: replication?.names ?? null,
    };
  }

  /**
   * Watches both nodes. The primary failing its checks for `failAfterMs`: fence it (SIGKILL if it
   * still runs), promote the standby, rebuild the old primary as the standby. The standby failing
   * them: degrade (commits stop waiting), rebuild it. Events tell each step with its time.
   */
  startAutoFailover(options: AutoFailoverOptions = {}): AutoFailover {
    if (this.monitor) throw new Error('the auto-failover monitor runs already');
    const checkIntervalMs = options.checkIntervalMs ?? 500;
    const failAfterMs = options.failAfterMs ?? 3_000;
    const off = options.onEvent ? this.onEvent(options.onEvent) : () => undefined;
    // A dead server refuses at once; the timeout only matters for a hung one, so it can be generous (a busy machine is slow).
    const checkTimeoutMs = Math.max(500, Math.min(failAfterMs, 5_000));
    const health = new Map([this.a, this.b].map((node) => [node, new HealthCheck(node, checkTimeoutMs)]));
    const suspectSince = new Map<PgNode, number>();
    let stuckReported = false;
    let stopping = false;
    let wake: () => void = () => undefined;

    const checkOne = async (node: PgNode, role: 'primary' | 'standby'): Promise<boolean> => {
      const healthy = await health.get(node)!.check(role);
      const since = suspectSince.get(node);
      if (healthy) {
        if (since !== undefined) this.emit('recovered', node, `${role} answers again after ${Date.now() - since} ms`);
        suspectSince.delete(node);
        return false;
      }
      if (since === undefined) {
        suspectSince.set(node, Date.now());
        this.emit('suspect', node, `${role} check failed`);
        return false;
      }
      return Date.now() - since >= failAfterMs;
    };

    const round = async () => {
      if (this.busy > 0) {
        suspectSince.clear(); // a step of ours stops and starts nodes: not a failure
        return;
      }
      const primary = this.primaryNode;
      const standby = this.standbyNode;
      const [primaryFailed, standbyFailed] = await Promise.all([checkOne(primary, 'primary'), checkOne(standby, 'standby')]);
      if (stopping) return;
      if (primaryFailed && !suspectSince.has(standby)) {
        await this.failover(primary, Date.now() - suspectSince.get(primary)!);
      } else if (primaryFailed) {
        if (!stuckReported) this.emit('failed', primary, 'the primary is down and the standby does not answer: nothing to promote');
        stuckReported = true;
        return;
      } else if (standbyFailed) {
        await this.replaceStandby(standby, Date.now() - suspectSince.get(standby)!);
      } else {
        return;
      }
      suspectSince.clear();
      stuckReported = false;
    };

    const loop = (async () => {
      while (!stopping) {
        await round().catch((err: Error) => this.emit('failed', this.primaryNode, err.message));
        if (stopping) break;
        await new Promise<void>((resolveWait) => {
          const timer = setTimeout(resolveWait, checkIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolveWait();
          };
        });
      }
    })();

    this.monitor = {
      stop: async () => {
        stopping = true;
        wake();
        await loop;
        await Promise.all([...health.values()].map((h) => h.close()));
        off();
        this.monitor = null;
      },
    };
    return this.monitor;
  }

  /** Stops the monitor and both servers (fast shutdown); the data directories stay. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.monitor?.stop();
    await this.queue.catch(() => undefined);
    await Promise.all([this.a.stop(), this.b.stop()]);
  }

  private async failover(primary: PgNode, downMs: number): Promise<void> {
    this.emit('detected', primary, `the primary failed its checks for ${downMs} ms`);
    try {
      if (primary.running) {
        await primary.kill();
        this.emit('fenced', primary, 'the unresponsive primary was killed before the promotion');
      }
      await this.promoteStandby();
      await this.rebuildStandby();
    } catch (err) {
      this.emit('failed', primary, `failover: ${(err as Error).message}`);
    }
  }

  private async replaceStandby(standby: PgNode, downMs: number): Promise<void> {
    this.emit('detected', standby, `the standby failed its checks for ${downMs} ms`);
    try {
      await this.degrade();
      await this.rebuildStandby();
    } catch (err) {
      this.emit('failed', standby, `standby rebuild: ${(err as Error).message}`);
    }
  }

  private async waitForStandby(primary: PgNode, standby: PgNode, ready: (s: StandbyReplication) => boolean): Promise<void> {
    const deadline = Date.now() + STREAMING_TIMEOUT_MS;
    let last = 'not connected';
    while (Date.now() < deadline) {
      const row = (await primary.withAdmin(listStandbys)).find((s) => s.applicationName === standby.name);
      if (row && ready(row)) return;
      last = row ? `${row.state}/${row.syncState}` : 'not connected';
      if (!standby.running) break;
      await sleep(WAIT_STEP_MS);
    }
    throw new Error(`${label(standby)} did not reach the wanted state from ${label(primary)} (last: ${last}):\n${standby.logTail()}`);
  }

  /** One step at a time (the monitor and a caller may both act); the monitor pauses its checks meanwhile. */
  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('the pair is stopped'));
    this.busy++;
    const run = this.queue.catch(() => undefined).then(step).finally(() => {
      this.busy--;
    });
    this.queue = run;
    return run;
  }

  private emit(type: PgPairEventType, node: PgNode, detail?: string): void {
    const event: PgPairEvent = { type, atMs: Date.now(), node: label(node), ...(detail ? { detail } : {}) };
    this.log(`${event.type} ${event.node}${detail ? `: ${detail}` : ''}`);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure is not the pair's
      }
    }
  }
}

const label = (node: PgNode) => `${node.name}:${node.port}`;
const info = (node: PgNode): PgNodeInfo => ({ name: node.name, port: node.port, dataDir: node.dataDir, logFile: node.logFile });

/**
 * pg_isready and a bit more: the node answers within the timeout and is what its role says (the
 * primary not in recovery, the standby in it). One kept connection; when it fails, a fresh one
 * decides (a kept connection also dies when we restart the node on purpose).
 */
class HealthCheck {
  private client: pg.Client | null = null;

  constructor(private readonly node: PgNode, private readonly timeoutMs: number) {}

  async check(role: 'primary' | 'standby'): Promise<boolean> {
    if (this.client) {
      const healthy = await this.ask(this.client, role).catch(() => null);
      if (healthy !== null) return healthy;
      await this.close();
    }
    try {
      this.client = await this.connect();
      return await this.ask(this.client, role);
    } catch {
      await this.close();
      return false;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async ask(client: pg.Client, role: 'primary' | 'standby'): Promise<boolean> {
    const state = await readServerState(client);
    return role === 'primary' ? !state.inRecovery : state.inRecovery;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      host: '127.0.0.1', port: this.node.port, user: 'postgres', database: 'postgres',
      connectionTimeoutMillis: this.timeoutMs, query_timeout: this.timeoutMs, application_name: 'steadfast-pg-monitor',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }
}
