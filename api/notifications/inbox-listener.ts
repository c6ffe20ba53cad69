import type pg from 'pg';
import type { Config } from '../../platform/config.js';
import { childLogger } from '../../platform/log.js';
import { createClient } from '../../store/db.js';
import { INBOX_CHANNEL, listenInbox, probeInboxListener } from '../../store/notifications/inbox.js';

const log = childLogger({ component: 'inbox-listener' });

/**
 * One `LISTEN inbox_messages` connection per API process, fanned out to the open inbox streams
 * (SSE) by tenant and user. The trigger on `inbox_messages` sends `{tenant_id, user_id, id}` at
 * commit. The connection opens with the first subscriber, reconnects with backoff when lost
 * (subscribers then get `resync`: NOTIFYs sent while it was down are gone, so they catch up from
 * the table), and closes when the last subscriber has been gone for `idleCloseMs`.
 *
 * @example
 * const inboxListener = createInboxListener({ connectionString: config.DATABASE_URL });
 * createApp({ ...deps, inboxListener }); // on shutdown: await inboxListener.close()
 */

export type InboxEvent =
  /** A message was committed for the subscriber's user. */
  | { kind: 'message'; id: string }
  /** The LISTEN connection was (re)established: notifications may have been missed. */
  | { kind: 'resync' }
  /** Time to send a keep-alive comment. */
  | { kind: 'heartbeat' }
  /** The listener closed (process shutting down): end the stream. */
  | { kind: 'closed' };

export interface InboxSubscription {
  unsubscribe(): void;
}

export interface InboxListener {
  /** Null when the process, this tenant or this user is at its limit of open streams. */
  subscribe(tenantId: string, userId: string, onEvent: (event: InboxEvent) => void): InboxSubscription | null;
  /** Open subscriptions. */
  readonly size: number;
  /** Whether the LISTEN connection is up. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export interface InboxListenerOptions {
  connectionString: string;
  /** Open streams in this process, in all. */
  subscribersMax?: number;
  /** Per tenant (default: half of `subscribersMax`), so that one tenant cannot take every slot. */
  subscribersPerTenantMax?: number;
  subscribersPerUserMax?: number;
  heartbeatMs?: number;
  idleCloseMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

const DEFAULTS = {
  subscribersMax: 1_000, subscribersPerUserMax: 10, heartbeatMs: 15_000, idleCloseMs: 30_000,
  reconnectInitialMs: 250, reconnectMaxMs: 30_000,
};

/** The stream limits of a configuration (SSE_STREAMS_MAX, SSE_STREAMS_MAX_PER_TENANT, SSE_STREAMS_MAX_PER_USER). */
export function streamLimitsOf(
  config: Pick<Config, 'SSE_STREAMS_MAX' | 'SSE_STREAMS_MAX_PER_TENANT' | 'SSE_STREAMS_MAX_PER_USER'>,
): Pick<InboxListenerOptions, 'subscribersMax' | 'subscribersPerTenantMax' | 'subscribersPerUserMax'> {
  return {
    subscribersMax: config.SSE_STREAMS_MAX,
    subscribersPerTenantMax: config.SSE_STREAMS_MAX_PER_TENANT,
    subscribersPerUserMax: config.SSE_STREAMS_MAX_PER_USER,
  };
}

type Subscriber = (event: InboxEvent) => void;
const keyOf = (tenantId: string, userId: string) => `${tenantId}\u0000${userId}`;

export function createInboxListener(options: InboxListenerOptions): InboxListener {
  const o = { ...DEFAULTS, ...options };
  const perTenantMax = Math.min(o.subscribersMax, o.subscribersPerTenantMax ?? Math.max(1, Math.floor(o.subscribersMax / 2)));
  const byUser = new Map<string, Set<Subscriber>>();
  const byTenant = new Map<string, number>();
  let size = 0;
  let client: pg.Client | null = null;
  let connecting = false;
  let closed = false;
  let heartbeat: NodeJS.Timeout | null = null;
  let idleTimer: NodeJS.Timeout | null = null;
  let backoffTimer: { timer: NodeJS.Timeout; wake: () => void } | null = null;

  const everyone = (event: InboxEvent) => {
    for (const set of byUser.values()) for (const subscriber of set) emit(subscriber, event);
  };

  function onNotification(message: pg.Notification): void {
    if (message.channel !== INBOX_CHANNEL || !message.payload) return;
    let payload: { tenant_id?: unknown; user_id?: unknown; id?: unknown };
    try {
      payload = JSON.parse(message.payload) as typeof payload;
    } catch {
      return;
    }
    if (typeof payload.tenant_id !== 'string' || typeof payload.user_id !== 'string' || typeof payload.id !== 'string') return;
    const set = byUser.get(keyOf(payload.tenant_id, payload.user_id));
    if (set) for (const subscriber of set) emit(subscriber, { kind: 'message', id: payload.id });
  }

  function lost(lostClient: pg.Client, reason: string): void {
    if (client !== lostClient) return;
    client = null;
    lostClient.end().catch(() => undefined);
    if (!closed && size > 0) {
      log.error({ reason }, 'inbox listener connection lost; reconnecting');
      void connect();
    }
  }

  async function connect(): Promise<void> {
    if (connecting || client || closed) return;
    connecting = true;
    try {
      for (let attempt = 0; !closed && size > 0; attempt++) {
        const candidate = createClient(o.connectionString, { keepAlive: true, application_name: 'steadfast-inbox-listener' });
        candidate.on('error', (err) => lost(candidate, err.message));
        candidate.on('end', () => lost(candidate, 'ended'));
        candidate.on('notification', onNotification);
        try {
          await candidate.connect();
          await listenInbox(candidate);
          if (closed || size === 0) {
            await candidate.end().catch(() => undefined);
            return;
          }
          client = candidate;
          everyone({ kind: 'resync' });
          return;
        } catch (err) {
          candidate.removeAllListeners('end');
          await candidate.end().catch(() => undefined);
          if (attempt === 0) log.error({ err }, 'inbox listener cannot connect; retrying with backoff');
          await sleep(Math.min(o.reconnectMaxMs, o.reconnectInitialMs * 2 ** Math.min(attempt, 20)));
        }
      }
    } finally {
      connecting = false;
    }
  }

  /** A backoff wait that close() cuts short. */
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { backoffTimer = null; resolve(); }, ms);
      timer.unref();
      backoffTimer = { timer, wake: resolve };
    });
  }

  function tick(): void {
    everyone({ kind: 'heartbeat' });
    // A silently dead TCP connection would deliver nothing, forever: probe it.
    const current = client;
    if (current) probeInboxListener(current).catch((err: Error) => lost(current, err.message));
  }

  function started(): void {
    if (idleTimer) {
      clearTimeout(idleTimer);
      idleTimer = null;
    }
    if (!heartbeat) {
      heartbeat = setInterval(tick, o.heartbeatMs);
      heartbeat.unref();
    }
    void connect();
  }

  function stoppedLast(): void {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = null;
    idleTimer = setTimeout(() => {
      idleTimer = null;
      const current = client;
      client = null;
      current?.end().catch(() => undefined);
    }, o.idleCloseMs);
    idleTimer.unref();
  }

  return {
    get size() {
      return size;
    },
    get connected() {
      return client !== null;
    },
    subscribe(tenantId, userId, onEvent) {
      if (closed || size >= o.subscribersMax) return null;
      const tenantStreams = byTenant.get(tenantId) ?? 0;
      if (tenantStreams >= perTenantMax) return null;
      const key = keyOf(tenantId, userId);
      const set = byUser.get(key) ?? new Set<Subscriber>();
      if (set.size >= o.subscribersPerUserMax) return null;
      // Each subscription gets its own function identity, so one callback may subscribe twice.
      const subscriber: Subscriber = (event) => onEvent(event);
      set.add(subscriber);
      byUser.set(key, set);
      byTenant.set(tenantId, tenantStreams + 1);
      size++;
      started();
      let active = true;
      return {
        unsubscribe() {
          if (!active) return;
          active = false;
          if (closed) return; // close() has let everyone go already
          set.delete(subscriber);
          if (set.size === 0 && byUser.get(key) === set) byUser.delete(key);
          const left = (byTenant.get(tenantId) ?? 1) - 1;
          if (left > 0) byTenant.set(tenantId, left);
          else byTenant.delete(tenantId);
          size--;
          if (size === 0 && !closed) stoppedLast();
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      everyone({ kind: 'closed' });
      byUser.clear();
      byTenant.clear();
      size = 0;
      if (heartbeat) clearInterval(heartbeat);
      if (idleTimer) clearTimeout(idleTimer);
      if (backoffTimer) {
        clearTimeout(backoffTimer.timer);
        backoffTimer.wake();
      }
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}

function emit(subscriber: Subscriber, event: InboxEvent): void {
  try {
    subscriber(event);
  } catch (err) {
    log.error({ err }, 'inbox subscriber failed');
  }
}
