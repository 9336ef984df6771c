import type { BusDevice } from '../../bus/device.js';

/** The POST-code / I/O-delay port (QEMU hw/i386/pc.c "ioport80"). */
export const POST_CODE_PORT = 0x80;

/**
 * Port 0x80: firmware writes POST codes there and Linux uses it as an I/O delay (`outb %al,$0x80`).
 * Writes are discarded (the last one is kept for debugging); reads return all ones.
 */
export class Port80 implements BusDevice {
  /** Last byte written, -1 before any write. */
  lastPostCode = -1;
  writes = 0;

  read(_offset: number, size: number): number {
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffff_ffff;
  }

  write(_offset: number, _size: number, value: number): void {
    this.writes++;
    this.lastPostCode = value & 0xff;
  }
}
