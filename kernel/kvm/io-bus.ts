/**
 * kvm_io_bus (facts §3.7): the in-kernel devices that claim guest port I/O or MMIO before
 * anything reaches userspace — the PIC, the optional PIT, ioeventfd doorbells and coalesced zones.
 * Devices are tried in registration order; the first that accepts an access wins.
 */

/** An in-kernel device on a bus. Returning false means "not mine, try the next" (-EOPNOTSUPP). */
export interface KvmIoDevice {
  read(addr: number, len: number): number | undefined;
  write(addr: number, len: number, value: number): boolean;
}

interface Entry {
  addr: number;
  len: number; // 0 = matches only accesses at exactly addr, any length
  dev: KvmIoDevice;
}

export class KvmIoBus {
  private entries: Entry[] = [];

  register(addr: number, len: number, dev: KvmIoDevice): void {
    this.entries.push({ addr, len, dev });
    this.entries.sort((a, b) => a.addr - b.addr);
  }

  unregister(dev: KvmIoDevice): void {
    this.entries = this.entries.filter((e) => e.dev !== dev);
  }

  private *candidates(addr: number, len: number): Generator<KvmIoDevice> {
    for (const e of this.entries) {
      if (e.addr > addr) break;
      if (e.len === 0 ? e.addr === addr : addr + len <= e.addr + e.len) yield e.dev;
    }
  }

  /** True when an in-kernel device took the write. */
  write(addr: number, len: number, value: number): boolean {
    for (const dev of this.candidates(addr, len)) if (dev.write(addr, len, value)) return true;
    return false;
  }

  /** The value, or undefined when no in-kernel device claims the read. */
  read(addr: number, len: number): number | undefined {
    for (const dev of this.candidates(addr, len)) {
      const v = dev.read(addr, len);
      if (v !== undefined) return v;
    }
    return undefined;
  }
}

/** KVM_IOEVENTFD flags (facts §1.1). */
export const KVM_IOEVENTFD_FLAG = { DATAMATCH: 1 << 0, PIO: 1 << 1, DEASSIGN: 1 << 2 } as const;

export interface IoeventfdSpec {
  addr: number;
  len: 0 | 1 | 2 | 4 | 8;
  pio: boolean;
  datamatch?: number;
  /** The eventfd: signalled (posted) with the written value; the vCPU does not wait. */
  signal: (value: number) => void;
}

/** A doorbell: a guest write to `addr` (with matching length/data) signals instead of exiting. */
export class Ioeventfd implements KvmIoDevice {
  signals = 0;
  constructor(readonly spec: IoeventfdSpec) {}
  read(): number | undefined {
    return undefined; // reads are never handled by ioeventfd
  }
  write(addr: number, len: number, value: number): boolean {
    const s = this.spec;
    if (addr !== s.addr) return false;
    if (s.len !== 0 && len !== s.len) return false;
    if (s.datamatch !== undefined && (value >>> 0) !== (s.datamatch >>> 0)) return false;
    this.signals++;
    s.signal(value);
    return true;
  }
}

/** One queued write of a coalesced zone (struct kvm_coalesced_mmio). */
export interface CoalescedWrite {
  addr: number;
  len: number;
  pio: boolean;
  value: number;
}

/** KVM_COALESCED_MMIO_MAX: (4096 − 8) / 24 entries in the ring page. */
export const KVM_COALESCED_MMIO_MAX = 170;

/**
 * The coalesced-MMIO ring (facts §3.9): writes inside a zone are queued instead of exiting;
 * userspace drains the ring before handling any exit. A full ring makes the write exit normally.
 */
export class CoalescedRing {
  private readonly ring: CoalescedWrite[] = [];
  /** Called for each write accepted (statistics). */
  onWrite: () => void = () => {};
  get length(): number {
    return this.ring.length;
  }
  push(w: CoalescedWrite): boolean {
    if (this.ring.length >= KVM_COALESCED_MMIO_MAX - 1) return false; // one slot stays empty
    this.ring.push(w);
    this.onWrite();
    return true;
  }
  drain(): CoalescedWrite[] {
    return this.ring.splice(0, this.ring.length);
  }
}

/** A zone registered with KVM_REGISTER_COALESCED_MMIO. */
export class CoalescedZone implements KvmIoDevice {
  constructor(readonly addr: number, readonly size: number, readonly pio: boolean, private readonly ring: CoalescedRing) {}
  read(): number | undefined {
    return undefined; // only writes are coalesced
  }
  write(addr: number, len: number, value: number): boolean {
    if (addr < this.addr || addr + len > this.addr + this.size) return false;
    return this.ring.push({ addr, len, pio: this.pio, value });
  }
}
