import { describe, expect, it } from 'vitest';
import { formatMinor } from './money.js';

describe('formatMinor', () => {
  it('writes the major unit exactly, by the currency exponent', () => {
    expect(formatMinor(1050, 'USD')).toBe('10.50');
    expect(formatMinor(5, 'USD')).toBe('0.05');
    expect(formatMinor(500, 'JPY')).toBe('500');
    expect(formatMinor(1, 'BHD')).toBe('0.001');
    expect(formatMinor(-1234, 'EUR')).toBe('-12.34');
    expect(formatMinor(1_000_000_000_000, 'USD')).toBe('10000000000.00');
  });
});
