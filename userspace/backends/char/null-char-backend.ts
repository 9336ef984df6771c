import type { CharBackend } from '../../bus/device.js';

/** `null`: output is discarded, there is never input (QEMU `-serial null`). */
export class NullCharBackend implements CharBackend {
  write(_data: Uint8Array): void {}

  onInput(_listener: (data: Uint8Array) => void): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}
