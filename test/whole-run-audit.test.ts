import { writeFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { createPool } from '../store/db.js';
import { auditLedger } from '../store/ledger/audit.js';

/**
 * The ledger of the whole run, audited once every other test file has finished: vitest.config.ts
 * runs this file in a project of its own with a later `sequence.groupOrder`. Being a test, a
 * problem shows as a failed test in the summary and in .data/vitest-report.json. The report is
 * left for the global teardown, which keeps the database for a post-mortem when it failed.
 */
describe('the ledger of the whole run', () => {
  it('passes every audit check after all other test files finished', async () => {
    const pool = createPool(inject('databaseUrl'), 1);
    try {
      const report = await auditLedger(pool);
      writeFileSync(inject('wholeRunAuditPath'), JSON.stringify(report));
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    } finally {
      await pool.end();
    }
  });
});
