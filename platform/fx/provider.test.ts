import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fxControl } from '../../simulators/processors/fx.js';
import { startProcessorsServer, type ProcessorsServer } from '../../simulators/processors/server.js';
import { createFxProvider, FxError } from './provider.js';

let sim: ProcessorsServer;
let control: ReturnType<typeof fxControl>;
beforeAll(async () => {
  sim = await startProcessorsServer({ port: 0 });
  control = fxControl(sim.url);
});
afterAll(() => sim?.close());
beforeEach(() => control.reset());

/** A provider that answers `body` to everything (a provider gone wrong). */
async function fakeProvider(body: unknown) {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('FX provider adapter', () => {
  it('reads the latest rates as decimal strings', async () => {
    const fx = createFxProvider({ baseUrl: `${sim.url}/fx`, timeoutMs: 1_000 });
    const rates = await fx.latest('EUR');
    expect(rates.base).toBe('EUR');
    expect(rates.rates.EUR).toBeUndefined();
    expect(rates.rates.USD).toMatch(/^1\.0\d+$/);
    expect(rates.asOf).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect((await control.stats()).requests_received).toBe(1);
  });

  it('maps the provider’s failures to FxError codes', async () => {
    const fx = createFxProvider({ baseUrl: `${sim.url}/fx`, timeoutMs: 1_000 });
    await expect(fx.latest('BRL')).rejects.toMatchObject({ name: 'FxError', code: 'base_unsupported' });
    await control.fault(1);
    await expect(fx.latest('USD')).rejects.toMatchObject({ code: 'provider_unavailable' });
    await expect(fx.latest('USD')).resolves.toMatchObject({ base: 'USD' });
    const nowhere = createFxProvider({ baseUrl: 'http://127.0.0.1:9/fx', timeoutMs: 500 });
    await expect(nowhere.latest('USD')).rejects.toBeInstanceOf(FxError);
  });

  it('refuses an answer it cannot trust (floats, unknown currencies, another base)', async () => {
    for (const body of [
      { base: 'USD', rates: { EUR: 0.92 }, timestamp: '2024-01-01T00:00:00Z' },
      { base: 'USD', rates: { ZZZ: '1.5' }, timestamp: '2024-01-01T00:00:00Z' },
      { base: 'USD', rates: { EUR: '-0.9' }, timestamp: '2024-01-01T00:00:00Z' },
      { base: 'GBP', rates: { EUR: '1.1' }, timestamp: '2024-01-01T00:00:00Z' },
      { base: 'USD', rates: { EUR: '0.9' } },
    ]) {
      const fake = await fakeProvider(body);
      try {
        const fx = createFxProvider({ baseUrl: fake.url, timeoutMs: 1_000 });
        await expect(fx.latest('USD'), JSON.stringify(body)).rejects.toMatchObject({ code: 'provider_bad_response' });
      } finally {
        await fake.close();
      }
    }
  });
});
