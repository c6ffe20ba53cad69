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

export function ledgerAuditRoutes({ pool }: AppDeps) {
  return createRouter().openapi(auditRoute, async (c) => c.json(await auditLedger(pool), 200));
}
