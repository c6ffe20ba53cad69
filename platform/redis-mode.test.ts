import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { REPO_ROOT } from './repo-root.js';
import { freePort } from './temporal-dev-server.js';
import { RedisUnavailableError, resolveRedisMode, type RedisProbe } from './redis-mode.js';

/**
 * Redis or single-instance mode, decided at start (issue #17): against the run's real Redis and
 * addresses nothing answers on (free ports), never the machine's default address.
 */

const nothingThere = async () => `redis://127.0.0.1:${await freePort()}`;
/** A probe that must not run (REDIS_MODE=none and external decide without one). */
const noProbe: RedisProbe = async (url) => {
  throw new Error(`probed ${url}`);
};

describe('resolveRedisMode', () => {
  it('REDIS_URL unset: the default address when it answers, else single-instance mode for one instance', async () => {
    expect(await resolveRedisMode(loadConfig({}), { defaultUrl: inject('redisUrl') })).toEqual({
      mode: 'external', url: inject('redisUrl'), version: expect.stringMatching(/^\d+\.\d+/),
    });
    expect(await resolveRedisMode(loadConfig({}), { defaultUrl: await nothingThere() })).toEqual({
      mode: 'none', reason: expect.stringMatching(/^nothing answers on 127\.0\.0\.1:\d+ \(.*ECONNREFUSED/),
    });
  });

  it('refuses several instances without Redis, one line naming the fix', async () => {
    const refused = await resolveRedisMode(loadConfig({ STEADFAST_INSTANCES: '2' }), { defaultUrl: await nothingThere() }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RedisUnavailableError);
    expect((refused as Error).message).toMatch(/^Redis: nothing answers on 127\.0\.0\.1:\d+ .*; STEADFAST_INSTANCES=2 needs a Redis shared by every instance — fix: install and start Redis 7 there .*, or set REDIS_URL$/);
    expect((refused as Error).message).not.toContain('\n');
    // With a Redis there, several instances are fine.
    expect(await resolveRedisMode(loadConfig({ STEADFAST_INSTANCES: '2', REDIS_URL: inject('redisUrl') }))).toMatchObject({ mode: 'external' });
  });

  it('refuses an explicit REDIS_URL that does not answer: never a silent fallback', async () => {
    const url = await nothingThere();
    const refused = await resolveRedisMode(loadConfig({ REDIS_URL: url })).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RedisUnavailableError);
    expect(refused).toMatchObject({
      reason: expect.stringMatching(/^REDIS_URL \(127\.0\.0\.1:\d+\) does not answer: .*ECONNREFUSED/), fix: 'start that Redis, or correct REDIS_URL',
    });
    expect(await resolveRedisMode(loadConfig({ REDIS_URL: inject('redisUrl') }))).toMatchObject({ mode: 'external', url: inject('redisUrl') });
  });

  it('REDIS_MODE=none and external decide without a probe; external probed on demand (npm start) must answer', async () => {
    expect(await resolveRedisMode(loadConfig({ REDIS_MODE: 'none' }), { probe: noProbe })).toEqual({ mode: 'none', reason: 'REDIS_MODE=none' });
    const url = await nothingThere();
    expect(await resolveRedisMode(loadConfig({ REDIS_MODE: 'external', REDIS_URL: url }), { probe: noProbe })).toEqual({ mode: 'external', url });
    await expect(resolveRedisMode(loadConfig({ REDIS_MODE: 'external', REDIS_URL: url }), { probeExternal: true })).rejects.toThrow(/^Redis: REDIS_URL .* does not answer/);
    await expect(resolveRedisMode(loadConfig({ REDIS_MODE: 'external' }), { defaultUrl: url, probeExternal: true })).rejects.toThrow(/REDIS_MODE=external needs it/);
  });

  it('refuses RATE_LIMIT_REDIS_URL when the rest would run without Redis', async () => {
    const config = loadConfig({ RATE_LIMIT_REDIS_URL: inject('redisUrl') });
    await expect(resolveRedisMode(config, { defaultUrl: await nothingThere() })).rejects.toThrow(/RATE_LIMIT_REDIS_URL is set but the rest would run without Redis/);
  });
});

describe('loadConfig', () => {
  it('refuses REDIS_MODE=none with several instances, or with a Redis named', () => {
    expect(() => loadConfig({ REDIS_MODE: 'none', STEADFAST_INSTANCES: '3' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_MODE: 'none', STEADFAST_INSTANCES: '3' })).toThrow(/STEADFAST_INSTANCES=3 needs a Redis shared by every instance/);
    expect(() => loadConfig({ REDIS_MODE: 'none', REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/REDIS_URL: set together with REDIS_MODE=none/);
    expect(() => loadConfig({ REDIS_MODE: 'maybe' })).toThrow(/REDIS_MODE/);
    const single = loadConfig({ REDIS_MODE: 'none' });
    expect(single).toMatchObject({ REDIS_MODE: 'none', STEADFAST_INSTANCES: 1 });
    expect(single.REDIS_URL).toBeUndefined();
  });
});

describe('the processes refuse to start', () => {
  const run = promisify(execFile);
  async function start(entry: string, env: Record<string, string>): Promise<{ code: number; lines: { level: string; msg: string }[] }> {
    const { LOG_FILE: _ignored, ...inherited } = process.env;
    const full = { ...inherited, NODE_ENV: 'test', LOG_LEVEL: 'info', LOG_FORMAT: 'json', PORT: '0', WORKER_METRICS_PORT: '0', ...env };
    const result = await run(process.execPath, ['--import', 'tsx', entry], { cwd: REPO_ROOT, env: full, timeout: 60_000 })
      .then(({ stdout }) => ({ code: 0, stdout }), (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '' }));
    return { code: result.code, lines: result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: string; msg: string }) };
  }

  it('the API with a REDIS_URL that does not answer, the worker told single-instance with two instances: exit 1, one fatal line', async () => {
    const [api, worker] = await Promise.all([
      start('api/main.ts', { REDIS_URL: await nothingThere(), ADMIN_API_KEY: 'sk_admin_test_0123456789abcdefghij' }),
      start('workers/main.ts', { REDIS_MODE: 'none', STEADFAST_INSTANCES: '2' }),
    ]);
    expect(api.code).toBe(1);
    expect(api.lines.filter((l) => l.level === 'fatal')).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/^Redis: REDIS_URL \(127\.0\.0\.1:\d+\) does not answer: .* — fix: start that Redis, or correct REDIS_URL$/) }),
    ]);
    expect(worker.code).toBe(1);
    expect(worker.lines.filter((l) => l.level === 'fatal')).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/REDIS_MODE: none is single-instance mode; STEADFAST_INSTANCES=2 needs a Redis/) }),
    ]);
  });
});
