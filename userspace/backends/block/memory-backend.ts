import type { BlockBackend } from '../../bus/device.js';
import { BLOCK_ERROR_CODE, BlockBackendError, SECTOR_SIZE, checkRange } from './block-error.js';

/** A block device held in a Uint8Array (tests, scratch disks). Flush has nothing to do. */
export class MemoryBackend implements BlockBackend {
  readonly data: Uint8Array;
  readonly size: number;
  readonly readOnly: boolean;
  flushes = 0;

  /** `init` is a size in bytes (zero-filled) or the image itself (used in place, not copied). */
  constructor(init: number | Uint8Array, options: { readOnly?: boolean } = {}) {
    this.data = typeof init === 'number' ? new Uint8Array(init) : init;
    if (this.data.length % SECTOR_SIZE !== 0) {
      throw new BlockBackendError(BLOCK_ERROR_CODE.BAD_IMAGE, `memory disk of ${this.data.length} bytes is not a multiple of ${SECTOR_SIZE}`);
    }
    this.size = this.data.length;
    this.readOnly = options.readOnly ?? false;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this.size, offset, length);
    return this.data.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockBackendError(BLOCK_ERROR_CODE.READ_ONLY, 'write to a read-only memory disk');
    checkRange(this.size, offset, data.length);
    this.data.set(data, offset);
  }

  flush(): void {
    this.flushes++;
  }

  close(): void {}
}
