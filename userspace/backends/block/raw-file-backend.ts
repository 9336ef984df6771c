import * as fs from 'node:fs';
import type { BlockBackend } from '../../bus/device.js';
import { BLOCK_ERROR_CODE, BlockBackendError, SECTOR_SIZE, checkRange } from './block-error.js';

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A raw disk image file (QEMU's `format=raw`): synchronous positional reads and writes, flush =
 * fsync, size = file size, which must be a multiple of 512. Read-only images are opened O_RDONLY.
 */
export class RawFileBackend implements BlockBackend {
  readonly size: number;
  private fd: number | null;

  constructor(readonly path: string, readonly readOnly = false) {
    try {
      this.fd = fs.openSync(path, readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR);
    } catch (err) {
      throw new BlockBackendError(BLOCK_ERROR_CODE.OPEN_FAILED, `cannot open disk image ${path}: ${reason(err)}`, { cause: err });
    }
    let size: number;
    try {
      const st = fs.fstatSync(this.fd);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
    } catch (err) {
      this.close();
      throw new BlockBackendError(BLOCK_ERROR_CODE.OPEN_FAILED, `cannot use disk image ${path}: ${reason(err)}`, { cause: err });
    }
    if (size % SECTOR_SIZE !== 0) {
      this.close();
      throw new BlockBackendError(BLOCK_ERROR_CODE.BAD_IMAGE, `disk image ${path} is ${size} bytes, not a multiple of ${SECTOR_SIZE}`);
    }
    this.size = size;
  }

  private handle(): number {
    if (this.fd === null) throw new Error(`assertion: disk image ${this.path} used after close`);
    return this.fd;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this.size, offset, length);
    const fd = this.handle();
    const raw = Buffer.allocUnsafeSlow(length); // every byte is read or zeroed below
    const out = new Uint8Array(raw.buffer, raw.byteOffset, length);
    let done = 0;
    try {
      while (done < length) {
        const n = fs.readSync(fd, out, done, length - done, offset + done);
        if (n === 0) {
          out.fill(0, done); // file shrank under us: the rest reads as zeros
          break;
        }
        done += n;
      }
    } catch (err) {
      throw new BlockBackendError(BLOCK_ERROR_CODE.IO_ERROR, `read of ${this.path} at ${offset} failed: ${reason(err)}`, { cause: err });
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockBackendError(BLOCK_ERROR_CODE.READ_ONLY, `write to read-only disk image ${this.path}`);
    checkRange(this.size, offset, data.length);
    const fd = this.handle();
    let done = 0;
    try {
      while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
    } catch (err) {
      throw new BlockBackendError(BLOCK_ERROR_CODE.IO_ERROR, `write of ${this.path} at ${offset} failed: ${reason(err)}`, { cause: err });
    }
  }

  flush(): void {
    if (this.readOnly) return;
    try {
      fs.fsyncSync(this.handle());
    } catch (err) {
      throw new BlockBackendError(BLOCK_ERROR_CODE.IO_ERROR, `fsync of ${this.path} failed: ${reason(err)}`, { cause: err });
    }
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    fs.closeSync(fd);
  }
}
