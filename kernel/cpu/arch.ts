/**
 * Architectural constants of the IA-32 core: exception vectors (SDM Vol. 3A 6.3.1), control
 * register bits (SDM 2.5), page-table entry bits (SDM 4.3), descriptor types (SDM 3.5), MSR
 * numbers (SDM Vol. 4 table 2-2), CPUID feature bits (SDM Vol. 2A CPUID) and the exit reasons the
 * core passes to NonRootHooks.vmxInstruction (SDM Appendix C).
 */

/** Exception and interrupt vectors (SDM Vol. 3A table 6-1). */
export const Vector = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
  MF: 16,
  AC: 17,
  MC: 18,
} as const;

/** CR0 bits (SDM Vol. 3A 2.5). */
export const Cr0 = {
  PE: 0x1,
  MP: 0x2,
  EM: 0x4,
  TS: 0x8,
  ET: 0x10,
  NE: 0x20,
  WP: 0x10000,
  AM: 0x40000,
  NW: 0x20000000,
  CD: 0x40000000,
  PG: 0x80000000,
} as const;

/** CR4 bits (SDM Vol. 3A 2.5). */
export const Cr4 = {
  VME: 0x1,
  PVI: 0x2,
  TSD: 0x4,
  DE: 0x8,
  PSE: 0x10,
  PAE: 0x20,
  MCE: 0x40,
  PGE: 0x80,
  PCE: 0x100,
  VMXE: 0x2000,
} as const;

/** CR4 bits this P6 model lets software set (the rest are reserved: #GP). */
export const CR4_SUPPORTED = Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PGE | Cr4.PCE;

/** 32-bit paging entry bits (SDM Vol. 3A 4.3, tables 4-4 to 4-6). */
export const Pte = {
  P: 0x1,
  RW: 0x2,
  US: 0x4,
  PWT: 0x8,
  PCD: 0x10,
  A: 0x20,
  D: 0x40,
  PS: 0x80,
  G: 0x100,
} as const;

/** Reserved bits of a 4 MiB PDE with MAXPHYADDR = 32 (bits 21:13). */
export const PDE4M_RESERVED = 0x3fe000;

/** #PF error-code bits (SDM Vol. 3A 4.7). */
export const PfErr = {
  P: 0x1,
  W: 0x2,
  U: 0x4,
  RSVD: 0x8,
} as const;

/** System descriptor types (S = 0) (SDM Vol. 3A table 3-2). */
export const SysType = {
  tss16Avail: 1,
  ldt: 2,
  tss16Busy: 3,
  callGate16: 4,
  taskGate: 5,
  intGate16: 6,
  trapGate16: 7,
  tss32Avail: 9,
  tss32Busy: 11,
  callGate32: 12,
  intGate32: 14,
  trapGate32: 15,
} as const;

/** Access-rights bits in the VMCS AR format used by CpuState.segAr (SDM 24.4.1). */
export const Ar = {
  TYPE: 0xf,
  ACCESSED: 0x1,
  WRITABLE: 0x2, // data: writable; code: readable
  EXPAND_DOWN: 0x4, // data: expand-down; code: conforming
  CODE: 0x8,
  S: 0x10,
  DPL_SHIFT: 5,
  P: 0x80,
  AVL: 0x1000,
  DB: 0x4000,
  G: 0x8000,
  UNUSABLE: 0x10000,
} as const;

/** MSR numbers the core implements (SDM Vol. 4 table 2-2). */
export const Msr = {
  TSC: 0x10,
  APIC_BASE: 0x1b,
  /** IA32_BIOS_SIGN_ID: the loaded microcode's revision in bits 63:32. */
  BIOS_SIGN_ID: 0x8b,
  SYSENTER_CS: 0x174,
  SYSENTER_ESP: 0x175,
  SYSENTER_EIP: 0x176,
  DEBUGCTL: 0x1d9,
  PAT: 0x277,
  EFER: 0xc0000080,
} as const;

/** Microcode revision reported in IA32_BIOS_SIGN_ID (KVM's default for a vCPU is 0x1_0000_0000). */
export const MICROCODE_REVISION = 1;

/** Power-on value of IA32_PAT (SDM Vol. 3A 11.12.4). */
export const PAT_DEFAULT = 0x0007040600070406;

/** CPUID.1:EDX feature bits (SDM Vol. 2A table 3-11). */
export const CpuidEdx = {
  FPU: 1 << 0,
  VME: 1 << 1,
  DE: 1 << 2,
  PSE: 1 << 3,
  TSC: 1 << 4,
  MSR: 1 << 5,
  PAE: 1 << 6,
  CX8: 1 << 8,
  APIC: 1 << 9,
  SEP: 1 << 11,
  PGE: 1 << 13,
  CMOV: 1 << 15,
} as const;

/** The processor signature reported in CPUID.1:EAX: family 6, model 8, stepping 3 (a P6 core). */
export const CPUID_SIGNATURE = 0x683;

/** Exit reasons the core reports through NonRootHooks.vmxInstruction (SDM Appendix C). */
export const ExitReason = {
  INVD: 13,
  VMCALL: 18,
  VMCLEAR: 19,
  VMLAUNCH: 20,
  VMPTRLD: 21,
  VMPTRST: 22,
  VMREAD: 23,
  VMRESUME: 24,
  VMWRITE: 25,
  VMXOFF: 26,
  VMXON: 27,
  INVEPT: 50,
  INVVPID: 53,
} as const;

/** CR access types of the exit qualification (SDM table 27-3), passed to crWrite/crRead. */
export const CrAccess = {
  movTo: 0,
  movFrom: 1,
  clts: 2,
  lmsw: 3,
} as const;
