import pg from 'pg';
import {
  formatPostgresUrl, isMultiHostUrl, parsePostgresUrl, singleHostUrl,
  type HostPort, type PostgresUrl, type TargetSessionAttrs,
} from '../platform/postgres-url.js';
import { childLogger } from '../platform/log.js';

const log = childLogger({ component: 'db' });

/**
 * Several-host connections for node-postgres, which has none (libpq's `host=a,b` +
 * `target_session_attrs`). One `HostSelector` per URL remembers the host that served last; it
 * probes the candidates (a short-lived client each, `pg_is_in_recovery()` and
 * `transaction_read_only`) when nothing is remembered, and forgets a host when a connection to
 * it fails, is lost, or lands on the wrong kind of server. A `Client` subclass asks it for the
 * host before connecting and checks each new session (no round trip on PostgreSQL ≥ 14: the
 * server reports `in_hot_standby` and `default_transaction_read_only` at start-up). store/db.ts
 * builds pools and dedicated clients on them; single-host URLs never come here.
 *
 * @example
 * const pool = createPool('postgres://postgres@127.0.0.1:5432,127.0.0.1:5433/steadfast?target_session_attrs=read-write', 20);
 * hostSelectorFor(url).current; // { host: '127.0.0.1', port: 5433 } after a failover
 */

/** What a session on a server is. */
export interface ServerState {
  inRecovery: boolean;
  readOnly: boolean;
}

/** One round trip: whether the server is a standby, and whether this session can write. */
export async function readServerState(db: pg.ClientBase | pg.Pool): Promise<ServerState> {
  const { rows } = await db.query<{ in_recovery: boolean; read_only: boolean }>(
    `SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') = 'on' AS read_only`,
  );
  return { inRecovery: rows[0]!.in_recovery, readOnly: rows[0]!.read_only };
}

/** libpq's rules: whether a server in `state` serves sessions that need `attrs`. */
export function serves(attrs: TargetSessionAttrs, state: ServerState): boolean {
  switch (attrs) {
    case 'any':
    case 'prefer-standby': // the preference is in the choice of host, not in the check
      return true;
    case 'read-write':
      return !state.inRecovery && !state.readOnly;
    case 'read-only':
      return state.inRecovery || state.readOnly;
    case 'primary':
      return !state.inRecovery;
    case 'standby':
      return state.inRecovery;
    default: {
      const never: never = attrs;
      throw new Error(`unknown target_session_attrs ${String(never)}`);
    }
  }
}

const describeState = (state: ServerState) => (state.inRecovery ? 'a standby' : state.readOnly ? 'a read-only primary' : 'a read-write primary');
export const hostKey = ({ host, port }: HostPort) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** No host of the list serves the session kind the URL asks for (all down, or all the wrong kind). */
export class NoSuitableHostError extends Error {
  override name = 'NoSuitableHostError';
  readonly code = 'no_suitable_host';
}

/**
 * A connection to the remembered host failed or landed on the wrong kind of server: the host is
 * forgotten, and the next attempt probes. The multi-host pool retries once on it.
 */
export class StaleHostError extends Error {
  override name = 'StaleHostError';
  readonly code = 'stale_host';
}

/** A probe's connect and query each wait this long (localhost refuses at once; a black hole waits). */
const PROBE_TIMEOUT_MS = 2_000;

export class HostSelector {
  private remembered: HostPort | null = null;
  /** The last choice, kept when forgotten: a new choice is a change only when it differs from it. */
  private lastChosen: HostPort | null = null;
  private probing: Promise<HostPort> | null = null;
  /** How many times it probed the hosts (each probe connects to every host once). */
  probeCount = 0;
  /** Told when the chosen host changes (a failover); logs by default. */
  onChange: (from: HostPort | null, to: HostPort) => void = (from, to) => {
    if (from) log.warn({ targetSessionAttrs: this.url.targetSessionAttrs, host: hostKey(to), was: hostKey(from) }, 'database host changed');
  };

  constructor(readonly url: PostgresUrl, private readonly probeTimeoutMs = PROBE_TIMEOUT_MS) {}

  /** The host new connections go to, or null until a probe found one. */
  get current(): HostPort | null {
    return this.remembered;
  }

  /** Whether a new session must be checked (`any`, `prefer-standby`: whatever answers will do). */
  get checksSessions(): boolean {
    return this.url.targetSessionAttrs !== 'any' && this.url.targetSessionAttrs !== 'prefer-standby';
  }

  /** The remembered host (`fresh: false`), else the result of a probe (`fresh: true`). */
  async select(): Promise<{ target: HostPort; fresh: boolean }> {
    if (this.remembered) return { target: this.remembered, fresh: false };
    return { target: await this.reprobe(), fresh: true };
  }

  /** Probes every host now (concurrent callers share one probe) and remembers the choice. */
  reprobe(): Promise<HostPort> {
    this.probing ??= this.probeAll().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  /** A connection to `target` failed, was lost, or is the wrong kind: forget it, if it is the remembered host. */
  forget(target: HostPort): void {
    if (this.remembered && hostKey(this.remembered) === hostKey(target)) this.remembered = null;
  }

  private async probeAll(): Promise<HostPort> {
    this.probeCount++;
    type Outcome = { target: HostPort; state: ServerState } | { target: HostPort; error: string };
    const outcomes = await Promise.all(this.url.hosts.map(async (target): Promise<Outcome> => {
      try {
        return { target, state: await this.probe(target) };
      } catch (err) {
        return { target, error: (err as Error).message || String(err) };
      }
    }));
    const attrs = this.url.targetSessionAttrs;
    const answered = outcomes.filter((o): o is { target: HostPort; state: ServerState } => 'state' in o);
    const chosen = attrs === 'prefer-standby'
      ? answered.find((o) => o.state.inRecovery) ?? answered[0]
      : answered.find((o) => serves(attrs, o.state));
    if (!chosen) {
      const each = outcomes.map((o) => `${hostKey(o.target)} ${'state' in o ? `is ${describeState(o.state)}` : `failed (${o.error})`}`);
      throw new NoSuitableHostError(`no host serves target_session_attrs=${attrs}: ${each.join('; ')}`);
    }
    const previous = this.lastChosen;
    this.remembered = chosen.target;
    this.lastChosen = chosen.target;
    if (!previous || hostKey(previous) !== hostKey(chosen.target)) this.onChange(previous, chosen.target);
    return chosen.target;
  }

  private async probe(target: HostPort): Promise<ServerState> {
    const client = new pg.Client({
      connectionString: singleHostUrl(this.url, target),
      connectionTimeoutMillis: this.probeTimeoutMs,
      query_timeout: this.probeTimeoutMs,
      application_name: 'steadfast-host-probe',
    });
    client.on('error', () => undefined); // a probe's failure is its result
    try {
      await client.connect();
      return await readServerState(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Bounded: a process uses a handful of URLs (tests and benchmarks make one per database). */
const SELECTORS_MAX = 64;
const selectors = new Map<string, HostSelector>();

/** The one selector of a several-host URL (pools and dedicated clients of the URL share what it learns). */
export function hostSelectorFor(databaseUrl: string): HostSelector {
  let selector = selectors.get(databaseUrl);
  if (!selector) {
    if (selectors.size >= SELECTORS_MAX) selectors.delete(selectors.keys().next().value!);
    selector = new HostSelector(parsePostgresUrl(databaseUrl));
    selectors.set(databaseUrl, selector);
  }
  return selector;
}

/**
 * A one-host URL of the server that takes writes now (probed, not remembered): for tools that want
 * one host (node-pg-migrate, CREATE DATABASE). The probe goes to the `postgres` database, as the
 * URL's may not exist yet. A one-host URL comes back unchanged.
 */
export async function resolveWritableUrl(databaseUrl: string): Promise<string> {
  if (!isMultiHostUrl(databaseUrl)) return databaseUrl;
  const url = parsePostgresUrl(databaseUrl);
  const target = await hostSelectorFor(formatPostgresUrl({ ...url, database: 'postgres', targetSessionAttrs: 'read-write' })).reprobe();
  return singleHostUrl(url, target);
}

type ConnectCallback = (err: Error | null, client?: pg.Client) => void;

/** The session's kind from what the server reported at start-up (PostgreSQL ≥ 14), or null. */
function reportedState(reported: Map<string, string>): ServerState | null {
  const hotStandby = reported.get('in_hot_standby');
  const readOnly = reported.get('default_transaction_read_only');
  if (hotStandby === undefined || readOnly === undefined) return null;
  return { inRecovery: hotStandby === 'on', readOnly: hotStandby === 'on' || readOnly === 'on' };
}

const clientClasses = new WeakMap<HostSelector, typeof pg.Client>();

/**
 * A `pg.Client` that connects to the host its selector chooses (pg's `_connect` dials
 * `this.host`/`this.port`) and refuses a session of the wrong kind. Give it the URL of one host
 * (`singleHostUrl`) for everything but the address. One attempt per client (a pg client cannot
 * connect twice): a failure on a remembered host is a StaleHostError, and the host is forgotten.
 */
export function multiHostClientClass(selector: HostSelector): typeof pg.Client {
  const existing = clientClasses.get(selector);
  if (existing) return existing;
  class MultiHostClient extends pg.Client {
    readonly #reported = new Map<string, string>();
    /** The host of an established, checked session. */
    #serving: HostPort | null = null;
    #endRequested = false;

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.connection.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
        this.#reported.set(msg.parameterName, msg.parameterValue);
      });
      // Registered before pg's own listener, which may make the pool end() us before a later one runs.
      // A session lost without our asking (the server died, was demoted, killed us): probe next time.
      this.connection.once('end', () => {
        if (this.#serving && !this.#endRequested) selector.forget(this.#serving);
      });
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
    override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | void {
      const connected = this.#connectToSelected().then(() => this as pg.Client);
      if (!callback) return connected;
      const done = callback as ConnectCallback;
      connected.then((client) => done(null, client), (err: Error) => done(err));
    }

    override end(): Promise<void>;
    override end(callback: (err: Error) => void): void;
    override end(callback?: (err: Error) => void): Promise<void> | void {
      this.#endRequested = true;
      return callback ? super.end(callback) : super.end();
    }

    async #connectToSelected(): Promise<void> {
      const { target, fresh } = await selector.select();
      // The pool's connectionTimeoutMillis destroys the socket; while we probed, it may have.
      if (this.connection.stream.destroyed) throw new Error('Connection terminated due to connection timeout (while choosing a host)');
      this.host = target.host;
      this.port = target.port;
      try {
        await super.connect();
      } catch (err) {
        selector.forget(target);
        if (fresh) throw err;
        throw new StaleHostError(`the remembered host ${hostKey(target)} failed: ${(err as Error).message}`, { cause: err });
      }
      if (selector.checksSessions) {
        const state = reportedState(this.#reported) ?? await readServerState(this);
        if (!serves(selector.url.targetSessionAttrs, state)) {
          selector.forget(target);
          await this.end().catch(() => undefined);
          const message = `${hostKey(target)} is ${describeState(state)}, not target_session_attrs=${selector.url.targetSessionAttrs}`;
          throw fresh ? new NoSuitableHostError(message) : new StaleHostError(message);
        }
      }
      this.#serving = target;
    }
  }
  clientClasses.set(selector, MultiHostClient);
  return MultiHostClient;
}

type PoolConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: boolean | Error) => void) => void;
const noop = () => undefined;

/**
 * A pool whose `connect` (and so `query`) tries a second time when the first attempt went to a
 * remembered host that turned out dead or of the wrong kind: the second probes. So a failover
 * costs the queries that were on the old primary, not the next one after it.
 */
export class MultiHostPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: PoolConnectCallback): void;
  override connect(callback?: PoolConnectCallback): Promise<pg.PoolClient> | void {
    const connected = super.connect().catch((err: unknown) => {
      if (err instanceof StaleHostError) return super.connect();
      throw err;
    });
    if (!callback) return connected;
    connected.then((client) => callback(undefined, client, client.release), (err: Error) => callback(err, undefined, noop));
  }
}

/** pg options for a several-host URL: the first host's URL for everything but the address, and the selecting client. */
export function multiHostClientOptions(databaseUrl: string): { connectionString: string; Client: typeof pg.Client } {
  const selector = hostSelectorFor(databaseUrl);
  return { connectionString: singleHostUrl(selector.url, selector.url.hosts[0]!), Client: multiHostClientClass(selector) };
}
