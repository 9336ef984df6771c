/**
 * EPT formats (SDM 29.3.2-29.3.3; facts §2.7): the EPT pointer, the paging-structure entry, the
 * memory types, and the EPT-violation exit qualification (SDM 28.2.1 Table 28-7).
 */

/** EPT pointer (VMCS EPT_POINTER, SDM 25.6.11). */
export const Eptp = {
  MEMORY_TYPE_MASK: 0x7,
  WALK_LENGTH_SHIFT: 3,
  WALK_LENGTH_MASK: 0x38,
  /** Page-walk length − 1 = 3: a 4-level walk (Linux VMX_EPTP_PWL_4 = 0x18). */
  WALK_LENGTH_4: 3 << 3,
  /** Bit 6: enable accessed and dirty flags (Linux VMX_EPTP_AD_ENABLE_BIT). */
  AD_ENABLE: 1 << 6,
  /** Bits 11:7 — supervisor shadow-stack (7) and reserved bits; we support none of them. */
  RESERVED_LOW_MASK: 0xf80,
  ADDRESS_MASK_LOW: 0xffff_f000,
} as const;

/** EPT paging-structure entry bits (SDM 29.3.2 Tables 29-1..29-6). */
export const EptEntry = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  EXEC: 1 << 2,
  PERM_MASK: 0x7,
  MEMORY_TYPE_SHIFT: 3,
  MEMORY_TYPE_MASK: 0x38,
  IGNORE_PAT: 1 << 6,
  /** Bit 7: this PDPTE maps a 1 GiB page / this PDE maps a 2 MiB page. */
  LARGE_PAGE: 1 << 7,
  ACCESSED: 1 << 8,
  DIRTY: 1 << 9,
  USER_EXEC: 1 << 10,
  ADDRESS_MASK_LOW: 0xffff_f000,
  /** Non-leaf entries: bits 7:3 (PML4E) or 6:3 (PDPTE/PDE) are reserved. */
  PML4E_RESERVED: 0xf8,
  NONLEAF_RESERVED: 0x78,
  /** Leaf address bits below the page size that must be 0: 2 MiB (20:12), 1 GiB (29:12). */
  PDE_2M_RESERVED: 0x001f_f000,
  PDPTE_1G_RESERVED: 0x3fff_f000,
  /**
   * High word bits 19:0 are address bits 51:32: reserved because this machine's physical
   * addresses are 32 bits (IA32_VMX_BASIC bit 48). Bits 62:52 are ignored, 63 is suppress-#VE.
   */
  HIGH_RESERVED: 0x000f_ffff,
} as const;

/** EPT memory types (SDM 29.3.7); 2, 3 and 7 are reserved in a leaf. */
export const EptMemoryType = { UC: 0, WC: 1, WT: 4, WP: 5, WB: 6 } as const;
export type EptMemoryType = (typeof EptMemoryType)[keyof typeof EptMemoryType];

/** Is this leaf memory type reserved (a misconfiguration, SDM 29.3.3.1)? */
export function isReservedMemoryType(type: number): boolean {
  return type === 2 || type === 3 || type === 7;
}

/** KVM's MMIO marker: W|X without R, an intentional misconfiguration (VMX_EPT_MISCONFIG_WX_VALUE). */
export const EPT_MISCONFIG_WX_VALUE = EptEntry.WRITE | EptEntry.EXEC;

/** EPT levels, top down, with the GPA bit each level's index starts at. */
export const EptLevel = {
  PML4: { level: 4, shift: 39 },
  PDPT: { level: 3, shift: 30 },
  PD: { level: 2, shift: 21 },
  PT: { level: 1, shift: 12 },
} as const;

/** Entries per EPT table and bytes per entry. */
export const EPT_ENTRIES = 512;
export const EPT_ENTRY_SIZE = 8;
export const PAGE_4K = 0x1000;
export const PAGE_2M = 0x20_0000;
export const PAGE_1G = 0x4000_0000;
/** Guest-physical addresses are below 2^48 with a 4-level walk. */
export const GPA_LIMIT = 2 ** 48;

/** Exit qualification of an EPT violation (SDM 28.2.1 Table 28-7; facts §2.5). */
export const EptViolationQual = {
  ACC_READ: 1 << 0,
  ACC_WRITE: 1 << 1,
  ACC_INSTR: 1 << 2,
  /** Bits 5:3: permissions granted by the translation (AND over all levels). */
  PERM_SHIFT: 3,
  PERM_READABLE: 1 << 3,
  PERM_WRITABLE: 1 << 4,
  PERM_EXECUTABLE: 1 << 5,
  GVA_IS_VALID: 1 << 7,
  /** With bit 7: 1 = access to the final translated address, 0 = to a guest paging-structure entry. */
  GVA_TRANSLATED: 1 << 8,
  NMI_UNBLOCKING_IRET: 1 << 12,
} as const;

/**
 * Build an EPT-violation qualification from the access kind (1 read, 2 write, 4 fetch — the
 * Access values of kernel/cpu), the permissions granted, and the guest-linear information.
 */
export function eptViolationQualification(access: number, granted: number, linearValid: boolean, isFinal: boolean): number {
  let q = (access & EptEntry.PERM_MASK) | ((granted & EptEntry.PERM_MASK) << EptViolationQual.PERM_SHIFT);
  if (linearValid) {
    q |= EptViolationQual.GVA_IS_VALID;
    if (isFinal) q |= EptViolationQual.GVA_TRANSLATED;
  }
  return q;
}

/** Compose an EPTP for a 4-level walk rooted at `pml4Hpa`. */
export function makeEptp(pml4Hpa: number, memoryType: EptMemoryType = EptMemoryType.WB, accessedDirty = false): number {
  if (pml4Hpa % PAGE_4K !== 0) throw new Error(`bug: EPT PML4 at 0x${pml4Hpa.toString(16)} is not 4 KiB aligned`);
  return pml4Hpa + Eptp.WALK_LENGTH_4 + memoryType + (accessedDirty ? Eptp.AD_ENABLE : 0);
}

/** Physical address of the PML4 table named by an EPTP. */
export function eptpRoot(eptp: number): number {
  return eptp - (eptp % PAGE_4K);
}

/** Are the A/D flags enabled by this EPTP (bit 6)? */
export function eptpAdEnabled(eptp: number): boolean {
  return ((eptp % PAGE_4K) & Eptp.AD_ENABLE) !== 0;
}
