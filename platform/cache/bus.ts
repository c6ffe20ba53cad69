import type { Redis } from 'ioredis';

/** What the bus tells its cache: drop these keys, or drop everything (messages may have been missed). */
export interface BusHandlers {
  invalidate(keys: readonly string[]): void;
  flush(reason: 'subscribed' | 'disconnected' | 'bad_message'): void;
  /** The subscription state changed (also for logs and tests). */
  state(up: boolean, detail?: string): void;
}

export interface InvalidationBus {
  /** True while subscribed: only then may the cache trust its L1. */
  readonly up: boolean;
  publish(keys: readonly string[]): Promise<void>;
  /** Resolves once subscribed (after a reconnect too), or rejects after `timeoutMs`. */
  whenUp(timeoutMs: number): Promise<void>;
  close(): void;
}

const MESSAGE_KEYS_MAX = 100;

/**
 * Invalidation over Redis pub/sub on a subscriber connection of its own (`redis.duplicate`, named
 * `connectionName` so operators and tests can find it in `CLIENT LIST`).
 *
 * Pub/sub is at-most-once: a message published while the subscriber is disconnected is lost. So
 * the bus reports `up = false` from the moment the connection closes (the cache stops using L1) and
 * asks for a full L1 flush both then and once it is subscribed again. It subscribes itself on every
 * `ready` (`autoResubscribe: false`) to know exactly when the subscription is back.
 *
 * @example const bus = createInvalidationBus(redis, { channel, connectionName }, handlers)
 */
export function createInvalidationBus(
  redis: Redis,
  options: { channel: string; connectionName: string },
  handlers: BusHandlers,
): InvalidationBus {
  const { channel } = options;
  const subscriber = redis.duplicate({ connectionName: options.connectionName, autoResubscribe: false, lazyConnect: false });
  let up = false;
  let closed = false;
  let waiters: (() => void)[] = [];

  function setUp(next: boolean, detail?: string): void {
    if (up === next) return;
    up = next;
    handlers.state(next, detail);
    if (next) for (const wake of waiters.splice(0)) wake();
  }

  subscriber.on('ready', function onSubscriberReady() {
    subscriber.subscribe(channel).then(
      () => {
        if (closed) return;
        // Anything published between the disconnect and now was missed: start L1 from empty.
        handlers.flush('subscribed');
        setUp(true);
      },
      (err: Error) => {
        if (closed) return; // closed while subscribing: nothing is down
        handlers.state(false, `subscribe failed: ${err.message}`);
        subscriber.disconnect(true);
      },
    );
  });
  subscriber.on('close', function onSubscriberClose() {
    if (up) handlers.flush('disconnected');
    setUp(false, 'subscriber connection closed');
  });
  subscriber.on('error', (err: Error) => handlers.state(up, `subscriber error: ${err.message}`));
  subscriber.on('message', function onInvalidation(from: string, text: string) {
    if (from !== channel) return;
    const keys = parseMessage(text);
    if (keys === null) handlers.flush('bad_message');
    else handlers.invalidate(keys);
  });

  return {
    get up() {
      return up;
    },
    async publish(keys) {
      for (let i = 0; i < keys.length; i += MESSAGE_KEYS_MAX) {
        await redis.publish(channel, JSON.stringify({ keys: keys.slice(i, i + MESSAGE_KEYS_MAX) }));
      }
    },
    whenUp(timeoutMs) {
      if (up) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== wake);
          reject(new Error(`cache bus not subscribed within ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push(wake);
      });
    },
    close() {
      closed = true;
      setUp(false, 'closed');
      subscriber.disconnect();
    },
  };
}

/** `{ keys: string[] }`, else null (the cache then flushes: better a miss than a stale hit). */
function parseMessage(text: string): string[] | null {
  try {
    const message = JSON.parse(text) as { keys?: unknown };
    const keys = message.keys;
    if (!Array.isArray(keys) || keys.length > MESSAGE_KEYS_MAX) return null;
    if (!keys.every((k): k is string => typeof k === 'string' && k.length <= 400)) return null;
    return keys;
  } catch {
    return null;
  }
}

/** The subscribers of each in-process channel (single-instance mode): every cache of this process on that channel. */
const localChannels = new Map<string, Set<BusHandlers>>();

/**
 * Invalidation inside this process only (single-instance mode: no Redis, so no other instance to
 * tell): `publish` delivers to every cache of the process on the same channel, at once. Always up;
 * `close()` unsubscribes.
 *
 * @example const bus = createLocalInvalidationBus({ channel }, handlers)
 */
export function createLocalInvalidationBus(options: { channel: string }, handlers: BusHandlers): InvalidationBus {
  const { channel } = options;
  const subscribers = localChannels.get(channel) ?? new Set<BusHandlers>();
  localChannels.set(channel, subscribers);
  subscribers.add(handlers);
  let up = true;
  return {
    get up() {
      return up;
    },
    async publish(keys) {
      for (const subscriber of [...(localChannels.get(channel) ?? [])]) subscriber.invalidate(keys);
    },
    whenUp(timeoutMs) {
      return up ? Promise.resolve() : Promise.reject(new Error(`cache bus closed (waited ${timeoutMs} ms)`));
    },
    close() {
      if (!up) return;
      up = false;
      subscribers.delete(handlers);
      if (subscribers.size === 0) localChannels.delete(channel);
      handlers.state(false, 'closed');
    },
  };
}
