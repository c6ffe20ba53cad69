import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newSealingKey, parseSealingKeys, SecretBox } from './secrets.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('SecretBox', () => {
  it('seals so the plaintext is not in the stored form, and opens it again', () => {
    const box = new SecretBox([key('k1')]);
    const sealed = box.seal('whsec_abc');
    expect(sealed).not.toContain('whsec_abc');
    expect(sealed.startsWith('v1.k1.')).toBe(true);
    expect(box.open(sealed)).toBe('whsec_abc');
    expect(box.seal('whsec_abc')).not.toBe(sealed); // a fresh IV each time
  });

  it('opens with an older key after a rotation, and tells which ones are stale', () => {
    const old = key('old');
    const sealed = new SecretBox([old]).seal('s');
    const rotated = new SecretBox([key('new'), old]);
    expect(rotated.open(sealed)).toBe('s');
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.isStale(rotated.seal('s'))).toBe(false);
  });

  it('refuses a tampered or foreign value', () => {
    const box = new SecretBox([key('k1')]);
    const parts = box.seal('secret').split('.');
    parts[4] = Buffer.from('other').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => box.open('plain-text')).toThrow('not a sealed secret');
    expect(() => new SecretBox([key('k2')]).open(box.seal('x'))).toThrow('unknown key k1');
  });

  it('parses the environment form', () => {
    const keys = parseSealingKeys(`${newSealingKey('a')}, ${newSealingKey('b')}`);
    expect(keys.map((k) => k.id)).toEqual(['a', 'b']);
    expect(keys.every((k) => k.key.length === 32)).toBe(true);
    expect(() => new SecretBox([{ id: 'short', key: Buffer.alloc(16) }])).toThrow('32 bytes');
  });
});
