import { ApplicationFailure, CancellationScope, isCancellation, log } from '@temporalio/workflow';
import { setBusinessStatus } from './search-attributes.js';

/**
 * Compensations of a saga. Register one only after its step succeeded; `compensate` runs them
 * last-in first-out, shielded from cancellation. Each compensation is an activity whose retry
 * policy retries until it finishes; an error here is never swallowed: it fails the workflow loudly.
 */
export class Compensations {
  readonly #steps: { name: string; run: () => Promise<unknown> }[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.#steps.push({ name, run });
  }

  async compensate(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (const step of [...this.#steps].reverse()) {
        log.info('compensating', { step: step.name });
        try {
          await step.run();
        } catch (err) {
          throw ApplicationFailure.create({
            type: 'compensation_failed',
            message: `Compensation ${step.name} could not finish`,
            nonRetryable: true,
            cause: err instanceof Error ? err : undefined,
          });
        }
      }
    });
    this.#steps.length = 0;
  }
}

/** The `type` of an ApplicationFailure, directly or as the cause of an ActivityFailure. */
export function failureType(err: unknown): string | undefined {
  if (err instanceof ApplicationFailure) return err.type ?? undefined;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/**
 * The end of a saga that failed: run the compensations; then, for a business failure, record it
 * (even while the run is being cancelled) and mark the run `failed`. A bug (`failureCode` null)
 * and a cancellation are rethrown after compensating, so the run itself fails or is cancelled.
 */
export async function failSaga<C extends string>(
  err: unknown,
  compensations: Compensations,
  failureCode: C | null,
  recordFailure: (code: C) => Promise<unknown>,
): Promise<{ status: 'failed'; failureCode: C }> {
  await compensations.compensate();
  if (failureCode === null) throw err;
  await CancellationScope.nonCancellable(() => recordFailure(failureCode));
  setBusinessStatus('failed');
  if (isCancellation(err)) throw err;
  return { status: 'failed', failureCode };
}
