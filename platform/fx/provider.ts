import { z } from 'zod';
import { isCurrency } from '../../domain/money.js';

/** Exchange rates for one base currency: units of each quote currency per 1 base, as decimal strings. */
export interface FxRates {
  base: string;
  rates: Record<string, string>;
  /** When the provider fixed these rates (ISO 8601 UTC). */
  asOf: string;
}

export type FxErrorCode = 'base_unsupported' | 'provider_unavailable' | 'provider_bad_response';

export class FxError extends Error {
  override name = 'FxError';
  constructor(readonly code: FxErrorCode, message: string) {
    super(message);
  }
}

export interface FxProvider {
  latest(base: string): Promise<FxRates>;
}

const RATES_MAX = 200;
/** A positive decimal with at most 12 digits on each side: never a float on our side. */
const Rate = z.string().regex(/^(0|[1-9]\d{0,11})(\.\d{1,12})?$/).refine((r) => /[1-9]/.test(r), 'rate must be positive');
const LatestBody = z.object({
  base: z.string(),
  rates: z.record(z.string().refine(isCurrency, 'unknown currency'), Rate)
    .refine((r) => Object.keys(r).length <= RATES_MAX, `at most ${RATES_MAX} rates`),
  timestamp: z.iso.datetime({ offset: true }),
});

/**
 * The FX rates provider over HTTP (`GET <baseUrl>/v1/latest?base=USD`; simulated by
 * simulators/processors/fx.ts). Its answer is checked before anything trusts it: known
 * currencies, decimal strings, the base asked for. It does not cache: the caller decides
 * (api/reference/exchange-rates.ts goes through the `fx_rates` cache kind).
 *
 * @example const fx = createFxProvider({ baseUrl: config.FX_PROVIDER_URL, timeoutMs: config.FX_PROVIDER_TIMEOUT_MS });
 */
export function createFxProvider(options: { baseUrl: string; timeoutMs: number }): FxProvider {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  return {
    async latest(base: string): Promise<FxRates> {
      let res: Response;
      try {
        res = await fetch(`${baseUrl}/v1/latest?base=${encodeURIComponent(base)}`, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (err) {
        throw new FxError('provider_unavailable', `FX provider unreachable: ${(err as Error).message}`);
      }
      if (res.status === 404) throw new FxError('base_unsupported', `The FX provider has no rates for ${base}.`);
      if (!res.ok) throw new FxError('provider_unavailable', `FX provider answered ${res.status}`);
      const parsed = LatestBody.safeParse(await res.json().catch(() => undefined));
      if (!parsed.success || parsed.data.base !== base) {
        throw new FxError('provider_bad_response', `FX provider answered an unexpected body for ${base}`);
      }
      return { base, rates: parsed.data.rates, asOf: new Date(parsed.data.timestamp).toISOString() };
    },
  };
}
