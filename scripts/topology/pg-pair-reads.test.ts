import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { opsAuditLogRoutes } from '../../api/audit/routes.js';
import type { AppDeps } from '../../api/context.js';
import { ledgerAuditRoutes } from '../../api/ops/ledger-audit.js';
import { freePort } from '../../platform/temporal-dev-server.js';
import { insertAuditEvent } from '../../store/audit/audit-events.js';
import { createPool } from '../../store/db.js';
import { insertAccount } from '../../store/ledger/accounts.js';
import { ensureDatabase, migrateUp } from '../../store/migrate.js';
import { hostSelectorFor } from '../../store/multi-host.js';
import { createPgPair, type PgPair } from './pg-pair.js';

/**
 * DATABASE_READ_URL on the real pair (issue #15): `pair.url(db, 'prefer-standby')`, as the topology
 * sets it. The audit endpoints answer from the hot standby; reads carry on when the primary dies
 * (the standby they are on is promoted) and when the standby dies (they move to the primary while
 * none is up), and a pool started after a failover lands on the rebuilt standby.
 */

const DB = 'steadfast_reads';
const DATA_DIR = fileURLToPath(new URL('../../.data/', import.meta.url));
let baseDir: string;
let pair: PgPair;
let primary: pg.Pool;
let reads: pg.Pool;
const opened: pg.Pool[] = [];
let consoleError: ReturnType<typeof vi.spyOn>;

/** A prefer-standby pool with a selector of its own (a new process would have one), logging host changes nowhere. */
function readPool(name: string): pg.Pool {
  const url = `${pair.url(DB, 'prefer-standby')}&application_name=${name}`;
  hostSelectorFor(url).onChange = () => undefined;
  const pool = createPool(url, 2);
  opened.push(pool);
  return pool;
}

interface Where { inRecovery: boolean; port: number }
const whereIs = async (pool: pg.Pool): Promise<Where> => {
  const { rows } = await pool.query<{ r: boolean; port: number }>('SELECT pg_is_in_recovery() AS r, inet_server_port() AS port');
  return { inRecovery: rows[0]!.r, port: rows[0]!.port };
};

/** One reader querying `pool` back to back until stopped: where each read ran, and when reads failed. */
function startReader(pool: pg.Pool) {
  let stopping = false;
  const answered: (Where & { atMs: number })[] = [];
  const failedAtMs: number[] = [];
  const running = (async () => {
    while (!stopping) {
      try {
        answered.push({ ...(await whereIs(pool)), atMs: Date.now() });
      } catch {
        failedAtMs.push(Date.now());
      }
      await sleep(10);
    }
  })();
  return {
    answered, failedAtMs,
    async stop() {
      stopping = true;
      await running;
    },
  };
}

beforeAll(async () => {
  // Each connection the killed servers take with them is reported by the pools: expected here.
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  mkdirSync(DATA_DIR, { recursive: true });
  baseDir = mkdtempSync(join(DATA_DIR, 'pg-pair-reads-'));
  pair = await createPgPair({ baseDir, ports: [await freePort(), await freePort()], maxConnections: 50 });
  await ensureDatabase(pair.url(DB));
  await migrateUp(pair.url(DB));
  hostSelectorFor(pair.url(DB)).onChange = () => undefined;
  primary = createPool(pair.url(DB), 2);
  opened.push(primary);
  reads = readPool('reads');
});

afterAll(async () => {
  await Promise.allSettled(opened.map((pool) => pool.end()));
  await pair?.stop();
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
  consoleError?.mockRestore();
});

describe('DATABASE_READ_URL on a primary with a synchronous standby (prefer-standby)', () => {
  it('lands on the standby, where the audit log and the ledger audit answer', async () => {
    expect(await whereIs(reads)).toEqual({ inRecovery: true, port: pair.standby.port });
    const tenant = await createTenant(primary, 'Reads');
    await insertAccount(primary, { tenantId: tenant.id, type: 'user', currency: 'USD', ownerId: null, limits: {}, metadata: {} });
    const eventId = await insertAuditEvent(primary, {
      tenantId: tenant.id, actor: { type: 'admin', id: 'admin' }, action: 'tenant.create',
      resourceType: 'tenant', resourceId: tenant.id, requestId: null, status: 201,
    });

    // No primary pool at all: the routes can only have read through readPool, on the standby.
    const deps = { pool: undefined, readPool: reads } as unknown as AppDeps;
    // The commit is flushed on the standby, not necessarily applied yet: the reason only these routes read there.
    await vi.waitFor(async () => {
      const res = await opsAuditLogRoutes(deps).request(`/?tenant_id=${tenant.id}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: { id: string }[] }).data.map((e) => e.id)).toEqual([eventId]);
    }, { timeout: 5_000, interval: 20 });
    const audit = await ledgerAuditRoutes(deps).request('/');
    expect(audit.status).toBe(200);
    expect(await audit.json()).toEqual({ ok: true, checked: { accounts: 1, transactions: 0, entries: 0 }, problems: [] });
    expect(await whereIs(reads)).toEqual({ inRecovery: true, port: pair.standby.port });
  });

  it('the primary dies: reads on the standby carry on through its promotion and the rebuild; a new pool lands on the new standby', async () => {
    pair.startAutoFailover({ checkIntervalMs: 100, failAfterMs: 500 });
    const oldPrimary = pair.primary;
    const oldStandby = pair.standby;
    const reader = startReader(reads);
    await vi.waitFor(() => expect(reader.answered.length).toBeGreaterThan(5));
    const rebuilt = pair.waitForEvent('rebuilt', 20_000);
    const killedAtMs = Date.now();
    await pair.killPrimary();
    await rebuilt;
    const answeredAtRebuild = reader.answered.length;
    await vi.waitFor(() => expect(reader.answered.length).toBeGreaterThan(answeredAtRebuild + 5));
    await reader.stop();

    // The reads were never on the primary that died: not one failed, before, during or after.
    expect(reader.failedAtMs).toEqual([]);
    expect(new Set(reader.answered.map((a) => a.port))).toEqual(new Set([oldStandby.port]));
    expect(reader.answered.filter((a) => a.atMs > killedAtMs).length).toBeGreaterThan(5);
    // Its server is the primary now (promoted in place). The pool stays with it: prefer-standby checks
    // no session, and its selector probes again only when a connection is lost (store/multi-host.ts).
    expect(pair.primary.port).toBe(oldStandby.port);
    expect(reader.answered.at(-1)).toMatchObject({ inRecovery: false, port: oldStandby.port });

    // A pool that starts now (another API process) probes and finds the rebuilt standby.
    expect(await whereIs(readPool('reads-after-failover'))).toEqual({ inRecovery: true, port: oldPrimary.port });
  });

  it('the standby dies: reads move to the primary while none is up, and carry on after the rebuild', async () => {
    const onStandby = readPool('reads-on-standby');
    expect(await whereIs(onStandby)).toEqual({ inRecovery: true, port: pair.standby.port });
    const lostStandby = pair.standby;
    const reader = startReader(onStandby);
    await vi.waitFor(() => expect(reader.answered.length).toBeGreaterThan(5));
    const rebuilt = pair.waitForEvent('rebuilt', 20_000);
    const killedAtMs = Date.now();
    await pair.killStandby();
    await vi.waitFor(() => expect(reader.answered.at(-1)).toMatchObject({ inRecovery: false, port: pair.primary.port }), { timeout: 5_000, interval: 20 });
    const movedAtMs = reader.answered.at(-1)!.atMs;
    await rebuilt;
    const answeredAtRebuild = reader.answered.length;
    await vi.waitFor(() => expect(reader.answered.length).toBeGreaterThan(answeredAtRebuild + 5));
    await reader.stop();

    // Only the reads the kill cut off failed: every one after the move to the primary answered.
    expect(reader.failedAtMs.every((atMs) => atMs < movedAtMs)).toBe(true);
    expect(movedAtMs - killedAtMs).toBeLessThan(3_000);
    const afterMove = reader.answered.filter((a) => a.atMs >= movedAtMs);
    expect(afterMove.every((a) => a.port === pair.primary.port && !a.inRecovery)).toBe(true);
    expect(pair.standby.port).toBe(lostStandby.port);
    expect(await whereIs(readPool('reads-after-rebuild'))).toEqual({ inRecovery: true, port: lostStandby.port });
  });
});
