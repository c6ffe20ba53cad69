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

  it('DATABASE_READ_URL is optional (unset: everything reads DATABASE_URL) and checked like DATABASE_URL', () => {
    const unset = loadConfig({});
    expect(unset.DATABASE_READ_URL).toBeUndefined();
    expect(unset.DB_READ_POOL_MAX).toBe(5);
    const pair = 'postgres://postgres@127.0.0.1:5442,127.0.0.1:5443/steadfast?target_session_attrs=prefer-standby';
    expect(loadConfig({ DATABASE_READ_URL: pair, DB_READ_POOL_MAX: '3' })).toMatchObject({ DATABASE_READ_URL: pair, DB_READ_POOL_MAX: 3 });
    expect(() => loadConfig({ DATABASE_READ_URL: 'not a url' })).toThrow(/DATABASE_READ_URL/);
    expect(() => loadConfig({ DATABASE_READ_URL: 'postgres://postgres@127.0.0.1:5442,127.0.0.1:5443/steadfast?target_session_attrs=nearest' }))
      .toThrow(/DATABASE_READ_URL/);
    expect(() => loadConfig({ DB_READ_POOL_MAX: '0' })).toThrow(/DB_READ_POOL_MAX/);
  });

  it('the API requires an admin key; the worker does not', () => {
    expect(() => requireAdminKey(loadConfig({}))).toThrow(/ADMIN_API_KEY/);
    expect(requireAdminKey(loadConfig({ ADMIN_API_KEY: 'k'.repeat(24) }))).toBe('k'.repeat(24));
  });
});
