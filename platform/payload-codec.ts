import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ENCRYPTED_BYTES_MIN, SecretBox, type SealingKey } from './secrets.js';

// A CommonJS module: the default import works under Node's ESM loader (a named one does not).
const { temporal } = proto;

/**
 * Payload encryption (issue #13): every payload the SDK sends to Temporal (workflow and activity
 * arguments and results, signal, query and Update arguments, failure details, memos) is serialized
 * as a protobuf `Payload` and sealed with AES-256-GCM under the newest key of
 * TEMPORAL_PAYLOAD_KEYS. The wire payload is `metadata: { encoding: "binary/encrypted",
 * "encryption-key-id": <kid> }`, `data: iv(12) ‖ ciphertext ‖ tag(16)` (the layout of Temporal's
 * encryption samples; the key id is also bound as additional authenticated data). Any configured
 * key decrypts, so keys rotate by putting a new one first and removing the old one once no open run
 * and no kept history still needs it. Payloads without the encrypted encoding pass through decode
 * unchanged: histories written before encryption was switched on stay readable.
 *
 * Search attributes are not payloads the codec sees (the server indexes them): they must hold ids
 * and statuses only.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCODING_KEY = 'encoding';
export const METADATA_KEY_ID = 'encryption-key-id';

const text = new TextEncoder();
const utf8 = new TextDecoder();
/** A payload authenticates its key id (the layout of Temporal's encryption samples). */
const payloadAad = (keyId: string) => keyId;

export class AesGcmPayloadCodec implements PayloadCodec {
  /** The AES-256-GCM step shared with the secrets at rest (platform/secrets.ts). */
  private readonly box: SecretBox;

  constructor(keys: readonly SealingKey[]) {
    if (keys.length === 0) throw new RangeError('the payload codec needs at least one key');
    this.box = new SecretBox(keys);
  }

  /** The id of the key new payloads are encrypted with. */
  get currentKeyId(): string {
    return this.box.currentKeyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encodePayload(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decodePayload(payload));
  }

  /** One payload encrypted with the newest key (what `encode` does to each). */
  encodePayload(payload: Payload): Payload {
    const { keyId, data } = this.box.encrypt(temporal.api.common.v1.Payload.encode(payload).finish(), payloadAad);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: text.encode(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: text.encode(keyId),
      },
      data: new Uint8Array(data),
    };
  }

  /** One payload decrypted; a payload that is not `binary/encrypted` is returned as it is. */
  decodePayload(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || utf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const kidBytes = payload.metadata?.[METADATA_KEY_ID];
    if (!kidBytes) throw new Error('encrypted payload without an encryption-key-id');
    const kid = utf8.decode(kidBytes);
    if (!this.box.hasKey(kid)) throw new Error(`payload encrypted with unknown key ${JSON.stringify(kid)} (not in TEMPORAL_PAYLOAD_KEYS)`);
    const data = payload.data ?? new Uint8Array();
    if (data.length < ENCRYPTED_BYTES_MIN) throw new Error('encrypted payload too short');
    return temporal.api.common.v1.Payload.decode(this.box.decrypt(kid, data, payloadAad)) as Payload;
  }
}

const codecs = new WeakMap<readonly SealingKey[], AesGcmPayloadCodec>();

/** The process's payload codec for `config` (one per key list). */
export function payloadCodecOf(config: { TEMPORAL_PAYLOAD_KEYS: readonly SealingKey[] }): AesGcmPayloadCodec {
  let codec = codecs.get(config.TEMPORAL_PAYLOAD_KEYS);
  if (!codec) codecs.set(config.TEMPORAL_PAYLOAD_KEYS, (codec = new AesGcmPayloadCodec(config.TEMPORAL_PAYLOAD_KEYS)));
  return codec;
}

/** The data converter of every client and worker: `{ payloadCodecs: [the AES-GCM codec] }`. */
export function dataConverterOf(config: { TEMPORAL_PAYLOAD_KEYS: readonly SealingKey[] }): DataConverter {
  return { payloadCodecs: [payloadCodecOf(config)] };
}
