import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Merchant webhook signatures (contract §5):
 * `Steadfast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the
 * endpoint's secret as it is shown (`whsec_…`, its UTF-8 bytes). While a secret is being rotated
 * a request carries one `v1` per secret; a receiver accepts any of them. Node crypto: for the API
 * and activities, never for workflows.
 */

export const SIGNATURE_HEADER = 'Steadfast-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;
const HEADER_MAX_CHARS = 4_096;
const SIGNATURES_MAX = 8;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** A new endpoint secret: `whsec_` + 32 random bytes, base64url (shown once, at creation). */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
}

/**
 * The `Steadfast-Signature` value for a body sent at `timestampSeconds`; several secrets (during a
 * rotation) give several `v1`.
 *
 * @example
 * signWebhook(endpoint.secret, Math.floor(Date.now() / 1000), rawBody) // 't=1700000000,v1=5f2c…'
 */
export function signWebhook(secret: string | readonly string[], timestampSeconds: number, rawBody: string): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`timestampSeconds must be a non-negative integer, got ${timestampSeconds}`);
  }
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0 || secrets.length > SIGNATURES_MAX || secrets.some((s) => s.length === 0)) {
    throw new RangeError(`signWebhook needs 1 to ${SIGNATURES_MAX} non-empty secrets`);
  }
  const signatures = secrets.map((s) => `v1=${hmacHex(s, timestampSeconds, rawBody)}`);
  return [`t=${timestampSeconds}`, ...signatures].join(',');
}

export type VerifyResult =
  | { ok: true; timestampSeconds: number }
  | { ok: false; reason: 'malformed_header' | 'timestamp_outside_tolerance' | 'no_matching_signature' };

/**
 * Checks a `Steadfast-Signature` header against the raw body as received (before any JSON
 * parsing): some `v1` must match in constant time, and `t` must be within `toleranceSeconds` of
 * now (replay protection). Unknown schemes (`v0=`, future `v2=`) are ignored.
 *
 * @example
 * const check = verifyWebhookSignature(req.headers['steadfast-signature'], secret, rawBody, { toleranceSeconds: 300 });
 * if (!check.ok) return res.status(400).end();
 */
export function verifyWebhookSignature(
  header: string | null | undefined,
  secret: string,
  rawBody: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): VerifyResult {
  const parsed = parseHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed_header' };
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1_000);
  if (Math.abs(nowSeconds - parsed.timestampSeconds) > toleranceSeconds) return { ok: false, reason: 'timestamp_outside_tolerance' };
  const expected = Buffer.from(hmacHex(secret, parsed.timestampSeconds, rawBody), 'hex');
  // Compare against every candidate (no early exit), each in constant time.
  let matched = false;
  for (const candidate of parsed.signatures) {
    if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
  }
  return matched ? { ok: true, timestampSeconds: parsed.timestampSeconds } : { ok: false, reason: 'no_matching_signature' };
}

function hmacHex(secret: string, timestampSeconds: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`, 'utf8').digest('hex');
}

function parseHeader(header: string | null | undefined): { timestampSeconds: number; signatures: string[] } | null {
  if (!header || header.length > HEADER_MAX_CHARS) return null;
  let timestampSeconds: number | null = null;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) return null;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') {
      if (timestampSeconds !== null || !/^\d{1,12}$/.test(value)) return null;
      timestampSeconds = Number(value);
    } else if (key === 'v1') {
      // Only well-formed ones: timingSafeEqual needs equal lengths, and junk can never match.
      if (HEX_SHA256.test(value) && signatures.length < SIGNATURES_MAX) signatures.push(value);
    }
  }
  if (timestampSeconds === null || signatures.length === 0) return null;
  return { timestampSeconds, signatures };
}
