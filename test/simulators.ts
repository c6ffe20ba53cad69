import { afterAll, beforeAll, beforeEach } from 'vitest';
import { processorsControl } from '../simulators/processors/client.js';
import { startProcessorsServer, type ProcessorsServer } from '../simulators/processors/server.js';
import { providersControl } from '../simulators/providers/client.js';
import { startProvidersServer, type ProvidersServer } from '../simulators/providers/server.js';
import type { SmsCredentials } from '../simulators/providers/sms.js';

/** A simulator a test file runs: its base URL and its control client, both set once `beforeAll` has run. */
export interface SimulatorUnderTest<Control> {
  readonly url: string;
  readonly sim: Control;
}

/** Starts the simulator before the file's tests, resets it before each test, closes it after them. */
function useSimulator<Control extends { reset(): Promise<unknown> }>(
  start: () => Promise<{ url: string; close(): Promise<void> }>,
  control: (baseUrl: string) => Control,
): SimulatorUnderTest<Control> {
  let running: { server: { url: string; close(): Promise<void> }; sim: Control } | undefined;
  const started = () => {
    if (!running) throw new Error('the simulator starts in beforeAll: use it inside a hook or a test');
    return running;
  };
  beforeAll(async () => {
    const server = await start();
    running = { server, sim: control(server.url) };
  });
  afterAll(() => running?.server.close());
  beforeEach(async () => {
    await started().sim.reset();
  });
  return {
    get url() {
      return started().server.url;
    },
    get sim() {
      return started().sim;
    },
  };
}

/**
 * The fake notification providers (push, SMS, webhook receiver) on a free port, for this test file.
 *
 * @example
 * const providers = useProvidersSimulator();
 * it('…', async () => { await providers.sim.fault({ provider: 'sms', mode: 'always', status: 500 }); fetch(`${providers.url}/sms/…`); });
 */
export function useProvidersSimulator(options: { sms?: SmsCredentials } = {}): SimulatorUnderTest<ReturnType<typeof providersControl>> {
  return useSimulator((): Promise<ProvidersServer> => startProvidersServer({ port: 0, ...options }), providersControl);
}

/** The simulated processors (and FX provider) on a free port, for this test file. */
export function useProcessorsSimulator(): SimulatorUnderTest<ReturnType<typeof processorsControl>> {
  return useSimulator((): Promise<ProcessorsServer> => startProcessorsServer({ port: 0 }), processorsControl);
}
