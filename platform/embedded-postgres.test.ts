import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ensureDatabase, migrateUp } from '../store/migrate.js';
import { commandLine } from '../scripts/start/pid-file.js';
import { DatabaseUnreachableError, EmbeddedPostgres, resolveDatabase } from './embedded-postgres.js';
import { parsePostgresUrl } from './postgres-url.js';

/** A port bound by us for the test's duration (so "taken"), or released at once (so nothing answers). */
function listenOnFreePort(): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolveServer(server));
  });
}
const portOf = (server: Server) => (server.address() as { port: number }).port;
const close = (server: Server) => new Promise<void>((r) => server.close(() => r()));

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

const baseDir = mkdtempSync(join(tmpdir(), 'steadfast-embedded-pg-'));
const servers: EmbeddedPostgres[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  rmSync(baseDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  it('takes our schema (its extensions included), keeps its data across a restart, and moves off a taken port', async () => {
    const taken = await listenOnFreePort();
    const takenPort = portOf(taken);
    const spawned: { pid: number; argv: string[] }[] = [];
    const first = new EmbeddedPostgres({ baseDir, port: takenPort, onSpawn: (s) => spawned.push(s) });
    servers.push(first);
    try {
      await first.start();
    } finally {
      await close(taken);
    }
    expect(first.port).not.toBe(takenPort);
    expect(readFileSync(join(baseDir, 'port'), 'utf8').trim()).toBe(String(first.port));
    // What the pid file records is what `ps` shows for the server (so a leftover is found again).
    expect(spawned).toHaveLength(1);
    expect(commandLine(spawned[0]!.pid)).toBe(spawned[0]!.argv.join(' '));
    if (process.getuid?.() === 0) {
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${spawned[0]!.pid}/status`, 'utf8'))?.[1];
      expect(Number(uid)).not.toBe(0);
    }

    const url = first.url('steadfast');
    await ensureDatabase(url);
    await migrateUp(url);
    const extensions = await query<{ extname: string }>(url, 'SELECT extname FROM pg_extension ORDER BY extname');
    expect(extensions.map((row) => row.extname)).toContain('btree_gist');
    const [{ applied }] = await query<{ applied: string }>(url, 'SELECT count(*) AS applied FROM pgmigrations') as [{ applied: string }];
    expect(Number(applied)).toBeGreaterThan(0);
    await query(url, 'CREATE TABLE kept_across_restart (note text); INSERT INTO kept_across_restart VALUES (\'still here\')');
    await first.stop();
    await expect(query(url, 'SELECT 1')).rejects.toThrow();

    const second = new EmbeddedPostgres({ baseDir, port: first.port });
    servers.push(second);
    await second.start();
    const secondUrl = second.url('steadfast');
    expect(await query(secondUrl, 'SELECT note FROM kept_across_restart')).toEqual([{ note: 'still here' }]);
    expect(await query<{ applied: string }>(secondUrl, 'SELECT count(*) AS applied FROM pgmigrations')).toEqual([{ applied }]);
    await second.stop();
  });
});

describe('resolveDatabase', () => {
  it('an explicit DATABASE_URL where nothing answers is a one-line error naming its host:port, never a fallback', async () => {
    const released = await listenOnFreePort();
    const port = portOf(released);
    await close(released);
    const databaseUrl = `postgres://postgres@127.0.0.1:${port}/steadfast`;
    const settings = { DATABASE_URL: databaseUrl, EMBEDDED_PG_DIR: join(baseDir, 'never'), EMBEDDED_PG_PORT: port };
    const attempt = resolveDatabase(settings, { env: { DATABASE_URL: databaseUrl }, probeTimeoutMs: 500 });
    await expect(attempt).rejects.toBeInstanceOf(DatabaseUnreachableError);
    const message = await attempt.catch((err: Error) => err.message);
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('unset DATABASE_URL');
    expect(message).not.toContain('\n');
  });

  it('without DATABASE_URL and with nothing on its address, starts the embedded PostgreSQL and returns its URL', async () => {
    const released = await listenOnFreePort();
    const port = portOf(released);
    await close(released);
    const settings = { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/steadfast`, EMBEDDED_PG_DIR: join(baseDir, 'resolved'), EMBEDDED_PG_PORT: port };
    const resolved = await resolveDatabase(settings, { env: {}, probeTimeoutMs: 500 });
    if (resolved.embedded) servers.push(resolved.embedded);
    expect(resolved.embedded).not.toBeNull();
    expect(resolved.url).toBe(`postgres://postgres@127.0.0.1:${resolved.embedded!.port}/steadfast`);
    expect(resolved.description).toBe(`embedded (${join(baseDir, 'resolved', 'data')}, port ${resolved.embedded!.port})`);
    expect(await query(resolved.embedded!.url('postgres'), 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await resolved.embedded!.stop();
  });

  it('without DATABASE_URL, a PostgreSQL answering on the default address is used as it is', async () => {
    // The run's PostgreSQL stands for the one on the default address (the machine's, or the run's embedded one).
    const [{ host, port }] = parsePostgresUrl(inject('databaseUrl')).hosts as [{ host: string; port: number }];
    const settings = { DATABASE_URL: `postgres://postgres@${host}:${port}/steadfast`, EMBEDDED_PG_DIR: join(baseDir, 'never'), EMBEDDED_PG_PORT: 5433 };
    const resolved = await resolveDatabase(settings, { env: {} });
    expect(resolved).toEqual({ url: settings.DATABASE_URL, embedded: null, description: `external (${host}:${port})` });
  });
});
