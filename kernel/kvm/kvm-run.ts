/**
 * The shared `struct kvm_run` (facts §1.2/§1.3): one per vCPU, reused across KVM_RUN calls.
 * KVM fills the exit fields; userspace completes IN/MMIO reads by writing the data back before
 * the next run, exactly as with the mmap'ed page.
 */

/** KVM_EXIT_* (include/uapi/linux/kvm.h). */
export const KVM_EXIT = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
} as const;
export type KvmExitReason = (typeof KVM_EXIT)[keyof typeof KVM_EXIT];

export const KVM_EXIT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(KVM_EXIT).map(([k, v]) => [v, k]));

export const KVM_EXIT_IO = { IN: 0, OUT: 1 } as const;

/** kvm_run.internal.suberror */
export const KVM_INTERNAL_ERROR = { EMULATION: 1, SIMUL_EX: 2, DELIVERY_EV: 3, UNEXPECTED_EXIT_REASON: 4 } as const;

/** kvm_run.system_event.type */
export const KVM_SYSTEM_EVENT = { SHUTDOWN: 1, RESET: 2, CRASH: 3 } as const;

/** Size of the PIO data page (the second mmap page of a vCPU). */
export const KVM_PIO_PAGE_SIZE = 4096;

/** The value of `size` (1, 2 or 4) little-endian bytes at `offset` of the PIO page or MMIO data. */
export function readLe(data: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let b = size - 1; b >= 0; b--) v = (v << 8) | data[offset + b]!;
  return v >>> 0;
}

/** Store the low `size` bytes of `value` little-endian at `offset`. */
export function writeLe(data: Uint8Array, offset: number, size: number, value: number): void {
  for (let b = 0; b < size; b++) data[offset + b] = (value >>> (8 * b)) & 0xff;
}

export interface KvmRun {
  // in
  requestInterruptWindow: boolean;
  immediateExit: boolean;
  // out
  exitReason: number;
  readyForInterruptInjection: boolean;
  ifFlag: boolean;
  io: { direction: number; size: number; port: number; count: number; data: Uint8Array };
  mmio: { physAddr: number; data: Uint8Array; len: number; isWrite: boolean };
  failEntry: { hardwareEntryFailureReason: number };
  internal: { suberror: number; data: number[] };
  systemEvent: { type: number };
}

export function createKvmRun(): KvmRun {
  return {
    requestInterruptWindow: false,
    immediateExit: false,
    exitReason: KVM_EXIT.UNKNOWN,
    readyForInterruptInjection: false,
    ifFlag: false,
    io: { direction: 0, size: 0, port: 0, count: 0, data: new Uint8Array(KVM_PIO_PAGE_SIZE) },
    mmio: { physAddr: 0, data: new Uint8Array(8), len: 0, isWrite: false },
    failEntry: { hardwareEntryFailureReason: 0 },
    internal: { suberror: 0, data: [] },
    systemEvent: { type: 0 },
  };
}
