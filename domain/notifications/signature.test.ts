import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook, verifyWebhookSignature } from './signature.js';

const SECRET = 'whsec_test_secret';
const BODY = '{"id":"evt_1","type":"payment.captured","data":{"amount":1050}}';
const T = 1_700_000_000;

describe('signWebhook', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> keyed with the secret as shown', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, T, BODY)).toBe(`t=${T},v1=${expected}`);
    // A known vector, so a change of key handling or message layout cannot pass unnoticed.
    expect(signWebhook('whsec_abc', 1, '{}')).toBe(`t=1,v1=${createHmac('sha256', 'whsec_abc').update('1.{}').digest('hex')}`);
  });

  it('signs with every secret during a rotation', () => {
    const header = signWebhook(['whsec_old', 'whsec_new'], T, BODY);
    expect(header.split(',').filter((p) => p.startsWith('v1='))).toHaveLength(2);
    expect(verifyWebhookSignature(header, 'whsec_old', BODY, { nowSeconds: T }).ok).toBe(true);
    expect(verifyWebhookSignature(header, 'whsec_new', BODY, { nowSeconds: T }).ok).toBe(true);
    expect(verifyWebhookSignature(header, 'whsec_other', BODY, { nowSeconds: T }).ok).toBe(false);
  });

  it('refuses bad timestamps and secrets', () => {
    expect(() => signWebhook(SECRET, -1, BODY)).toThrow(RangeError);
    expect(() => signWebhook(SECRET, 1.5, BODY)).toThrow(RangeError);
    expect(() => signWebhook([], T, BODY)).toThrow(RangeError);
    expect(() => signWebhook('', T, BODY)).toThrow(RangeError);
  });
});

describe('verifyWebhookSignature', () => {
  const header = signWebhook(SECRET, T, BODY);

  it('accepts the body it signed, within the tolerance either way', () => {
    expect(verifyWebhookSignature(header, SECRET, BODY, { nowSeconds: T })).toEqual({ ok: true, timestampSeconds: T });
    expect(verifyWebhookSignature(header, SECRET, BODY, { nowSeconds: T + 300, toleranceSeconds: 300 }).ok).toBe(true);
    expect(verifyWebhookSignature(header, SECRET, BODY, { nowSeconds: T - 300, toleranceSeconds: 300 }).ok).toBe(true);
  });

  it('refuses an old or future timestamp (replay)', () => {
    expect(verifyWebhookSignature(header, SECRET, BODY, { nowSeconds: T + 301, toleranceSeconds: 300 }))
      .toEqual({ ok: false, reason: 'timestamp_outside_tolerance' });
    expect(verifyWebhookSignature(header, SECRET, BODY, { nowSeconds: T - 301, toleranceSeconds: 300 }).ok).toBe(false);
  });

  it('refuses another body, another secret, or a re-dated signature', () => {
    expect(verifyWebhookSignature(header, SECRET, `${BODY} `, { nowSeconds: T })).toEqual({ ok: false, reason: 'no_matching_signature' });
    expect(verifyWebhookSignature(header, 'whsec_wrong', BODY, { nowSeconds: T }).ok).toBe(false);
    const redated = header.replace(`t=${T}`, `t=${T + 10}`);
    expect(verifyWebhookSignature(redated, SECRET, BODY, { nowSeconds: T }).ok).toBe(false);
  });

  it('reads headers with spaces, unknown schemes and junk signatures beside a good one', () => {
    const v1 = header.split('v1=')[1];
    expect(verifyWebhookSignature(`t=${T}, v0=abc, v1=zz, v1=${v1}`, SECRET, BODY, { nowSeconds: T }).ok).toBe(true);
  });

  it('malformed headers', () => {
    for (const bad of [undefined, null, '', 'garbage', `t=${T}`, `v1=${'a'.repeat(64)}`, `t=abc,v1=${'a'.repeat(64)}`,
      `t=${T},t=${T},v1=${'a'.repeat(64)}`, `t=${T},v1=short`, `${'x'.repeat(5_000)}`]) {
      expect(verifyWebhookSignature(bad, SECRET, BODY, { nowSeconds: T })).toEqual({ ok: false, reason: 'malformed_header' });
    }
  });

  it('any body and secret round-trip; a flipped body character never verifies', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1, maxLength: 64 }), fc.nat({ max: 10 ** 10 }), (body, secret, t) => {
      const signed = signWebhook(secret, t, body);
      expect(verifyWebhookSignature(signed, secret, body, { nowSeconds: t }).ok).toBe(true);
      const flipped = String.fromCharCode(body.charCodeAt(0) ^ 1) + body.slice(1);
      expect(verifyWebhookSignature(signed, secret, flipped, { nowSeconds: t }).ok).toBe(false);
    }), { numRuns: 300 });
  });
});

describe('newWebhookSecret', () => {
  it('is whsec_ + 32 random bytes as base64url', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(6), 'base64url')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
  });
});
