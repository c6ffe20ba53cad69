/**
 * Every business outcome of the system (not a bug) is a `DomainError` with a stable `code`, the
 * contract's error code where one exists. The domain knows no HTTP and no Temporal: the API maps
 * codes to HTTP answers (`api/errors.ts`), activities to `ApplicationFailure`s (`activities/failure.ts`).
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  /** Whether the same step may be tried again (transport trouble); business outcomes are final. */
  readonly retryable: boolean = false;
  /** The request parameter at fault, in the API's spelling (`start_date`, `manager_id`). */
  readonly param?: string | undefined;

  /** The Temporal failure type a workflow matches on: the code, unless the error says otherwise. */
  get failureType(): string {
    return this.code;
  }

  /** What a workflow needs besides the type (a failure's details). */
  get failureDetails(): Record<string, unknown> | undefined {
    return undefined;
  }
}
