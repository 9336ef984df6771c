/**
 * Writer side of EPT, for KVM's TDP MMU: allocates EPT tables from host memory and installs,
 * changes and removes leaf entries in the SDM format (SDM 29.3.2), including KVM's MMIO
 * "misconfigured" entries and dirty-flag harvesting for dirty logging (SDM 29.3.5).
 *
 * Non-leaf entries grant R|W|X so that leaves alone decide permissions, as KVM's TDP MMU does.
 * After changing or removing a present entry, the caller must invalidate cached translations
 * (Vmx.invept), as software must on hardware (SDM 29.4.3.1).
 */
import type { HostMemory } from '../hw/host-memory.js';
import {
  EptEntry,
  EptMemoryType,
  EPT_ENTRIES,
  EPT_ENTRY_SIZE,
  EPT_MISCONFIG_WX_VALUE,
  GPA_LIMIT,
  makeEptp,
  PAGE_2M,
  PAGE_4K,
} from './ept-format.js';

/** Host-physical addresses are 32 bits on this machine (IA32_VMX_BASIC bit 48). */
const HPA_LIMIT = 0x1_0000_0000;
const INDEX_MASK = 0x1ff;
const NONLEAF_PERMS = EptEntry.READ | EptEntry.WRITE | EptEntry.EXEC;

/** A leaf entry found by `lookup`. */
export interface EptLeaf {
  /** Host-physical address of the 8-byte entry. */
  entryHpa: number;
  /** Low 32 bits of the entry (permissions, memory type, A/D, address bits 31:12). */
  entry: number;
  /** 4 KiB or 2 MiB. */
  pageSize: number;
  /** Host-physical address the GPA maps to (meaningless for an MMIO entry). */
  hpa: number;
  permissions: number;
}

/** Options for a new EPT hierarchy. */
export interface EptBuilderOptions {
  /** Enable accessed/dirty flags in the EPTP (bit 6); needed for dirty-flag logging. */
  accessedDirty?: boolean;
}

function indexAt(gpa: number, shift: number): number {
  return Math.floor(gpa / 2 ** shift) & INDEX_MASK;
}

/** One EPT hierarchy rooted at a PML4 frame, with helpers to map, unmap and harvest dirty flags. */
export class EptBuilder {
  readonly mem: HostMemory;
  /** Host-physical address of the PML4 table. */
  readonly pml4: number;
  readonly accessedDirty: boolean;
  private readonly tables = new Set<number>();

  constructor(mem: HostMemory, options: EptBuilderOptions = {}) {
    this.mem = mem;
    this.accessedDirty = options.accessedDirty ?? false;
    this.pml4 = this.allocTable();
  }

  /** The EPTP value to write to VMCS EPT_POINTER (write-back paging structures, 4-level). */
  get eptp(): number {
    return makeEptp(this.pml4, EptMemoryType.WB, this.accessedDirty);
  }

  /** Number of EPT table frames in use (PML4 included). */
  get tableCount(): number {
    return this.tables.size;
  }

  /** Map the 4 KiB guest page at `gpa` to the host frame `hpa` with R/W/X `permissions`. */
  map4k(gpa: number, hpa: number, permissions: number, memoryType: EptMemoryType = EptMemoryType.WB): void {
    assertAligned(gpa, PAGE_4K, 'GPA');
    assertAligned(hpa, PAGE_4K, 'HPA', HPA_LIMIT);
    const pt = this.tableFor(gpa, 1);
    this.writeEntry(pt + indexAt(gpa, 12) * EPT_ENTRY_SIZE, hpa | leafBits(permissions, memoryType));
  }

  /** Map the 2 MiB guest page at `gpa` to the 2 MiB host region at `hpa`. */
  map2m(gpa: number, hpa: number, permissions: number, memoryType: EptMemoryType = EptMemoryType.WB): void {
    assertAligned(gpa, PAGE_2M, 'GPA');
    assertAligned(hpa, PAGE_2M, 'HPA', HPA_LIMIT);
    const pd = this.tableFor(gpa, 2);
    const entryHpa = pd + indexAt(gpa, 21) * EPT_ENTRY_SIZE;
    this.dropSubtree(entryHpa);
    this.writeEntry(entryHpa, hpa | leafBits(permissions, memoryType) | EptEntry.LARGE_PAGE);
  }

  /**
   * Install KVM's MMIO marker for the 4 KiB page at `gpa`: W|X without R, which makes any
   * access an EPT misconfiguration (exit 49) instead of a violation.
   */
  mapMmio(gpa: number): void {
    assertAligned(gpa, PAGE_4K, 'GPA');
    const pt = this.tableFor(gpa, 1);
    this.writeEntry(pt + indexAt(gpa, 12) * EPT_ENTRY_SIZE, EPT_MISCONFIG_WX_VALUE);
  }

  /** Remove the leaf that maps `gpa`; returns the size it covered (0 if nothing was mapped). */
  unmap(gpa: number): number {
    const leaf = this.findLeaf(gpa);
    if (leaf === undefined) return 0;
    this.writeEntry(leaf.entryHpa, 0);
    return leaf.pageSize;
  }

  /** The leaf that maps `gpa` (present or MMIO marker), or undefined. */
  lookup(gpa: number): EptLeaf | undefined {
    return this.findLeaf(gpa);
  }

  /** Change the R/W/X permissions of the leaf mapping `gpa` (e.g. write-protect for dirty logging). */
  setPermissions(gpa: number, permissions: number): boolean {
    const leaf = this.findLeaf(gpa);
    if (leaf === undefined) return false;
    this.mem.write32(leaf.entryHpa, ((leaf.entry & ~EptEntry.PERM_MASK) | (permissions & EptEntry.PERM_MASK)) >>> 0);
    return true;
  }

  /** Is the dirty flag of the leaf mapping `gpa` set? */
  isDirty(gpa: number): boolean {
    const leaf = this.findLeaf(gpa);
    return leaf !== undefined && (leaf.entry & EptEntry.DIRTY) !== 0;
  }

  /** Read and clear the dirty flag of the leaf mapping `gpa` (KVM's dirty logging with EPT A/D). */
  testAndClearDirty(gpa: number): boolean {
    const leaf = this.findLeaf(gpa);
    if (leaf === undefined || (leaf.entry & EptEntry.DIRTY) === 0) return false;
    this.mem.write32(leaf.entryHpa, (leaf.entry & ~EptEntry.DIRTY) >>> 0);
    return true;
  }

  /**
   * Harvest dirty flags of `pages` 4 KiB pages from `gpaBase` into `bitmap` (bit i = page i,
   * KVM_GET_DIRTY_LOG layout) and clear them. A dirty 2 MiB leaf marks all its pages in range.
   * Returns the number of dirty pages found.
   */
  harvestDirty(gpaBase: number, pages: number, bitmap: Uint8Array): number {
    let found = 0;
    for (let i = 0; i < pages; i++) {
      const gpa = gpaBase + i * PAGE_4K;
      const leaf = this.findLeaf(gpa);
      if (leaf === undefined || (leaf.entry & EptEntry.DIRTY) === 0) continue;
      if (leaf.pageSize === PAGE_2M) {
        // Mark every page of the large page that falls in range, then clear once.
        const first = gpa - (gpa % PAGE_2M);
        for (let p = Math.max(0, (first - gpaBase) / PAGE_4K); p < pages && gpaBase + p * PAGE_4K < first + PAGE_2M; p++) {
          if (!testBit(bitmap, p)) found++;
          setBit(bitmap, p);
        }
      } else {
        if (!testBit(bitmap, i)) found++;
        setBit(bitmap, i);
      }
      this.mem.write32(leaf.entryHpa, (leaf.entry & ~EptEntry.DIRTY) >>> 0);
    }
    return found;
  }

  /** Free every table frame of this hierarchy (the root included). */
  destroy(): void {
    for (const t of this.tables) this.mem.freeFrame(t);
    this.tables.clear();
  }

  private allocTable(): number {
    const hpa = this.mem.allocFrame();
    this.tables.add(hpa);
    return hpa;
  }

  private writeEntry(entryHpa: number, lo: number): void {
    this.mem.write32(entryHpa, lo >>> 0);
    this.mem.write32(entryHpa + 4, 0);
  }

  /** Table at `targetLevel` (1 = PT, 2 = PD) covering `gpa`, creating or splitting as needed. */
  private tableFor(gpa: number, targetLevel: number): number {
    let table = this.pml4;
    for (let level = 4; level > targetLevel; level--) {
      const entryHpa = table + indexAt(gpa, 12 + 9 * (level - 1)) * EPT_ENTRY_SIZE;
      const lo = this.mem.read32(entryHpa);
      if ((lo & EptEntry.PERM_MASK) !== 0 && (lo & EptEntry.LARGE_PAGE) === 0) {
        table = (lo & EptEntry.ADDRESS_MASK_LOW) >>> 0;
        continue;
      }
      const next = this.allocTable();
      if ((lo & EptEntry.LARGE_PAGE) !== 0 && level === 2) this.splitLarge(lo, next);
      this.writeEntry(entryHpa, next | NONLEAF_PERMS);
      table = next;
    }
    return table;
  }

  /** Fill a new PT with 512 4 KiB leaves equivalent to the 2 MiB leaf `lo`. */
  private splitLarge(lo: number, pt: number): void {
    const base = (lo & EptEntry.ADDRESS_MASK_LOW) >>> 0;
    const bits = lo & (EptEntry.PERM_MASK | EptEntry.MEMORY_TYPE_MASK | EptEntry.IGNORE_PAT | EptEntry.ACCESSED | EptEntry.DIRTY);
    for (let i = 0; i < EPT_ENTRIES; i++) this.writeEntry(pt + i * EPT_ENTRY_SIZE, (base + i * PAGE_4K) | bits);
  }

  /** Free the table below a non-leaf PDE before it is replaced by a 2 MiB leaf. */
  private dropSubtree(entryHpa: number): void {
    const lo = this.mem.read32(entryHpa);
    if ((lo & EptEntry.PERM_MASK) === 0 || (lo & EptEntry.LARGE_PAGE) !== 0) return;
    const pt = (lo & EptEntry.ADDRESS_MASK_LOW) >>> 0;
    if (this.tables.delete(pt)) this.mem.freeFrame(pt);
  }

  private findLeaf(gpa: number): EptLeaf | undefined {
    let table = this.pml4;
    for (let level = 4; level >= 1; level--) {
      const entryHpa = table + indexAt(gpa, 12 + 9 * (level - 1)) * EPT_ENTRY_SIZE;
      const lo = this.mem.read32(entryHpa);
      if ((lo & EptEntry.PERM_MASK) === 0) return undefined;
      const isLeaf = level === 1 || (level === 2 && (lo & EptEntry.LARGE_PAGE) !== 0);
      if (isLeaf) {
        const pageSize = level === 1 ? PAGE_4K : PAGE_2M;
        const frame = (lo & EptEntry.ADDRESS_MASK_LOW) >>> 0;
        return { entryHpa, entry: lo, pageSize, hpa: frame + (gpa % pageSize), permissions: lo & EptEntry.PERM_MASK };
      }
      table = (lo & EptEntry.ADDRESS_MASK_LOW) >>> 0;
    }
    return undefined;
  }
}

function leafBits(permissions: number, memoryType: EptMemoryType): number {
  return (permissions & EptEntry.PERM_MASK) | (memoryType << EptEntry.MEMORY_TYPE_SHIFT);
}

function assertAligned(addr: number, size: number, what: string, limit = GPA_LIMIT): void {
  if (!(addr >= 0 && addr % size === 0 && addr < limit)) throw new Error(`bug: ${what} 0x${addr.toString(16)} not ${size}-aligned or out of range`);
}

function testBit(bitmap: Uint8Array, i: number): boolean {
  return ((bitmap[i >>> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

function setBit(bitmap: Uint8Array, i: number): void {
  bitmap[i >>> 3] = (bitmap[i >>> 3] ?? 0) | (1 << (i & 7));
}
