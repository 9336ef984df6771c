import type { BusDevice } from './device.js';
import { BusError, BusErrorCode } from './bus-error.js';
import { allOnes, assertAccessSize, hex, type BusMissStats, type BusRange } from './bus-range.js';

/** Guest-physical addresses must stay exact in a JS number. */
const MMIO_SPACE_END = Number.MAX_SAFE_INTEGER;

interface MmioEntry extends BusRange {
  readonly device: BusDevice;
}

/**
 * The guest-physical MMIO bus of the device model: ranges kept sorted by base and found by binary
 * search. Devices see offsets inside their own range (QEMU MemoryRegionOps); accesses that miss or
 * straddle a range boundary read as all ones and are counted, never thrown.
 */
export class MmioBus {
  /** Sorted by base, pairwise disjoint. */
  private readonly entries: MmioEntry[] = [];
  /** Accesses that no device claimed. */
  readonly stats: BusMissStats = { misses: 0, readMisses: 0, writeMisses: 0, lastMissAddress: -1 };

  /** Claim [base, base + length) for `device`; overlapping claims are a BusError. */
  register(name: string, base: number, length: number, device: BusDevice): void {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(length) || base < 0 || length <= 0 || base + length > MMIO_SPACE_END) {
      throw new BusError(BusErrorCode.badRange, `MMIO range ${hex(base)}+${length} for ${name} is invalid`);
    }
    if (this.entries.some((e) => e.name === name)) {
      throw new BusError(BusErrorCode.duplicateName, `MMIO device name ${name} is already registered`);
    }
    const at = this.upperBound(base); // first entry with entry.base > base
    const before = this.entries[at - 1];
    const after = this.entries[at];
    const clash =
      before !== undefined && before.base + before.length > base ? before : after !== undefined && after.base < base + length ? after : undefined;
    if (clash !== undefined) {
      throw new BusError(
        BusErrorCode.overlap,
        `MMIO range ${hex(base)}+${hex(length)} for ${name} overlaps ${clash.name} at ${hex(clash.base)}+${hex(clash.length)}`,
      );
    }
    this.entries.splice(at, 0, { name, base, length, device });
  }

  /** Read `size` bytes at guest-physical `addr`; a miss returns all ones for that size. */
  read(addr: number, size: number): number {
    const entry = this.lookup(addr, size);
    if (entry === undefined) {
      this.stats.readMisses++;
      this.miss(addr);
      return allOnes(size);
    }
    return entry.device.read(addr - entry.base, size);
  }

  /** Write `size` bytes at guest-physical `addr`; a miss is counted and dropped. */
  write(addr: number, size: number, value: number): void {
    const entry = this.lookup(addr, size);
    if (entry === undefined) {
      this.stats.writeMisses++;
      this.miss(addr);
      return;
    }
    entry.device.write(addr - entry.base, size, value);
  }

  /** The registered ranges in ascending address order, for the configure reply. */
  ranges(): BusRange[] {
    return this.entries.map(({ name, base, length }) => ({ name, base, length }));
  }

  private lookup(addr: number, size: number): MmioEntry | undefined {
    assertAccessSize(size);
    const entry = this.entries[this.upperBound(addr) - 1];
    if (entry === undefined) return undefined;
    // A straddling access belongs to no device (it would need to be split; real buses do not).
    if (addr + size > entry.base + entry.length) return undefined;
    return entry;
  }

  /** Index of the first entry whose base is greater than `addr`. */
  private upperBound(addr: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as MmioEntry).base <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private miss(addr: number): void {
    this.stats.misses++;
    this.stats.lastMissAddress = addr;
  }
}
