import { jsonCaller } from '../control-client.js';
import type { FaultMode } from './faults.js';
import type { SimProcessor } from './tokens.js';

/** One authorization as the processor's record shows it (`GET /processors/:processor/charges`). */
export interface ChargeRecord {
  id: string;
  idempotency_key: string;
  token: string;
  method: string;
  amount: number;
  currency: string;
  status: 'authorized' | 'declined';
  amount_captured: number;
  amount_refunded: number;
  voided: boolean;
  operations: { kind: string; idempotency_key: string; id: string; status: string }[];
}

export interface ChargesReport {
  processor: SimProcessor;
  /** Every request but this record's, faulted ones included. */
  requests_received: number;
  /** Of those, lookups by key (`GET /operations/:key`). */
  lookups_received: number;
  authorizations: ChargeRecord[];
}

/**
 * The control and inspection side of the simulator, for tests and drills.
 *
 * @example
 * const sim = processorsControl(server.url);
 * await sim.fault('acq_primary', 'error_500', 3);
 * expect((await sim.charges('acq_primary')).requests_received).toBe(3);
 */
export function processorsControl(baseUrl: string) {
  const call = jsonCaller(baseUrl);
  return {
    fault: (processor: SimProcessor, mode: FaultMode, count: number, holdMs?: number) =>
      call('POST', '/control/faults', { processor, mode, count, ...(holdMs === undefined ? {} : { hold_ms: holdMs }) }),
    clearFaults: () => call('POST', '/control/faults/clear', {}),
    reset: () => call('POST', '/control/reset', {}),
    charges: (processor: SimProcessor) => call<ChargesReport>('GET', `/processors/${processor}/charges`),
  };
}
