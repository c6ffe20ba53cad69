import { createRoute, z } from '@hono/zod-openapi';
import { auditLedger } from '../../store/ledger/audit.js';
import { createRouter, type AppDeps } from '../context.js';
import { commonErrors, jsonResponse } from '../schemas.js';

const AuditBody = z
  .object({
    ok: z.boolean(),
    checked: z.object({ accounts: z.number().int(), transactions: z.number().int(), entries: z.number().int() }),
    problems: z.array(z.object({ kind: z.string(), id: z.string(), detail: z.string() })),
  })
  .openapi('LedgerAudit');

const auditRoute = createRoute({
  method: 'get', path: '/', tags: ['Ops'],
  summary: 'Re-derive every balance from the entries and check the ledger invariants (admin key)',
  responses: { 200: jsonResponse('The audit report', AuditBody), ...commonErrors },
});

/**
 * The whole-ledger scan, the heaviest read there is, runs on `readPool` (DATABASE_READ_URL, a
 * standby) when there is one: it keeps the scan's CPU and I/O off the primary, and it decides
 * nothing (a report for an operator). The standby may be a few milliseconds behind the primary;
 * each check is one statement, so it sees one consistent state, whichever server answers.
 */
export function ledgerAuditRoutes({ pool, readPool }: AppDeps) {
  const db = readPool ?? pool;
  return createRouter().openapi(auditRoute, async (c) => c.json(await auditLedger(db), 200));
}
