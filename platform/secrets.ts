import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets that must be read back (webhook signing secrets, actor signing secrets) are stored
 * sealed: AES-256-GCM under a key named by its id, `v1.<kid>.<iv>.<tag>.<ciphertext>` (base64url).
 * Several keys can be configured (`SECRETS_ENCRYPTION_KEYS=kid:base64key,…`): the first seals,
 * any of them opens, so a key is rotated by putting a new one first and re-sealing
 * (`npm run ops -- reseal-secrets`) before the old one is removed. Secrets that only need to be
 * compared (API keys) are hashed instead, never sealed. Node crypto: API and activities only.
 */

export interface SealingKey {
  id: string;
  key: Buffer;
}

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The shortest `encrypt` output: an IV and a tag around an empty ciphertext. */
export const ENCRYPTED_BYTES_MIN = IV_BYTES + TAG_BYTES;
/** A sealed secret authenticates its format version and key id. */
const secretAad = (keyId: string) => `${VERSION}.${keyId}`;
const KID = /^[A-Za-z0-9_-]{1,32}$/;

export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly current: SealingKey;

  constructor(keys: readonly SealingKey[]) {
    if (keys.length === 0) throw new RangeError('SecretBox needs at least one key');
    for (const k of keys) {
      if (!KID.test(k.id)) throw new RangeError(`key id ${JSON.stringify(k.id)} must match ${KID}`);
      if (k.key.length !== KEY_BYTES) throw new RangeError(`key ${k.id} must be ${KEY_BYTES} bytes, got ${k.key.length}`);
    }
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    this.current = keys[0]!;
  }

  /** The id of the key new secrets are sealed with. */
  get currentKeyId(): string {
    return this.current.id;
  }

  /**
   * AES-256-GCM under the current key, with `aad(keyId)` authenticated too: `iv(12) ‖ ciphertext ‖
   * tag(16)` and the key id that opens it. The byte-level step under `seal` and the Temporal
   * payload codec (platform/payload-codec.ts).
   */
  encrypt(plain: Uint8Array, aad: (keyId: string) => string): { keyId: string; data: Buffer } {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(aad(this.current.id), 'utf8'));
    return { keyId: this.current.id, data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]) };
  }

  /** Opens what `encrypt` made (same `aad`); throws on an unknown key id, a short or tampered value. */
  decrypt(keyId: string, data: Uint8Array, aad: (keyId: string) => string): Buffer {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`sealed with unknown key ${keyId}`);
    if (data.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value too short');
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad(keyId), 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  }

  seal(plaintext: string): string {
    const { keyId, data } = this.encrypt(Buffer.from(plaintext, 'utf8'), secretAad);
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const body = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    return [VERSION, keyId, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const [version, kid, iv, tag, body, ...rest] = sealed.split('.');
    if (version !== VERSION || !kid || iv === undefined || tag === undefined || body === undefined || rest.length > 0) {
      throw new Error('not a sealed secret');
    }
    const data = Buffer.concat([Buffer.from(iv, 'base64url'), Buffer.from(body, 'base64url'), Buffer.from(tag, 'base64url')]);
    return this.decrypt(kid, data, secretAad).toString('utf8');
  }

  /** Whether `keyId` is one of the configured keys (can open what it sealed). */
  hasKey(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Whether `sealed` was sealed with an older key (re-seal it during a key rotation). */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.id;
  }
}

/** Parses `kid:base64key,kid2:base64key2` (32-byte keys). */
export function parseSealingKeys(text: string): SealingKey[] {
  return text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new RangeError('each key is <kid>:<base64 of 32 bytes>');
    return { id: part.slice(0, colon), key: Buffer.from(part.slice(colon + 1), 'base64') };
  });
}

/** A new key in the `kid:base64` form (for `.env` files and `npm start`'s generated development key). */
export function newSealingKey(id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
