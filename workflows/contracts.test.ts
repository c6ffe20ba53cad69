import { describe, expect, it } from 'vitest';
import type { StartDeps } from '../api/workflow-start.js';
import { startWorkflow } from '../api/workflow-start.js';
import { workflowContracts, workflowIdOf, type WorkflowInput } from './contracts.js';

describe('workflow contracts', () => {
  it('give every started workflow its own id scheme (one run per business object, never two kinds on one id)', () => {
    const prefixes = Object.values(workflowContracts).map((c) => c.idPrefix).filter((p) => p !== '');
    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const a of prefixes) for (const b of prefixes) if (a !== b) expect(b.startsWith(a), `${a} / ${b}`).toBe(false);
    expect(workflowIdOf(workflowContracts.p2pTransfer, 'tr_1')).toBe('transfer-tr_1');
    expect(workflowIdOf(workflowContracts.deadLetterRetry, 'dlv_1-2')).toBe('dead-letter-retry-dlv_1-2');
  });

  it('name each workflow by the type it is exported as, on a queue role the config has', () => {
    for (const [name, contract] of Object.entries(workflowContracts)) {
      expect(contract.type).toBe(name);
      expect(['wallet', 'payments', 'hr', 'notifications']).toContain(contract.queue);
    }
  });
});

/**
 * Compile-time checks (never run): a start with the wrong input does not compile. `tsc` fails if
 * any `@ts-expect-error` below stops being an error, so the contracts cannot silently loosen.
 */
export function typeChecks(deps: StartDeps, input: WorkflowInput<'topUp'>): void {
  const request = { key: 'k', tenantId: 't', undoIfNotStarted: async () => undefined };
  void startWorkflow(deps, workflowContracts.topUp, { ...request, input });
  // @ts-expect-error a top-up's input is not a transfer's
  void startWorkflow(deps, workflowContracts.p2pTransfer, { ...request, input });
  // @ts-expect-error amounts are numbers of minor units
  void startWorkflow(deps, workflowContracts.topUp, { ...request, input: { ...input, amountMinor: '10' } });
}
