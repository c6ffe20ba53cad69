import { z } from '@hono/zod-openapi';
import { containsCardNumber, findCardNumberIn, isProcessorToken, TOKEN_EXAMPLES, type TokenKind } from '../domain/card-data.js';
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
export const MONEY_FIELDS: ReadonlySet<string> = new Set(['amount', 'per_transaction_max', 'daily_debit_max', 'monthly_debit_max', 'balance_max']);

const CARD_NUMBER_MESSAGE = 'Looks like a card number: send a processor token, never card data.';
const noCardNumber = (s: string) => !containsCardNumber(s);
/** PostgreSQL text cannot hold U+0000: refused here rather than failing as a database error. */
const noNul = (s: string) => !s.includes('\u0000');

/**
 * Text a client writes freely (descriptions, reasons, comments, metadata values): at most `max`
 * characters, no NUL, and no card number (domain/card-data.ts), so card data never reaches a
 * row, a log or a workflow history. Answers `400 parameter_invalid` naming the field.
 *
 * @example description: FreeText(500).optional()
 */
export function FreeText(max: number) {
  return z
    .string()
    .max(max)
    .refine(noNul, { message: 'Must not contain NUL characters.' })
    .refine(noCardNumber, { message: CARD_NUMBER_MESSAGE });
}

/**
 * A processor token (`tok_…` for cards, `btok_…` for bank accounts): the one validator for every
 * token field. A card number, spaced or not, is refused like any other wrong shape.
 *
 * @example payment_method: z.strictObject({ type: z.literal('card'), token: Token('card') })
 */
export function Token(kind: TokenKind) {
  const prefix = kind === 'card' ? 'tok_' : 'btok_';
  return z
    .string()
    .min(1)
    .max(255)
    .refine((t) => isProcessorToken(kind, t), { message: `A ${prefix}… token from the processor; never a card number.` })
    .openapi({ description: `A ${prefix}… token issued by the processor.`, example: TOKEN_EXAMPLES[kind] });
}

/** A NUL character in JSON text: `\u0000` after an even number of backslashes (an escaped backslash is no NUL). */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/**
 * Free-form JSON (notification `data`): every string or number in it, and every key, is checked
 * for card numbers; the issue names the value's path (`data[card]`), or the object when a key
 * holds one (the param must not echo the number). NUL characters are refused too (PostgreSQL
 * cannot store them: a database error whose `where` quotes the JSON).
 */
export function withoutCardNumbers<T extends z.ZodTypeAny>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const path = findCardNumberIn(value);
    if (path) ctx.addIssue({ code: 'custom', message: CARD_NUMBER_MESSAGE, path: path as (string | number)[] });
    else if (JSON_NUL.test(JSON.stringify(value) ?? '')) ctx.addIssue({ code: 'custom', message: 'Must not contain NUL characters.' });
  }) as unknown as T;
}

export const Metadata = z
  .record(z.string().min(1).max(40), FreeText(500))
  .refine((m) => Object.keys(m).length <= 50, { message: 'At most 50 metadata keys.' })
  // Keys are checked as a whole: the error's param must not repeat a card number (or a NUL).
  .refine((m) => !Object.keys(m).some(containsCardNumber), { message: CARD_NUMBER_MESSAGE })
  .refine((m) => Object.keys(m).every(noNul), { message: 'Keys must not contain NUL characters.' })
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
