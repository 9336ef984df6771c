/**
 * The loopback net backend: every frame sent comes straight back, on a later turn of the event
 * loop so a device's transmit handler never re-enters its own receive path.
 */
import type { NetBackend } from './net-backend.js';

/** Net backend that echoes frames to its own listener. */
export class LoopbackNetBackend implements NetBackend {
  private listener: ((frame: Uint8Array) => void) | null = null;
  private closed = false;
  /** Frames looped back. */
  frames = 0;

  send(frame: Uint8Array): void {
    if (this.closed) return;
    const copy = frame.slice();
    setImmediate(() => {
      if (this.closed) return;
      this.frames++;
      this.listener?.(copy);
    });
  }

  onFrame(listener: (frame: Uint8Array) => void): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
