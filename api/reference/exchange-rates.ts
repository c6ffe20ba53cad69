import { createRoute, z } from '@hono/zod-openapi';
import { ApiError, errors } from '../errors.js';
import type { Cache } from '../../platform/cache/index.js';
import type { Config } from '../../platform/config.js';
import { createFxProvider, FxError, type FxProvider, type FxRates } from '../../platform/fx/provider.js';
import { createRouter } from '../context.js';
import { commonErrors, Currency, jsonResponse } from '../schemas.js';

const ExchangeRatesQuery = z.strictObject({
  base: Currency.optional().openapi({ param: { name: 'base', in: 'query' }, description: 'Defaults to USD.', example: 'USD' }),
});

const ExchangeRatesBody = z
  .object({
    base: z.string(),
    rates: z.record(z.string(), z.string()).openapi({
      description: 'Units of each currency per 1 unit of `base`, as decimal strings (never floats).',
      example: { EUR: '0.9213', JPY: '151.37' },
    }),
    as_of: z.string().openapi({ description: 'When the provider fixed these rates.' }),
  })
  .openapi('ExchangeRates');

const exchangeRatesRoute = createRoute({
  method: 'get', path: '/', tags: ['Reference data'],
  summary: 'Indicative exchange rates from the FX provider (cached for FX_RATES_TTL; stale up to FX_RATES_GRACE if the provider fails)',
  request: { query: ExchangeRatesQuery },
  responses: { 200: jsonResponse('Rates for the base currency', ExchangeRatesBody), ...commonErrors },
});

function fxApiError(err: FxError): ApiError {
  switch (err.code) {
    case 'base_unsupported':
      return errors.parameterInvalid('base', err.message);
    case 'provider_unavailable':
    case 'provider_bad_response':
      return new ApiError(503, 'api_error', 'internal_error', 'Exchange rates are unavailable right now; retry later.');
    default: {
      const unknownCode: never = err.code;
      throw new Error(`unhandled FX error ${String(unknownCode)}`);
    }
  }
}

/** `/v1/exchange-rates` (tenant key): the FX provider's latest rates, through the `fx_rates` cache kind. */
export function exchangeRateRoutes(deps: { config: Config; cache: Cache; fx?: FxProvider }) {
  const fx = deps.fx ?? createFxProvider({ baseUrl: deps.config.FX_PROVIDER_URL, timeoutMs: deps.config.FX_PROVIDER_TIMEOUT_MS });
  return createRouter().openapi(exchangeRatesRoute, async (c) => {
    const base = c.req.valid('query').base ?? 'USD';
    let rates: FxRates;
    try {
      rates = (await deps.cache.get({ kind: 'fx_rates', base }, () => fx.latest(base)))!;
    } catch (err) {
      if (err instanceof FxError) throw fxApiError(err);
      throw err;
    }
    return c.json({ base: rates.base, rates: rates.rates, as_of: rates.asOf }, 200);
  });
}
