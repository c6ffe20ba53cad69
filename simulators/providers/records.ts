/** Bound on what a provider remembers; the oldest records go first (a long dev session stays small). */
export const RECORDS_MAX = 10_000;

/** A record of something a provider accepted; `attempts` counts the requests that carried its key. */
export interface Attempted {
  attempts: number;
}

/**
 * What one fake provider accepted, by idempotency key (insertion ordered, bounded), and how many
 * requests reached it (faulted ones included).
 */
export class Records<T extends Attempted> {
  requestsReceived = 0;
  readonly #byKey = new Map<string, T>();
  /** Method-shaped, so `Records<PushRecord>` still passes for `Records<Attempted>`. */
  #listener: { accepted(record: T): void } | null = null;

  /** `listener` is called with every new record (not a replay of one): where a provider's receipt starts. */
  onAccepted(listener: (record: T) => void): void {
    this.#listener = { accepted: listener };
  }

  get(key: string): T | undefined {
    return this.#byKey.get(key);
  }

  put(key: string, record: T): void {
    if (this.#byKey.size >= RECORDS_MAX) {
      const oldest = this.#byKey.keys().next();
      if (!oldest.done) this.#byKey.delete(oldest.value);
    }
    this.#byKey.set(key, record);
    this.#listener?.accepted(record);
  }

  list(): T[] {
    return [...this.#byKey.values()];
  }

  clear(): void {
    this.#byKey.clear();
    this.requestsReceived = 0;
  }
}
