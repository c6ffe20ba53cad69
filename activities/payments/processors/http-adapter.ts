import { ProcessorOutcomeUnknown, ProcessorRequestRejected, ProcessorUnavailable } from './errors.js';
import { WIRE_KIND, lookupWire, readResult } from './wire.js';
import type { OperationKind, OperationResults, ProcessorAdapter } from './types.js';

export interface HttpProcessorAdapterOptions {
  /** Where the processors service answers, e.g. `http://127.0.0.1:4010` (config PROCESSORS_URL). */
  baseUrl: string;
  processor: string;
  /** After this the outcome is unknown (config PROCESSOR_TIMEOUT_MS; tests pass a short one). */
  timeoutMs: number;
}

/** Connection errors raised before the request left this machine: the processor saw nothing. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * A processor of the simulated processors service, over HTTP.
 *
 * @example
 * const primary = createHttpProcessorAdapter({ baseUrl: config.PROCESSORS_URL, processor: 'acq_primary', timeoutMs: 2_000 });
 * const auth = await primary.authorize({ idempotencyKey: `${paymentId}:authorize`, method: 'card', token, amountMinor, currency });
 */
export function createHttpProcessorAdapter(options: HttpProcessorAdapterOptions): ProcessorAdapter {
  const { processor, timeoutMs } = options;
  const base = `${options.baseUrl.replace(/\/$/, '')}/processors/${encodeURIComponent(processor)}`;
  const authorizationPath = (authorizationId: string) => `/authorizations/${encodeURIComponent(authorizationId)}`;

  async function send(kind: OperationKind, method: 'GET' | 'POST', path: string, body?: unknown) {
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (neverSent(err)) throw new ProcessorUnavailable(processor, kind, `${processor} unreachable: ${describe(err)}`);
      throw new ProcessorOutcomeUnknown(processor, kind, `${processor} gave no answer to ${method} ${path}: ${describe(err)}`);
    }
    return { status, json: parseJson(text) };
  }

  /** Every answer but 404-on-lookup goes through here, so a lookup reads exactly like the call. */
  function interpret<K extends OperationKind>(kind: K, status: number, json: unknown): OperationResults[K] {
    if (status === 200) return readResult(kind, processor, json);
    if (status >= 500 || status === 429) throw new ProcessorUnavailable(processor, kind, `${processor} answered ${status}`);
    if (status >= 400) {
      const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ProcessorRequestRejected(processor, kind, error?.code ?? `http_${status}`, `${processor} refused the ${kind}: ${error?.message ?? status}`);
    }
    throw new ProcessorOutcomeUnknown(processor, kind, `${processor} answered an unexpected ${status}`);
  }

  async function post<K extends OperationKind>(kind: K, path: string, body: Record<string, unknown>) {
    const res = await send(kind, 'POST', path, body);
    return interpret(kind, res.status, res.json);
  }

  return {
    processor,
    authorize: (r) =>
      post('authorize', '/authorizations', {
        idempotency_key: r.idempotencyKey, method: r.method, token: r.token, amount: r.amountMinor, currency: r.currency,
      }),
    capture: (r) => post('capture', `${authorizationPath(r.authorizationId)}/capture`, { idempotency_key: r.idempotencyKey, amount: r.amountMinor }),
    void: (r) => post('void', `${authorizationPath(r.authorizationId)}/void`, { idempotency_key: r.idempotencyKey }),
    refund: (r) => post('refund', `${authorizationPath(r.authorizationId)}/refunds`, { idempotency_key: r.idempotencyKey, amount: r.amountMinor }),
    async lookup(kind, idempotencyKey) {
      const res = await send(kind, 'GET', `/operations/${encodeURIComponent(idempotencyKey)}`);
      if (res.status === 404 && (res.json as { error?: { code?: string } } | null)?.error?.code === 'operation_not_found') return null;
      if (res.status !== 200) return interpret(kind, res.status, res.json);
      const found = lookupWire.safeParse(res.json);
      if (!found.success) throw new ProcessorOutcomeUnknown(processor, kind, `${processor} sent an unreadable lookup answer`);
      if (found.data.kind !== WIRE_KIND[kind]) {
        throw new ProcessorRequestRejected(processor, kind, 'idempotency_key_reused', `Key ${idempotencyKey} belongs to a ${found.data.kind}`);
      }
      return interpret(kind, found.data.status_code, found.data.response);
    },
  };
}

function neverSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  const codes = [cause?.code, ...(cause?.errors ?? []).map((e) => e.code)];
  return codes.some((code) => code !== undefined && NEVER_SENT_CODES.has(code));
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return null;
  }
}
