import { z } from '@hono/zod-openapi';
import { FreeText } from '../schemas.js';

/** ISO calendar dates (UTC), e.g. 2026-12-24. */
export const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'A date as YYYY-MM-DD.').openapi({ example: '2026-12-24' });
export const Country = z.string().regex(/^[A-Z]{2}$/, 'An ISO 3166-1 alpha-2 code, upper case.').openapi({ example: 'DE' });
export const Year = z.coerce.number().int().min(1900).max(9999);
/** Days come in steps of half a day. */
export const HalfDays = z.number().positive().max(366).refine((d) => Number.isInteger(d * 2), { message: 'Days come in steps of 0.5.' });
/** A leave request's reason, or a decision's comment: free text, so no card number (api/schemas.ts FreeText). */
export const LeaveNote = FreeText(1000);
/** A person's name or department as HR types it: free text, never a card number. */
export const PersonText = (max: number) => FreeText(max).min(1);
