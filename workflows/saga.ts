import { ApplicationFailure, CancellationScope, log } from '@temporalio/workflow';

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

/** Runs the end of a failed saga (record the failure) even when the run is being cancelled. */
export function finishDespiteCancellation<T>(fn: () => Promise<T>): Promise<T> {
  return CancellationScope.nonCancellable(fn);
}
