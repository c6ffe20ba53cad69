import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseErrorQuoting } from '../test/pg-error.js';
import { describeError, isDatabaseError } from './safe-error.js';

const PAN = '4242 4242 4242 4242';
/** A real PostgreSQL error whose `where` and `detail` quote the data it was given. */
let pgError: Error;

beforeAll(async () => {
  pgError = await databaseErrorQuoting(PAN);
});

describe('describeError', () => {
  it('names a database error by code (and constraint, table, column), never its row data', () => {
    expect(isDatabaseError(pgError)).toBe(true);
    // The premise: printing the error as it was logged before shows the card number.
    expect(JSON.stringify({ ...pgError })).toContain(PAN);
    const line = describeError(pgError);
    expect(line).toBe(`DatabaseError code=${(pgError as unknown as { code: string }).code}`);
    expect(line).not.toContain('4242');
  });

  it('keeps the constraint, and follows causes', () => {
    const check = Object.assign(new pg.DatabaseError('new row for relation "payments" violates check constraint', 1, 'error'), {
      severity: 'ERROR', code: '23514', constraint: 'payments_payment_method_token_check', table: 'payments',
      detail: `Failing row contains (pay_1, ${PAN}).`,
    });
    const wrapped = new Error('insert failed', { cause: check });
    const text = describeError(wrapped);
    expect(text).toContain('Error: insert failed');
    expect(text).toContain('caused by: DatabaseError code=23514 constraint=payments_payment_method_token_check table=payments');
    expect(text).not.toContain('4242');
    expect(describeError(new AggregateError([check], 'all failed'))).not.toContain('4242');
    expect(describeError('plain')).toBe('plain');
  });
});
