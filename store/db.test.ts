import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type pg from 'pg';
import { createPool } from './db.js';

let pool: pg.Pool;
let admin: pg.Pool;
beforeAll(() => {
  pool = createPool(inject('databaseUrl'), 2);
  admin = createPool(inject('databaseUrl'), 1);
});
afterAll(async () => {
  await pool?.end();
  await admin?.end();
});

describe('createPool', () => {
  it('a lent client whose server connection ends between two queries does not crash the process; the caller sees it at its next query and the pool replaces the client', async () => {
    const client = await pool.connect();
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    // What a failover or a server restart does to every open session ("terminating connection…").
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    await new Promise((r) => setTimeout(r, 300)); // the FATAL message arrives while no query runs
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release();
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });
});
