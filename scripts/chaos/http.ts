import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The chaos workload's HTTP client: a careful Stripe-style caller. One logical request is sent
 * with the same Idempotency-Key and the same bytes until it gets a definitive answer (2xx, or a
 * 4xx other than "try again later"), riding out outages with a bounded, jittered backoff.
 */

/** How long and how hard a logical request is retried. */
export interface RetryPolicy {
  /** One attempt gives up after this (then it counts as a network error and is retried). */
  requestTimeoutMs: number;
  /** A logical request stops retrying this long after its first attempt (null answer). */
  retryForMs: number;
  /** Backoff after the first failed attempt; doubles up to `backoffMaxMs` (full jitter). */
  backoffMinMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  requestTimeoutMs: 30_000,
  // Long enough to ride out a ~60 s outage plus a 60 s idempotency-lock takeover after an API crash.
  retryForMs: 180_000,
  backoffMinMs: 100,
  backoffMaxMs: 2_000,
};

/** A definitive answer as received: status, exact text, parsed JSON (null when not JSON). */
export interface Answer {
  status: number;
  text: string;
  body: unknown;
  /** The `Idempotent-Replayed: true` header was present. */
  replayed: boolean;
  atMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Path and query, e.g. `/v1/transfers`. */
  path: string;
  /** The exact bytes sent on every attempt (JSON). */
  bodyText?: string;
  idempotencyKey?: string;
  /** Headers per attempt (Authorization, Steadfast-Actor: a token can expire between attempts). */
  headers: () => Promise<Record<string, string>> | Record<string, string>;
}

/** The bounded log of why attempts were retried. */
export interface RetryLog {
  attempts: number;
  /** The first and the last few reasons (bounded: a long outage retries hundreds of times). */
  reasons: { atMs: number; reason: string }[];
}

const REASONS_KEPT = 8;

/** 2xx, or a 4xx the client must not retry (429 and 409 idempotency_key_in_use say "later"). */
export function isDefinitive(status: number, body: unknown): boolean {
  if (status >= 200 && status < 300) return true;
  if (status === 429 || status >= 500 || status < 200) return false;
  if (status === 409 && errorCodeOf(body) === 'idempotency_key_in_use') return false;
  return status >= 400;
}

/** `error.code` of a contract error body, if any. */
export function errorCodeOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const error = (body as { error?: unknown }).error;
  if (error === null || typeof error !== 'object') return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** One attempt: an answer, or the network error that stopped it. */
export async function sendOnce(
  baseUrl: string, request: HttpRequest, timeoutMs: number, signal?: AbortSignal,
): Promise<{ answer: Answer; retryAfterMs: number | null } | { error: string }> {
  const headers: Record<string, string> = { ...(await request.headers()) };
  if (request.bodyText !== undefined) headers['content-type'] = 'application/json';
  if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(`${baseUrl}${request.path}`, {
      method: request.method, headers, body: request.bodyText,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    const retryAfter = Number(res.headers.get('retry-after'));
    return {
      answer: { status: res.status, text, body: parseJson(text), replayed: res.headers.get('idempotent-replayed') === 'true', atMs: Date.now() },
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1_000 : null,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { error: timeout.aborted ? 'timeout' : cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

/**
 * Sends until a definitive answer (see `isDefinitive`), the retry horizon or `signal` ends it
 * (null). `log` counts attempts and keeps a bounded list of retry reasons.
 */
export async function sendUntilAnswered(
  baseUrl: string, request: HttpRequest, policy: RetryPolicy, log: RetryLog, signal?: AbortSignal,
): Promise<Answer | null> {
  const giveUpAtMs = Date.now() + policy.retryForMs;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) return null;
    log.attempts++;
    const result = await sendOnce(baseUrl, request, policy.requestTimeoutMs, signal);
    if ('answer' in result && isDefinitive(result.answer.status, result.answer.body)) return result.answer;
    const reason = 'answer' in result ? `${result.answer.status} ${errorCodeOf(result.answer.body) ?? ''}`.trim() : result.error;
    note(log, reason);
    const backoffMs = Math.random() * Math.min(policy.backoffMaxMs, policy.backoffMinMs * 2 ** attempt);
    const waitMs = Math.min('retryAfterMs' in result && result.retryAfterMs !== null ? result.retryAfterMs : backoffMs, 5_000);
    if (Date.now() + waitMs >= giveUpAtMs) return null;
    const slept = await sleep(waitMs, true, { signal }).catch(() => false);
    if (!slept) return null;
  }
}

function note(log: RetryLog, reason: string): void {
  const entry = { atMs: Date.now(), reason };
  if (log.reasons.length < REASONS_KEPT) log.reasons.push(entry);
  else log.reasons[REASONS_KEPT - 1] = entry; // the first ones, and always the latest
}

/** Runs `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
