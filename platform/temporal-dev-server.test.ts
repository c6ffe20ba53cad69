import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEV_SERVER_DYNAMIC_CONFIG, FREE_PORT_RANGE, freePort } from './temporal-dev-server.js';

describe('Temporal dynamic config', () => {
  it('the dev servers we start and the production file (deploy/temporal/dynamic-config.yaml) set the same values', () => {
    const yaml = readFileSync(new URL('../deploy/temporal/dynamic-config.yaml', import.meta.url), 'utf8');
    // `key:` then `  - value: N` (the file's only shape: no constraints, one value per key).
    const fromFile = Object.fromEntries([...yaml.matchAll(/^([A-Za-z][\w.]+):\s*\n\s+- value: (\S+)\s*$/gm)].map(([, key, value]) => [key, JSON.parse(value!)]));
    expect(Object.keys(fromFile).length).toBeGreaterThan(0);
    expect(fromFile).toEqual(DEV_SERVER_DYNAMIC_CONFIG);
  });
});

describe('freePort', () => {
  it('picks ports below the ephemeral range (no outgoing connection takes them) that are free to bind', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(FREE_PORT_RANGE.from);
      expect(port).toBeLessThanOrEqual(FREE_PORT_RANGE.to);
      // Free: it can be bound.
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
    expect(new Set(ports).size).toBeGreaterThan(15);
  });
});
