import { describe, expect, it } from 'vitest';
import { parseDurationMs, visibilityQuery } from './workflow-ops.js';

describe('workflow ops helpers', () => {
  it('parses durations and refuses anything else', () => {
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('15m')).toBe(900_000);
    expect(parseDurationMs('2h')).toBe(7_200_000);
    expect(parseDurationMs('7d')).toBe(604_800_000);
    expect(parseDurationMs('1w')).toBeNull();
    expect(parseDurationMs('-1h')).toBeNull();
  });

  it('builds a visibility query with quoted values', () => {
    const now = new Date('2026-01-02T00:00:00.000Z');
    expect(visibilityQuery({ type: 'p2pTransfer', status: 'running', businessStatus: "it's", olderThanMs: 3_600_000, limit: 10 }, now))
      .toBe("WorkflowType = 'p2pTransfer' AND ExecutionStatus = 'Running' AND BusinessStatus = 'it\\'s' AND StartTime < '2026-01-01T23:00:00.000Z'");
    expect(visibilityQuery({ limit: 10 })).toBe('');
  });
});
