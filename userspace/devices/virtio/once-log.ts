/**
 * Rate-limited logging for guest-caused conditions (house style "errors in three tiers", as QEMU's
 * virtio_error / LOG_GUEST_ERROR): each distinct key is logged the first time only and counted
 * afterwards, so a misbehaving guest cannot flood the device-model's stderr.
 */

/** Where a device's diagnostic lines go (defaults to stderr). */
export type LogSink = (message: string) => void;

/** Default sink: one line on stderr. */
export const stderrLog: LogSink = (message) => {
  process.stderr.write(`${message}\n`);
};

/** Logs each key once; later occurrences are only counted. */
export class OnceLog {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly sink: LogSink,
    private readonly prefix: string,
  ) {}

  /** Log `message` if `key` has not been logged yet; count it either way. */
  warn(key: string, message: string): void {
    const n = this.seen.get(key) ?? 0;
    this.seen.set(key, n + 1);
    if (n === 0) this.sink(`${this.prefix}: ${message}`);
  }

  /** How often `key` occurred (logged or suppressed). */
  count(key: string): number {
    return this.seen.get(key) ?? 0;
  }
}
