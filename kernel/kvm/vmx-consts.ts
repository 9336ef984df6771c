/**
 * The control bits and exit reasons KVM programs and dispatches on (facts §2.3/§2.4, SDM
 * Vol. 3C ch. 25 and Appendix C), named as Linux's asm/vmx.h names them.
 */

export const PIN_BASED = {
  EXT_INTR_MASK: 1 << 0,
  NMI_EXITING: 1 << 3,
  VIRTUAL_NMIS: 1 << 5,
  VMX_PREEMPTION_TIMER: 1 << 6,
} as const;

export const CPU_BASED = {
  INTR_WINDOW_EXITING: 1 << 2,
  USE_TSC_OFFSETTING: 1 << 3,
  HLT_EXITING: 1 << 7,
  INVLPG_EXITING: 1 << 9,
  RDTSC_EXITING: 1 << 12,
  CR3_LOAD_EXITING: 1 << 15,
  CR3_STORE_EXITING: 1 << 16,
  MOV_DR_EXITING: 1 << 23,
  UNCOND_IO_EXITING: 1 << 24,
  USE_IO_BITMAPS: 1 << 25,
  USE_MSR_BITMAPS: 1 << 28,
  ACTIVATE_SECONDARY_CONTROLS: 1 << 31,
} as const;

export const SECONDARY_EXEC = {
  ENABLE_EPT: 1 << 1,
  ENABLE_VPID: 1 << 5,
  UNRESTRICTED_GUEST: 1 << 7,
} as const;

export const VM_EXIT_CTL = {
  ACK_INTR_ON_EXIT: 1 << 15,
  SAVE_VMX_PREEMPTION_TIMER: 1 << 22,
} as const;

/** Basic exit reasons (SDM Appendix C). */
export const EXIT_REASON = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INTERRUPT_WINDOW: 7,
  TASK_SWITCH: 9,
  CPUID: 10,
  HLT: 12,
  INVLPG: 14,
  RDPMC: 15,
  RDTSC: 16,
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
  EPT_VIOLATION: 48,
  EPT_MISCONFIG: 49,
  INVEPT: 50,
  PREEMPTION_TIMER: 52,
  INVVPID: 53,
} as const;

export const EXIT_REASON_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(EXIT_REASON).map(([k, v]) => [v, k]),
);

/** Bit 31 of the exit reason: VM-entry failure. */
export const VMX_EXIT_REASONS_FAILED_VMENTRY = 0x8000_0000;

/** Interruption-information format (SDM 24.8.3, facts §2.6). */
export const INTR_INFO = {
  VALID: 0x8000_0000,
  DELIVER_CODE: 1 << 11,
  TYPE_EXT_INTR: 0 << 8,
  TYPE_NMI: 2 << 8,
  TYPE_HARD_EXCEPTION: 3 << 8,
  TYPE_SOFT_INTR: 4 << 8,
  TYPE_SOFT_EXCEPTION: 6 << 8,
} as const;

/** Guest interruptibility state bits (facts §2.6). */
export const GUEST_INTR_STATE = { STI: 1 << 0, MOV_SS: 1 << 1 } as const;

/** Guest activity states. */
export const GUEST_ACTIVITY = { ACTIVE: 0, HLT: 1, SHUTDOWN: 2 } as const;

/** CR0/CR4 bits KVM touches. */
export const X86_CR0 = { PE: 1 << 0, ET: 1 << 4, NE: 1 << 5, WP: 1 << 16, PG: 1 << 31 } as const;
export const X86_CR4 = { PSE: 1 << 4, PGE: 1 << 7, VMXE: 1 << 13 } as const;
export const X86_EFLAGS = { FIXED: 1 << 1, IF: 1 << 9, RF: 1 << 16, VM: 1 << 17 } as const;
