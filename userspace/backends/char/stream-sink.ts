import type { Writable } from 'node:stream';
import { OutputCoalescer } from './output-coalescer.js';

/**
 * Ordered, lossless output to a Node Writable (stdout, a file stream): small writes are
 * coalesced; while the stream reports backpressure (write() returned false) output collects here
 * until 'drain'. A stream error (EPIPE on a closed pipe) stops output and is reported once.
 */
export class StreamSink {
  private readonly coalescer: OutputCoalescer;
  private failed = false;
  /** Bytes dropped after the stream failed. */
  dropped = 0;

  constructor(
    private readonly stream: Writable,
    onError: (error: Error) => void = () => {},
  ) {
    this.coalescer = new OutputCoalescer((chunk) => this.writeChunk(chunk));
    stream.on('error', (error: Error) => {
      if (this.failed) return;
      this.failed = true;
      onError(error);
    });
  }

  write(data: Uint8Array): void {
    if (this.failed) {
      this.dropped += data.length;
      return;
    }
    this.coalescer.push(data);
  }

  /** Bytes not yet handed to the stream. */
  get pendingBytes(): number {
    return this.coalescer.size;
  }

  /** Hand everything pending to the stream (the stream keeps order while it buffers). */
  flush(): void {
    if (!this.failed) this.coalescer.flush();
  }

  /** Flush and wait until the stream has taken everything; `end` also ends the stream. */
  async close(end: boolean): Promise<void> {
    this.flush();
    if (this.failed || this.stream.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = (): void => resolve();
      this.stream.once('error', done);
      if (end) this.stream.end(done);
      else this.stream.write(new Uint8Array(0), done);
    });
  }

  private writeChunk(chunk: Uint8Array): void {
    if (this.failed) return;
    if (!this.stream.write(chunk)) {
      this.coalescer.pause();
      this.stream.once('drain', () => this.coalescer.resume());
    }
  }
}
