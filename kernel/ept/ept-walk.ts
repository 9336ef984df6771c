/**
 * The EPT page walk: guest-physical → host-physical through 4-level EPT tables in host memory
 * (SDM 29.3.2 translation, 29.3.3.1 misconfigurations, 29.3.3.2 violations, 29.3.5 A/D flags).
 */
import type { HostMemory } from '../hw/host-memory.js';
import {
  EptEntry,
  eptpAdEnabled,
  eptpRoot,
  EPT_ENTRY_SIZE,
  GPA_LIMIT,
  isReservedMemoryType,
  PAGE_1G,
  PAGE_2M,
  PAGE_4K,
} from './ept-format.js';

/** Counters of the walker: KVM reports `references` as the 2-D walk statistic. */
export interface EptWalkStats {
  walks: number;
  /** EPT paging-structure entries read (one per level visited). */
  references: number;
  violations: number;
  misconfigs: number;
}

/** A fresh, zeroed statistics record. */
export function newEptWalkStats(): EptWalkStats {
  return { walks: 0, references: 0, violations: 0, misconfigs: 0 };
}

/** Outcome of a walk: a translation, an EPT violation or an EPT misconfiguration. */
export type EptWalkResult =
  | {
      kind: 'ok';
      hpa: number;
      /** R/W/X granted by the translation (AND over all levels). */
      permissions: number;
      /** Size of the page that maps the GPA: 4 KiB, 2 MiB or 1 GiB. */
      pageSize: number;
    }
  | {
      kind: 'violation';
      /** The access kind (1 read, 2 write, 4 fetch), qualification bits 2:0. */
      access: number;
      /** Permissions granted by the entries walked (AND, 0 if one was not present), bits 5:3. */
      granted: number;
      /** Level (4..1) of the last entry read. */
      level: number;
    }
  | {
      kind: 'misconfig';
      /** Level (4..1) of the misconfigured entry and why, for traces. */
      level: number;
      why: 'write-without-read' | 'execute-without-read' | 'reserved-bit' | 'memory-type';
    };

const TWO_POW_32 = 0x1_0000_0000;
const INDEX_MASK = 0x1ff;
/** Host-physical addresses of the entries a walk used, indexed by level (walks do not nest). */
const usedEntries = new Float64Array(5);

/** Index into the table at `level` (4 = PML4 … 1 = PT): GPA bits 47:39, 38:30, 29:21, 20:12. */
function tableIndex(gpaHi: number, gpaLo: number, level: number): number {
  switch (level) {
    case 4:
      return (gpaHi >>> 7) & INDEX_MASK;
    case 3:
      return (((gpaHi & 0x7f) << 2) | (gpaLo >>> 30)) & INDEX_MASK;
    case 2:
      return (gpaLo >>> 21) & INDEX_MASK;
    default:
      return (gpaLo >>> 12) & INDEX_MASK;
  }
}

/** Why an entry that is present (R|W|X ≠ 0) is misconfigured at `level`, or null (SDM 29.3.3.1). */
function misconfiguration(lo: number, hi: number, level: number): (EptWalkResult & { kind: 'misconfig' })['why'] | null {
  // Execute-only translations are not supported (IA32_VMX_EPT_VPID_CAP bit 0 = 0), so X needs R too.
  if ((lo & EptEntry.READ) === 0) return (lo & EptEntry.WRITE) !== 0 ? 'write-without-read' : 'execute-without-read';
  if ((hi & EptEntry.HIGH_RESERVED) !== 0) return 'reserved-bit';
  const large = (lo & EptEntry.LARGE_PAGE) !== 0;
  if (level === 4) return (lo & EptEntry.PML4E_RESERVED) !== 0 ? 'reserved-bit' : null;
  if (level === 1 || large) {
    if (isReservedMemoryType((lo & EptEntry.MEMORY_TYPE_MASK) >>> EptEntry.MEMORY_TYPE_SHIFT)) return 'memory-type';
    if (level === 3 && (lo & EptEntry.PDPTE_1G_RESERVED) !== 0) return 'reserved-bit';
    if (level === 2 && (lo & EptEntry.PDE_2M_RESERVED) !== 0) return 'reserved-bit';
    return null;
  }
  return (lo & EptEntry.NONLEAF_RESERVED) !== 0 ? 'reserved-bit' : null;
}

/**
 * Translate `gpa` for an access of kind `access` (1 read, 2 write, 4 fetch) through the EPT
 * named by `eptp`. On success with A/D enabled (EPTP bit 6), sets the accessed flag of every
 * entry used and the dirty flag of the leaf for a write.
 */
export function eptWalk(mem: HostMemory, eptp: number, gpa: number, access: number, stats?: EptWalkStats): EptWalkResult {
  if (!(gpa >= 0 && gpa < GPA_LIMIT)) throw new Error(`bug: GPA ${gpa} outside the 48-bit guest-physical space`);
  const gpaHi = Math.floor(gpa / TWO_POW_32);
  const gpaLo = gpa >>> 0;
  const ad = eptpAdEnabled(eptp);
  let table = eptpRoot(eptp);
  let granted = EptEntry.PERM_MASK;
  if (stats) stats.walks++;

  for (let level = 4; level >= 1; level--) {
    const entryHpa = table + tableIndex(gpaHi, gpaLo, level) * EPT_ENTRY_SIZE;
    if (entryHpa + EPT_ENTRY_SIZE > mem.size) throw new Error(`bug: EPT table entry at HPA 0x${entryHpa.toString(16)} outside host memory`);
    const lo = mem.read32(entryHpa);
    const hi = mem.read32(entryHpa + 4);
    if (stats) stats.references++;
    const perms = lo & EptEntry.PERM_MASK;
    if (perms === 0) {
      if (stats) stats.violations++;
      return { kind: 'violation', access, granted: 0, level };
    }
    const why = misconfiguration(lo, hi, level);
    if (why !== null) {
      if (stats) stats.misconfigs++;
      return { kind: 'misconfig', level, why };
    }
    granted &= perms;
    usedEntries[level] = entryHpa;
    const leafSize = level === 1 ? PAGE_4K : (lo & EptEntry.LARGE_PAGE) === 0 ? 0 : level === 2 ? PAGE_2M : level === 3 ? PAGE_1G : 0;
    if (leafSize === 0) {
      table = (lo & EptEntry.ADDRESS_MASK_LOW) >>> 0;
      continue;
    }
    if ((access & granted) !== access) {
      if (stats) stats.violations++;
      return { kind: 'violation', access, granted, level };
    }
    if (ad) {
      for (let l = 4; l >= level; l--) {
        const e = usedEntries[l]!;
        const v = mem.read32(e);
        if ((v & EptEntry.ACCESSED) === 0) mem.write32(e, v | EptEntry.ACCESSED);
      }
      if ((access & EptEntry.WRITE) !== 0 && (lo & EptEntry.DIRTY) === 0) mem.write32(entryHpa, mem.read32(entryHpa) | EptEntry.DIRTY);
    }
    const frame = (lo & EptEntry.ADDRESS_MASK_LOW) >>> 0;
    const base = frame - (frame % leafSize);
    return { kind: 'ok', hpa: base + (gpa % leafSize), permissions: granted, pageSize: leafSize };
  }
  throw new Error('bug: EPT walk fell through the PT level');
}
