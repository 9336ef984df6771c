/**
 * Gathers the small writes a UART makes (one byte per THR write) and hands them on as one chunk
 * per event-loop turn, in order. `flush()` hands over what is pending at once (before close, or
 * from a process 'exit' handler).
 */
export class OutputCoalescer {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private paused = false;

  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.pending.push(data.slice());
    this.pendingBytes += data.length;
    this.schedule();
  }

  /** Bytes waiting to be handed on. */
  get size(): number {
    return this.pendingBytes;
  }

  /** Hold output (the sink is applying backpressure); order is kept. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Hand over everything pending now, even while paused. */
  flush(): void {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? (this.pending[0] as Uint8Array) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.sink(chunk);
  }

  private schedule(): void {
    if (this.scheduled || this.paused || this.pendingBytes === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.paused) this.flush();
    });
  }
}
