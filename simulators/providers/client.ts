import { jsonCaller } from '../control-client.js';
import type { FaultSpec, SimProvider } from './faults.js';
import type { PushRecord } from './push.js';
import type { SmsRecord } from './sms.js';
import type { WebhookRecord } from './webhook-receiver.js';

interface RecordOf {
  push: PushRecord;
  sms: SmsRecord;
  webhook: WebhookRecord;
}

export interface MessagesReport<P extends SimProvider> {
  provider: P;
  /** Every request that reached the provider, faulted and replayed ones included. */
  requests_received: number;
  /** Push only: the number of messages in each `send-each` call, in order (how sends were batched). */
  send_each_calls?: number[];
  /** What it accepted, once per idempotency key (push: per key and token), oldest first. */
  messages: RecordOf[P][];
}

/**
 * The control and inspection side of the fake providers, for tests and drills.
 *
 * @example
 * const sim = providersControl(providers.url);
 * await sim.fault({ provider: 'sms', mode: 'fail_times', times: 2, status: 503 });
 * expect((await sim.messages('sms')).messages).toHaveLength(1);
 */
export function providersControl(baseUrl: string) {
  const call = jsonCaller(baseUrl);
  return {
    fault: (spec: FaultSpec) => call('POST', '/control/faults', spec),
    clearFaults: () => call('POST', '/control/faults/clear', {}),
    reset: () => call('POST', '/control/reset', {}),
    messages: <P extends SimProvider>(provider: P) => call<MessagesReport<P>>('GET', `/control/messages?provider=${provider}`),
  };
}
