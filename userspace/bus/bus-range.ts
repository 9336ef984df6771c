/** One registered window of a bus, as listed in the device model's configure reply. */
export interface BusRange {
  readonly name: string;
  readonly base: number;
  readonly length: number;
}

/** Per-bus counters of accesses that no device claimed (Firecracker/v86: a miss never throws). */
export interface BusMissStats {
  /** Reads and writes that missed every range or straddled a range boundary. */
  misses: number;
  readMisses: number;
  writeMisses: number;
  /** Address of the most recent miss, or -1 before the first one. */
  lastMissAddress: number;
}

/** Value a read returns when nothing answers it: all ones, masked to the access size. */
export function allOnes(size: number): number {
  return size >= 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
}

/** Access sizes a BusDevice supports (BusDevice.read/write: 1, 2 or 4 bytes). */
export function assertAccessSize(size: number): void {
  if (size !== 1 && size !== 2 && size !== 4) {
    throw new Error(`assertion failed: bus access size ${size} is not 1, 2 or 4`);
  }
}

/** Render an address for messages. */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
