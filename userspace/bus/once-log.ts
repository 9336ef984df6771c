/** Where devices send their rare diagnostic lines (the device-model process routes them to stderr). */
export type LogSink = (message: string) => void;

/**
 * Rate limit for guest-caused conditions (STYLE.md "Errors in three tiers"): each distinct key is
 * logged once, every occurrence is counted. Without a sink nothing is printed.
 */
export class OnceLog {
  private readonly seen = new Map<string, number>();

  constructor(private readonly sink?: LogSink) {}

  /** Count `key`; log `message` the first time it occurs. */
  warn(key: string, message: string): void {
    const count = this.seen.get(key) ?? 0;
    this.seen.set(key, count + 1);
    if (count === 0) this.sink?.(message);
  }

  /** How often `key` has occurred. */
  count(key: string): number {
    return this.seen.get(key) ?? 0;
  }
}
