import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  checkResolvedAddresses, checkWebhookUrl, type WebhookAddressPolicy,
} from '../../../domain/notifications/address-policy.js';
import { safeHost } from './http.js';
import { DeliveryError } from './types.js';

/**
 * The HTTP client of merchant webhooks, with the SSRF policy enforced where the connection is
 * made (contract §5): the URL is checked first (scheme, IP literal host, metadata names), and a
 * host name is resolved by our own DNS `lookup`, which checks every address it returns before
 * `net.connect` may use one. A name that resolved to a public address when the endpoint was
 * created and to a private one now (DNS rebinding) gets no connection: the delivery fails for
 * good with `address_refused`. `host:port` entries of the allowlist skip the checks.
 *
 * node:http rather than fetch: it takes a `lookup` per request (fetch needs an undici dispatcher,
 * not a dependency here), never follows redirects, and lets the answer's body be dropped unread.
 */

/** Resolves a host name to every address it has (the injectable part of the lookup, for tests). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) => new Promise((resolve, reject) => {
  dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
});

/** Raised inside the lookup: `net.connect` fails with it and never opens a socket. */
export class AddressRefusedError extends Error {
  override name = 'AddressRefusedError';
  readonly code = 'EADDRREFUSED_POLICY';
}

/**
 * A `net.connect` lookup that resolves with `resolver` and (`checked`, unless the host:port is
 * allowlisted) refuses the name when any address is not public. Answers both shapes Node asks
 * for (`all: true` with happy eyeballs, one address otherwise).
 */
export function guardedLookup(resolver: Resolver, checked = true): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then((found) => {
      const family = options.family === 4 || options.family === 6 ? options.family : 0;
      const addresses = family ? found.filter((a) => a.family === family) : found;
      const check = checked ? checkResolvedAddresses(found.map((a) => a.address)) : { ok: true as const };
      if (!check.ok) throw new AddressRefusedError(`${hostname}: ${check.reason} (${check.address})`);
      if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
      if (options.all) (callback as (err: null, all: typeof addresses) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    }).catch((err: NodeJS.ErrnoException) => callback(err, '', 0));
  };
}

/** Connection errors raised before the request left this machine: the receiver saw nothing. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** TLS handshake failures (expired or self-signed certificate, wrong name): nothing was sent either. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

export interface WebhookPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: WebhookAddressPolicy;
  resolver: Resolver;
}

/**
 * POSTs one webhook and returns the answer's status; the body is discarded unread (the
 * connection is closed: a merchant cannot hold it open by trickling a body). Throws a DeliveryError when there is no answer:
 * `address_refused` (policy, not retried), `unreachable`, `timeout` (outcome unknown: retried with
 * the same idempotency key).
 */
export async function postWebhook(post: WebhookPost): Promise<number> {
  const verdict = checkWebhookUrl(post.url, post.policy);
  const host = safeHost(post.url);
  if (!verdict.ok) throw new DeliveryError(`webhook endpoint ${host} refused: ${verdict.reason}`, false, undefined, 'address_refused');
  const url = new URL(post.url);
  // An IP literal never reaches the lookup (checked above); an allowlisted host:port is not checked.
  const lookup = verdict.literal ? undefined : guardedLookup(post.resolver, !verdict.allowlisted);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = client.request(url, {
      method: 'POST',
      headers: { ...post.headers, 'content-length': String(Buffer.byteLength(post.body)) },
      ...(lookup ? { lookup } : {}),
      // A fresh connection per delivery: every one goes through the lookup (no pooled socket to
      // an address resolved long ago), and a slow merchant cannot hold sockets.
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT_WEBHOOK' })), post.timeoutMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      res.on('error', () => undefined);
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(noAnswer(host, err));
    });
    req.end(post.body);
  });
}

function noAnswer(host: string, err: NodeJS.ErrnoException): DeliveryError {
  if (err instanceof AddressRefusedError || err.code === 'EADDRREFUSED_POLICY') {
    return new DeliveryError(`webhook endpoint ${host} refused: ${err.message}`, false, undefined, 'address_refused');
  }
  if (err.code === 'ETIMEDOUT_WEBHOOK') return new DeliveryError(`${host} did not answer in time`, true, undefined, 'timeout');
  const codes = [err.code, ...((err as { errors?: { code?: string }[] }).errors ?? []).map((e) => e.code)];
  if (codes.some((code) => code !== undefined && (NEVER_SENT_CODES.has(code) || TLS_CODE.test(code)))) {
    return new DeliveryError(`${host} unreachable: ${codes.filter(Boolean).join(', ')}`, true, undefined, 'unreachable');
  }
  // Reset mid-request, TLS failures and the like: the receiver may have acted; the retry carries the same key.
  return new DeliveryError(`${host} gave no answer: ${err.code ?? err.message}`, true, undefined, 'timeout');
}
