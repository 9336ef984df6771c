import type { BusDevice } from './device.js';
import { BusError, BusErrorCode } from './bus-error.js';
import { allOnes, assertAccessSize, hex, type BusMissStats, type BusRange } from './bus-range.js';

/** Size of the x86 I/O port space (SDM Vol. 1 §18.2: 64K 8-bit ports). */
export const PIO_SPACE_SIZE = 0x1_0000;

/** Index value for a port that belongs to no device. */
const NO_DEVICE = -1;

interface PioEntry extends BusRange {
  readonly device: BusDevice;
}

/**
 * The x86 port I/O bus of the device model. A 64K-entry table maps each port straight to its
 * device, so dispatch is two array loads. Devices see offsets inside their own range (QEMU
 * MemoryRegionOps); accesses that miss or straddle a range boundary read as all ones and are
 * counted, never thrown.
 */
export class PioBus {
  private readonly index = new Int16Array(PIO_SPACE_SIZE).fill(NO_DEVICE);
  private readonly entries: PioEntry[] = [];
  /** Accesses that no device claimed. */
  readonly stats: BusMissStats = { misses: 0, readMisses: 0, writeMisses: 0, lastMissAddress: -1 };

  /** Claim ports [base, base + length) for `device`; overlapping claims are a BusError. */
  register(name: string, base: number, length: number, device: BusDevice): void {
    if (!Number.isInteger(base) || !Number.isInteger(length) || base < 0 || length <= 0 || base + length > PIO_SPACE_SIZE) {
      throw new BusError(BusErrorCode.badRange, `PIO range ${hex(base)}+${length} for ${name} is outside the port space`);
    }
    if (this.entries.some((e) => e.name === name)) {
      throw new BusError(BusErrorCode.duplicateName, `PIO device name ${name} is already registered`);
    }
    for (let port = base; port < base + length; port++) {
      const owner = this.index[port] ?? NO_DEVICE;
      if (owner !== NO_DEVICE) {
        const other = this.entries[owner]?.name ?? '?';
        throw new BusError(BusErrorCode.overlap, `PIO range ${hex(base)}+${length} for ${name} overlaps ${other} at port ${hex(port)}`);
      }
    }
    if (this.entries.length >= 0x7fff) {
      throw new Error('assertion failed: too many PIO devices for the Int16Array index');
    }
    const slot = this.entries.length;
    this.entries.push({ name, base, length, device });
    this.index.fill(slot, base, base + length);
  }

  /** Read `size` bytes at `port`; a miss returns all ones for that size. */
  read(port: number, size: number): number {
    const entry = this.lookup(port, size);
    if (entry === undefined) {
      this.stats.readMisses++;
      this.miss(port);
      return allOnes(size);
    }
    return entry.device.read(port - entry.base, size);
  }

  /** Write `size` bytes at `port`; a miss is counted and dropped. */
  write(port: number, size: number, value: number): void {
    const entry = this.lookup(port, size);
    if (entry === undefined) {
      this.stats.writeMisses++;
      this.miss(port);
      return;
    }
    entry.device.write(port - entry.base, size, value);
  }

  /** The registered ranges in ascending port order, for the configure reply. */
  ranges(): BusRange[] {
    return this.entries
      .map(({ name, base, length }) => ({ name, base, length }))
      .sort((a, b) => a.base - b.base);
  }

  private lookup(port: number, size: number): PioEntry | undefined {
    assertAccessSize(size);
    const last = port + size - 1;
    if (port < 0 || last >= PIO_SPACE_SIZE) return undefined;
    const first = this.index[port] ?? NO_DEVICE;
    // Ranges are contiguous, so both ends in the same range means the whole access is inside it.
    if (first === NO_DEVICE || this.index[last] !== first) return undefined;
    return this.entries[first];
  }

  private miss(port: number): void {
    this.stats.misses++;
    this.stats.lastMissAddress = port;
  }
}
