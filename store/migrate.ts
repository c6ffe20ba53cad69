import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { join } from 'node:path';
import { databaseNameOf, withDatabaseName } from '../platform/postgres-url.js';
import { REPO_ROOT } from '../platform/repo-root.js';
import { resolveWritableUrl } from './multi-host.js';

/** The migrations, beside package.json (from the sources and from dist/ alike). */
const SCHEMA_DIR = join(REPO_ROOT, 'schema');

/**
 * Creates the database named in the URL when it does not exist yet (needs rights on `postgres`).
 * A URL with several hosts (a primary and its standby) works on the one that takes writes now.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  if (!/^[A-Za-z0-9_]{1,63}$/.test(name)) throw new Error(`Unsupported database name: ${name}`);
  const admin = new pg.Client({ connectionString: await adminUrl(databaseUrl) });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } catch (err) {
        // Two processes may race to create it; the loser finds it there.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  const admin = new pg.Client({ connectionString: await adminUrl(databaseUrl) });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The `postgres` database on the server that takes writes now. */
async function adminUrl(databaseUrl: string): Promise<string> {
  return withDatabaseName(await resolveWritableUrl(databaseUrl), 'postgres');
}

/** Applies the numbered SQL migrations in `schema/` (node-pg-migrate keeps the bookkeeping), on the writable host. */
export async function migrateUp(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<void> {
  await runner({
    databaseUrl: await resolveWritableUrl(databaseUrl),
    dir: SCHEMA_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    singleTransaction: true,
    checkOrder: true,
    verbose: false,
    log,
  });
}
