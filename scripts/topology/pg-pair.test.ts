import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../platform/temporal-dev-server.js';
import { createPool } from '../../store/db.js';
import { hostSelectorFor, NoSuitableHostError } from '../../store/multi-host.js';
import { createPgPair, type PgPair, type PgPairEvent } from './pg-pair.js';

/**
 * The topology's primary + synchronous standby, for real: a stream of single-row commits through
 * a read-write multi-host pool while the primary is SIGKILLed; the monitor promotes the standby
 * and rebuilds the old primary. Every commit that returned success is on the new primary (RPO 0),
 * the same pool carries on, and no statement ever ran on a standby. Then back again.
 */

const DB = 'postgres';
let baseDir: string;
let pair: PgPair;
let pool: pg.Pool;
const events: PgPairEvent[] = [];
const hostChanges: string[] = [];
let consoleError: ReturnType<typeof vi.spyOn>;

beforeAll(async () => {
  // The pool reports each idle connection the killed primary takes with it: expected here.
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  baseDir = mkdtempSync(join(tmpdir(), 'steadfast-pg-pair-'));
  const startedAt = Date.now();
  pair = await createPgPair({ baseDir, ports: [await freePort(), await freePort()], maxConnections: 50 });
  expect(Date.now() - startedAt).toBeLessThan(15_000);
  pair.onEvent((event) => events.push(event));
  hostSelectorFor(pair.url(DB)).onChange = (from, to) => hostChanges.push(`${from?.port ?? '-'}→${to.port}`);
  pool = createPool(pair.url(DB), 4);
  await pool.query('CREATE TABLE rpo (id int PRIMARY KEY, port int NOT NULL)');
});

afterAll(async () => {
  await pool?.end();
  await pair?.stop();
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
  consoleError?.mockRestore();
});

const direct = async <T>(port: number, fn: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: DB });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};
const idsOn = (port: number) => direct(port, async (c) => new Set((await c.query<{ id: number }>('SELECT id FROM rpo')).rows.map((r) => r.id)));

/** Four writers committing one row per statement until stopped; what was acknowledged, and how the others failed. */
function startWriters(firstId: number) {
  let next = firstId;
  let stopping = false;
  const acked: { id: number; port: number }[] = [];
  const failures: { code: string | undefined; message: string }[] = [];
  const writer = async () => {
    while (!stopping) {
      const id = next++;
      try {
        const { rows } = await pool.query<{ port: number }>('INSERT INTO rpo (id, port) VALUES ($1, inet_server_port()) RETURNING port', [id]);
        acked.push({ id, port: rows[0]!.port });
      } catch (err) {
        failures.push({ code: (err as { code?: string }).code, message: (err as Error).message });
        await sleep(20);
      }
    }
  };
  const running = Promise.all(Array.from({ length: 4 }, writer));
  return {
    acked, failures,
    async until(count: number) {
      const deadline = Date.now() + 20_000;
      while (acked.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${acked.length} of ${count} commits acknowledged; failures: ${JSON.stringify(failures.slice(-3))}`);
        await sleep(10);
      }
    },
    async stop() {
      stopping = true;
      await running;
    },
  };
}

/** Kills the primary under a stream of commits and checks the failover's promises; returns the next free id. */
async function failoverUnderLoad(firstId: number): Promise<number> {
  const oldPrimary = pair.primary;
  const oldStandby = pair.standby;
  const writers = startWriters(firstId);
  await writers.until(100);
  const rebuilt = pair.waitForEvent('rebuilt', 30_000);
  const killedAt = Date.now();
  await pair.killPrimary();
  const rebuiltEvent = await rebuilt;
  const ackedAtRebuild = writers.acked.length;
  await writers.until(ackedAtRebuild + 100);
  await writers.stop();

  // RPO 0: every acknowledged commit is on the new primary (commits that failed may or may not be).
  const onPrimary = await idsOn(pair.primary.port);
  const lost = writers.acked.filter((a) => !onPrimary.has(a.id));
  expect(lost).toEqual([]);
  // Each commit went to the primary of its time; none ever ran on a standby (25006: read-only transaction).
  expect(new Set(writers.acked.map((a) => a.port))).toEqual(new Set([oldPrimary.port, oldStandby.port]));
  expect(writers.acked.slice(ackedAtRebuild).every((a) => a.port === oldStandby.port)).toBe(true);
  expect(writers.failures.filter((f) => f.code === '25006')).toEqual([]);
  // The roles swapped; the old primary streams again as the synchronous standby.
  expect(pair.primary.port).toBe(oldStandby.port);
  expect(pair.standby.port).toBe(oldPrimary.port);
  const status = await pair.status();
  expect(status).toMatchObject({
    primary: { port: oldStandby.port, inRecovery: false },
    standby: { port: oldPrimary.port, inRecovery: true },
    replication: { applicationName: oldPrimary.name, state: 'streaming', syncState: 'sync' },
    synchronous: true,
    synchronousStandbyNames: oldPrimary.name,
  });
  const steps = events.filter((e) => e.atMs >= killedAt).map((e) => e.type);
  expect(steps).toEqual(expect.arrayContaining(['killed', 'suspect', 'detected', 'promoted', 'rebuilt']));
  expect(steps.filter((type) => type === 'failed' || type === 'fenced')).toEqual([]); // it was dead: nothing to fence
  expect(steps.indexOf('detected')).toBeLessThan(steps.indexOf('promoted'));
  expect(steps.indexOf('promoted')).toBeLessThan(steps.indexOf('rebuilt'));
  expect(rebuiltEvent.atMs - killedAt).toBeLessThan(15_000);

  // The rebuilt standby holds them too, once it has replayed what the primary wrote.
  const primaryLsn = await direct(pair.primary.port, async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn);
  await vi.waitFor(async () => {
    const replayed = await direct(pair.standby.port, async (c) => (await c.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [primaryLsn])).rows[0]!.ok);
    expect(replayed).toBe(true);
  }, { timeout: 10_000, interval: 50 });
  const onStandby = await idsOn(pair.standby.port);
  expect(writers.acked.filter((a) => !onStandby.has(a.id))).toEqual([]);

  // The same pool, not recreated, is on the new primary.
  expect((await pool.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]!.port).toBe(pair.primary.port);
  return firstId + 1_000_000;
}

describe('a PostgreSQL primary with a synchronous standby', () => {
  it('starts as a streaming synchronous pair; a read-write URL lands on the primary whatever the order', async () => {
    const status = await pair.status();
    expect(status).toMatchObject({
      primary: { name: 'pg_a', inRecovery: false, running: true },
      standby: { name: 'pg_b', inRecovery: true, running: true },
      replication: { applicationName: 'pg_b', state: 'streaming', syncState: 'sync' },
      synchronous: true,
    });
    const standbyFirst = `postgres://postgres@127.0.0.1:${pair.standby.port},127.0.0.1:${pair.primary.port}/${DB}?target_session_attrs=read-write`;
    const other = createPool(standbyFirst, 3);
    try {
      const sessions = await Promise.all([1, 2, 3].map(() => other.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r, pg_sleep(0.02)')));
      expect(sessions.map((s) => s.rows[0]!.r)).toEqual([false, false, false]);
    } finally {
      await other.end();
    }
    // Only the standby: refused, saying why (the session check, not the server, refuses it).
    const standbyOnly = createPool(`postgres://postgres@127.0.0.1:${pair.standby.port},127.0.0.1:${pair.standby.port}/${DB}?target_session_attrs=read-write`, 1);
    try {
      await expect(standbyOnly.query('SELECT 1')).rejects.toThrow(NoSuitableHostError);
      await expect(standbyOnly.query('SELECT 1')).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${pair.standby.port} is a standby`));
    } finally {
      await standbyOnly.end();
    }
  });

  it('fails over under load without losing an acknowledged commit, rebuilds, and fails back', async () => {
    // A second pool that remembers the primary but holds no connection when it dies: its next
    // connection lands on the rebuilt standby, which the session check refuses, and it moves on.
    const idleUrl = `${pair.url(DB)}&application_name=idle-pool`;
    const idle = createPool(idleUrl, 1);
    hostSelectorFor(idleUrl).onChange = () => undefined;
    const firstPrimary = pair.primary.port;
    try {
      (await idle.connect()).release(true);
      expect(hostSelectorFor(idleUrl).current?.port).toBe(firstPrimary);

      pair.startAutoFailover({ checkIntervalMs: 100, failAfterMs: 500 });
      const nextId = await failoverUnderLoad(1);
      expect(hostSelectorFor(idleUrl).current?.port).toBe(firstPrimary); // still remembered: nothing told it
      expect((await idle.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]!.port).toBe(pair.primary.port);

      await failoverUnderLoad(nextId);
      expect(pair.primary.port).toBe(firstPrimary);
      expect(hostChanges).toEqual([`-→${firstPrimary}`, `${firstPrimary}→${pair.standby.port}`, `${pair.standby.port}→${firstPrimary}`]);
    } finally {
      await idle.end();
    }
  });

  it('a lost standby: commits stop waiting for it (degraded), and it is rebuilt as the synchronous standby', async () => {
    const lostStandby = pair.standby;
    const rebuilt = pair.waitForEvent('rebuilt', 30_000);
    const killedAt = Date.now();
    await pair.killStandby();
    // This commit waits for the dead standby until the monitor degrades the primary.
    const { rows } = await pool.query<{ id: number }>('INSERT INTO rpo (id, port) VALUES (-1, inet_server_port()) RETURNING id');
    expect(rows[0]!.id).toBe(-1);
    await rebuilt;
    const types = events.filter((e) => e.atMs >= killedAt).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['killed', 'detected', 'degraded', 'rebuilt']));
    expect(types).not.toContain('promoted');
    expect(types).not.toContain('failed');
    expect(await pair.status()).toMatchObject({
      standby: { port: lostStandby.port, inRecovery: true }, synchronous: true, synchronousStandbyNames: lostStandby.name,
    });
    expect((await idsOn(pair.standby.port)).has(-1)).toBe(true);
  });
});
