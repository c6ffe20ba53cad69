import { callProvider, statusError } from './http.js';
import { DeliveryError, type PushMessage, type PushSender } from './types.js';

export interface PushSenderOptions {
  /** The FCM-like API's base, e.g. `http://127.0.0.1:4020/push` (config PUSH_PROVIDER_URL). */
  baseUrl: string;
  /** Tokens per call, 1..1000 (config PUSH_BATCH_SIZE). */
  batchSize: number;
  /** Per call (config PROVIDER_TIMEOUT_MS). */
  timeoutMs: number;
}

/** A user with more devices than this is a bug upstream, not a reason to make 20 calls. */
export const PUSH_TOKENS_MAX = 10_000;
const BATCH_SIZE_MAX = 1_000;
/** FCM per-token errors that retrying cannot fix; any other per-token error is transient. */
const PERMANENT_TOKEN_ERRORS = new Set(['UNREGISTERED', 'INVALID_ARGUMENT', 'SENDER_ID_MISMATCH']);

type TokenResult = { token: string; message_id?: string; error?: string };

/**
 * Push over an FCM-like batch API: one call per `batchSize` tokens, in order, each with the
 * idempotency key `<key>:<batch index>` so a retried send re-sends nothing the provider already
 * accepted. Tokens the provider no longer knows come back as `rejectedTokens` (the caller may
 * drop them); if none was accepted the send fails for good.
 *
 * @example
 * const push = createPushSender({ baseUrl: config.PUSH_PROVIDER_URL, batchSize: 500, timeoutMs: 5_000 });
 * const { rejectedTokens } = await push.send({ tokens, title, body, idempotencyKey: deliveryId });
 */
export function createPushSender(options: PushSenderOptions): PushSender {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > BATCH_SIZE_MAX) {
    throw new RangeError(`push batchSize must be 1..${BATCH_SIZE_MAX}, got ${options.batchSize}`);
  }
  const url = `${options.baseUrl.replace(/\/$/, '')}/v1/send-batch`;

  async function sendBatch(message: PushMessage, tokens: string[], index: number): Promise<TokenResult[]> {
    const { status, json } = await callProvider(url, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tokens, notification: { title: message.title, body: message.body }, idempotency_key: `${message.idempotencyKey}:${index}` }),
      timeoutMs: options.timeoutMs,
    });
    if (status !== 200) throw statusError('push provider', status, errorMessage(json));
    const results = (json as { results?: unknown } | null)?.results;
    if (!Array.isArray(results) || results.length !== tokens.length) {
      throw new DeliveryError(`push provider answered ${results === undefined ? 'no results' : 'a result per token mismatch'}`, true, status, 'unexpected_response');
    }
    return results as TokenResult[];
  }

  return {
    async send(message) {
      const tokens = [...new Set(message.tokens)];
      if (tokens.length === 0) throw new DeliveryError('no push token to send to', false, undefined, 'recipient_rejected');
      if (tokens.length > PUSH_TOKENS_MAX) throw new DeliveryError(`more than ${PUSH_TOKENS_MAX} push tokens`, false, undefined, 'rejected');
      const messageIds: string[] = [];
      const rejectedTokens: string[] = [];
      let transient = 0;
      for (let start = 0, index = 0; start < tokens.length; start += options.batchSize, index++) {
        for (const result of await sendBatch(message, tokens.slice(start, start + options.batchSize), index)) {
          if (typeof result.message_id === 'string') messageIds.push(result.message_id);
          else if (PERMANENT_TOKEN_ERRORS.has(String(result.error))) rejectedTokens.push(result.token);
          else transient += 1;
        }
      }
      // Retry the whole send: batches already accepted replay by key and send nothing twice.
      if (transient > 0) throw new DeliveryError(`push provider failed ${transient} token(s) for now`, true, 200, 'provider_unavailable');
      if (messageIds.length === 0) {
        throw new DeliveryError(`push provider rejected all ${tokens.length} token(s)`, false, 200, 'tokens_unregistered');
      }
      return { providerMessageId: messageIds[0] ?? null, responseStatus: 200, rejectedTokens };
    },
  };
}

function errorMessage(json: unknown): string {
  const error = (json as { error?: { message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' ? error.message.slice(0, 200) : '';
}
