import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { DeliveryError } from '../activities/notifications/channels/types.js';

/** The DeliveryError a channel adapter's send rejects with (fails the test if it resolves or throws anything else). */
export async function failureOf(promise: Promise<unknown>): Promise<DeliveryError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

/** A port nothing listens on (port 1 is on fetch's blocked list, so it would not test a refused connection). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
