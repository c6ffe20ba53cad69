import type { QuietHours } from './types.js';

/**
 * Quiet hours: a daily window of local wall-clock time, in the user's IANA time zone, during
 * which normal-priority notifications wait. Start is inclusive, end exclusive; an end before the
 * start spans midnight; start == end means no quiet hours. Pure: `now` comes from the caller
 * (a workflow passes its deterministic clock), time zone rules from the platform's Intl.
 */

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
/** IANA names only (`Europe/Paris`, `UTC`); Intl would also take offsets such as `+01:00` in newer engines. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;
const SECOND_MS = 1_000;
const DAY_MS = 86_400_000;

export function isValidTimeOfDay(value: string): boolean {
  return HH_MM.test(value);
}

export function isValidTimeZone(zone: string): boolean {
  if (!ZONE_NAME.test(zone)) return false;
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** What is wrong with a quiet-hours setting (empty when fine), for the API's 400. */
export function validateQuietHours(qh: QuietHours, param = 'quiet_hours'): { param: string; message: string }[] {
  const problems: { param: string; message: string }[] = [];
  for (const field of ['start', 'end'] as const) {
    if (!isValidTimeOfDay(qh[field])) problems.push({ param: `${param}.${field}`, message: `${param}.${field} must be a time as HH:MM (00:00 to 23:59).` });
  }
  if (!isValidTimeZone(qh.time_zone)) {
    problems.push({ param: `${param}.time_zone`, message: `${param}.time_zone must be an IANA time zone such as Europe/Paris.` });
  }
  return problems;
}

/**
 * When the quiet hours around `now` end, or null when `now` is outside them. The window ends when
 * the local clock reaches the end time: the first instant after `now` that reads it, or, on a day
 * the clocks skip it (spring forward), the instant they jump past it. A fall-back hour that reads
 * before the start for a while does not end the window early. Throws RangeError on an invalid
 * setting (validate first: `validateQuietHours`).
 *
 * @example
 * quietHoursEnd(new Date('2025-01-15T22:30:00Z'), { start: '22:00', end: '07:00', time_zone: 'UTC' })
 * // 2025-01-16T07:00:00.000Z
 */
export function quietHoursEnd(now: Date, qh: QuietHours): Date | null {
  const window = { start: secondsOfDay(qh.start), end: secondsOfDay(qh.end), zone: qh.time_zone };
  if (!isValidTimeZone(window.zone)) throw new RangeError(`Invalid time zone ${JSON.stringify(window.zone)}`);
  if (window.start === window.end) return null;
  let end = endOfWindowAround(now.getTime(), window);
  if (end === null) return null;
  // A skipped day (Pacific/Apia, 2011-12-30) can jump straight into the next night's window.
  for (let hop = 0; hop < HOPS_MAX; hop++) {
    const next = endOfWindowAround(end, window);
    if (next === null) return new Date(end);
    end = next;
  }
  throw new Error(`quiet hours ${qh.start}-${qh.end} in ${qh.time_zone} do not end after ${now.toISOString()}`);
}

const HOPS_MAX = 3;

interface Window {
  /** Seconds since local midnight. */
  start: number;
  end: number;
  zone: string;
}

/** The instant the window around `atMs` ends, or null when `atMs` reads outside it. */
function endOfWindowAround(atMs: number, window: Window): number | null {
  const local = wallClock(atMs, window.zone);
  const today = Math.floor(local / DAY_MS);
  const t = (local - today * DAY_MS) / SECOND_MS;
  const spansMidnight = window.end < window.start;
  const inside = spansMidnight ? t >= window.start || t < window.end : t >= window.start && t < window.end;
  if (!inside) return null;
  // The window ends today, unless it spans midnight and this is its evening part.
  const endDay = today + (spansMidnight && t >= window.start ? 1 : 0);
  return firstInstantAtOrAfter(endDay * DAY_MS + window.end * SECOND_MS, atMs, window.zone);
}

function secondsOfDay(hhmm: string): number {
  const match = HH_MM.exec(hhmm);
  if (!match) throw new RangeError(`Invalid time of day ${JSON.stringify(hhmm)}: expected HH:MM`);
  return Number(match[1]) * 3_600 + Number(match[2]) * 60;
}

/**
 * The first instant after `afterMs` whose local wall clock reads `wall` or later (wall times are
 * written as if UTC: ms since 1970-01-01T00:00 local). Offsets are taken a day either side, so
 * any one transition near `wall` is seen (two within 48 hours do not happen in tzdata).
 */
function firstInstantAtOrAfter(wall: number, afterMs: number, zone: string): number {
  const offsets = new Set([offsetAt(wall - DAY_MS, zone), offsetAt(wall, zone), offsetAt(wall + DAY_MS, zone)]);
  // Instants that read exactly `wall` (two in a fall-back overlap, none in a spring-forward gap).
  const exact = [...offsets].map((o) => wall - o).filter((t) => wallClock(t, zone) === wall && t > afterMs).sort((a, b) => a - b);
  if (exact[0] !== undefined) return exact[0];
  // In a gap: the transition lies between the earliest and the latest reading; find it by bisection.
  // Whole seconds, so the bisection lands on the transition itself (transitions are whole seconds).
  let lo = Math.floor(Math.max(afterMs, wall - Math.max(...offsets)) / SECOND_MS) * SECOND_MS;
  let hi = wall - Math.min(...offsets);
  if (!(wallClock(hi, zone) >= wall && hi > afterMs)) throw new Error(`quiet hours: no instant reads ${new Date(wall).toISOString()} in ${zone}`);
  while (hi - lo > SECOND_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / SECOND_MS) * SECOND_MS;
    // Invariant: wallClock(lo) < wall <= wallClock(hi).
    if (wallClock(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The local wall clock at an instant, as ms since 1970-01-01T00:00 local (seconds precision). */
function wallClock(instantMs: number, zone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(instantMs)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const { year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN } = parts;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function offsetAt(instantMs: number, zone: string): number {
  const whole = Math.floor(instantMs / SECOND_MS) * SECOND_MS;
  return wallClock(whole, zone) - whole;
}

/** Intl formatters are costly to build; one per zone, bounded (there are ~600 zone names). */
const formatters = new Map<string, Intl.DateTimeFormat>();
const FORMATTERS_MAX = 1_000;

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    if (formatters.size >= FORMATTERS_MAX) formatters.clear();
    formatters.set(zone, formatter);
  }
  return formatter;
}
