/**
 * What a device in the device-model process is given and what it exposes. Devices are state
 * machines: they get an IRQ line, a clock and a backend through their constructor, see only
 * offsets inside their own register range (QEMU MemoryRegionOps), and never touch sockets,
 * msgpack or `fs` themselves.
 */

/** A register window on the PIO or MMIO bus. Offsets are relative to the device's base. */
export interface BusDevice {
  /** Access of 1, 2 or 4 bytes; returns the value zero-extended (all ones for unimplemented bits). */
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

/** An interrupt line into the VMM's interrupt controller (ISA IRQ numbering). */
export interface IrqLine {
  /** Level-triggered view: true = asserted. Edge devices assert then deassert (a pulse). */
  set(level: boolean): void;
}

/** One-shot timer owned by a device; re-arming replaces the previous deadline. */
export interface Timer {
  /** Fire the callback when the clock reaches `deadlineNs` (absolute, on the device clock). */
  arm(deadlineNs: number): void;
  cancel(): void;
}

/**
 * Device clock in nanoseconds. With `--clock host` it follows real time; with `--clock virtual`
 * it is derived from retired guest instructions and only moves when the VMM says so, so timers
 * fire at deterministic points of guest execution. Tests use a fake clock they step by hand.
 */
export interface Clock {
  now(): number;
  timer(callback: () => void): Timer;
}

/** Byte stream backend for serial ports and consoles (stdio, null, file, unix socket, ws). */
export interface CharBackend {
  /** Bytes from the guest. */
  write(data: Uint8Array): void;
  /** Bytes for the guest, delivered as they arrive. One listener. */
  onInput(listener: (data: Uint8Array) => void): void;
  /** Flush pending output and release the resource. */
  close(): Promise<void>;
}

/** Fixed-size block device backend (raw file, memory). Synchronous, as a PIO register access is. */
export interface BlockBackend {
  readonly size: number; // bytes, a multiple of 512
  readonly readOnly: boolean;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
  /** Make written data durable (fsync for files). */
  flush(): void;
  close(): void;
}

/** A scatter-gather element of guest-physical memory. */
export interface DmaSegment {
  addr: number;
  len: number;
}

/**
 * Guest-memory access for devices that do DMA (virtio). In production each call is a request
 * to the VMM over the protocol (batched as scatter-gather lists); accesses outside guest RAM
 * reject with DmaError rather than crash either side.
 */
export interface DmaPort {
  read(segments: readonly DmaSegment[]): Promise<Uint8Array>;
  write(segments: readonly DmaSegment[], data: Uint8Array): Promise<void>;
}

export class DmaError extends Error {
  readonly code = 'DMA_FAULT';
  constructor(readonly addr: number, readonly len: number) {
    super(`DMA outside guest RAM: 0x${addr.toString(16)}+${len}`);
  }
}
