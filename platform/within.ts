/**
 * `work`, or a rejection once `ms` have passed without an answer (the work itself is not
 * cancelled: use it for calls whose late answer may be ignored, like a health check).
 *
 * @example
 * await within(2_000, redis.ping());
 */
export async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
