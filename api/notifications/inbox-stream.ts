import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type pg from 'pg';
import { getInboxMessage, inboxMessagesAfter, type InboxMessage } from '../../store/notifications/inbox.js';
import { ApiError } from '../errors.js';
import { sendError } from '../middleware/errors.js';
import { firstIdAt } from '../../domain/ids.js';
import type { InboxEvent, InboxListener } from './inbox-listener.js';

/**
 * `GET /v1/users/:user_id/inbox/stream` (SSE): with `Last-Event-ID`, first the user's messages
 * after it (oldest first), then every new one as it is committed. Each message is sent once per
 * stream (ids seen are remembered, boundedly); a missed wake-up (listener reconnect, a client too
 * slow for its queue) is made good by catching up from the table after the last id sent.
 */

const PENDING_MAX = 100;
const SENT_REMEMBERED_MAX = 1_000;
const CATCH_UP_PAGE = 100;
const CATCH_UP_PAGES_MAX = 5;
/** Tells EventSource clients how long to wait before reconnecting. */
const CLIENT_RETRY_MS = 3_000;
/** Streams are long-lived: a slot frees when one closes, so a refused client should not retry at once. */
const STREAMS_FULL_RETRY_AFTER_S = 10;

/**
 * Over a cap (the user's, the tenant's share, or the process total): `429 rate_limited` with
 * Retry-After, as for any refused request (contract §7). The process total counts too: each API
 * instance holds its own streams, so the retry may land on one with room.
 */
export function tooManyStreams(): ApiError {
  return new ApiError(429, 'rate_limit_error', 'rate_limited',
    `Too many open inbox streams for this user, tenant or server; close one or retry after ${STREAMS_FULL_RETRY_AFTER_S} s.`);
}

export interface InboxStreamOptions {
  pool: pg.Pool;
  listener: InboxListener;
  tenantId: string;
  userId: string;
  lastEventId: string | undefined;
}

export function streamInbox(c: Context, options: InboxStreamOptions): Response {
  const session = new InboxSession(options);
  // Subscribe before the replay reads the table: a message committed in between is not lost.
  const subscription = options.listener.subscribe(options.tenantId, options.userId, (event) => session.push(event));
  if (!subscription) {
    const refused = sendError(c, tooManyStreams());
    refused.headers.set('Retry-After', String(STREAMS_FULL_RETRY_AFTER_S));
    return refused;
  }
  c.header('X-Accel-Buffering', 'no'); // proxies must not buffer the stream
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => session.stop());
    try {
      await session.run(stream);
    } finally {
      subscription.unsubscribe();
    }
  });
}

class InboxSession {
  private readonly pending: string[] = [];
  private readonly sent = new Set<string>();
  private cursor: string | null;
  private resync: boolean;
  private heartbeat = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly openedAtMs = Date.now();

  constructor(private readonly o: InboxStreamOptions) {
    this.cursor = o.lastEventId ?? null;
    this.resync = o.lastEventId !== undefined;
  }

  push(event: InboxEvent): void {
    switch (event.kind) {
      case 'message':
        if (this.pending.length < PENDING_MAX) this.pending.push(event.id);
        else this.resync = true; // too far behind: catch up from the table instead
        break;
      case 'resync':
        this.resync = true;
        break;
      case 'heartbeat':
        this.heartbeat = true;
        break;
      case 'closed':
        this.stopped = true;
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown inbox event ${JSON.stringify(unreachable)}`);
      }
    }
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async run(stream: SSEStreamingApi): Promise<void> {
    await stream.write(`retry: ${CLIENT_RETRY_MS}\n\n`);
    while (!this.stopped) {
      if (this.resync) {
        this.resync = false;
        await this.catchUp(stream);
      } else if (this.pending.length > 0) {
        const id = this.pending.shift()!;
        if (!this.sent.has(id)) {
          const message = await getInboxMessage(this.o.pool, this.o.tenantId, this.o.userId, id);
          if (message) await this.send(stream, message);
        }
      } else if (this.heartbeat) {
        this.heartbeat = false;
        await stream.write(': heartbeat\n\n');
      } else {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    }
  }

  /** Sends what the table has after the last id sent (or after the stream opened). */
  private async catchUp(stream: SSEStreamingApi): Promise<void> {
    let after = this.cursor ?? firstIdAt('inboxMessage', this.openedAtMs);
    for (let page = 0; page < CATCH_UP_PAGES_MAX && !this.stopped; page++) {
      const messages = await inboxMessagesAfter(this.o.pool, this.o.tenantId, this.o.userId, after, CATCH_UP_PAGE);
      for (const message of messages) {
        if (!this.sent.has(message.id)) await this.send(stream, message);
        after = message.id;
      }
      if (messages.length < CATCH_UP_PAGE) return;
    }
    this.resync = true; // more to send: continue in the next round
  }

  private async send(stream: SSEStreamingApi, message: InboxMessage): Promise<void> {
    await stream.writeSSE({ event: 'message', id: message.id, data: JSON.stringify(message) });
    this.sent.add(message.id);
    if (this.sent.size > SENT_REMEMBERED_MAX) this.sent.delete(this.sent.values().next().value!);
    if (this.cursor === null || message.id > this.cursor) this.cursor = message.id;
  }
}
