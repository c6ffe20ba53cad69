import { createRoute, z } from '@hono/zod-openapi';
import { insertHoliday, listHolidays, upsertLeaveType } from '../../store/hr/leave.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { commonErrors, idempotencyHeader, jsonBody, jsonResponse, listOf } from '../schemas.js';
import { Country, HalfDays, IsoDate, Year } from './schemas.js';
import { HolidayBody, LeaveTypeBody, serializeHoliday, serializeLeaveType } from './serialize.js';

const CreateLeaveType = z
  .strictObject({
    code: z.string().min(1).max(64), name: z.string().min(1).max(200), allow_half_day: z.boolean().optional(), max_consecutive_days: HalfDays.optional(),
    annual_days: HalfDays.optional().openapi({ description: 'Days for a full year, allocated pro rata to employees hired from now on.' }),
    unpaid: z.boolean().optional().openapi({ description: 'Days taken are deducted from pay (payroll). Default false.' }),
  })
  .openapi('CreateLeaveType');
const CreateHoliday = z.strictObject({ date: IsoDate, name: z.string().min(1).max(200), country: Country.optional() }).openapi('CreateHoliday');

const leaveTypeRoute = createRoute({
  method: 'post', path: '/', tags: ['HR'], summary: 'Create or replace a leave type',
  request: { body: jsonBody(CreateLeaveType), headers: idempotencyHeader },
  responses: { 201: jsonResponse('The leave type', LeaveTypeBody), ...commonErrors },
});
const createHolidayRoute = createRoute({
  method: 'post', path: '/', tags: ['HR'], summary: 'Add a holiday (for every employee, or one country)',
  request: { body: jsonBody(CreateHoliday), headers: idempotencyHeader },
  responses: { 201: jsonResponse('The holiday', HolidayBody), ...commonErrors },
});
const listHolidaysRoute = createRoute({
  method: 'get', path: '/', tags: ['HR'], summary: 'Holidays of a year',
  request: { query: z.strictObject({ year: Year, country: Country.optional() }) },
  responses: { 200: jsonResponse('Holidays by date', listOf(HolidayBody)), ...commonErrors },
});

/** `/v1/leave-types`: the kinds of leave and their rules. */
export function leaveTypeRoutes({ pool }: AppDeps) {
  return createRouter().openapi(leaveTypeRoute, async (c) => {
    const b = c.req.valid('json');
    const { leaveType } = await upsertLeaveType(pool, {
      tenantId: tenantOf(c), code: b.code, name: b.name, allowHalfDay: b.allow_half_day, maxConsecutiveDays: b.max_consecutive_days ?? null,
      annualDays: b.annual_days ?? null, unpaid: b.unpaid ?? false,
    });
    return c.json(serializeLeaveType(leaveType), 201);
  });
}

/** `/v1/holidays`: excluded from working days, per tenant and optionally per country. */
export function holidayRoutes({ pool }: AppDeps) {
  return createRouter()
    .openapi(createHolidayRoute, async (c) => {
      const b = c.req.valid('json');
      return c.json(serializeHoliday(await insertHoliday(pool, { tenantId: tenantOf(c), date: b.date, name: b.name, country: b.country ?? null })), 201);
    })
    .openapi(listHolidaysRoute, async (c) => {
      const q = c.req.valid('query');
      const holidays = await listHolidays(pool, tenantOf(c), { year: q.year, country: q.country ?? null });
      return c.json({ object: 'list' as const, data: holidays.map(serializeHoliday), has_more: false }, 200);
    });
}
