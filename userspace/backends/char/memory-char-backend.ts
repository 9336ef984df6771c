import type { CharBackend } from '../../bus/device.js';

/**
 * An in-memory CharBackend: keeps every byte the guest wrote and lets the owner inject input.
 * Used by device tests and by embedders that want the transcript as data.
 */
export class MemoryCharBackend implements CharBackend {
  private readonly chunks: Uint8Array[] = [];
  private listener: ((data: Uint8Array) => void) | undefined;
  private pendingInput: Uint8Array[] = [];
  closed = false;

  write(data: Uint8Array): void {
    if (this.closed) return;
    this.chunks.push(data.slice());
  }

  onInput(listener: (data: Uint8Array) => void): void {
    this.listener = listener;
    const pending = this.pendingInput;
    this.pendingInput = [];
    for (const chunk of pending) listener(chunk);
  }

  /** Deliver bytes to the device as if they had arrived from outside (held until a listener exists). */
  inject(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data.slice();
    if (this.listener === undefined) this.pendingInput.push(bytes);
    else this.listener(bytes);
  }

  /** Everything written so far, concatenated. */
  output(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  /** Everything written so far as Latin-1 text (one character per byte). */
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  /** Forget the output collected so far. */
  clearOutput(): void {
    this.chunks.length = 0;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
