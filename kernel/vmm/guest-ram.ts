/**
 * The VMM's map of guest RAM (what QEMU's address_space_memory is for its own accesses): the
 * PC layout of DESIGN.md — RAM from 0 to 640 KiB, the legacy hole 0xA0000–0xFFFFF, RAM from
 * 1 MiB — as HVA ranges of this process, registered with KVM as memslots. Loading images and
 * serving the device model's DMA requests go through here, never through KVM.
 */
import type { HostAddressSpace } from '../hw/host-address-space.js';
import { PAGE_SIZE } from '../hw/host-memory.js';
import type { Vm } from '../kvm/vm.js';

export const PC_HOLE_START = 0xa0000;
export const PC_HOLE_END = 0x100000;

interface RamRange {
  gpa: number;
  size: number;
  hva: number;
}

/** Typed error for a guest-physical range that is not RAM (device-model DMA, image loading). */
export class GuestRamError extends Error {
  readonly code = 'DMA_FAULT';
  constructor(readonly gpa: number, readonly len: number) {
    super(`guest-physical range 0x${gpa.toString(16)}+${len} is not RAM`);
  }
}

export class GuestRam {
  readonly ranges: RamRange[] = [];

  constructor(private readonly process: HostAddressSpace, vm: Vm, readonly size: number) {
    const hva = process.mmap(size);
    const low = Math.min(size, PC_HOLE_START);
    this.ranges.push({ gpa: 0, size: low, hva });
    if (size > PC_HOLE_END) this.ranges.push({ gpa: PC_HOLE_END, size: size - PC_HOLE_END, hva: hva + PC_HOLE_END });
    this.ranges.forEach((r, slot) => vm.setUserMemoryRegion({ slot, flags: 0, guestPhysAddr: r.gpa, memorySize: r.size, userspaceAddr: r.hva }));
  }

  /** HVA of a guest-physical range that lies entirely in one RAM range, or throws GuestRamError. */
  private hvaOf(gpa: number, len: number): number {
    for (const r of this.ranges) {
      if (gpa >= r.gpa && gpa + len <= r.gpa + r.size) return r.hva + (gpa - r.gpa);
    }
    throw new GuestRamError(gpa, len);
  }

  /** Is [gpa, gpa+len) entirely RAM? */
  contains(gpa: number, len: number): boolean {
    return this.ranges.some((r) => gpa >= r.gpa && gpa + len <= r.gpa + r.size);
  }

  write(gpa: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.process.write(this.hvaOf(gpa, data.length), data);
  }

  read(gpa: number, len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    return this.process.read(this.hvaOf(gpa, len), len);
  }

  /**
   * Copy [gpa, gpa+len) into `out` at `at` — the DMA service's path, with no buffer in between.
   * Untouched pages read as zeros and stay untouched.
   */
  readInto(gpa: number, len: number, out: Uint8Array, at: number): void {
    if (len === 0) return;
    const hva = this.hvaOf(gpa, len);
    const u8 = this.process.mem.u8;
    let done = 0;
    while (done < len) {
      const a = hva + done;
      const chunk = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
      const hpa = this.process.peekHpa(a);
      if (hpa >= 0) out.set(u8.subarray(hpa, hpa + chunk), at + done);
      else out.fill(0, at + done, at + done + chunk);
      done += chunk;
    }
  }

  /** Zero-fill [gpa, gpa+len) (a loader's BSS); untouched pages are already zero. */
  zero(gpa: number, len: number): void {
    this.hvaOf(gpa, len); // bounds check only: fresh anonymous memory reads as zero
  }
}
