import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { freePort, REPO_ROOT } from '../../platform/temporal-dev-server.js';
import {
  checkPrerequisites, checkTable, missingLines, nodePrerequisite, portPrerequisite, postgresPrerequisite,
  redisPrerequisite, redisStatus, temporalPrerequisite, externalPostgresStatus,
} from './prerequisites.js';

/**
 * What `npm start` checks before it starts anything (issue #17), against the run's real PostgreSQL,
 * Redis and Temporal dev server, busy ports held by this test, and addresses nothing answers on.
 */

let dir = '';
let busy: Server;
let busyPort = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prerequisites-'));
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => busy.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Free ports for everything npm start binds (PORT, simulators, metrics, UI). */
async function freePorts(): Promise<Record<string, string>> {
  const names = ['PORT', 'TEMPORAL_UI_PORT', 'PROCESSORS_SIM_PORT', 'PROVIDERS_SIM_PORT', 'SMTP_SIM_PORT', 'WORKER_METRICS_PORT'];
  const ports: Record<string, string> = {};
  for (const name of names) ports[name] = String(await freePort());
  return ports;
}

describe('one check each', () => {
  it('a busy port is reported with what wants it and the setting that moves it', async () => {
    expect(await portPrerequisite('127.0.0.1', { port: busyPort, what: 'API', setting: 'PORT' })).toEqual({
      name: `port ${busyPort}`, ok: false, found: 'in use (wanted by the API)', fix: `stop what holds it (lsof -i :${busyPort}), or set PORT`,
    });
    const free = await freePort();
    expect(await portPrerequisite('127.0.0.1', { port: free, what: 'API', setting: 'PORT' })).toMatchObject({ ok: true, found: 'free for the API (PORT)' });
  });

  it('Redis: an unreachable REDIS_URL is missing; unset and nothing on the default address, single-instance mode for one instance only', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    expect(await redisStatus(loadConfig({ REDIS_URL: url }))).toEqual({
      kind: 'missing', reason: expect.stringMatching(/^REDIS_URL \(127\.0\.0\.1:\d+\) does not answer: .*ECONNREFUSED/), fix: 'start that Redis, or correct REDIS_URL',
    });
    const single = await redisStatus(loadConfig({}), { defaultUrl: url });
    expect(single).toEqual({ kind: 'single-instance', reason: expect.stringMatching(/^nothing answers on 127\.0\.0\.1:\d+ \(.*ECONNREFUSED/) });
    expect(redisPrerequisite(single)).toMatchObject({ ok: true, found: expect.stringMatching(/single-instance mode: no Redis \(rate limits in process, idempotency in PostgreSQL only, cache L1 only\)/) });
    expect(await redisStatus(loadConfig({ STEADFAST_INSTANCES: '2' }), { defaultUrl: url })).toMatchObject({
      kind: 'missing', reason: expect.stringMatching(/STEADFAST_INSTANCES=2 needs a Redis shared by every instance$/), fix: expect.stringMatching(/^install and start Redis 7 there .*, or set REDIS_URL$/),
    });
    expect(await redisStatus(loadConfig({ REDIS_MODE: 'none' }))).toEqual({ kind: 'single-instance', reason: 'REDIS_MODE=none' });
    expect(await redisStatus(loadConfig({ REDIS_URL: inject('redisUrl') }))).toEqual({
      kind: 'external', url: inject('redisUrl'), address: expect.any(String), version: expect.stringMatching(/^\d+\.\d+/),
    });
  });

  it('PostgreSQL: the one that answers with its version; an explicit DATABASE_URL that does not is missing', async () => {
    const external = await externalPostgresStatus({ DATABASE_URL: inject('databaseUrl') }, {});
    expect(external).toEqual({ kind: 'external', address: expect.stringMatching(/:\d+$/), version: expect.stringMatching(/^\d+(\.\d+)?/) });
    expect(postgresPrerequisite(external).found).toMatch(/^external \S+:\d+ \(PostgreSQL \d+/);
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/steadfast`;
    expect(postgresPrerequisite(await externalPostgresStatus({ DATABASE_URL: url }, { DATABASE_URL: url }))).toEqual({
      name: 'PostgreSQL', ok: false, found: expect.stringMatching(/^missing: DATABASE_URL \(127\.0\.0\.1:\d+\) does not answer/), fix: 'start that PostgreSQL, or correct DATABASE_URL',
    });
    expect(postgresPrerequisite({ kind: 'embedded', port: 5433, version: '17.2', dataDir: '.data/embedded-postgres', starting: true }).found)
      .toBe('embedded, will start on 127.0.0.1:5433 (PostgreSQL 17.2), data in .data/embedded-postgres');
  });

  it('Node against package.json engines', () => {
    expect(nodePrerequisite('>=20.19', '20.19.0').ok).toBe(true);
    expect(nodePrerequisite('>=20.19', '22.1.0').ok).toBe(true);
    expect(nodePrerequisite('>=20.19', '20.18.3')).toEqual({ name: 'Node', ok: false, found: '20.18.3, needs >=20.19', fix: 'install Node 20.19.0 or newer (https://nodejs.org, or nvm install 20)' });
  });

  it('Temporal: a server already there needs no CLI; none and no way to get the CLI names every option', async () => {
    const there = await temporalPrerequisite(loadConfig({ TEMPORAL_ADDRESS: inject('temporalAddress') }));
    expect(there).toEqual({ ownServer: false, prerequisite: { name: 'Temporal', ok: true, found: `external server at ${inject('temporalAddress')} (already running; no CLI needed)` } });
    const none = await temporalPrerequisite(loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` }), {
      pathEnv: join(dir, 'empty'), toolsBinDir: join(dir, 'tools'), goFallbacks: [], downloadReachable: async () => false,
    });
    expect(none.ownServer).toBe(true);
    expect(none.prerequisite).toMatchObject({ ok: false, fix: expect.stringMatching(/^set TEMPORAL_CLI_PATH=.*install the Temporal CLI.*install Go/) });
    const missingFile = await temporalPrerequisite(loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, TEMPORAL_CLI_PATH: join(dir, 'nope') }));
    expect(missingFile.prerequisite).toEqual({ name: 'Temporal', ok: false, found: `missing: TEMPORAL_CLI_PATH points to a missing file: ${join(dir, 'nope')}`, fix: 'correct TEMPORAL_CLI_PATH, or unset it' });
  });

  it('all together: the missing ones as one line each with the fix', async () => {
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const env: Record<string, string> = { DATABASE_URL: inject('databaseUrl'), REDIS_URL: redisUrl, TEMPORAL_ADDRESS: inject('temporalAddress'), ...await freePorts(), PROCESSORS_SIM_PORT: String(busyPort) };
    const found = await checkPrerequisites(loadConfig(env), { env });
    expect(found.map((p) => p.name)).toEqual(['Node', 'PostgreSQL', 'Redis', 'Temporal', `port ${env.PORT}`, `port ${busyPort}`,
      `port ${env.PROVIDERS_SIM_PORT}`, `port ${env.SMTP_SIM_PORT}`, `port ${env.WORKER_METRICS_PORT}`]);
    expect(missingLines(found)).toEqual([
      expect.stringMatching(/^ {2}✗ Redis: missing: REDIS_URL \(127\.0\.0\.1:\d+\) does not answer: .* — fix: start that Redis, or correct REDIS_URL$/),
      `  ✗ port ${busyPort}: in use (wanted by the processors simulator) — fix: stop what holds it (lsof -i :${busyPort}), or set PROCESSORS_SIM_PORT`,
    ]);
    expect(checkTable(found)).toMatch(/2 missing: npm start would stop before starting anything\.$/);
  });
});

describe('npm start -- --check (the entry, run as npm start runs it: argv after the script)', () => {
  const run = promisify(execFile);
  async function check(overrides: Record<string, string>): Promise<{ code: number; stdout: string }> {
    const env = {
      ...process.env, NODE_ENV: 'test', START_DATA_DIR: dir, DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'), ...await freePorts(), ...overrides,
    };
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--check'], { cwd: REPO_ROOT, env, timeout: 60_000 });
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '' };
    }
  }

  it('everything there: a table of what will be used, exit 0, nothing started', async () => {
    const { code, stdout } = await check({});
    expect(stdout).toMatch(/^ {2}What +Status +Found \/ will use$/m);
    expect(stdout).toMatch(/^ {2}PostgreSQL +ok +external \S+ \(PostgreSQL \d+/m);
    expect(stdout).toMatch(/^ {2}Redis +ok +external \S+ \(Redis \d+/m);
    expect(stdout).toMatch(/^ {2}Temporal +ok +external server at /m);
    expect(stdout).toMatch(/Everything npm start needs is there\.$/m);
    expect(code).toBe(0);
  });

  it('Redis missing and a port taken: MISSING rows with their fixes, exit 1', async () => {
    const { code, stdout } = await check({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: String(busyPort) });
    expect(stdout).toMatch(/^ {2}Redis +MISSING +missing: REDIS_URL .* — fix: start that Redis, or correct REDIS_URL$/m);
    expect(stdout).toMatch(new RegExp(`^ {2}port ${busyPort} +MISSING +in use \\(wanted by the API\\) — fix: .*set PORT$`, 'm'));
    expect(stdout).toMatch(/2 missing: npm start would stop before starting anything\.$/m);
    expect(code).toBe(1);
  });
});
