import type { Client } from '@temporalio/client';
import type { DigestStarter } from '../activities/notifications/digest-activities.js';
import { classifyStartError } from '../platform/start-errors.js';
import { workflowContracts, workflowIdOf } from '../workflows/contracts.js';
import { BusinessStatus, TenantId } from '../workflows/search-attributes.js';

/**
 * Starts a user's e-mail digest run (`digest-<dgst_id>`) for the e-mail attempts that hold e-mails
 * in it (activities/notifications/digest-activities.ts), on the notifications queue with the API's
 * options: USE_EXISTING (every held e-mail of a digest lands on its one run), REJECT_DUPLICATE, and
 * `TenantId`/`BusinessStatus`. A closed run of the id means the digest is done: nothing to start.
 *
 * @example
 * const digests = { starter: digestStarter({ temporal, taskQueue: config.TASK_QUEUE_NOTIFICATIONS }), messagesMax: 100 };
 */
export function digestStarter(options: { temporal: Client; taskQueue: string }): DigestStarter {
  return {
    async start(input) {
      try {
        await options.temporal.workflow.start(workflowContracts.digest.type, {
          taskQueue: options.taskQueue,
          workflowId: workflowIdOf(workflowContracts.digest, input.digestId),
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [{ key: TenantId, value: input.tenantId }, { key: BusinessStatus, value: 'pending' }],
        });
      } catch (err) {
        if (classifyStartError(err) !== 'exists') throw err;
      }
    },
  };
}
