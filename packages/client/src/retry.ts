/** How the client retries (contract §0: idempotency, rate limits). Every field has a default. */
export interface RetryOptions {
  /** Attempts per call, the first included (default 4). 1: never retry. */
  attemptsMax?: number;
  /** The first backoff's upper bound; each retry doubles it, up to `maxDelayMs` (defaults 250, 8000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the 429 or 503 is returned (default 60000). */
  retryAfterMaxMs?: number;
  /** One attempt's time limit; a timed-out attempt counts as a network error (default 30000). */
  attemptTimeoutMs?: number;
}

const DEFAULTS: Required<RetryOptions> = {
  attemptsMax: 4, initialDelayMs: 250, maxDelayMs: 8_000, retryAfterMaxMs: 60_000, attemptTimeoutMs: 30_000,
};

const ATTEMPTS_LIMIT = 10;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const RETRYABLE_5XX = new Set([500, 502, 503, 504]);

type Fetch = (request: Request) => Promise<Response>;

/**
 * A `fetch` for openapi-fetch that makes every call safe to retry and retries it:
 * - every POST carries an `Idempotency-Key` (the caller's, or one generated for this call), the
 *   same on each attempt, so the API does the work once and replays its first answer;
 * - `429` is retried after `Retry-After` (any method: a refused request did nothing);
 * - `409 idempotency_key_in_use` (the first attempt is still running) is retried with backoff;
 *   every other 409 and every 4xx is a business answer, returned at once;
 * - `5xx` and network errors are retried only when the request is safe to repeat: GET/HEAD, or a
 *   POST with its key (PUT, DELETE and PATCH are returned as they are).
 * Backoff is "full jitter" (a random delay up to a doubling bound), so many clients spread out.
 */
export function retryingFetch(options: RetryOptions = {}, baseFetch: Fetch = (request) => globalThis.fetch(request)): Fetch {
  const settings = { ...DEFAULTS, ...options };
  if (!Number.isInteger(settings.attemptsMax) || settings.attemptsMax < 1 || settings.attemptsMax > ATTEMPTS_LIMIT) {
    throw new RangeError(`attemptsMax must be an integer from 1 to ${ATTEMPTS_LIMIT}`);
  }
  return async function fetchWithRetries(request) {
    const method = request.method.toUpperCase();
    const headers = new Headers(request.headers);
    if (method === 'POST' && !headers.has('idempotency-key')) headers.set('idempotency-key', crypto.randomUUID());
    // The API honours the key on POST only (a PUT or DELETE with one is not made safe by it).
    const safe = SAFE_METHODS.has(method) || (method === 'POST' && headers.has('idempotency-key'));
    // Read once: each attempt sends the same bytes.
    const body = request.body === null ? undefined : await request.arrayBuffer();

    for (let attempt = 1; ; attempt++) {
      const last = attempt >= settings.attemptsMax;
      // The limit is on the answer's headers: once they are in, the body is read without one.
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${settings.attemptTimeoutMs} ms`)), settings.attemptTimeoutMs);
      const signal = AbortSignal.any([request.signal, timeout.signal]);
      let response: Response;
      try {
        response = await baseFetch(new Request(request.url, { method, headers, body, signal, redirect: request.redirect }));
      } catch (error) {
        if (last || !safe || request.signal.aborted) throw error;
        await sleep(backoffMs(attempt, settings), request.signal);
        continue;
      } finally {
        clearTimeout(timer);
      }
      const waitMs = last ? null : await retryDelayMs(response, attempt, safe, settings);
      if (waitMs === null) return response;
      await response.body?.cancel();
      await sleep(waitMs, request.signal);
    }
  };
}

/** How long to wait before the next attempt, or null: this answer is the call's answer. */
async function retryDelayMs(response: Response, attempt: number, safe: boolean, settings: Required<RetryOptions>): Promise<number | null> {
  const { status } = response;
  if (status === 429 || (status === 503 && safe)) {
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
    if (retryAfterMs === null) return backoffMs(attempt, settings);
    return retryAfterMs <= settings.retryAfterMaxMs ? retryAfterMs : null;
  }
  if (status === 409 && (await errorCodeOf(response)) === 'idempotency_key_in_use') return backoffMs(attempt, settings);
  if (RETRYABLE_5XX.has(status) && safe) return backoffMs(attempt, settings);
  return null;
}

async function errorCodeOf(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** Full jitter: uniform in [0, min(max, initial × 2^(attempt-1))]. */
function backoffMs(attempt: number, settings: Required<RetryOptions>): number {
  const boundMs = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** (attempt - 1));
  return Math.random() * boundMs;
}

/** `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const atMs = Date.parse(trimmed);
  return Number.isNaN(atMs) ? null : Math.max(0, atMs - nowMs);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
