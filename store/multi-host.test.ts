import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { captureLogs } from '../platform/log.js';
import { parsePostgresUrl, type TargetSessionAttrs } from '../platform/postgres-url.js';
import { freePort } from '../platform/temporal-dev-server.js';
import { createClient, createPool } from './db.js';
import { dropDatabase, ensureDatabase } from './migrate.js';
import { hostSelectorFor, MultiHostPool, NoSuitableHostError, resolveWritableUrl, StaleHostError } from './multi-host.js';

/**
 * Several-host URLs against the real server on 127.0.0.1:5432 (a primary): a dead port in the
 * list, a TCP proxy that dies under the pool, and a database whose sessions are read-only. The
 * standby side (a read-write pool never lands on it) is in scripts/topology/pg-pair.test.ts.
 */

const base = parsePostgresUrl(inject('databaseUrl'));
const server = base.hosts[0]!;
const database = base.database!;
const READ_ONLY_DB = `${database}_ro`;
let deadPort: number;

/** A multi-host URL over `ports` (127.0.0.1) on `db`. */
const urlOver = (ports: number[], attrs: TargetSessionAttrs = 'read-write', db = database) =>
  `postgres://${base.user}@${ports.map((p) => `127.0.0.1:${p}`).join(',')}/${db}?target_session_attrs=${attrs}`;

beforeAll(async () => {
  deadPort = await freePort(); // nothing listens there: connections are refused
  const readOnlyUrl = `postgres://${base.user}@${server.host}:${server.port}/${READ_ONLY_DB}`;
  await ensureDatabase(readOnlyUrl);
  const admin = new pg.Client({ connectionString: readOnlyUrl });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${READ_ONLY_DB} SET default_transaction_read_only = on`);
  await admin.end();
});
afterAll(async () => {
  await dropDatabase(`postgres://${base.user}@${server.host}:${server.port}/${READ_ONLY_DB}`);
});

describe('a pool over a host list', () => {
  it('skips a dead first host, remembers the good one, and probes once for many connections', async () => {
    const url = urlOver([deadPort, server.port]);
    const selector = hostSelectorFor(url);
    const pool = createPool(url, 4);
    try {
      expect(pool).toBeInstanceOf(MultiHostPool);
      const ports = await Promise.all(Array.from({ length: 8 }, () => pool.query<{ port: number }>('SELECT inet_server_port() AS port, pg_sleep(0.02)')));
      expect(ports.map((r) => r.rows[0]!.port)).toEqual(Array(8).fill(server.port));
      expect(pool.totalCount).toBe(4);
      expect(selector.current).toEqual({ host: '127.0.0.1', port: server.port });
      expect(selector.probeCount).toBe(1);
      // A write works (CREATE is refused in a read-only session, even for a temporary table).
      await pool.query('CREATE TEMP TABLE multi_host_write (n int)');
    } finally {
      await pool.end();
    }
  });

  it.each([
    ['read-write', 'read-only', /no host serves target_session_attrs=read-write: .*127\.0\.0\.1:\d+ is a read-only primary/],
    ['read-only', 'read-only', null],
    ['read-only', 'writable', /127\.0\.0\.1:\d+ is a read-write primary/],
    ['standby', 'writable', /no host serves target_session_attrs=standby: 127\.0\.0\.1:\d+ failed \(.*ECONNREFUSED.*\); 127\.0\.0\.1:\d+ is a read-write primary/],
    ['primary', 'read-only', null],
    ['prefer-standby', 'writable', null],
    ['any', 'writable', null],
  ] as const)('target_session_attrs=%s on a %s database: refused %s', async (attrs, kind, refusal) => {
    const pool = createPool(urlOver([deadPort, server.port], attrs, kind === 'writable' ? database : READ_ONLY_DB), 1);
    try {
      const attempt = pool.query<{ read_only: string }>(`SELECT current_setting('transaction_read_only') AS read_only`);
      if (refusal) {
        await expect(attempt).rejects.toThrow(NoSuitableHostError);
        await expect(pool.query('SELECT 1')).rejects.toThrow(refusal);
      } else {
        expect((await attempt).rows[0]!.read_only).toBe(kind === 'writable' ? 'off' : 'on');
      }
    } finally {
      await pool.end();
    }
  });

  it('after the remembered host dies, the next query goes to the other host without an error', async () => {
    const proxy = await startProxy(server.port);
    const url = urlOver([proxy.port, server.port]);
    const selector = hostSelectorFor(url);
    const changes: string[] = [];
    selector.onChange = (from, to) => changes.push(`${from?.port ?? '-'}→${to.port}`);
    const pool = createPool(url, 2);
    try {
      expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
      expect(selector.current?.port).toBe(proxy.port);
      // No connection is open when the host dies: nothing tells the selector before the next connect.
      const client = await pool.connect();
      client.release(true);
      await proxy.close();

      expect((await pool.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]!.port).toBe(server.port);
      expect(selector.current?.port).toBe(server.port);
      expect(changes).toEqual([`-→${proxy.port}`, `${proxy.port}→${server.port}`]);
    } finally {
      await pool.end();
    }
  });

  it('an open connection lost with its host makes the selector forget it at once', async () => {
    const proxy = await startProxy(server.port);
    const url = urlOver([proxy.port, server.port]);
    const selector = hostSelectorFor(url);
    selector.onChange = () => undefined;
    const logs = captureLogs();
    const pool = createPool(url, 1);
    try {
      await pool.query('SELECT 1');
      expect(selector.current?.port).toBe(proxy.port);
      const lost = new Promise((resolveLost) => pool.once('error', resolveLost));
      await proxy.close();
      await lost; // the idle client's connection ended under it
      await vi.waitFor(() => expect(selector.current).toBeNull());
      expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'error', component: 'db', msg: 'idle client error' }));
    } finally {
      logs.stop();
      await pool.end();
    }
  });
});

describe('dedicated clients and tools', () => {
  it('createClient connects to the host the selector chooses, keeping its other options', async () => {
    const url = urlOver([deadPort, server.port]);
    const client = createClient(url, { application_name: 'multi-host-test' });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; port: number }>(`SELECT current_setting('application_name') AS name, inet_server_port() AS port`);
      expect(rows[0]).toEqual({ name: 'multi-host-test', port: server.port });
    } finally {
      await client.end();
    }
  });

  it('a dedicated client to a remembered host that died fails with StaleHostError; the next one probes', async () => {
    const proxy = await startProxy(server.port);
    const url = urlOver([proxy.port, server.port]);
    hostSelectorFor(url).onChange = () => undefined;
    const first = createClient(url);
    await first.connect();
    await first.end();
    await proxy.close();
    const stale = createClient(url);
    await expect(stale.connect()).rejects.toThrow(StaleHostError);
    const next = createClient(url);
    await next.connect();
    expect((await next.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]!.port).toBe(server.port);
    await next.end();
  });

  it('resolveWritableUrl gives the writable host as a one-host URL; a one-host URL comes back as it is', async () => {
    const url = urlOver([deadPort, server.port], 'any');
    expect(await resolveWritableUrl(url)).toBe(`postgres://${base.user}@127.0.0.1:${server.port}/${database}`);
    const single = `postgres://${base.user}@127.0.0.1:${server.port}/${database}?sslmode=disable`;
    expect(await resolveWritableUrl(single)).toBe(single);
    // ensureDatabase / dropDatabase take a host list (the read-only database refuses nothing here: CREATE DATABASE runs on `postgres`).
    const scratch = urlOver([deadPort, server.port], 'read-write', `${database}_mh`);
    await ensureDatabase(scratch);
    await dropDatabase(scratch);
  });
});

describe('a one-host URL', () => {
  it('goes to pg exactly as before: plain pg.Pool and pg.Client, no selector, no probe', async () => {
    const url = inject('databaseUrl');
    const pool = createPool(url, 1);
    try {
      expect(Object.getPrototypeOf(pool)).toBe(pg.Pool.prototype);
      expect(pool.options).toMatchObject({ connectionString: url, max: 1 });
      expect((pool.options as { Client?: unknown }).Client).toBeUndefined();
      expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
    } finally {
      await pool.end();
    }
    const client = createClient(url, { application_name: 'x' });
    expect(Object.getPrototypeOf(client)).toBe(pg.Client.prototype);
  });
});

/** A TCP proxy to 127.0.0.1:`target` on a free port; `close()` stops it and cuts every connection. */
async function startProxy(target: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((downstream) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  const port = await new Promise<number>((resolvePort) => proxy.listen(0, '127.0.0.1', () => resolvePort((proxy.address() as { port: number }).port)));
  return {
    port,
    close: () => new Promise<void>((resolveClose) => {
      proxy.close(() => resolveClose());
      for (const s of sockets) s.destroy();
    }),
  };
}
