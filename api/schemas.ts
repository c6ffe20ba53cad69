import { z } from '@hono/zod-openapi';
import { AMOUNT_MAX, AMOUNT_MIN, isCurrency } from '../domain/money.js';

/** Shared request and response schemas: they validate requests and generate `/openapi.json`. */

export const Amount = z
  .number()
  .int()
  .min(AMOUNT_MIN)
  .max(AMOUNT_MAX)
  .openapi({ description: 'Integer amount in the currency’s minor unit (USD 1050 = $10.50).', example: 1050 });

export const Currency = z
  .string()
  .refine(isCurrency, { message: 'Must be an upper-case ISO 4217 currency code.' })
  .openapi({ description: 'ISO 4217 code, upper case.', example: 'USD' });

/** Fields whose failures answer `amount_invalid` rather than `parameter_invalid`. */
export const MONEY_FIELDS: ReadonlySet<string> = new Set(['amount', 'per_transaction_max', 'daily_debit_max']);

export const Metadata = z
  .record(z.string().min(1).max(40), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 50, { message: 'At most 50 metadata keys.' })
  .openapi({ description: 'Up to 50 string key/value pairs.', example: { order_id: '6735' } });

export const IdParam = z.strictObject({ id: z.string().min(1).max(100).openapi({ param: { name: 'id', in: 'path' } }) });

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10).openapi({ param: { name: 'limit', in: 'query' } }),
  starting_after: z.string().min(1).max(100).optional().openapi({ param: { name: 'starting_after', in: 'query' } }),
});

export const ErrorBody = z
  .object({
    error: z.object({
      type: z.string(),
      code: z.string(),
      message: z.string(),
      param: z.string().optional(),
    }),
  })
  .openapi('Error');

export function listOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean() });
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });

/** The error responses every authenticated route can answer. */
export const commonErrors = {
  400: errorResponse('Invalid request'),
  401: errorResponse('Missing or invalid API key'),
  403: errorResponse('Forbidden'),
  404: errorResponse('No such resource'),
  409: errorResponse('Conflict (idempotency key in use, resource exists)'),
  413: errorResponse('Body over 64 KiB'),
  415: errorResponse('Body is not JSON'),
  422: errorResponse('Idempotency key reused with another request'),
  429: errorResponse('Rate limited'),
  500: errorResponse('Internal error'),
} as const;

export const idempotencyHeader = z.object({
  'idempotency-key': z.string().min(1).max(255).optional().openapi({
    param: { name: 'idempotency-key', in: 'header' },
    description: 'Makes a retried POST safe: the first response is replayed for 24 h.',
  }),
});

export function jsonBody<T extends z.ZodTypeAny>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

export function jsonResponse<T extends z.ZodTypeAny>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}
