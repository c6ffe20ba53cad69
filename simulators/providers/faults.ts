import { z } from 'zod';

/** The fake providers (simulators/providers): push, SMS, and a merchant webhook receiver. */
export const SIM_PROVIDERS = ['push', 'sms', 'webhook'] as const;
export type SimProvider = (typeof SIM_PROVIDERS)[number];

/**
 * Injected faults, armed through `POST /control/faults` for tests and drills. Without `provider`
 * a fault applies to every provider that has none of its own.
 * - `fail_times`: the next `times` requests answer `status` (default 500) and do nothing;
 * - `always`: every request answers `status` until cleared (`410` makes a gone webhook endpoint);
 * - `delay`: requests wait `ms` before they are handled (longer than a client waits = a timeout
 *   whose outcome is unknown: the request is still handled), for `times` requests or until cleared.
 */
const provider = z.enum(SIM_PROVIDERS).optional();
const status = z.number().int().min(400).max(599).default(500);
export const faultSchema = z.discriminatedUnion('mode', [
  z.strictObject({ provider, mode: z.literal('fail_times'), times: z.number().int().min(1).max(10_000), status }),
  z.strictObject({ provider, mode: z.literal('always'), status }),
  z.strictObject({ provider, mode: z.literal('delay'), ms: z.number().int().min(0).max(600_000), times: z.number().int().min(1).max(10_000).optional() }),
]);
export type FaultSpec = z.input<typeof faultSchema>;

/** What one request suffers. */
export type Fault = { kind: 'fail'; status: number } | { kind: 'delay'; ms: number };

interface Armed {
  fault: Fault;
  /** null: until cleared. */
  remaining: number | null;
}

const ALL = '*';

export function createFaults() {
  const armed = new Map<SimProvider | typeof ALL, Armed>();
  return {
    /** Replaces whatever was armed for this provider (or for all). */
    arm(spec: z.output<typeof faultSchema>): void {
      const fault: Fault = spec.mode === 'delay' ? { kind: 'delay', ms: spec.ms } : { kind: 'fail', status: spec.status };
      const remaining = spec.mode === 'fail_times' ? spec.times : spec.mode === 'delay' ? (spec.times ?? null) : null;
      armed.set(spec.provider ?? ALL, { fault, remaining });
    },
    /** The fault this request suffers, if any; consumes one. */
    take(target: SimProvider): Fault | null {
      const key = armed.has(target) ? target : ALL;
      const entry = armed.get(key);
      if (!entry) return null;
      if (entry.remaining !== null && --entry.remaining <= 0) armed.delete(key);
      return entry.fault;
    },
    clear(): void {
      armed.clear();
    },
  };
}

export type Faults = ReturnType<typeof createFaults>;
