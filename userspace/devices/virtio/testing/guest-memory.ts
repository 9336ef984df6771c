/**
 * Test double for guest RAM: a Uint8Array at guest-physical 0 that is both the device's DmaPort
 * (async, rejecting out-of-range with DmaError as the VMM does) and the driver's direct memory
 * (sync little-endian accessors), the way a guest driver and a device share RAM.
 */
import { DmaError, type DmaPort, type DmaSegment } from '../../../bus/device.js';

/** In-memory guest RAM implementing DmaPort; counts DMA calls so tests can check batching. */
export class GuestMemory implements DmaPort {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Number of DmaPort read/write calls (each one message to the VMM in production). */
  dmaReads = 0;
  dmaWrites = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  get size(): number {
    return this.bytes.length;
  }

  async read(segments: readonly DmaSegment[]): Promise<Uint8Array> {
    this.dmaReads++;
    const total = this.checkAll(segments);
    const out = new Uint8Array(total);
    let pos = 0;
    for (const s of segments) {
      out.set(this.bytes.subarray(s.addr, s.addr + s.len), pos);
      pos += s.len;
    }
    return out;
  }

  async write(segments: readonly DmaSegment[], data: Uint8Array): Promise<void> {
    this.dmaWrites++;
    const total = this.checkAll(segments);
    if (total !== data.length) throw new Error(`assertion: DMA write of ${data.length} bytes into ${total}`);
    let pos = 0;
    for (const s of segments) {
      this.bytes.set(data.subarray(pos, pos + s.len), s.addr);
      pos += s.len;
    }
  }

  private checkAll(segments: readonly DmaSegment[]): number {
    let total = 0;
    for (const s of segments) {
      if (!Number.isSafeInteger(s.addr) || s.addr < 0 || s.len < 0 || s.addr + s.len > this.bytes.length) {
        throw new DmaError(s.addr, s.len);
      }
      total += s.len;
    }
    return total;
  }

  u8(addr: number): number {
    return this.view.getUint8(addr);
  }
  u16(addr: number): number {
    return this.view.getUint16(addr, true);
  }
  u32(addr: number): number {
    return this.view.getUint32(addr, true);
  }
  setU8(addr: number, v: number): void {
    this.view.setUint8(addr, v);
  }
  setU16(addr: number, v: number): void {
    this.view.setUint16(addr, v, true);
  }
  setU32(addr: number, v: number): void {
    this.view.setUint32(addr, v, true);
  }
  setU64(addr: number, v: number): void {
    this.view.setUint32(addr, v % 0x1_0000_0000, true);
    this.view.setUint32(addr + 4, Math.floor(v / 0x1_0000_0000), true);
  }
  slice(addr: number, len: number): Uint8Array {
    return this.bytes.slice(addr, addr + len);
  }
  fill(addr: number, data: Uint8Array): void {
    this.bytes.set(data, addr);
  }
}

/** A bump allocator over a GuestMemory region, for rings and buffers in tests. */
export class GuestAllocator {
  private next: number;

  constructor(
    readonly memory: GuestMemory,
    start: number,
  ) {
    this.next = start;
  }

  /** `len` bytes aligned to `align` (power of two); throws when RAM is exhausted (a test bug). */
  alloc(len: number, align = 16): number {
    const addr = (this.next + align - 1) & ~(align - 1);
    if (addr + len > this.memory.size) throw new Error('assertion: test guest RAM exhausted');
    this.next = addr + len;
    return addr;
  }
}
