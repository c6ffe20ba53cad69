import { createRoute, z } from '@hono/zod-openapi';
import { AMOUNT_MAX } from '../../domain/money.js';
import { BRACKETS_MAX, CONTRIBUTIONS_MAX, RATE_BPS_MAX } from '../../domain/payroll/rules.js';
import { withTransaction } from '../../store/db.js';
import { findPayrollRules, putPayrollRules } from '../../store/payroll/rules.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, Currency, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';
import { Country } from '../hr/schemas.js';
import { PayrollRulesBody, serializePayrollRules } from './serialize.js';

const RateBps = z.number().int().min(0).max(RATE_BPS_MAX).openapi({ description: 'Basis points: 100 = 1 %.', example: 2_000 });
/** Annual taxable pay in minor units: up to 12 months of the largest amount. */
const BRACKET_BOUND_MAX = 12 * AMOUNT_MAX;

const TaxBrackets = z
  .array(z.strictObject({ up_to: z.number().int().min(1).max(BRACKET_BOUND_MAX).nullable(), rate_bps: RateBps }))
  .min(1)
  .max(BRACKETS_MAX)
  .superRefine((brackets, ctx) => {
    brackets.forEach((b, i) => {
      const last = i === brackets.length - 1;
      if (last && b.up_to !== null) ctx.addIssue({ code: 'custom', message: 'The last bracket has up_to null.', path: [i, 'up_to'] });
      if (!last && b.up_to === null) ctx.addIssue({ code: 'custom', message: 'Only the last bracket has up_to null.', path: [i, 'up_to'] });
      const previous = brackets[i - 1]?.up_to;
      if (b.up_to !== null && previous != null && b.up_to <= previous) {
        ctx.addIssue({ code: 'custom', message: 'Brackets ascend: each up_to above the one before.', path: [i, 'up_to'] });
      }
    });
  })
  .openapi({ description: 'Annual progressive brackets in minor units, ascending; the last one’s up_to is null.' });

const Contributions = z
  .array(z.strictObject({
    code: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'Letters, digits, _ and -, at most 64.'),
    rate_bps: RateBps,
    cap: z.number().int().min(1).max(AMOUNT_MAX).nullable().optional()
      .openapi({ description: 'The most the contribution takes in one month, in minor units; absent or null: no cap.' }),
  }))
  .max(CONTRIBUTIONS_MAX)
  .openapi({ description: 'Contributions on the monthly gross, each capped per month.' });

const PutRules = z.strictObject({ currency: Currency, tax_brackets: TaxBrackets, contributions: Contributions }).openapi('PutPayrollRules');
const CountryParam = z.strictObject({ country: Country.openapi({ param: { name: 'country', in: 'path' } }) });

const routes = {
  put: createRoute({
    method: 'put', path: '/{country}', tags: ['Payroll'], summary: 'Create or replace a country’s payroll rules (tax brackets, contributions)',
    description: 'The top tax rate plus all contribution rates must be at most 10,000 bps (100 %).',
    request: { params: CountryParam, body: jsonBody(PutRules), headers: idempotencyHeader },
    responses: { 200: jsonResponse('The rules', PayrollRulesBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{country}', tags: ['Payroll'], summary: 'A country’s payroll rules',
    request: { params: CountryParam },
    responses: { 200: jsonResponse('The rules', PayrollRulesBody), ...commonErrors },
  }),
};

/** `/v1/payroll/rules/:country` (contract §9). */
export function payrollRuleRoutes({ pool }: AppDeps) {
  return createRouter()
    .openapi(routes.put, async (c) => {
      const { country } = c.req.valid('param');
      const b = c.req.valid('json');
      const saved = await withTransaction(pool, async (client) => {
        const { rules } = await putPayrollRules(client, {
          tenantId: tenantOf(c), country, currency: b.currency,
          taxBrackets: b.tax_brackets.map((t) => ({ upToMinor: t.up_to, rateBps: t.rate_bps })),
          contributions: b.contributions.map((k) => ({ code: k.code, rateBps: k.rate_bps, capMinor: k.cap ?? null })),
        });
        await recordAuditInTransaction(client, c, { resourceId: country, status: 200 });
        return rules;
      });
      return c.json(serializePayrollRules(saved), 200);
    })
    .openapi(routes.get, async (c) => {
      const rules = await findPayrollRules(pool, tenantOf(c), c.req.valid('param').country);
      if (!rules) throw errors.resourceMissing('payroll rules', 'country');
      return c.json(serializePayrollRules(rules), 200);
    });
}
