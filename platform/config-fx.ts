import { z } from 'zod';
import { SPREAD_BPS_MAX } from '../domain/fx/convert.js';
import { durationFromEnv, intFromEnv } from './env.js';

const HOUR_MS = 3_600_000;

/**
 * Currency conversion (issue #18 item 4, contract §2): the house's spread on the FX provider's
 * rate and how long a quote holds. Spread into the one schema in platform/config.ts. The provider
 * itself (FX_PROVIDER_URL, its rates' cache FX_RATES_TTL) is in platform/config-cache.ts.
 */
export const fxEnv = {
  /** Basis points taken off the provider's rate in every quote (50 = 0.5 %), 0 to 1000. */
  FX_SPREAD_BPS: intFromEnv(50, 0, SPREAD_BPS_MAX),
  /** How long a quote may be used by a transfer (a duration, `30s`), 100 ms to 1 h. */
  FX_QUOTE_TTL: durationFromEnv('30s').pipe(z.number().int().min(100).max(HOUR_MS)),
};
