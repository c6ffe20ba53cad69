import { encodeTime, monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

export const ID_PREFIXES = {
  tenant: 'tnt',
  account: 'acct',
  ledgerTransaction: 'txn',
  entry: 'ent',
  hold: 'hold',
  transfer: 'tr',
  topup: 'topup',
  event: 'evt',
  payment: 'pay',
  refund: 're',
  settlementBatch: 'stl',
  employee: 'emp',
  leaveRequest: 'lr',
  leaveLedgerEntry: 'lle',
  notification: 'ntf',
  delivery: 'dlv',
  webhookEndpoint: 'we',
  inboxMessage: 'msg',
  apiKey: 'key',
  actorSigningKey: 'ask',
  auditEvent: 'aud',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** A type prefix and a sortable random part (ULID), e.g. `tr_01JD3…`. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid()}`;
}

/** The smallest id of `kind` created at or after `timeMs` (ids sort by creation time). */
export function firstIdAt(kind: IdKind, timeMs: number): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(timeMs, 10)}${'0'.repeat(16)}`;
}
