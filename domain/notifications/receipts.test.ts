import { describe, expect, it } from 'vitest';
import { bouncedAddressKey, RECEIPT_MOVES_FROM, RECEIPT_STATUSES, statusAfterReceipt } from './receipts.js';
import { DELIVERY_STATUSES } from './types.js';

describe('statusAfterReceipt', () => {
  it('moves sent → delivered | bounced and delivered → bounced; everything else stays', () => {
    const moves = DELIVERY_STATUSES.flatMap((from) => RECEIPT_STATUSES.map((receipt) => [from, receipt, statusAfterReceipt(from, receipt)]))
      .filter(([, , to]) => to !== null);
    expect(moves).toEqual([['sent', 'delivered', 'delivered'], ['sent', 'bounced', 'bounced'], ['delivered', 'bounced', 'bounced']]);
  });

  it('never leaves bounced, and a receipt applied twice is a no-op the second time', () => {
    for (const receipt of RECEIPT_STATUSES) expect(statusAfterReceipt('bounced', receipt)).toBeNull();
    for (const receipt of RECEIPT_STATUSES) expect(statusAfterReceipt(receipt, receipt)).toBeNull();
  });

  it('moves only from statuses a delivery can have', () => {
    for (const from of Object.values(RECEIPT_MOVES_FROM).flat()) expect(DELIVERY_STATUSES).toContain(from);
  });
});

describe('bouncedAddressKey', () => {
  it('lower-cases e-mail only', () => {
    expect(bouncedAddressKey('email', ' Ada@Example.COM ')).toBe('ada@example.com');
    expect(bouncedAddressKey('push', 'Tok_A')).toBe('Tok_A');
    expect(bouncedAddressKey('sms', '+15551230000')).toBe('+15551230000');
  });
});
