/**
 * KVM memslots (KVM_SET_USER_MEMORY_REGION, facts §1.1): guest-physical ranges backed by HVA
 * ranges of the VMM process. Flags: LOG_DIRTY_PAGES (bit 0), READONLY (bit 1: guest writes
 * become KVM_EXIT_MMIO). A change bumps the generation so cached MMIO translations go stale.
 */
import { PAGE_SHIFT, PAGE_SIZE } from '../hw/host-memory.js';

export const KVM_MEM = {
  LOG_DIRTY_PAGES: 1 << 0,
  READONLY: 1 << 1,
} as const;

/** struct kvm_userspace_memory_region. */
export interface UserMemoryRegion {
  slot: number;
  flags: number;
  guestPhysAddr: number;
  memorySize: number; // 0 deletes the slot
  userspaceAddr: number;
}

export class Memslot {
  readonly baseGfn: number;
  readonly npages: number;
  /** One bit per page, set when the guest wrote it since the last get-dirty-log. */
  dirtyBitmap: Uint8Array;
  constructor(readonly id: number, readonly region: UserMemoryRegion) {
    this.baseGfn = region.guestPhysAddr / PAGE_SIZE;
    this.npages = region.memorySize / PAGE_SIZE;
    this.dirtyBitmap = new Uint8Array(Math.ceil(this.npages / 8));
  }
  get readOnly(): boolean {
    return (this.region.flags & KVM_MEM.READONLY) !== 0;
  }
  get logDirty(): boolean {
    return (this.region.flags & KVM_MEM.LOG_DIRTY_PAGES) !== 0;
  }
  /** HVA of a guest frame inside this slot. */
  gfnToHva(gfn: number): number {
    return this.region.userspaceAddr + (gfn - this.baseGfn) * PAGE_SIZE;
  }
}

/** Typed error for invalid memslot requests (the EINVAL/EEXIST of the ioctl). */
export class MemslotError extends Error {
  constructor(readonly code: 'EINVAL' | 'EEXIST', message: string) {
    super(message);
  }
}

export class Memslots {
  private slots: Memslot[] = []; // sorted by baseGfn
  generation = 0;

  /** Create, move or delete (memorySize 0) a slot, with KVM's validity rules. */
  set(region: UserMemoryRegion): { removed?: Memslot; added?: Memslot } {
    if (region.flags & ~(KVM_MEM.LOG_DIRTY_PAGES | KVM_MEM.READONLY)) throw new MemslotError('EINVAL', 'unknown memslot flags');
    if (region.guestPhysAddr % PAGE_SIZE || region.memorySize % PAGE_SIZE || region.userspaceAddr % PAGE_SIZE) {
      throw new MemslotError('EINVAL', 'memslot address and size must be page aligned');
    }
    const old = this.slots.find((s) => s.id === region.slot);
    const rest = this.slots.filter((s) => s.id !== region.slot);
    const result: { removed?: Memslot; added?: Memslot } = {};
    if (old) result.removed = old;
    if (region.memorySize > 0) {
      const added = new Memslot(region.slot, region);
      for (const s of rest) {
        if (added.baseGfn < s.baseGfn + s.npages && s.baseGfn < added.baseGfn + added.npages) {
          throw new MemslotError('EEXIST', `memslot ${region.slot} overlaps slot ${s.id}`);
        }
      }
      // Keep dirty bits across a flags-only change, as KVM does for KVM_MR_FLAGS_ONLY.
      if (old && old.baseGfn === added.baseGfn && old.npages === added.npages) added.dirtyBitmap = old.dirtyBitmap;
      rest.push(added);
      result.added = added;
    } else if (!old) {
      throw new MemslotError('EINVAL', `memslot ${region.slot} does not exist`);
    }
    this.slots = rest.sort((a, b) => a.baseGfn - b.baseGfn);
    this.generation++;
    return result;
  }

  /** The slot containing guest frame `gfn`, or undefined (an MMIO hole). */
  find(gfn: number): Memslot | undefined {
    const s = this.slots;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const slot = s[mid] as Memslot;
      if (gfn < slot.baseGfn) hi = mid - 1;
      else if (gfn >= slot.baseGfn + slot.npages) lo = mid + 1;
      else return slot;
    }
    return undefined;
  }

  byId(id: number): Memslot | undefined {
    return this.slots.find((s) => s.id === id);
  }

  all(): readonly Memslot[] {
    return this.slots;
  }

  /** Mark a guest frame dirty in its slot's bitmap (software dirty tracking paths). */
  markDirty(gpa: number): void {
    const gfn = Math.floor(gpa / PAGE_SIZE);
    const slot = this.find(gfn);
    if (slot?.logDirty) {
      const i = gfn - slot.baseGfn;
      slot.dirtyBitmap[i >> 3] = (slot.dirtyBitmap[i >> 3] as number) | (1 << (i & 7));
    }
  }
}

export { PAGE_SHIFT };
