import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { dayNumberOf } from '../../domain/hr/working-days.js';
import { LINE_STATUSES } from '../../domain/payroll/run.js';
import { payPeriodOf } from '../../domain/payroll/period.js';
import { withTransaction } from '../../store/db.js';
import { findEmployee } from '../../store/hr/employees.js';
import { findAccount } from '../../store/ledger/accounts.js';
import { findPayrollLine, listPayrollLines } from '../../store/payroll/lines.js';
import { findPayrollRun, insertPayrollRun, listPayrollRuns, moveRun, type PayrollRun } from '../../store/payroll/runs.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import {
  approvePayrollUpdate, cancelPayrollUpdate, retryFailedPayrollUpdate, type PayrollActorArgs, type PayrollRunResult,
} from '../../workflows/payroll/types.js';
import type { UpdateDefinition } from '@temporalio/common';
import { createRouter, tenantOf, type AppDeps, type AppEnv } from '../context.js';
import { errors } from '../errors.js';
import { IsoDate } from '../hr/schemas.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { actorHeader, actorOf, requireActor } from '../middleware/actor.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { startWorkflow, waitUntil } from '../workflow-start.js';
import { runUpdate, updateIdOf, updateOnceCaughtUp } from '../workflow-updates.js';
import { renderPayslipPdf } from './payslip-pdf.js';
import { PayrollLineBody, PayrollRunBody, PayslipJsonBody, serializePayrollLine, serializePayrollRun, payslipOf } from './serialize-runs.js';

const Period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/).openapi({ description: 'A calendar month, `YYYY-MM`.', example: '2026-11' });
const CreatePayrollRun = z
  .strictObject({
    period: Period,
    pay_date: IsoDate.openapi({ description: 'The UTC day payment starts (at once when today or past).' }),
    funding_account_id: z.string().min(1).max(100),
  })
  .openapi('CreatePayrollRun');
const NoBody = z.strictObject({}).openapi('PayrollRunAction');
const actorHeaders = idempotencyHeader.extend(actorHeader.shape);
const RunListQuery = ListQuery.extend({ period: Period.optional() });
const LineListQuery = ListQuery.extend({ status: z.enum(LINE_STATUSES).optional() });
const LineParams = z.object({ id: z.string().min(1).max(100), employee_id: z.string().min(1).max(100) });

const actionRoute = (path: 'approve' | 'cancel' | 'retry-failed', summary: string, description: string) => createRoute({
  method: 'post', path: `/{id}/${path}`, tags: ['Payroll'], summary, description,
  request: { params: IdParam, body: { ...jsonBody(NoBody), required: false }, headers: actorHeaders },
  responses: { 200: jsonResponse('The run', PayrollRunBody), ...commonErrors },
});

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Payroll'], summary: 'Run payroll for a month: calculate, then wait for approval',
    description: 'The acting user (`Steadfast-Actor`) is `created_by`; someone else approves. One live run per period (`409 resource_exists`).',
    request: { body: jsonBody(CreatePayrollRun), headers: actorHeaders },
    responses: { 201: jsonResponse('The run (calculated when it took less than the wait window)', PayrollRunBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags: ['Payroll'], summary: 'Payroll runs, newest first', request: { query: RunListQuery },
    responses: { 200: jsonResponse('A page of runs', listOf(PayrollRunBody)), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Payroll'], summary: 'A payroll run', request: { params: IdParam },
    responses: { 200: jsonResponse('The run', PayrollRunBody), ...commonErrors },
  }),
  lines: createRoute({
    method: 'get', path: '/{id}/lines', tags: ['Payroll'], summary: 'The run’s lines, by employee id', request: { params: IdParam, query: LineListQuery },
    responses: { 200: jsonResponse('A page of lines', listOf(PayrollLineBody)), ...commonErrors },
  }),
  payslip: createRoute({
    method: 'get', path: '/{id}/lines/{employee_id}/payslip', tags: ['Payroll'], summary: 'A payslip: JSON, or a PDF with `Accept: application/pdf`',
    request: { params: LineParams },
    responses: {
      200: {
        description: 'The payslip',
        content: { 'application/json': { schema: PayslipJsonBody }, 'application/pdf': { schema: z.string().openapi({ format: 'binary' }) } },
      },
      ...commonErrors,
    },
  }),
  approve: actionRoute('approve', 'Approve (four eyes: not the creator): hold the net, pay on the pay date',
    'Answers once the net is held (`paying`) or could not be (`failed`, `insufficient_funds`). The creator gets `403 forbidden`.'),
  cancel: actionRoute('cancel', 'Cancel before the first payment (the holds are voided)', 'After the first payment: `409 payroll_run_invalid_state`.'),
  retryFailed: actionRoute('retry-failed', 'Pay the failed lines again (a partially_failed run)', 'Lines fixed meanwhile (a wallet linked) are paid; the others fail again.'),
};

/** The row status in which each action belongs while the run itself may still be a step behind. */
const ROW_STATUS_FOR: Record<'approve' | 'cancel' | 'retry-failed', PayrollRun['status']> = {
  approve: 'awaiting_approval', cancel: 'awaiting_approval', 'retry-failed': 'partially_failed',
};

const runUpdateOf = <T>(fn: () => Promise<T>) => runUpdate(fn, () => errors.payrollRunInvalidState('The payroll run is closed.'));

export function payrollRunRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  const requireRun = async (tenantId: string, id: string) => {
    const run = await findPayrollRun(pool, tenantId, id);
    if (!run) throw errors.resourceMissing('payroll run', 'id');
    return run;
  };
  const handle = (run: PayrollRun) => temporal.workflow.getHandle(workflowIdOf(workflowContracts.payrollRun, run.id));

  /** Sends one of the run's Updates as the acting user; answers the run as it is after it. */
  async function act(c: Context<AppEnv>, update: UpdateDefinition<PayrollRunResult, [PayrollActorArgs]>, action: keyof typeof ROW_STATUS_FOR) {
    const run = await requireRun(tenantOf(c), c.req.param('id')!);
    const actorId = actorOf(c).sub;
    if (update === approvePayrollUpdate && actorId === run.createdBy) {
      throw errors.forbidden('The run must be approved by someone other than its creator (four eyes).');
    }
    // The calculation and the last batch move the row before the run hears of it: an approval or a
    // retry that the row already allows waits for the run to catch up (a paying run is not waited for).
    const rowStatus = ROW_STATUS_FOR[action];
    await runUpdateOf(() => updateOnceCaughtUp(
      () => handle(run).executeUpdate(update, { updateId: updateIdOf(c, action), args: [{ actorId }] }),
      { refusedType: 'payroll_run_invalid_state', rowAllows: async () => (await requireRun(run.tenantId, run.id)).status === rowStatus, waitMs: config.API_WAIT_WINDOW_MS },
    ));
    return serializePayrollRun(await requireRun(run.tenantId, run.id));
  }

  return createRouter()
    .openapi({ ...routes.create, middleware: [actor] as const }, async (c) => {
      const tenantId = tenantOf(c);
      const b = c.req.valid('json');
      payPeriodOf(b.period);
      dayNumberOf(b.pay_date, 'pay_date');
      if (!(await findAccount(pool, tenantId, b.funding_account_id))) throw errors.resourceMissing('account', 'funding_account_id');
      const created = await withTransaction(pool, async (client) => {
        const inserted = await insertPayrollRun(client, {
          tenantId, period: b.period, payDate: b.pay_date, fundingAccountId: b.funding_account_id, createdBy: actorOf(c).sub,
        });
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      await startWorkflow({ temporal, config }, workflowContracts.payrollRun, {
        key: created.id, tenantId,
        input: {
          tenantId, runId: created.id, createdBy: created.createdBy, payDate: created.payDate,
          batchSize: config.PAYROLL_BATCH_SIZE, parallelBatches: config.PAYROLL_PARALLEL_BATCHES, batchTimeoutMs: config.PAYROLL_BATCH_TIMEOUT,
        retryWindowMs: config.PAYROLL_RETRY_WINDOW,
        },
        // Definitely not started: the run fails (frees the period); maybe started: the start reconciler sees to it.
        undoIfNotStarted: () => moveRun(pool, tenantId, created.id, ['calculating'], 'failed', {
          failure_code: 'not_started', failure_message: 'The payroll workflow could not start; create the run again.',
        }),
      });
      let current = created;
      await waitUntil(async () => (current = await requireRun(tenantId, created.id)).status !== 'calculating', config.API_WAIT_WINDOW_MS);
      return c.json(serializePayrollRun(current), 201);
    })
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const page = await listPayrollRuns(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after, period: q.period });
      return c.json({ ...page, data: page.data.map(serializePayrollRun) }, 200);
    })
    .openapi(routes.get, async (c) => c.json(serializePayrollRun(await requireRun(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi(routes.lines, async (c) => {
      const run = await requireRun(tenantOf(c), c.req.valid('param').id);
      const q = c.req.valid('query');
      const page = await listPayrollLines(pool, run.tenantId, run.id, { limit: q.limit, startingAfter: q.starting_after, status: q.status });
      return c.json({ ...page, data: page.data.map(serializePayrollLine) }, 200);
    })
    .openapi(routes.payslip, async (c) => {
      const { id, employee_id: employeeId } = c.req.valid('param');
      const run = await requireRun(tenantOf(c), id);
      const [line, employee] = await Promise.all([findPayrollLine(pool, run.tenantId, run.id, employeeId), findEmployee(pool, run.tenantId, employeeId)]);
      if (!line || !employee) throw errors.resourceMissing('payroll line', 'employee_id');
      const payslip = payslipOf(run, line, employee);
      if (/\bapplication\/pdf\b/i.test(c.req.header('accept') ?? '')) {
        return c.body(new Uint8Array(await renderPayslipPdf(payslip)), 200, {
          'content-type': 'application/pdf',
          'content-disposition': `attachment; filename="payslip-${run.period}-${employee.id}.pdf"`,
        });
      }
      return c.json(payslip, 200);
    })
    .openapi({ ...routes.approve, middleware: [actor] as const }, async (c) => c.json(await act(c, approvePayrollUpdate, 'approve'), 200))
    .openapi({ ...routes.cancel, middleware: [actor] as const }, async (c) => c.json(await act(c, cancelPayrollUpdate, 'cancel'), 200))
    .openapi({ ...routes.retryFailed, middleware: [actor] as const }, async (c) => c.json(await act(c, retryFailedPayrollUpdate, 'retry-failed'), 200));
}
