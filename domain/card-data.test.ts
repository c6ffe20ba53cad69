import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectLinear } from '../test/linear.js';
import { containsCardNumber, findCardNumberIn, isProcessorToken, luhnValid } from './card-data.js';

describe('luhnValid', () => {
  it('accepts the test cards and refuses one digit off', () => {
    for (const pan of ['4242424242424242', '5555555555554444', '378282246310005', '6011111111111117', '4000056655665556']) {
      expect(luhnValid(pan)).toBe(true);
    }
    expect(luhnValid('4242424242424241')).toBe(false);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('')).toBe(false);
  });
});

describe('containsCardNumber', () => {
  it.each([
    ['bare', '4242424242424242'],
    ['spaces', '4242 4242 4242 4242'],
    ['dashes', '4242-4242-4242-4242'],
    ['dots', '4242.4242.4242.4242'],
    ['Amex grouping', '3782 822463 10005'],
    ['double spaces', '4242  4242  4242  4242'],
    ['19 digits', '4000000000000000006'],
    ['12 digits', '100000000008'],
    ['embedded in text', 'please charge my card4242424242424242 thanks'],
    ['followed by the expiry', 'card 4242 4242 4242 4242 12 28'],
    ['in a token', 'tok_4242424242424242'],
    ['a JSON-ish number', '{"n": 5555555555554444}'],
  ])('matches a card number: %s', (_name, text) => {
    expect(containsCardNumber(text)).toBe(true);
  });

  it.each([
    ['11 digits (Luhn-valid)', '79927398713'],
    ['20 digits (Luhn-valid)', '42424242424242424242'],
    ['20 digits in one group, spaced around', 'ref 42424242424242424242 ok'],
    ['a 16-digit run that fails Luhn', '4242424242424241'],
    ['spaced, failing Luhn (every 12+ digit window too)', '4111 1111 1111 1112'],
    ['an order number', 'order 6735, 2 items'],
    ['an E.164 phone number', '+14155550123'],
    ['a date range (16 digits, Luhn-valid, mixed separators)', '2026-12-24 2026-12-30'],
    ['separators too wide', '4242 - 4242 - 4242 - 4242'],
    ['empty', ''],
  ])('does not match: %s', (_name, text) => {
    expect(containsCardNumber(text)).toBe(false);
  });

  it('refuses those for the rule, not for Luhn: the fixtures are Luhn-valid', () => {
    expect(luhnValid('42424242424242424242')).toBe(true);
    expect(luhnValid('2026122420261230')).toBe(true);
    expect(luhnValid('79927398713')).toBe(true);
  });

  it('is linear: a 64 KiB body of digits, separators or digit groups takes milliseconds, not seconds', () => {
    const bodies: Array<(n: number) => string> = [
      (n) => '1'.repeat(n),
      (n) => '1 '.repeat(n / 2),
      (n) => '12-'.repeat(Math.floor(n / 3)),
      (n) => '1 1-1.'.repeat(Math.floor(n / 6)),
      (n) => ' '.repeat(n - 1) + '4',
    ];
    for (const make of bodies) {
      expect(containsCardNumber(make(65_536))).toBe(false);
      expect(containsCardNumber(make(16_384))).toBe(false);
      expectLinear((body) => containsCardNumber(body), make, 65_536);
    }
  });
});

describe('identifiers are not card numbers', () => {
  it('no UUID, whatever its digits, is taken for one (digit groups glued by - to more of the token)', () => {
    // 1 in ~200 random UUIDs held a Luhn-valid 12–19 digit chain before the glue rule.
    for (let i = 0; i < 20_000; i++) {
      const uuid = randomUUID();
      if (containsCardNumber(uuid)) expect.fail(`${uuid} taken for a card number`);
    }
    fc.assert(fc.property(fc.uuid(), (uuid) => !containsCardNumber(uuid)), { numRuns: 5_000 });
    expect(containsCardNumber('3f1c2d4e-1234-5678-9012-345678901234')).toBe(false);
    expect(containsCardNumber('2026-12-24.4242424242424242')).toBe(false);
  });

  it('a card number of its own is still found next to them', () => {
    expect(containsCardNumber('order 3f1c2d4e-1234-5678-9012-345678901234 paid with 4242-4242-4242-4242')).toBe(true);
    expect(containsCardNumber('4242-4242-4242-4242')).toBe(true);
    expect(containsCardNumber('(4242.4242.4242.4242)')).toBe(true);
    expect(containsCardNumber('card: 4242424242424242.')).toBe(true);
  });
});

describe('findCardNumberIn', () => {
  it('names the path to the value, or the object whose key holds a card number', () => {
    expect(findCardNumberIn({ a: 'x', b: { c: ['ok', 'pan 4242 4242 4242 4242'] } })).toEqual(['b', 'c', 1]);
    expect(findCardNumberIn({ a: 4242424242424242 })).toEqual(['a']);
    expect(findCardNumberIn({ nested: { '4242424242424242': 'x' } })).toEqual(['nested']);
    expect(findCardNumberIn({ a: 'fine', b: 12, c: true, d: null })).toBeNull();
    expect(findCardNumberIn('5555555555554444')).toEqual([]);
  });

  it('walks any depth without recursion', () => {
    let deep: unknown = '4242424242424242';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(findCardNumberIn(deep)).toHaveLength(50_000);
  });
});

describe('isProcessorToken', () => {
  it('takes the processors’ token shapes only', () => {
    expect(isProcessorToken('card', 'tok_visa')).toBe(true);
    expect(isProcessorToken('card', 'tok_insufficient_funds')).toBe(true);
    expect(isProcessorToken('bank', 'btok_success')).toBe(true);
    expect(isProcessorToken('card', 'btok_success')).toBe(false);
    expect(isProcessorToken('bank', 'tok_visa')).toBe(false);
    expect(isProcessorToken('card', '4242 4242 4242 4242')).toBe(false);
    expect(isProcessorToken('card', 'tok_4242424242424242')).toBe(false);
    expect(isProcessorToken('card', 'tok_')).toBe(false);
    expect(isProcessorToken('card', 'tok_visa extra')).toBe(false);
    expect(isProcessorToken('card', `tok_${'a'.repeat(300)}`)).toBe(false);
  });
});
