import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyActorToken } from '../api/middleware/actor.js';
import { startHarness, type Harness } from '../test/harness.js';

/** `npm run actor-token`: against the API over HTTP, as a developer runs it. */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');

let h: Harness;
let server: ServerType;
let url: string;
let dir: string;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'actor-token-'));
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run actor-token', () => {
  it('creates a signing key through the API once, keeps it (mode 600), and prints tokens that verify; a deleted key is replaced', async () => {
    const tenant = await h.newTenant();
    const file = join(dir, 'key.json');
    const mint = async (sub: string) =>
      (await run(TSX, ['scripts/actor-token.ts', '--sub', sub, '--api-key', tenant.apiKey, '--url', url, '--save-to', file], { cwd: ROOT })).stdout.trim();

    const first = await verifyActorToken(h, tenant.id, await mint('emp_ada'));
    expect(first).toEqual({ sub: 'emp_ada', keyId: expect.stringMatching(/^ask_/) });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await verifyActorToken(h, tenant.id, await mint('emp_bob'))).toEqual({ sub: 'emp_bob', keyId: first.keyId });
    expect((await tenant.call('GET', '/v1/actor-signing-keys')).body.data).toHaveLength(1);

    await tenant.call('DELETE', `/v1/actor-signing-keys/${first.keyId}`);
    const replaced = await verifyActorToken(h, tenant.id, await mint('emp_ada'));
    expect(replaced.keyId).not.toBe(first.keyId);
  });
});
