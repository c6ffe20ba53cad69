import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEV_SERVER_DYNAMIC_CONFIG } from './temporal-dev-server.js';

describe('Temporal dynamic config', () => {
  it('the dev servers we start and the production file (deploy/temporal/dynamic-config.yaml) set the same values', () => {
    const yaml = readFileSync(new URL('../deploy/temporal/dynamic-config.yaml', import.meta.url), 'utf8');
    // `key:` then `  - value: N` (the file's only shape: no constraints, one value per key).
    const fromFile = Object.fromEntries([...yaml.matchAll(/^([A-Za-z][\w.]+):\s*\n\s+- value: (\S+)\s*$/gm)].map(([, key, value]) => [key, JSON.parse(value!)]));
    expect(Object.keys(fromFile).length).toBeGreaterThan(0);
    expect(fromFile).toEqual(DEV_SERVER_DYNAMIC_CONFIG);
  });
});
