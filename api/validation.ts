import type { ZodError } from 'zod';
import type { ApiError} from './errors.js';
import { errors } from './errors.js';
import { MONEY_FIELDS } from './schemas.js';

type Path = readonly PropertyKey[];

/** Stripe-style parameter names: `source[token]`. */
export function paramName(path: Path): string {
  const [head, ...rest] = path.map(String);
  return (head ?? '') + rest.map((p) => `[${p}]`).join('');
}

function valueAt(input: unknown, path: Path): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Maps the first zod issue to the contract's error code (and the offending parameter). */
export function toApiError(error: ZodError, input: unknown, target: string): ApiError {
  // An unknown field is reported first: it usually explains the other issues (a typo).
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  if (!issue) return errors.parameterInvalid('', 'Invalid request.');
  if (issue.code === 'unrecognized_keys') return errors.parameterUnknown(paramName([...issue.path, issue.keys[0] ?? '']));
  const param = target === 'header' ? String(issue.path.at(-1) ?? '') : paramName(issue.path);
  if (issue.path.length > 0 && valueAt(input, issue.path) === undefined) return errors.parameterMissing(param);
  const leaf = String(issue.path.at(-1) ?? '');
  if (MONEY_FIELDS.has(leaf)) return errors.amountInvalid(param);
  if (leaf === 'currency' || leaf.endsWith('_currency')) return errors.currencyInvalid(param); // from_currency, to_currency
  return errors.parameterInvalid(param, `${param || 'body'}: ${issue.message}`);
}
