import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { DEVELOPMENT_PAYLOAD_KEYS, DEVELOPMENT_SEALING_KEYS } from './config-security.js';
import { AesGcmPayloadCodec, dataConverterOf, ENCRYPTED_ENCODING, METADATA_KEY_ID, payloadCodecOf } from './payload-codec.js';
import { newSealingKey } from './secrets.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');
const input = { token: 'tok_4242_secret', description: 'Order for Ada Lovelace', email: 'ada@example.com' };

describe('AesGcmPayloadCodec', () => {
  it('encrypts a payload under the newest key, with its id in the metadata, and decrypts it again', async () => {
    const codec = new AesGcmPayloadCodec([key('k2'), key('k1')]);
    const plain = defaultPayloadConverter.toPayload(input);
    const [encrypted] = await codec.encode([plain]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![METADATA_KEY_ID])).toBe('k2');
    const wire = JSON.stringify(encrypted) + text(encrypted!.data);
    for (const secret of Object.values(input)) expect(wire).not.toContain(secret);
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(input);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
    const [again] = await codec.encode([plain]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encrypted!.data!))).toBe(false); // a fresh IV each time
  });

  it('rotation: a new key first encrypts, payloads of the old key still decrypt; a removed key does not', async () => {
    const old = key('old');
    const [before] = await new AesGcmPayloadCodec([old]).encode([defaultPayloadConverter.toPayload('before')]);
    const rotated = new AesGcmPayloadCodec([key('new'), old]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([before!]))[0]!)).toBe('before');
    const [after] = await rotated.encode([defaultPayloadConverter.toPayload('after')]);
    expect(text(after!.metadata![METADATA_KEY_ID])).toBe('new');
    await expect(new AesGcmPayloadCodec([key('new')]).decode([before!])).rejects.toThrow(/unknown key "old"/);
  });

  it('rejects a tampered payload, a swapped key id and a foreign key of the same id', async () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const codec = new AesGcmPayloadCodec([k1, k2]);
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(input)]);
    const flipped = Buffer.from(encrypted!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...encrypted!, data: flipped }])).rejects.toThrow();
    const swapped = { ...encrypted!, metadata: { ...encrypted!.metadata, [METADATA_KEY_ID]: Buffer.from('k2') } };
    await expect(codec.decode([swapped])).rejects.toThrow();
    await expect(new AesGcmPayloadCodec([key('k1')]).decode([encrypted!])).rejects.toThrow();
    await expect(codec.decode([{ ...encrypted!, data: Buffer.alloc(8) }])).rejects.toThrow(/too short/);
  });

  it('passes payloads that are not encrypted through decode unchanged (histories from before encryption)', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const plain = [defaultPayloadConverter.toPayload(input), defaultPayloadConverter.toPayload(undefined), { data: Buffer.from('x') }];
    expect(await codec.decode(plain)).toEqual(plain);
  });
});

describe('TEMPORAL_PAYLOAD_KEYS', () => {
  it('defaults to a development key distinct from the sealing key; one codec per key list', () => {
    expect(DEVELOPMENT_PAYLOAD_KEYS.split(':')[1]).not.toBe(DEVELOPMENT_SEALING_KEYS.split(':')[1]);
    const config = loadConfig({});
    expect(config.TEMPORAL_PAYLOAD_KEYS.map((k) => k.id)).toEqual(['dev']);
    expect(payloadCodecOf(config)).toBe(payloadCodecOf(config));
    expect(dataConverterOf(config).payloadCodecs).toEqual([payloadCodecOf(config)]);
  });

  it('parses several keys, the first encrypting; refuses a malformed list and the development key in production', () => {
    const [k2, k1] = [newSealingKey('k2'), newSealingKey('k1')];
    const config = loadConfig({ TEMPORAL_PAYLOAD_KEYS: `${k2},${k1}` });
    expect(payloadCodecOf(config).currentKeyId).toBe('k2');
    expect(() => loadConfig({ TEMPORAL_PAYLOAD_KEYS: 'k1:c2hvcnQ=' })).toThrow(/TEMPORAL_PAYLOAD_KEYS/);
    const production = {
      NODE_ENV: 'production', SECRETS_ENCRYPTION_KEYS: newSealingKey('s1'),
      EMAIL_CALLBACK_SECRET: 'e'.repeat(32), SMS_CALLBACK_SECRET: 's'.repeat(32), PUSH_CALLBACK_SECRET: 'p'.repeat(32),
    };
    expect(() => loadConfig(production)).toThrow(/TEMPORAL_PAYLOAD_KEYS: production needs its own keys/);
    expect(loadConfig({ ...production, TEMPORAL_PAYLOAD_KEYS: k1 }).TEMPORAL_PAYLOAD_KEYS[0]!.id).toBe('k1');
  });
});
