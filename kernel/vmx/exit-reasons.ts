/**
 * Basic VM-exit reasons (SDM Vol. 3D Appendix C; facts §2.3) and the bits of the full
 * exit-reason field (SDM 28.2.1). Names follow Linux `uapi/asm/vmx.h` (EXIT_REASON_*).
 */
export const ExitReason = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INIT_SIGNAL: 3,
  SIPI_SIGNAL: 4,
  IO_SMI: 5,
  OTHER_SMI: 6,
  INTERRUPT_WINDOW: 7,
  NMI_WINDOW: 8,
  TASK_SWITCH: 9,
  CPUID: 10,
  GETSEC: 11,
  HLT: 12,
  INVD: 13,
  INVLPG: 14,
  RDPMC: 15,
  RDTSC: 16,
  RSM: 17,
  VMCALL: 18,
  VMCLEAR: 19,
  VMLAUNCH: 20,
  VMPTRLD: 21,
  VMPTRST: 22,
  VMREAD: 23,
  VMRESUME: 24,
  VMWRITE: 25,
  VMOFF: 26,
  VMON: 27,
  CR_ACCESS: 28,
  DR_ACCESS: 29,
  IO_INSTRUCTION: 30,
  MSR_READ: 31,
  MSR_WRITE: 32,
  INVALID_STATE: 33,
  MSR_LOAD_FAIL: 34,
  MWAIT_INSTRUCTION: 36,
  MONITOR_TRAP_FLAG: 37,
  MONITOR_INSTRUCTION: 39,
  PAUSE_INSTRUCTION: 40,
  MCE_DURING_VMENTRY: 41,
  TPR_BELOW_THRESHOLD: 43,
  APIC_ACCESS: 44,
  EOI_INDUCED: 45,
  GDTR_IDTR: 46,
  LDTR_TR: 47,
  EPT_VIOLATION: 48,
  EPT_MISCONFIG: 49,
  INVEPT: 50,
  RDTSCP: 51,
  PREEMPTION_TIMER: 52,
  INVVPID: 53,
  WBINVD: 54,
  XSETBV: 55,
  APIC_WRITE: 56,
  RDRAND: 57,
  INVPCID: 58,
  VMFUNC: 59,
  ENCLS: 60,
  RDSEED: 61,
  PML_FULL: 62,
  XSAVES: 63,
  XRSTORS: 64,
  PCONFIG: 65,
  SPP: 66,
  UMWAIT: 67,
  TPAUSE: 68,
  LOADIWKEY: 69,
  ENCLV: 70,
  ENQCMD: 72,
  ENQCMDS: 73,
  BUS_LOCK: 74,
  NOTIFY: 75,
  SEAMCALL: 76,
  TDCALL: 77,
  RDMSRLIST: 78,
  WRMSRLIST: 79,
} as const;
export type ExitReasonName = keyof typeof ExitReason;

/** One past the largest basic exit reason: the size of per-reason counter arrays. */
export const EXIT_REASON_COUNT = 80;

/** Bits of the full VM_EXIT_REASON field above the basic reason (SDM 28.2.1). */
export const ExitReasonFlags = {
  /** Bit 31: VM-entry failure (Linux VMX_EXIT_REASONS_FAILED_VMENTRY). */
  FAILED_VMENTRY: 0x8000_0000,
  /** Bit 29: VM exit from VMX root operation (SMM monitor only). */
  FROM_VMX_ROOT: 0x2000_0000,
} as const;

/** Mask of the basic exit reason inside VM_EXIT_REASON (bits 15:0). */
export const BASIC_EXIT_REASON_MASK = 0xffff;

/**
 * Exit qualification of a VM-entry failure due to invalid guest state or MSR loading
 * (SDM 27.8): 0 = default, 2 = PDPTE loading, 3 = NMI injection blocked by STI,
 * 4 = invalid VMCS link pointer.
 */
export const EntryFailureQualification = {
  DEFAULT: 0,
  PDPTE_LOAD: 2,
  NMI_BLOCKED_BY_STI: 3,
  INVALID_VMCS_LINK_POINTER: 4,
} as const;

const exitReasonNames = new Map<number, ExitReasonName>(
  (Object.entries(ExitReason) as [ExitReasonName, number][]).map(([name, n]) => [n, name]),
);

/** Name of a basic exit reason (bit 31 and other flags ignored), for traces and statistics. */
export function exitReasonName(reason: number): string {
  return exitReasonNames.get(reason & BASIC_EXIT_REASON_MASK) ?? `UNKNOWN_${reason & BASIC_EXIT_REASON_MASK}`;
}
