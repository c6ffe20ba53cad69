import { DomainError } from '../errors.js';

/**
 * Business outcomes of the notification domain (templates, deliveries, dead letters), not bugs:
 * each carries the contract's stable `code`, so the API answers with the contract's error and an
 * activity fails with a non-retryable failure a workflow can match on (`delivery_missing`).
 */
export type NotificationErrorCode =
  | 'resource_missing'
  | 'resource_exists'
  | 'delivery_invalid_state'
  | 'notification_invalid_state'
  | 'broadcast_invalid_state'
  | 'parameter_invalid'
  /** A workflow's delivery is gone (the activity's failure type; never an API answer). */
  | 'delivery_missing';

export class NotificationError extends DomainError {
  override name = 'NotificationError';
  constructor(
    readonly code: NotificationErrorCode,
    message: string,
    /** The request parameter at fault, in the API's spelling (`id`, `template_id`). */
    override readonly param?: string,
  ) {
    super(message);
  }
}
