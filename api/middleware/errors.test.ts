import { format } from 'node:util';
import { Hono } from 'hono';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
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
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await app.request('/boom');
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { type: 'api_error', code: 'internal_error', message: expect.any(String) } });
      expect(log).toHaveBeenCalledTimes(1);
      const line = format(...log.mock.calls[0]!); // what console.error writes
      expect(line).toContain('GET /boom failed');
      expect(line).not.toContain('4242');
      expect(line).not.toContain('Failing row');
      expect(line).toContain('DatabaseError code=23514 constraint=cards_no_pan table=cards');
    } finally {
      log.mockRestore();
    }
  });
});
