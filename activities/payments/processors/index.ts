import type pg from 'pg';
import type { Config } from '../../../platform/config.js';
import { createHttpProcessorAdapter } from './http-adapter.js';
import { createProcessorRouter, type ProcessorRouter } from './router.js';
import { createWalletProcessorAdapter } from './wallet-adapter.js';
import type { OutboundLimiter } from '../../../platform/rate-limit/outbound.js';
import { withOutboundLimit } from './outbound-limit.js';

export * from './errors.js';
export type * from './types.js';
export { createHttpProcessorAdapter, type HttpProcessorAdapterOptions } from './http-adapter.js';
export { createProcessorRouter, type AuthorizeOptions, type ProcessorRouter, type ProcessorRouterOptions } from './router.js';
export type { BreakerState } from './breakers.js';
export { createWalletProcessorAdapter, WALLET_PROCESSOR } from './wallet-adapter.js';

/** The processors the simulated processors service stands for (the wallet is the ledger itself). */
export const SIMULATED_PROCESSORS = ['acq_primary', 'acq_secondary', 'bank_sim'] as const;

/**
 * The router a worker uses: one HTTP adapter per simulated processor, routes and breaker from
 * config. Build it once per worker: breaker state lives in the router.
 */
export function createProcessorRouterFromConfig(config: Config, deps: { pool: pg.Pool; outbound?: OutboundLimiter }): ProcessorRouter {
  const http = (processor: string) => createHttpProcessorAdapter({ baseUrl: config.PROCESSORS_URL, processor, timeoutMs: config.PROCESSOR_TIMEOUT_MS });
  const adapters = [
    ...SIMULATED_PROCESSORS.map((processor) => (deps.outbound ? withOutboundLimit(http(processor), deps.outbound) : http(processor))),
    createWalletProcessorAdapter(deps),
  ];
  return createProcessorRouter({
    adapters,
    routes: config.PROCESSOR_ROUTES,
    breaker: { consecutiveFailures: config.PROCESSOR_BREAKER_FAILURES, halfOpenAfterMs: config.PROCESSOR_BREAKER_HALF_OPEN_MS },
  });
}
