import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidTimeOfDay, isValidTimeZone, quietHoursEnd, validateQuietHours } from './quiet-hours.js';
import type { QuietHours } from './types.js';

const at = (iso: string) => new Date(iso);
const end = (now: string, start: string, endTime: string, time_zone: string) =>
  quietHoursEnd(at(now), { start, end: endTime, time_zone })?.toISOString() ?? null;

describe('quietHoursEnd: plain days', () => {
  it('a window within one day: start inclusive, end exclusive', () => {
    expect(end('2025-01-15T08:59:59Z', '09:00', '17:00', 'UTC')).toBeNull();
    expect(end('2025-01-15T09:00:00Z', '09:00', '17:00', 'UTC')).toBe('2025-01-15T17:00:00.000Z');
    expect(end('2025-01-15T16:59:59Z', '09:00', '17:00', 'UTC')).toBe('2025-01-15T17:00:00.000Z');
    expect(end('2025-01-15T17:00:00Z', '09:00', '17:00', 'UTC')).toBeNull();
  });

  it('a window spanning midnight, in the user time zone (Paris is UTC+1 in January)', () => {
    expect(end('2025-01-15T20:59:00Z', '22:00', '07:00', 'Europe/Paris')).toBeNull();
    expect(end('2025-01-15T21:00:00Z', '22:00', '07:00', 'Europe/Paris')).toBe('2025-01-16T06:00:00.000Z');
    expect(end('2025-01-15T23:30:00Z', '22:00', '07:00', 'Europe/Paris')).toBe('2025-01-16T06:00:00.000Z');
    expect(end('2025-01-16T05:59:59Z', '22:00', '07:00', 'Europe/Paris')).toBe('2025-01-16T06:00:00.000Z');
    expect(end('2025-01-16T06:00:00Z', '22:00', '07:00', 'Europe/Paris')).toBeNull();
    expect(end('2025-01-15T12:00:00Z', '22:00', '07:00', 'Europe/Paris')).toBeNull();
  });

  it('crosses the date line and the end of a year; start == end means none', () => {
    expect(end('2024-12-31T10:30:00Z', '23:00', '08:00', 'Pacific/Auckland')).toBe('2024-12-31T19:00:00.000Z');
    expect(end('2025-01-15T12:00:00Z', '10:00', '10:00', 'UTC')).toBeNull();
    expect(end('2025-01-15T10:00:00Z', '10:00', '10:00', 'UTC')).toBeNull();
    expect(end('2025-01-15T10:00:00Z', '00:00', '23:59', 'Asia/Kolkata')).toBe('2025-01-15T18:29:00.000Z');
  });
});

describe('quietHoursEnd: daylight saving time (New York: 2025-03-09 02:00 -> 03:00, 2025-11-02 02:00 -> 01:00)', () => {
  const NY = 'America/New_York';

  it('across spring forward the window is an hour shorter', () => {
    // 23:00 EST on the 8th is 04:00Z; 07:00 EDT on the 9th is 11:00Z.
    expect(end('2025-03-09T04:00:00Z', '23:00', '07:00', NY)).toBe('2025-03-09T11:00:00.000Z');
  });

  it('an end time the clocks skip ends the window when they jump past it', () => {
    // 01:30 EST (06:30Z) is inside 22:00-02:30; 02:30 does not exist, the clock jumps at 07:00Z.
    expect(end('2025-03-09T06:30:00Z', '22:00', '02:30', NY)).toBe('2025-03-09T07:00:00.000Z');
    expect(end('2025-03-09T06:59:59Z', '01:00', '02:30', NY)).toBe('2025-03-09T07:00:00.000Z');
    expect(end('2025-03-09T07:00:00Z', '01:00', '02:30', NY)).toBeNull();
  });

  it('a start time the clocks skip: the window is entered at the jump', () => {
    expect(end('2025-03-09T06:59:59Z', '02:15', '06:00', NY)).toBeNull();
    expect(end('2025-03-09T07:00:00Z', '02:15', '06:00', NY)).toBe('2025-03-09T10:00:00.000Z');
  });

  it('across fall back the window is an hour longer', () => {
    // 23:00 EDT on the 1st is 03:00Z; 07:00 EST on the 2nd is 12:00Z.
    expect(end('2025-11-02T03:00:00Z', '23:00', '07:00', NY)).toBe('2025-11-02T12:00:00.000Z');
  });

  it('an end time that happens twice: the first reading after now ends it', () => {
    // 00:00-01:30: at 00:30 EDT (04:30Z) it ends at the first 01:30 (05:30Z).
    expect(end('2025-11-02T04:30:00Z', '00:00', '01:30', NY)).toBe('2025-11-02T05:30:00.000Z');
    // The first 01:45 EDT (05:45Z) is outside; the clock then reads 01:00 EST again: inside until 01:30 EST.
    expect(end('2025-11-02T05:45:00Z', '00:00', '01:30', NY)).toBeNull();
    expect(end('2025-11-02T06:10:00Z', '00:00', '01:30', NY)).toBe('2025-11-02T06:30:00.000Z');
  });

  it('a half-hour shift (Lord Howe Island, 2025-04-06 02:00 -> 01:30)', () => {
    // 01:45 +11 is 2025-04-05T14:45Z, inside 23:00-01:50; 01:50 +11 is 14:50Z.
    expect(end('2025-04-05T14:45:00Z', '23:00', '01:50', 'Australia/Lord_Howe')).toBe('2025-04-05T14:50:00.000Z');
  });

  it('a skipped day (Samoa skipped 2011-12-30) ends the window at the end time of the next day there is', () => {
    // 23:00 on the 29th (-10) is 2011-12-30T09:00Z; the clock then reads 00:00 on the 31st (+14), still night.
    expect(end('2011-12-30T09:00:00Z', '22:00', '07:00', 'Pacific/Apia')).toBe('2011-12-30T17:00:00.000Z');
  });
});

describe('quietHoursEnd: properties', () => {
  const ZONES = ['UTC', 'Europe/Paris', 'America/New_York', 'America/Sao_Paulo', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Pacific/Apia'];
  const hhmm = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  const instant = fc.integer({ min: Date.UTC(2005, 0, 1), max: Date.UTC(2040, 0, 1) }).map((ms) => new Date(Math.floor(ms / 1_000) * 1_000));
  const quietHours = fc.record({ start: hhmm, end: hhmm, time_zone: fc.constantFrom(...ZONES) });

  /** The oracle reads the clock with another formatter and compares strings. */
  const reading = (date: Date, zone: string) =>
    new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(date);
  const inside = (date: Date, qh: QuietHours) => {
    const t = reading(date, qh.time_zone);
    const s = `${qh.start}:00`;
    const e = `${qh.end}:00`;
    return s < e ? t >= s && t < e : s > e && (t >= s || t < e);
  };

  it('null exactly when now reads outside; else a later instant that reads outside, with inside just before it', () => {
    fc.assert(fc.property(instant, quietHours, (now, qh) => {
      const result = quietHoursEnd(now, qh);
      if (!inside(now, qh)) {
        expect(result).toBeNull();
        return;
      }
      expect(result).not.toBeNull();
      const endAt = result!;
      expect(endAt.getTime()).toBeGreaterThan(now.getTime());
      expect(endAt.getTime() - now.getTime()).toBeLessThanOrEqual(48 * 3_600_000);
      expect(inside(endAt, qh)).toBe(false);
      expect(inside(new Date(endAt.getTime() - 1_000), qh)).toBe(true);
    }), { numRuns: 2_000 });
  });

  it('without DST: every instant before the end is inside, and the end reads the end time', () => {
    fc.assert(fc.property(instant, quietHours, fc.constantFrom('UTC', 'Asia/Kolkata', 'Asia/Tokyo'), (now, qh0, zone) => {
      const qh = { ...qh0, time_zone: zone };
      const result = quietHoursEnd(now, qh);
      if (result === null) return;
      expect(reading(result, zone)).toBe(`${qh.end}:00`);
      for (let k = 0; k < 10; k++) {
        expect(inside(new Date(now.getTime() + ((result.getTime() - now.getTime()) * k) / 10), qh)).toBe(true);
      }
    }), { numRuns: 500 });
  });
});

describe('validation', () => {
  it('times of day are HH:MM from 00:00 to 23:59', () => {
    for (const ok of ['00:00', '09:05', '23:59']) expect(isValidTimeOfDay(ok)).toBe(true);
    for (const bad of ['24:00', '9:05', '09:60', '09:05:00', '', ' 09:05']) expect(isValidTimeOfDay(bad)).toBe(false);
  });

  it('time zones are IANA names', () => {
    for (const ok of ['UTC', 'Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) expect(isValidTimeZone(ok)).toBe(true);
    for (const bad of ['', 'Mars/Olympus', '+01:00', 'Europe/Paris ', 'x'.repeat(100)]) expect(isValidTimeZone(bad)).toBe(false);
  });

  it('validateQuietHours names each bad field; quietHoursEnd throws RangeError on them', () => {
    expect(validateQuietHours({ start: '22:00', end: '07:00', time_zone: 'Europe/Paris' })).toEqual([]);
    expect(validateQuietHours({ start: '25:00', end: '7', time_zone: 'Nowhere' }).map((p) => p.param))
      .toEqual(['quiet_hours.start', 'quiet_hours.end', 'quiet_hours.time_zone']);
    expect(() => quietHoursEnd(new Date(), { start: '22:00', end: '07:00', time_zone: 'Nowhere' })).toThrow(RangeError);
    expect(() => quietHoursEnd(new Date(), { start: '22:00', end: '7:00', time_zone: 'UTC' })).toThrow(RangeError);
  });
});
