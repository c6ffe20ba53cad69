import { DeliveryError } from './types.js';

/** Connection errors raised before the request left this machine: the provider saw nothing. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export interface HttpAnswer {
  status: number;
  json: unknown;
}

/**
 * One provider call: never follows redirects, gives up after `timeoutMs`. A call that gets no
 * answer throws a retryable DeliveryError (`unreachable` or `timeout`); any answer is returned.
 * `readBody: false` discards the body unread (a merchant's endpoint can answer anything).
 */
export async function callProvider(
  url: string,
  init: { headers: Record<string, string>; body: string; timeoutMs: number; readBody?: boolean },
): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST', headers: init.headers, body: init.body, redirect: 'manual', signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (err) {
    throw noAnswer(url, err);
  }
  if (init.readBody === false) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, json: null };
  }
  try {
    // Push and SMS providers are known services answering small JSON: read it whole.
    return { status: res.status, json: parseJson(await res.text()) };
  } catch (err) {
    throw noAnswer(url, err);
  }
}

/** The usual reading of an HTTP failure status: 408, 429 and 5xx are worth retrying, other 4xx are not. */
export function statusError(what: string, status: number, detail = ''): DeliveryError {
  const suffix = detail ? `: ${detail}` : '';
  if (status === 408 || status === 429 || status >= 500) {
    return new DeliveryError(`${what} answered ${status}${suffix}`, true, status, 'provider_unavailable');
  }
  if (status === 401 || status === 403) return new DeliveryError(`${what} refused our credentials (${status})${suffix}`, true, status, 'auth_failed');
  if (status >= 400) return new DeliveryError(`${what} refused the request (${status})${suffix}`, false, status, 'rejected');
  return new DeliveryError(`${what} answered an unexpected ${status}${suffix}`, true, status, 'unexpected_response');
}

function noAnswer(url: string, err: unknown): DeliveryError {
  const name = (err as { name?: string }).name;
  const host = safeHost(url);
  if (name === 'TimeoutError' || name === 'AbortError') return new DeliveryError(`${host} did not answer in time`, true, undefined, 'timeout');
  const cause = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  const codes = [cause?.code, ...(cause?.errors ?? []).map((e) => e.code)];
  if (codes.some((code) => code !== undefined && NEVER_SENT_CODES.has(code))) {
    return new DeliveryError(`${host} unreachable: ${codes.filter(Boolean).join(', ')}`, true, undefined, 'unreachable');
  }
  // Reset mid-request and the like: the provider may have acted; the retry carries the same key.
  return new DeliveryError(`${host} gave no answer: ${cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))}`, true, undefined, 'timeout');
}

/** Host and port only: a webhook URL's path or query may carry a merchant's token. */
export function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'provider';
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return null;
  }
}
