import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ACTOR_TOKEN_LIFETIME_MAX_S, mintActorToken } from '../api/middleware/actor.js';
import { loadConfig } from '../platform/config.js';
import { REPO_ROOT } from '../platform/temporal-dev-server.js';
import { sendLogsToStderr, setDefaultLogLevel } from '../platform/log.js';

// Its stdout is the token (`$(npm run -s actor-token -- …)`): log lines, if any, go to stderr.
sendLogsToStderr();
setDefaultLogLevel('warn');

const USAGE = `npm run -s actor-token -- --sub <emp_… or user id> [options]
  Prints a Steadfast-Actor token (HS256 JWT) naming --sub, for the demo tenant of \`npm start\`.
  --api-key sk_…      the tenant's API key (default: the demo tenant's, from .data/demo-tenant.json)
  --key-id ask_…      sign with this actor signing key (with --secret); default: a key this script
  --secret …          created through the API once and keeps in .data/actor-signing-key.json
  --ttl <seconds>     lifetime, 1..${ACTOR_TOKEN_LIFETIME_MAX_S} (default ${ACTOR_TOKEN_LIFETIME_MAX_S})
  --url http://…      the API (default http://HOST:PORT from the environment)
  --save-to <file>    where the created signing key is kept (default .data/actor-signing-key.json, mode 600)
Example:
  curl -s -H "Authorization: Bearer $KEY" -H "Steadfast-Actor: $(npm run -s actor-token -- --sub emp_…)" \\
    -X POST localhost:3000/v1/leave-requests/lr_…/approve`;

const DATA_DIR = resolve(REPO_ROOT, '.data');
const SAVED_KEY_FILE = resolve(DATA_DIR, 'actor-signing-key.json');
/** Pages of 100 keys looked through for the saved one before a new key is created. */
const LIST_PAGES_MAX = 10;

interface SigningKey {
  keyId: string;
  secret: string;
}

/** The saved key is kept per tenant API key (by its digest: the key itself is not written twice). */
interface SavedKey extends SigningKey {
  apiKeyDigest: string;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

async function api(url: string, apiKey: string, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${apiKey}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Whether the tenant still has the live signing key `keyId` (deleted keys are not listed). */
async function stillLive(url: string, apiKey: string, keyId: string): Promise<boolean> {
  let after: string | undefined;
  for (let page = 0; page < LIST_PAGES_MAX; page++) {
    const res = await api(url, apiKey, 'GET', `/v1/actor-signing-keys?limit=100${after ? `&starting_after=${after}` : ''}`);
    if (res.status !== 200) throw new Error(`listing actor signing keys: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    const data = res.body.data as { id: string }[];
    if (data.some((k) => k.id === keyId)) return true;
    if (!res.body.has_more || data.length === 0) return false;
    after = data[data.length - 1]!.id;
  }
  return false;
}

/** The saved signing key when it is the tenant's and still live, else a new one created through the API (and saved). */
async function signingKeyFor(url: string, apiKey: string, file: string): Promise<SigningKey> {
  const apiKeyDigest = createHash('sha256').update(apiKey).digest('hex');
  const saved = readJson<SavedKey>(file);
  if (saved?.apiKeyDigest === apiKeyDigest && (await stillLive(url, apiKey, saved.keyId))) return saved;
  const res = await api(url, apiKey, 'POST', '/v1/actor-signing-keys');
  if (res.status !== 201) throw new Error(`creating an actor signing key: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  const created: SavedKey = { apiKeyDigest, keyId: res.body.id as string, secret: res.body.secret as string };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(created), { mode: 0o600 });
  return created;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' }, 'api-key': { type: 'string' }, 'key-id': { type: 'string' }, secret: { type: 'string' },
      ttl: { type: 'string' }, url: { type: 'string' }, 'save-to': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  const ttlSeconds = values.ttl === undefined ? ACTOR_TOKEN_LIFETIME_MAX_S : Number(values.ttl);
  if (values.help || !values.sub || !Number.isInteger(ttlSeconds) || (values['key-id'] === undefined) !== (values.secret === undefined)) {
    console.error(USAGE);
    return 2;
  }
  let key: SigningKey;
  if (values['key-id'] && values.secret) {
    key = { keyId: values['key-id'], secret: values.secret };
  } else {
    const apiKey = values['api-key'] ?? readJson<{ apiKey: string }>(resolve(DATA_DIR, 'demo-tenant.json'))?.apiKey;
    if (!apiKey) throw new Error('no --api-key and no demo tenant in .data/demo-tenant.json (run npm start first)');
    const url = values.url ?? (() => {
      const config = loadConfig();
      return `http://${config.HOST}:${config.PORT}`;
    })();
    key = await signingKeyFor(url, apiKey, values['save-to'] ? resolve(values['save-to']) : SAVED_KEY_FILE);
  }
  console.log(await mintActorToken({ ...key, sub: values.sub, ttlSeconds }));
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error('[actor-token]', err instanceof Error ? err.message : err);
  process.exit(1);
});
