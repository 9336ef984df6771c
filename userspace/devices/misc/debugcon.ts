import type { BusDevice, CharBackend } from '../../bus/device.js';

/** Bochs "port E9" hack: the default port and what reading it returns (QEMU hw/char/debugcon.c). */
export const DEBUGCON_PORT = 0xe9;
export const DEBUGCON_READBACK = 0xe9;

/**
 * isa-debugcon (QEMU hw/char/debugcon.c, facts.md §5.4): the low byte of every write goes to the
 * CharBackend; reads return 0xE9 so a guest can detect the port. Input is ignored.
 */
export class Debugcon implements BusDevice {
  constructor(
    private readonly backend: CharBackend,
    private readonly readback: number = DEBUGCON_READBACK,
  ) {}

  read(_offset: number, size: number): number {
    // The readback byte in the low byte, the bus's all ones above it.
    return size === 1 ? this.readback : ((size === 2 ? 0xff00 : 0xffff_ff00) | this.readback) >>> 0;
  }

  write(_offset: number, _size: number, value: number): void {
    this.backend.write(Uint8Array.of(value & 0xff));
  }
}
