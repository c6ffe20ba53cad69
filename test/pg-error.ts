import pg from 'pg';
import { inject } from 'vitest';

/**
 * A real PostgreSQL error whose `where` and `detail` quote `text` (an invalid JSON document holding
 * it): what a failed query with personal data in its parameters looks like to a logger.
 */
export async function databaseErrorQuoting(text: string): Promise<Error> {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 1 });
  try {
    return await pool.query(`SELECT $1::jsonb`, [`{"note": "${text} \\u0000"}`]).then(
      () => { throw new Error('expected a database error'); },
      (err: Error) => err,
    );
  } finally {
    await pool.end();
  }
}
