import { Hono } from 'hono';
import { z } from 'zod';
import { jsonCaller } from '../control-client.js';

/**
 * A simulated FX rates provider (the outside world of `GET /v1/exchange-rates`), mounted at `/fx`:
 * - `GET /fx/v1/latest?base=USD` → `{ base, rates: { EUR: "0.9213", … }, timestamp }`, decimal strings;
 *   rates move a little each minute, the same for everyone within a minute;
 * - `POST /fx/control/faults {count}`: the next `count` rate requests answer 500;
 * - `GET /fx/control/stats` → `{ requests_received }`; `POST /fx/control/reset`.
 */

/** Units of each currency per 1 USD, around which the simulated rates move. */
const USD_RATES: Readonly<Record<string, number>> = {
  USD: 1, EUR: 0.9213, GBP: 0.789, JPY: 151.37, CHF: 0.8842, CAD: 1.3621, AUD: 1.5234, SEK: 10.482,
  NOK: 10.71, DKK: 6.872, PLN: 3.961, BHD: 0.376, KWD: 0.3074, INR: 83.42, SGD: 1.3458, HKD: 7.8231,
};
const faultBody = z.strictObject({ count: z.number().int().min(1).max(1_000) });
const MINUTE_MS = 60_000;

/** A rate to at most 6 significant digits, as a plain decimal string (never exponent notation). */
function decimal(rate: number): string {
  const magnitude = Math.floor(Math.log10(rate)) + 1;
  const text = rate.toFixed(Math.min(12, Math.max(0, 6 - magnitude)));
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** Every rate moves by up to ±0.2 % per minute: deterministic for a given minute and currency. */
function drift(currency: string, minute: number): number {
  let seed = minute;
  for (const ch of currency) seed = (seed * 31 + ch.charCodeAt(0)) % 1_000_003;
  return 1 + (Math.sin(seed) * 0.002);
}

export function latestRates(base: string, nowMs: number) {
  const minute = Math.floor(nowMs / MINUTE_MS);
  const baseRate = USD_RATES[base]! * drift(base, minute);
  const rates: Record<string, string> = {};
  for (const [currency, usdRate] of Object.entries(USD_RATES)) {
    if (currency !== base) rates[currency] = decimal((usdRate * drift(currency, minute)) / baseRate);
  }
  return { base, rates, timestamp: new Date(minute * MINUTE_MS).toISOString() };
}

export function createFxApp() {
  let requestsReceived = 0;
  let faultsArmed = 0;
  return new Hono()
    .get('/v1/latest', (c) => {
      requestsReceived++;
      if (faultsArmed > 0) {
        faultsArmed--;
        return c.json({ error: { code: 'injected_fault', message: 'Injected 500' } }, 500);
      }
      const base = c.req.query('base') ?? 'USD';
      if (!(base in USD_RATES)) return c.json({ error: { code: 'base_unsupported', message: `No rates for ${base}` } }, 404);
      return c.json(latestRates(base, Date.now()));
    })
    .post('/control/faults', async (c) => {
      const body = faultBody.safeParse(await c.req.json().catch(() => undefined));
      if (!body.success) return c.json({ error: { code: 'parameter_invalid', message: body.error.message } }, 400);
      faultsArmed = body.data.count;
      return c.json({ armed: body.data });
    })
    .get('/control/stats', (c) => c.json({ requests_received: requestsReceived, faults_armed: faultsArmed }))
    .post('/control/reset', (c) => {
      requestsReceived = 0;
      faultsArmed = 0;
      return c.json({ reset: true });
    });
}

/** The control side, for tests and drills. @example await fxControl(url).fault(3) */
export function fxControl(baseUrl: string) {
  const call = jsonCaller(`${baseUrl}/fx`);
  return {
    fault: (count: number) => call('POST', '/control/faults', { count }),
    reset: () => call('POST', '/control/reset', {}),
    stats: () => call<{ requests_received: number; faults_armed: number }>('GET', '/control/stats'),
  };
}
