/**
 * The VMM process's own virtual address space (HVA), backed by host-physical frames that are
 * allocated on first touch — what mmap(MAP_ANONYMOUS) plus demand paging give QEMU. Guest RAM
 * is an HVA range handed to KVM as a memslot's userspace_addr; KVM's MMU resolves HVA→HPA here
 * (get_user_pages), so untouched guest RAM costs nothing.
 */
import { HostMemory, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE } from './host-memory.js';

interface Mapping {
  hva: number;
  npages: number;
  /** Frame number + 1 per page; 0 = not yet touched. */
  frames: Int32Array;
}

export class HostAddressSpace {
  private readonly mappings: Mapping[] = [];
  private nextHva = 0x7f00_0000_0000; // a user-space-looking address, page aligned

  constructor(readonly mem: HostMemory) {}

  /** Reserve `size` bytes of anonymous memory; returns its HVA. Nothing is allocated yet. */
  mmap(size: number): number {
    const npages = Math.ceil(size / PAGE_SIZE);
    const hva = this.nextHva;
    this.nextHva += (npages + 16) * PAGE_SIZE; // a guard gap between mappings
    this.mappings.push({ hva, npages, frames: new Int32Array(npages) });
    return hva;
  }

  private find(hva: number): Mapping | undefined {
    for (const m of this.mappings) if (hva >= m.hva && hva < m.hva + m.npages * PAGE_SIZE) return m;
    return undefined;
  }

  /** Is this HVA inside a mapping? */
  isMapped(hva: number): boolean {
    return this.find(hva) !== undefined;
  }

  /** HVA → HPA of the same byte, faulting the page in (a fresh zeroed frame) on first touch. */
  hvaToHpa(hva: number): number {
    const m = this.find(hva);
    if (!m) throw new RangeError(`HVA 0x${hva.toString(16)} is not mapped`);
    const page = Math.floor((hva - m.hva) / PAGE_SIZE);
    let f = m.frames[page] as number;
    if (f === 0) {
      f = (this.mem.allocFrame() >>> PAGE_SHIFT) + 1;
      m.frames[page] = f;
    }
    return (f - 1) * PAGE_SIZE + (hva & PAGE_MASK);
  }

  /** HPA if the page was touched, else -1 (reads of untouched memory see zeros without allocating). */
  peekHpa(hva: number): number {
    const m = this.find(hva);
    if (!m) throw new RangeError(`HVA 0x${hva.toString(16)} is not mapped`);
    const f = m.frames[Math.floor((hva - m.hva) / PAGE_SIZE)] as number;
    return f === 0 ? -1 : (f - 1) * PAGE_SIZE + (hva & PAGE_MASK);
  }

  /** memcpy into our own memory (touches the pages). */
  write(hva: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const at = hva + done;
      const chunk = Math.min(data.length - done, PAGE_SIZE - (at & PAGE_MASK));
      this.mem.u8.set(data.subarray(done, done + chunk), this.hvaToHpa(at));
      done += chunk;
    }
  }

  /** memcpy out of our own memory; untouched pages read as zeros and stay untouched. */
  read(hva: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = hva + done;
      const chunk = Math.min(length - done, PAGE_SIZE - (at & PAGE_MASK));
      const hpa = this.peekHpa(at);
      if (hpa >= 0) out.set(this.mem.u8.subarray(hpa, hpa + chunk), done);
      done += chunk;
    }
    return out;
  }

  /** Pages of this process that are resident (touched). */
  get residentPages(): number {
    let n = 0;
    for (const m of this.mappings) for (let i = 0; i < m.npages; i++) if (m.frames[i] !== 0) n++;
    return n;
  }
}
