/**
 * Host-physical memory (HPA space) of the simulated machine.
 *
 * One large ArrayBuffer stands for the host's DRAM. The OS commits its pages only when they are
 * first written, and frames are handed out in order of first use, so a 1 GiB guest that touches
 * 4 MiB costs about 4 MiB of real memory. Everything that lives in host-physical memory is
 * allocated here: guest RAM frames (through the VMM's HVA→HPA table), EPT and shadow page tables,
 * VMCS regions, I/O and MSR bitmaps.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

/** Typed error for host-side exhaustion (tier 2: an expected host failure, not a guest fault). */
export class HostOutOfMemoryError extends Error {
  readonly code = 'HOST_OOM';
  constructor(what: string) {
    super(`host memory exhausted: ${what}`);
  }
}

export class HostMemory {
  readonly size: number;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  private nextFrame = 1; // frame 0 is never handed out, so HPA 0 can mean "none"
  private readonly freeList: number[] = [];

  constructor(size: number) {
    if (size % PAGE_SIZE !== 0 || size <= 0) throw new RangeError(`host memory size ${size} is not a positive multiple of 4 KiB`);
    const buffer = new ArrayBuffer(size);
    this.size = size;
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.view = new DataView(buffer);
  }

  /** Allocate one zeroed 4 KiB frame and return its host-physical address. */
  allocFrame(): number {
    const reused = this.freeList.pop();
    if (reused !== undefined) return reused;
    const hpa = this.nextFrame * PAGE_SIZE;
    if (hpa + PAGE_SIZE > this.size) throw new HostOutOfMemoryError(`no free 4 KiB frame in ${this.size >>> 20} MiB`);
    this.nextFrame++;
    return hpa;
  }

  /** Return a frame to the pool; it is zeroed so the next owner sees a clean page. */
  freeFrame(hpa: number): void {
    this.u8.fill(0, hpa, hpa + PAGE_SIZE);
    this.freeList.push(hpa);
  }

  /** Frames handed out and not freed. */
  get framesInUse(): number {
    return this.nextFrame - 1 - this.freeList.length;
  }

  read8(hpa: number): number {
    return this.u8[hpa] ?? 0xff;
  }
  read16(hpa: number): number {
    return this.view.getUint16(hpa, true);
  }
  read32(hpa: number): number {
    return this.view.getUint32(hpa, true);
  }
  /** 64-bit little-endian read as a JS number (exact up to 2^53, enough for 52-bit physical addresses). */
  read64(hpa: number): number {
    return this.view.getUint32(hpa, true) + this.view.getUint32(hpa + 4, true) * 0x1_0000_0000;
  }
  write8(hpa: number, v: number): void {
    this.u8[hpa] = v;
  }
  write16(hpa: number, v: number): void {
    this.view.setUint16(hpa, v, true);
  }
  write32(hpa: number, v: number): void {
    this.view.setUint32(hpa, v >>> 0, true);
  }
  write64(hpa: number, v: number): void {
    this.view.setUint32(hpa, v % 0x1_0000_0000, true);
    this.view.setUint32(hpa + 4, Math.floor(v / 0x1_0000_0000), true);
  }
}
