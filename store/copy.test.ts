import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type pg from 'pg';
import { copyFromStdin } from './copy.js';
import { createPool } from './db.js';

let pool: pg.Pool;
beforeAll(() => {
  pool = createPool(inject('databaseUrl'), 2);
});
afterAll(async () => {
  await pool?.end();
});

/** A temporary table on one lent client: gone with the session. */
async function withScratch<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('CREATE TEMP TABLE scratch (n int NOT NULL, label text)');
    return await fn(client);
  } finally {
    await client.query('DROP TABLE IF EXISTS scratch').catch(() => undefined);
    client.release();
  }
}

describe('copyFromStdin', () => {
  it('loads every row as sent: NULLs, tabs, newlines, backslashes, the text of \\N and non-ASCII, across chunks', async () => {
    const awkward = ['plain', null, 'tab\there', 'two\nlines', 'cr\rlf', 'back\\slash', '\\N', 'é ✓ 漢字', ''];
    // Enough rows for several 64 KiB chunks.
    const rows = Array.from({ length: 20_000 }, (_, i) => [String(i), awkward[i % awkward.length]!] as const);
    await withScratch(async (client) => {
      expect(await copyFromStdin(client, 'COPY scratch (n, label) FROM STDIN', rows)).toBe(rows.length);
      const { rows: read } = await client.query('SELECT n, label FROM scratch ORDER BY n');
      expect(read.map((r) => [String(r.n), r.label])).toEqual(rows.map(([n, label]) => [n, label]));
    });
  });

  it('a row the server refuses rejects with its error, loads nothing, and leaves the client usable', async () => {
    await withScratch(async (client) => {
      await expect(copyFromStdin(client, 'COPY scratch (n, label) FROM STDIN', [['1', 'a'], ['not a number', 'b']])).rejects.toThrow(/integer/);
      expect((await client.query('SELECT count(*)::int AS n FROM scratch')).rows[0].n).toBe(0);
      expect(await copyFromStdin(client, 'COPY scratch (n, label) FROM STDIN', [])).toBe(0);
    });
  });

  it('takes only a COPY … FROM STDIN statement', async () => {
    await withScratch(async (client) => {
      expect(() => copyFromStdin(client, 'DELETE FROM scratch', [])).toThrow(/COPY/);
    });
  });
});
