/**
 * A JSON caller for a simulator's control and inspection API, for the control clients
 * (`providersControl`, `processorsControl`): sends `body` as JSON, parses the JSON answer, throws
 * on any non-2xx status (with the answer's text) and gives up after `timeoutMs`.
 *
 * @example
 * const call = jsonCaller(server.url);
 * await call('POST', '/control/reset', {});
 * const report = await call<ChargesReport>('GET', '/processors/acq_primary/charges');
 */
export function jsonCaller(baseUrl: string, timeoutMs = 5_000) {
  return async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
}
