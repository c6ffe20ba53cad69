import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { SteadfastError } from './errors.js';
import { retryingFetch, type RetryOptions } from './retry.js';
import type { components, operations, paths } from './schema.js';

export { SteadfastError, type ErrorBody, type ErrorCode, type ErrorType } from './errors.js';
export { parseRetryAfterMs, retryingFetch, type RetryOptions } from './retry.js';
export type { components, operations, paths };
/** The API's named schemas: `Schemas['Transfer']`, `Schemas['Account']`, … */
export type Schemas = components['schemas'];
export type SteadfastClient = Client<paths>;

/** A `Steadfast-Actor` token (contract §0), or a function that mints a fresh one per request. */
export type ActorToken = string | (() => string | Promise<string>);

export interface SteadfastClientOptions {
  /** The API's origin, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** A tenant API key (`sk_…`), or the admin key for `/v1/admin/*` and `/v1/ops/*`. */
  apiKey: string;
  /** Names the acting person on every request (the API reads it where a decision is recorded). */
  actor?: ActorToken;
  retry?: RetryOptions;
  /** The transport under the retries (default: the global `fetch`). */
  fetch?: (request: Request) => Promise<Response>;
}

/**
 * A typed client for the Steadfast API (openapi-fetch over the generated `paths`): every POST
 * carries an Idempotency-Key, and 409-in-use, 429 and (where safe) 5xx answers are retried.
 * Calls answer `{ data, error, response }`; `unwrap` turns that into the data or a `SteadfastError`.
 *
 * @example
 * const api = createSteadfastClient({ baseUrl: 'http://localhost:3000', apiKey: process.env.STEADFAST_API_KEY! });
 * const account = await unwrap(api.POST('/v1/accounts', { body: { type: 'user', currency: 'USD' } }));
 */
export function createSteadfastClient(options: SteadfastClientOptions): SteadfastClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.apiKey}` },
    fetch: retryingFetch(options.retry, options.fetch),
  });
  if (options.actor !== undefined) client.use(actorHeader(options.actor));
  return client;
}

function actorHeader(actor: ActorToken): Middleware {
  return {
    async onRequest({ request }) {
      // A call that names its own actor (per-call `headers`) keeps it.
      if (!request.headers.has('steadfast-actor')) request.headers.set('steadfast-actor', typeof actor === 'string' ? actor : await actor());
      return request;
    },
  };
}

/**
 * The data of a successful call, or a `SteadfastError` with the contract's code.
 *
 * @example const transfer = await unwrap(api.GET('/v1/transfers/{id}', { params: { path: { id } } }));
 */
export async function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<R>,
): Promise<Exclude<R['data'], undefined>> {
  const { data, error, response } = await call;
  if (!response.ok) throw new SteadfastError(response, error);
  return data as Exclude<R['data'], undefined>;
}
