import { callProvider, statusError } from './http.js';
import { DeliveryError, type PushItem, type PushItemResult, type PushSender } from './types.js';

export interface PushSenderOptions {
  /** The FCM-like API's base, e.g. `http://127.0.0.1:4020/push` (config PUSH_PROVIDER_URL). */
  baseUrl: string;
  /** Messages per provider call, 1..1000 (config PUSH_BATCH_SIZE). */
  batchSize: number;
  /**
   * How long a message may wait for others to share its provider call (config PUSH_BATCH_WINDOW,
   * default 1 s): a call goes out when `batchSize` messages wait or the first of them has waited
   * this long, whichever comes first. 0 sends at once.
   */
  windowMs: number;
  /** Per call (config PROVIDER_TIMEOUT_MS). */
  timeoutMs: number;
}

/** A user with more devices than this is a bug upstream, not a reason to make 20 calls. */
export const PUSH_TOKENS_MAX = 10_000;
const BATCH_SIZE_MAX = 1_000;
/** FCM per-token errors that retrying cannot fix; any other per-token error is transient. */
const PERMANENT_TOKEN_ERRORS = new Set(['UNREGISTERED', 'INVALID_ARGUMENT', 'SENDER_ID_MISMATCH']);

type Waiting = { item: PushItem; settle: (outcome: PushItemResult | DeliveryError) => void };

/**
 * Push over an FCM-like `send-each` API, batched ACROSS messages: every message of this process
 * (single notifications' deliveries and broadcast pages alike) joins one queue, and one provider
 * call carries up to `batchSize` of them — when that many wait, or when the oldest has waited
 * `windowMs`. Each message to a token carries its own idempotency key (`<key>` of the delivery,
 * per token at the provider), so a retried send re-sends nothing the provider already accepted,
 * whichever call it rides in. Tokens the provider no longer knows come back rejected (the caller
 * removes them); a message none of whose tokens was accepted fails for good.
 *
 * @example
 * const push = createPushSender({ baseUrl: config.PUSH_PROVIDER_URL, batchSize: 500, windowMs: 1_000, timeoutMs: 5_000 });
 * const { rejectedTokens } = await push.send({ tokens, title, body, idempotencyKey: deliveryId });
 * await push.close(); // sends what still waits
 */
export function createPushSender(options: PushSenderOptions): PushSender {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > BATCH_SIZE_MAX) {
    throw new RangeError(`push batchSize must be 1..${BATCH_SIZE_MAX}, got ${options.batchSize}`);
  }
  const url = `${options.baseUrl.replace(/\/$/, '')}/v1/send-each`;
  const waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | null = null;
  const inFlight = new Set<Promise<void>>();

  async function call(batch: Waiting[]): Promise<void> {
    try {
      const { status, json } = await callProvider(url, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: batch.map(({ item }) => ({
            token: item.token, notification: { title: item.title, body: item.body }, idempotency_key: item.idempotencyKey,
          })),
        }),
        timeoutMs: options.timeoutMs,
      });
      if (status !== 200) throw statusError('push provider', status, errorMessage(json));
      const results = (json as { results?: unknown } | null)?.results;
      if (!Array.isArray(results) || results.length !== batch.length) {
        throw new DeliveryError(`push provider answered ${results === undefined ? 'no results' : 'a result per message mismatch'}`, true, status, 'unexpected_response');
      }
      batch.forEach((w, i) => w.settle(resultOf(w.item.token, results[i] as { message_id?: unknown; error?: unknown })));
    } catch (err) {
      const failure = err instanceof DeliveryError ? err : new DeliveryError(String(err), true, undefined, 'unexpected_response');
      for (const w of batch) w.settle(failure);
    }
  }

  function dispatch(batch: Waiting[]): void {
    const sent = call(batch).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }

  /** Sends everything waiting now, in calls of at most `batchSize`. */
  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    while (waiting.length > 0) dispatch(waiting.splice(0, options.batchSize));
  }

  /** Queues the items; full batches go at once, the rest when the window closes (or now, `flush`). */
  function enqueue(items: PushItem[], sendNow: boolean): Promise<(PushItemResult | DeliveryError)[]> {
    const outcomes = items.map((item) => new Promise<PushItemResult | DeliveryError>((settle) => waiting.push({ item, settle })));
    while (waiting.length >= options.batchSize) dispatch(waiting.splice(0, options.batchSize));
    if (waiting.length === 0 && timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (waiting.length > 0 && (sendNow || options.windowMs === 0)) flush();
    else if (waiting.length > 0 && !timer) timer = setTimeout(flush, options.windowMs);
    return Promise.all(outcomes);
  }

  return {
    async send(message) {
      const tokens = [...new Set(message.tokens)];
      if (tokens.length === 0) throw new DeliveryError('no push token to send to', false, undefined, 'recipient_rejected');
      if (tokens.length > PUSH_TOKENS_MAX) throw new DeliveryError(`more than ${PUSH_TOKENS_MAX} push tokens`, false, undefined, 'rejected');
      const outcomes = await enqueue(tokens.map((token) => ({ token, title: message.title, body: message.body, idempotencyKey: message.idempotencyKey })), false);
      // A failed call: retry the whole send; what the provider took replays by key, nothing twice.
      const failure = outcomes.find((o): o is DeliveryError => o instanceof DeliveryError);
      if (failure) throw failure;
      const results = outcomes as PushItemResult[];
      const messageIds = results.flatMap((r) => ('messageId' in r ? [r.messageId] : []));
      const rejectedTokens = results.flatMap((r) => ('error' in r && r.permanent ? [r.token] : []));
      const transient = results.length - messageIds.length - rejectedTokens.length;
      if (transient > 0) throw new DeliveryError(`push provider failed ${transient} token(s) for now`, true, 200, 'provider_unavailable');
      if (messageIds.length === 0) {
        throw new DeliveryError(`push provider rejected all ${tokens.length} token(s)`, false, 200, 'tokens_unregistered');
      }
      return { providerMessageId: messageIds[0] ?? null, responseStatus: 200, rejectedTokens };
    },

    async sendEach(items, { flush: sendNow = false } = {}) {
      if (items.length === 0) return [];
      const outcomes = await enqueue(items, sendNow);
      const failure = outcomes.find((o): o is DeliveryError => o instanceof DeliveryError);
      if (failure) throw failure;
      return outcomes as PushItemResult[];
    },

    async close() {
      flush();
      await Promise.all([...inFlight]);
    },
  };
}

function resultOf(token: string, result: { message_id?: unknown; error?: unknown }): PushItemResult {
  if (typeof result.message_id === 'string') return { token, messageId: result.message_id };
  const error = String(result.error ?? 'UNKNOWN');
  return { token, error, permanent: PERMANENT_TOKEN_ERRORS.has(error) };
}

function errorMessage(json: unknown): string {
  const error = (json as { error?: { message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' ? error.message.slice(0, 200) : '';
}
