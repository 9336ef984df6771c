/** Test double for a CharBackend: records output, lets the test type input. */
import type { CharBackend } from '../../../bus/device.js';

/** In-memory CharBackend. */
export class FakeCharBackend implements CharBackend {
  readonly output: number[] = [];
  private listener: ((data: Uint8Array) => void) | null = null;
  closed = false;

  write(data: Uint8Array): void {
    this.output.push(...data);
  }

  onInput(listener: (data: Uint8Array) => void): void {
    this.listener = listener;
  }

  /** Deliver `text` as if typed on the host side. */
  type(text: string | Uint8Array): void {
    this.listener?.(typeof text === 'string' ? new TextEncoder().encode(text) : text);
  }

  get text(): string {
    return new TextDecoder().decode(Uint8Array.from(this.output));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
