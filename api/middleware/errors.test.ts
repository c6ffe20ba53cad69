import { Hono } from 'hono';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../platform/log.js';
import { onError } from './errors.js';

const PAN = '4242 4242 4242 4242';
let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 1 });
});
afterAll(async () => {
  await pool?.end();
});

describe('onError', () => {
  it('logs a database error by code and constraint, never its detail (which quotes the row)', async () => {
    // A real CHECK violation whose detail reads "Failing row contains (…4242 4242 4242 4242…)".
    const app = new Hono().get('/boom', async () => {
      await pool.query(`CREATE TEMP TABLE IF NOT EXISTS cards (note text CONSTRAINT cards_no_pan CHECK (note !~ '[0-9]{4} [0-9]{4}'))`);
      await pool.query(`INSERT INTO cards (note) VALUES ($1)`, [`pay with ${PAN}`]);
      return new Response('unreachable');
    }).onError(onError);
    const logs = captureLogs();
    try {
      const res = await app.request('/boom');
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { type: 'api_error', code: 'internal_error', message: expect.any(String) } });
      const lines = logs.lines().filter((line) => line.msg === 'request failed');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'error', method: 'GET', route: '/boom',
        err: { type: 'DatabaseError', code: '23514', constraint: 'cards_no_pan', table: 'cards' },
      });
      expect(logs.text()).not.toContain('4242');
      expect(logs.text()).not.toContain('Failing row');
    } finally {
      logs.stop();
    }
  });
});
