import { z } from 'zod';

/** Shared parsers for the environment schema (platform/config.ts and its per-domain fragments). */

/** An integer with a default and bounds. */
export const intFromEnv = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const DURATION_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `500ms`, `5s`, `15m`, `48h` or `7d` (a bare number is milliseconds) → ms. */
export const durationFromEnv = (def: string) =>
  z.string().default(def).transform((text, ctx) => {
    const match = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(text.trim());
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 5s, 15m, 48h or 7d' });
      return z.NEVER;
    }
    return Number(match[1]) * DURATION_MS[(match[2] ?? 'ms') as keyof typeof DURATION_MS];
  });

export const jsonFromEnv = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
    return z.NEVER;
  }
});

/** `true` or `false`. */
export const booleanFromEnv = (def: 'true' | 'false') =>
  z.enum(['true', 'false']).default(def).transform((v) => v === 'true');
