import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, requireAdminKey } from './config.js';

describe('config', () => {
  it('has embedded defaults for every process', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/steadfast',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      API_WAIT_WINDOW_MS: 10_000,
      IDEMPOTENCY_RETENTION_HOURS: 24,
    });
  });

  it('fails at start naming the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ API_WAIT_WINDOW_MS: '-1' })).toThrow(/API_WAIT_WINDOW_MS/);
    expect(() => loadConfig({ IDEMPOTENCY_RETENTION_HOURS: '1' })).toThrow(/IDEMPOTENCY_RETENTION_HOURS/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'short' })).toThrow(ConfigError);
  });

  it('the API requires an admin key; the worker does not', () => {
    expect(() => requireAdminKey(loadConfig({}))).toThrow(/ADMIN_API_KEY/);
    expect(requireAdminKey(loadConfig({ ADMIN_API_KEY: 'k'.repeat(24) }))).toBe('k'.repeat(24));
  });
});
