import { createRoute, z } from '@hono/zod-openapi';
import { quoteConversion } from '../../domain/fx/convert.js';
import type { FxQuote } from '../../domain/fx/quotes.js';
import { AMOUNT_MAX, AMOUNT_MIN } from '../../domain/money.js';
import type { Cache } from '../../platform/cache/index.js';
import type { Config } from '../../platform/config.js';
import { createFxProvider, FxError, type FxProvider, type FxRates } from '../../platform/fx/provider.js';
import { findFxQuote, insertFxQuote } from '../../store/wallet/fx-quotes.js';
import type pg from 'pg';
import { ApiError, errors } from '../errors.js';
import { createRouter, tenantOf } from '../context.js';
import { Amount, commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';

const CreateFxQuote = z
  .strictObject({
    from_currency: Currency.openapi({ description: 'The payer’s currency (what `amount` is in).', example: 'USD' }),
    to_currency: Currency.openapi({ description: 'The payee’s currency.', example: 'JPY' }),
    amount: Amount,
  })
  .openapi('CreateFxQuote');

const FxQuoteBody = z
  .object({
    id: z.string().openapi({ example: 'fxq_01JD3Q4R5S6T7V8W9X0YZABCDE' }),
    object: z.literal('fx_quote'),
    from_currency: z.string(),
    to_currency: z.string(),
    rate: z.string().openapi({
      description: 'Units of `to_currency` per 1 unit of `from_currency`: the FX provider’s rate less FX_SPREAD_BPS, an exact decimal string.',
      example: '150.61315',
    }),
    amount: z.number().int().openapi({ description: 'In `from_currency`’s minor unit.', example: 1050 }),
    converted_amount: z.number().int().openapi({
      description: '`amount` × `rate` in `to_currency`’s minor unit, rounded down: what the payee is credited.', example: 1581,
    }),
    expires_at: z.string().openapi({ description: 'A transfer must name the quote before this (FX_QUOTE_TTL after it was made).' }),
  })
  .openapi('FxQuote');

function serializeQuote(q: FxQuote): z.infer<typeof FxQuoteBody> {
  return {
    id: q.id, object: 'fx_quote', from_currency: q.fromCurrency, to_currency: q.toCurrency, rate: q.rate,
    amount: q.amountMinor, converted_amount: q.convertedMinor, expires_at: q.expiresAt.toISOString(),
  };
}

const createQuoteRoute = createRoute({
  method: 'post', path: '/', tags: ['Wallet'],
  summary: 'Quote a currency conversion for a transfer between accounts of two currencies',
  description: 'The rate is the FX provider’s (its rates are cached up to FX_RATES_TTL) less FX_SPREAD_BPS; the quote holds '
    + 'for FX_QUOTE_TTL and one transfer (`quote_id`). Same currency, a currency the provider has no rate for, or an amount '
    + 'that converts to less than one minor unit (or more than 10^12): `400`. Every request makes a new quote (never cached).',
  request: { body: jsonBody(CreateFxQuote), headers: idempotencyHeader },
  responses: { 201: jsonResponse('The quote', FxQuoteBody), ...commonErrors },
});

const getQuoteRoute = createRoute({
  method: 'get', path: '/{id}', tags: ['Wallet'], summary: 'An FX quote',
  request: { params: IdParam },
  responses: { 200: jsonResponse('The quote', FxQuoteBody), ...commonErrors },
});

function unavailable(err: FxError, param: string): ApiError {
  if (err.code === 'base_unsupported') return errors.parameterInvalid(param, `No exchange rates for this currency: ${err.message}`);
  return new ApiError(503, 'api_error', 'internal_error', 'Exchange rates are unavailable right now; retry later.');
}

/**
 * `/v1/fx/quotes` (tenant key), contract §2 "Currency conversion". The provider's rates come
 * through the `fx_rates` cache kind as `GET /v1/exchange-rates` reads them, so a quote's rate is at
 * most FX_RATES_TTL old (up to FX_RATES_TTL + FX_RATES_GRACE while the provider fails); the quote
 * itself is written to `fx_quotes` on every request and never cached.
 */
export function fxQuoteRoutes(deps: { config: Config; pool: pg.Pool; cache: Cache; fx?: FxProvider }) {
  const { config, pool, cache } = deps;
  const fx = deps.fx ?? createFxProvider({ baseUrl: config.FX_PROVIDER_URL, timeoutMs: config.FX_PROVIDER_TIMEOUT_MS });
  return createRouter()
    .openapi(createQuoteRoute, async (c) => {
      const body = c.req.valid('json');
      if (body.from_currency === body.to_currency) throw errors.parameterInvalid('to_currency', 'A quote converts between two different currencies.');
      let rates: FxRates;
      try {
        rates = (await cache.get({ kind: 'fx_rates', base: body.from_currency }, () => fx.latest(body.from_currency)))!;
      } catch (err) {
        if (err instanceof FxError) throw unavailable(err, 'from_currency');
        throw err;
      }
      const providerRate = rates.rates[body.to_currency];
      if (providerRate === undefined) throw errors.parameterInvalid('to_currency', `No exchange rate from ${body.from_currency} to ${body.to_currency}.`);
      const { rate, convertedMinor } = quoteConversion({
        amountMinor: body.amount, fromCurrency: body.from_currency, toCurrency: body.to_currency, providerRate, spreadBps: config.FX_SPREAD_BPS,
      });
      if (convertedMinor < BigInt(AMOUNT_MIN) || convertedMinor > BigInt(AMOUNT_MAX)) {
        throw new ApiError(400, 'invalid_request_error', 'amount_invalid',
          `The amount converts to ${convertedMinor} ${body.to_currency} minor units: it must be from ${AMOUNT_MIN} to ${AMOUNT_MAX}.`, 'amount');
      }
      const quote = await insertFxQuote(pool, {
        tenantId: tenantOf(c), fromCurrency: body.from_currency, toCurrency: body.to_currency, amountMinor: body.amount,
        convertedMinor: Number(convertedMinor), rate, providerRate, spreadBps: config.FX_SPREAD_BPS, ratesAsOf: new Date(rates.asOf),
      }, config.FX_QUOTE_TTL);
      return c.json(serializeQuote(quote), 201);
    })
    .openapi(getQuoteRoute, async (c) => {
      const quote = await findFxQuote(pool, tenantOf(c), c.req.valid('param').id);
      if (!quote) throw errors.resourceMissing('fx_quote');
      return c.json(serializeQuote(quote), 200);
    });
}
