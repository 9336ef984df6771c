import type { BusDevice } from '../../bus/device.js';

/** Default window size of QEMU's isa-debug-exit (`iosize` property). */
export const DEBUG_EXIT_DEFAULT_SIZE = 2;
/** Port the PC machine places it at (DESIGN.md "Machine"; QEMU `-device isa-debug-exit,iobase=0xf4`). */
export const DEBUG_EXIT_PC_PORT = 0xf4;

/** The exit status QEMU's isa-debug-exit produces for a written value: (v << 1) | 1, as an unsigned 32-bit number. */
export function debugExitStatus(value: number): number {
  return ((value << 1) | 1) >>> 0;
}

/**
 * isa-debug-exit (QEMU hw/misc/debugexit.c, facts.md §5.4): any write of value v asks the VMM to
 * exit with status (v << 1) | 1, so a guest can report pass/fail and never exit with 0. Reads
 * return 0. The VMM turns `code` into a process status with `code & 0xff`, as exit() does.
 */
export class IsaDebugExit implements BusDevice {
  /** Writes seen, for --stats (normally 1: the VMM exits). */
  exits = 0;

  constructor(private readonly onExit: (code: number) => void) {}

  read(_offset: number, _size: number): number {
    return 0;
  }

  write(_offset: number, _size: number, value: number): void {
    this.exits++;
    this.onExit(debugExitStatus(value));
  }
}
