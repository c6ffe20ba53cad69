import type { SimProcessor } from './tokens.js';

/**
 * Injected faults, armed through `POST /control/faults` for tests and drills. Each applies to the
 * next `count` requests to one processor:
 * - `error_500`: answer 500 and process nothing (safe to retry or fail over);
 * - `timeout`: process the request, then hold the response longer than clients wait (outcome unknown);
 * - `drop`: destroy the connection before processing anything (outcome unknown, nothing recorded).
 */
export const FAULT_MODES = ['error_500', 'timeout', 'drop'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface Fault {
  mode: FaultMode;
  holdMs: number;
}

interface ArmedFault extends Fault {
  remaining: number;
}

export function createFaults() {
  const armed = new Map<SimProcessor, ArmedFault>();
  return {
    /** Replaces whatever was armed for this processor. */
    arm(processor: SimProcessor, fault: Fault, count: number): void {
      armed.set(processor, { ...fault, remaining: count });
    },
    /** The fault this request suffers, if any; consumes one. */
    take(processor: SimProcessor): Fault | null {
      const fault = armed.get(processor);
      if (!fault) return null;
      fault.remaining -= 1;
      if (fault.remaining <= 0) armed.delete(processor);
      return { mode: fault.mode, holdMs: fault.holdMs };
    },
    clear(): void {
      armed.clear();
    },
  };
}

export type Faults = ReturnType<typeof createFaults>;
