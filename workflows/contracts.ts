import type * as workflows from './index.js';
import { workflowContracts, type TaskQueues } from './contract-table.js';

/**
 * The contract of every workflow something starts: its type, its task queue role and its id
 * scheme (the table in `contract-table.ts`), with input and result types taken from the workflow
 * function itself — so a caller that passes the wrong input fails to compile
 * (`startWorkflow(deps, workflowContracts.topUp, { key, tenantId, input, … })`).
 */

export { workflowContracts, workflowIdOf, type TaskQueues } from './contract-table.js';

type Workflows = typeof workflows;
export type WorkflowName = keyof Workflows;
export type WorkflowInput<N extends WorkflowName> = Parameters<Workflows[N]>[0];
export type WorkflowResult<N extends WorkflowName> = Awaited<ReturnType<Workflows[N]>>;

export interface WorkflowContract<N extends WorkflowName> {
  /** The workflow type: the name `workflows/index.ts` exports it under. */
  readonly type: N;
  /** The queue its workflow tasks run on. */
  readonly queue: keyof TaskQueues;
  /** Business ids: `<idPrefix><key>`, e.g. `transfer-tr_01H…` (one run per business object). */
  readonly idPrefix: string;
}

/** Compile-time: every exported workflow has a contract, named by its exported type (tsc fails otherwise). */
export const checkedContracts: { readonly [N in WorkflowName]: WorkflowContract<N> } = workflowContracts;
