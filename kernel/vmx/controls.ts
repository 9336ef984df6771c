/**
 * VM-execution, VM-exit and VM-entry control bits (SDM 25.6, 25.7, 25.8; facts §2.4).
 * Names follow Linux `asm/vmx.h` without the CPU_BASED_/PIN_BASED_ prefixes.
 */

/** Pin-based VM-execution controls (VMCS 0x4000, SDM 25.6.1). */
export const PinBased = {
  EXT_INTR_EXITING: 1 << 0,
  NMI_EXITING: 1 << 3,
  VIRTUAL_NMIS: 1 << 5,
  VMX_PREEMPTION_TIMER: 1 << 6,
  POSTED_INTR: 1 << 7,
} as const;

/** Primary processor-based VM-execution controls (VMCS 0x4002, SDM 25.6.2). */
export const ProcBased = {
  INTR_WINDOW_EXITING: 1 << 2,
  USE_TSC_OFFSETTING: 1 << 3,
  HLT_EXITING: 1 << 7,
  INVLPG_EXITING: 1 << 9,
  MWAIT_EXITING: 1 << 10,
  RDPMC_EXITING: 1 << 11,
  RDTSC_EXITING: 1 << 12,
  CR3_LOAD_EXITING: 1 << 15,
  CR3_STORE_EXITING: 1 << 16,
  ACTIVATE_TERTIARY_CONTROLS: 1 << 17,
  CR8_LOAD_EXITING: 1 << 19,
  CR8_STORE_EXITING: 1 << 20,
  TPR_SHADOW: 1 << 21,
  NMI_WINDOW_EXITING: 1 << 22,
  MOV_DR_EXITING: 1 << 23,
  UNCOND_IO_EXITING: 1 << 24,
  USE_IO_BITMAPS: 1 << 25,
  MONITOR_TRAP_FLAG: 1 << 27,
  USE_MSR_BITMAPS: 1 << 28,
  MONITOR_EXITING: 1 << 29,
  PAUSE_EXITING: 1 << 30,
  ACTIVATE_SECONDARY_CONTROLS: 1 << 31,
} as const;

/** Secondary processor-based VM-execution controls (VMCS 0x401E, SDM 25.6.2). */
export const ProcBased2 = {
  VIRTUALIZE_APIC_ACCESSES: 1 << 0,
  ENABLE_EPT: 1 << 1,
  DESC_TABLE_EXITING: 1 << 2,
  ENABLE_RDTSCP: 1 << 3,
  VIRTUALIZE_X2APIC_MODE: 1 << 4,
  ENABLE_VPID: 1 << 5,
  WBINVD_EXITING: 1 << 6,
  UNRESTRICTED_GUEST: 1 << 7,
  APIC_REGISTER_VIRT: 1 << 8,
  VIRTUAL_INTR_DELIVERY: 1 << 9,
  PAUSE_LOOP_EXITING: 1 << 10,
  RDRAND_EXITING: 1 << 11,
  ENABLE_INVPCID: 1 << 12,
  ENABLE_VMFUNC: 1 << 13,
  SHADOW_VMCS: 1 << 14,
  ENCLS_EXITING: 1 << 15,
  RDSEED_EXITING: 1 << 16,
  ENABLE_PML: 1 << 17,
  EPT_VIOLATION_VE: 1 << 18,
  XSAVES: 1 << 20,
  MODE_BASED_EPT_EXEC: 1 << 22,
  TSC_SCALING: 1 << 25,
} as const;

/** VM-exit controls (VMCS 0x400C, SDM 25.7.1). */
export const ExitControls = {
  SAVE_DEBUG_CONTROLS: 1 << 2,
  HOST_ADDR_SPACE_SIZE: 1 << 9,
  LOAD_IA32_PERF_GLOBAL_CTRL: 1 << 12,
  ACK_INTR_ON_EXIT: 1 << 15,
  SAVE_IA32_PAT: 1 << 18,
  LOAD_IA32_PAT: 1 << 19,
  SAVE_IA32_EFER: 1 << 20,
  LOAD_IA32_EFER: 1 << 21,
  SAVE_VMX_PREEMPTION_TIMER: 1 << 22,
} as const;

/** VM-entry controls (VMCS 0x4012, SDM 25.8.1). */
export const EntryControls = {
  LOAD_DEBUG_CONTROLS: 1 << 2,
  IA32E_MODE: 1 << 9,
  ENTRY_TO_SMM: 1 << 10,
  DEACT_DUAL_MONITOR: 1 << 11,
  LOAD_IA32_PERF_GLOBAL_CTRL: 1 << 13,
  LOAD_IA32_PAT: 1 << 14,
  LOAD_IA32_EFER: 1 << 15,
} as const;

/**
 * "Default1" bits of each control (reserved bits that read as 1 in the non-TRUE capability
 * MSRs, SDM Appendix A.2-A.5; facts §2.4).
 */
export const ControlDefault1 = {
  pin: 0x0000_0016,
  proc: 0x0401_e172,
  exit: 0x0003_6dff,
  entry: 0x0000_11ff,
} as const;

/** Guest activity states (VMCS 0x4826, SDM 25.4.2). */
export const ActivityState = {
  ACTIVE: 0,
  HLT: 1,
  SHUTDOWN: 2,
  WAIT_SIPI: 3,
} as const;

/** Guest interruptibility-state bits (VMCS 0x4824, SDM 25.4.2 Table 25-3). */
export const Interruptibility = {
  BLOCKING_BY_STI: 1 << 0,
  BLOCKING_BY_MOV_SS: 1 << 1,
  BLOCKING_BY_SMI: 1 << 2,
  BLOCKING_BY_NMI: 1 << 3,
  ENCLAVE_INTERRUPTION: 1 << 4,
} as const;
