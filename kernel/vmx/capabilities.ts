/**
 * VMX capability MSRs 0x480-0x491 (SDM Vol. 3D Appendix A; facts §2.11): what this processor's
 * VT-x implementation supports, exactly. VM entry checks controls against these values, and KVM
 * reads them (as `setup_vmcs_config` does) to choose its controls.
 */
import { ControlDefault1, EntryControls, ExitControls, PinBased, ProcBased, ProcBased2 } from './controls.js';
import { fieldIndex, VmcsField } from './vmcs-fields.js';

/** Capability MSR indices (SDM Appendix A, Linux msr-index.h MSR_IA32_VMX_*). */
export const VmxMsr = {
  IA32_VMX_BASIC: 0x480,
  IA32_VMX_PINBASED_CTLS: 0x481,
  IA32_VMX_PROCBASED_CTLS: 0x482,
  IA32_VMX_EXIT_CTLS: 0x483,
  IA32_VMX_ENTRY_CTLS: 0x484,
  IA32_VMX_MISC: 0x485,
  IA32_VMX_CR0_FIXED0: 0x486,
  IA32_VMX_CR0_FIXED1: 0x487,
  IA32_VMX_CR4_FIXED0: 0x488,
  IA32_VMX_CR4_FIXED1: 0x489,
  IA32_VMX_VMCS_ENUM: 0x48a,
  IA32_VMX_PROCBASED_CTLS2: 0x48b,
  IA32_VMX_EPT_VPID_CAP: 0x48c,
  IA32_VMX_TRUE_PINBASED_CTLS: 0x48d,
  IA32_VMX_TRUE_PROCBASED_CTLS: 0x48e,
  IA32_VMX_TRUE_EXIT_CTLS: 0x48f,
  IA32_VMX_TRUE_ENTRY_CTLS: 0x490,
  IA32_VMX_VMFUNC: 0x491,
} as const;

/** Our VMCS revision identifier (IA32_VMX_BASIC bits 30:0; any value is implementation specific). */
export const VMCS_REVISION_ID = 0x7a5c;
/** Bytes software allocates for a VMCS or VMXON region (IA32_VMX_BASIC bits 44:32). */
export const VMCS_REGION_SIZE = 0x1000;
/** Memory type for VMCS access (IA32_VMX_BASIC bits 53:50): 6 = write-back. */
export const MEMORY_TYPE_WB = 6;

/** IA32_VMX_BASIC bit positions in the high word (SDM A.1). */
const BasicHigh = {
  PHYS_ADDR_32BIT: 1 << (48 - 32),
  MEMORY_TYPE_SHIFT: 50 - 32,
  INS_OUTS_INFO: 1 << (54 - 32),
  TRUE_CTLS: 1 << (55 - 32),
} as const;

/** Allowed settings of a 32-bit control: allowed0 bits must be 1, bits clear in allowed1 must be 0. */
export interface ControlCaps {
  readonly allowed0: number;
  readonly allowed1: number;
}

/** Pin-based controls we honour (SDM A.3.1). */
export const PIN_CAPS: ControlCaps = {
  allowed0: ControlDefault1.pin,
  allowed1: ControlDefault1.pin | PinBased.EXT_INTR_EXITING | PinBased.NMI_EXITING | PinBased.VMX_PREEMPTION_TIMER,
};

/** Primary processor-based controls we honour (SDM A.3.2). TRUE MSR lets CR3-load/store be 0. */
export const PROC_CAPS: ControlCaps = {
  allowed0: ControlDefault1.proc & ~(ProcBased.CR3_LOAD_EXITING | ProcBased.CR3_STORE_EXITING),
  allowed1:
    ControlDefault1.proc |
    ProcBased.INTR_WINDOW_EXITING |
    ProcBased.USE_TSC_OFFSETTING |
    ProcBased.HLT_EXITING |
    ProcBased.INVLPG_EXITING |
    ProcBased.RDPMC_EXITING |
    ProcBased.RDTSC_EXITING |
    ProcBased.CR3_LOAD_EXITING |
    ProcBased.CR3_STORE_EXITING |
    ProcBased.MOV_DR_EXITING |
    ProcBased.UNCOND_IO_EXITING |
    ProcBased.USE_IO_BITMAPS |
    ProcBased.USE_MSR_BITMAPS |
    ProcBased.ACTIVATE_SECONDARY_CONTROLS,
};

/** Secondary processor-based controls (SDM A.3.3): EPT, VPID, unrestricted guest. */
export const PROC2_CAPS: ControlCaps = {
  allowed0: 0,
  allowed1: ProcBased2.ENABLE_EPT | ProcBased2.ENABLE_VPID | ProcBased2.UNRESTRICTED_GUEST,
};

/** VM-exit controls (SDM A.4). No 64-bit host; TRUE MSR lets "save debug controls" be 0. */
export const EXIT_CAPS: ControlCaps = {
  allowed0: ControlDefault1.exit & ~ExitControls.SAVE_DEBUG_CONTROLS,
  allowed1: ControlDefault1.exit | ExitControls.ACK_INTR_ON_EXIT | ExitControls.SAVE_VMX_PREEMPTION_TIMER,
};

/** VM-entry controls (SDM A.5). No IA-32e guest, no SMM; "load debug controls" optional. */
export const ENTRY_CAPS: ControlCaps = {
  allowed0: ControlDefault1.entry & ~EntryControls.LOAD_DEBUG_CONTROLS,
  allowed1: ControlDefault1.entry,
};

/** IA32_VMX_MISC (SDM A.6). */
export const VmxMisc = {
  /**
   * The preemption timer counts down once every 2^rate TSC ticks (bits 4:0). Rate 0: with the
   * virtual clock (TSC = instructions retired) the timer expires at an exact instruction count,
   * which deterministic device timers need.
   */
  PREEMPTION_TIMER_RATE: 0,
  /** Activity states supported besides active (bits 8:6): HLT (bit 6) and shutdown (bit 7). */
  ACTIVITY_HLT: 1 << 6,
  ACTIVITY_SHUTDOWN: 1 << 7,
  /** Number of CR3-target values (bits 24:16). */
  CR3_TARGET_COUNT: 4,
  CR3_TARGET_SHIFT: 16,
} as const;

const CR0_PE = 1 << 0;
const CR0_NE = 1 << 5;
const CR0_PG = 1 << 31;
const CR4_VMXE = 1 << 13;
/** CR4 bits of a P6-class processor (VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT) + VMXE. */
const CR4_SUPPORTED = 0x7ff | CR4_VMXE;

/** CR0/CR4 bits fixed in VMX operation (SDM A.7, A.8). */
export const FixedCr = {
  CR0_FIXED0: (CR0_PE | CR0_NE | CR0_PG) >>> 0,
  CR0_FIXED1: 0xffff_ffff,
  CR4_FIXED0: CR4_VMXE,
  CR4_FIXED1: CR4_SUPPORTED,
  /** With "unrestricted guest", guest CR0.PE and CR0.PG may be 0 (SDM 27.3.1.1). */
  UNRESTRICTED_CR0_RELAXED: (CR0_PE | CR0_PG) >>> 0,
} as const;

/** IA32_VMX_EPT_VPID_CAP bits (SDM A.10; facts §2.7). Execute-only pages are not supported. */
export const EptVpidCap = {
  PAGE_WALK_4: 1 << 6,
  EPTP_UC: 1 << 8,
  EPTP_WB: 1 << 14,
  PAGE_2M: 1 << 16,
  PAGE_1G: 1 << 17,
  INVEPT: 1 << 20,
  AD_FLAGS: 1 << 21,
  INVEPT_SINGLE_CONTEXT: 1 << 25,
  INVEPT_ALL_CONTEXT: 1 << 26,
  /** High word: INVVPID (bit 32), single-context (41), all-context (42). */
  HIGH_INVVPID: 1 << 0,
  HIGH_INVVPID_SINGLE_CONTEXT: 1 << 9,
  HIGH_INVVPID_ALL_CONTEXT: 1 << 10,
} as const;

/** A 64-bit MSR value as EDX:EAX halves. */
export interface MsrValue {
  readonly lo: number;
  readonly hi: number;
}

function ctl(caps: ControlCaps): MsrValue {
  return { lo: caps.allowed0 >>> 0, hi: caps.allowed1 >>> 0 };
}

/** Highest field index among supported encodings (IA32_VMX_VMCS_ENUM bits 9:1). */
const highestIndex = Math.max(...Object.values(VmcsField).map(fieldIndex));

const msrValues = new Map<number, MsrValue>([
  [
    VmxMsr.IA32_VMX_BASIC,
    {
      lo: VMCS_REVISION_ID,
      hi: (VMCS_REGION_SIZE | BasicHigh.PHYS_ADDR_32BIT | (MEMORY_TYPE_WB << BasicHigh.MEMORY_TYPE_SHIFT) | BasicHigh.TRUE_CTLS) >>> 0,
    },
  ],
  [VmxMsr.IA32_VMX_PINBASED_CTLS, { lo: ControlDefault1.pin, hi: PIN_CAPS.allowed1 >>> 0 }],
  [VmxMsr.IA32_VMX_PROCBASED_CTLS, { lo: ControlDefault1.proc, hi: PROC_CAPS.allowed1 >>> 0 }],
  [VmxMsr.IA32_VMX_EXIT_CTLS, { lo: ControlDefault1.exit, hi: EXIT_CAPS.allowed1 >>> 0 }],
  [VmxMsr.IA32_VMX_ENTRY_CTLS, { lo: ControlDefault1.entry, hi: ENTRY_CAPS.allowed1 >>> 0 }],
  [
    VmxMsr.IA32_VMX_MISC,
    {
      lo: VmxMisc.PREEMPTION_TIMER_RATE | VmxMisc.ACTIVITY_HLT | VmxMisc.ACTIVITY_SHUTDOWN | (VmxMisc.CR3_TARGET_COUNT << VmxMisc.CR3_TARGET_SHIFT),
      hi: 0,
    },
  ],
  [VmxMsr.IA32_VMX_CR0_FIXED0, { lo: FixedCr.CR0_FIXED0, hi: 0 }],
  [VmxMsr.IA32_VMX_CR0_FIXED1, { lo: FixedCr.CR0_FIXED1, hi: 0 }],
  [VmxMsr.IA32_VMX_CR4_FIXED0, { lo: FixedCr.CR4_FIXED0, hi: 0 }],
  [VmxMsr.IA32_VMX_CR4_FIXED1, { lo: FixedCr.CR4_FIXED1, hi: 0 }],
  [VmxMsr.IA32_VMX_VMCS_ENUM, { lo: highestIndex << 1, hi: 0 }],
  [VmxMsr.IA32_VMX_PROCBASED_CTLS2, ctl(PROC2_CAPS)],
  [
    VmxMsr.IA32_VMX_EPT_VPID_CAP,
    {
      lo:
        (EptVpidCap.PAGE_WALK_4 |
          EptVpidCap.EPTP_UC |
          EptVpidCap.EPTP_WB |
          EptVpidCap.PAGE_2M |
          EptVpidCap.PAGE_1G |
          EptVpidCap.INVEPT |
          EptVpidCap.AD_FLAGS |
          EptVpidCap.INVEPT_SINGLE_CONTEXT |
          EptVpidCap.INVEPT_ALL_CONTEXT) >>>
        0,
      hi: EptVpidCap.HIGH_INVVPID | EptVpidCap.HIGH_INVVPID_SINGLE_CONTEXT | EptVpidCap.HIGH_INVVPID_ALL_CONTEXT,
    },
  ],
  [VmxMsr.IA32_VMX_TRUE_PINBASED_CTLS, ctl(PIN_CAPS)],
  [VmxMsr.IA32_VMX_TRUE_PROCBASED_CTLS, ctl(PROC_CAPS)],
  [VmxMsr.IA32_VMX_TRUE_EXIT_CTLS, ctl(EXIT_CAPS)],
  [VmxMsr.IA32_VMX_TRUE_ENTRY_CTLS, ctl(ENTRY_CAPS)],
  [VmxMsr.IA32_VMX_VMFUNC, { lo: 0, hi: 0 }],
]);

/** RDMSR of a VMX capability MSR; undefined for an index outside 0x480-0x491. */
export function readVmxCapabilityMsr(index: number): MsrValue | undefined {
  return msrValues.get(index);
}

/** Does `value` respect the allowed-0/allowed-1 settings of `caps`? (SDM 27.2.1.1) */
export function controlsValid(value: number, caps: ControlCaps): boolean {
  return ((value & caps.allowed0) >>> 0) === caps.allowed0 >>> 0 && (value & ~caps.allowed1) === 0;
}

/**
 * Choose a control value the way KVM's adjust_vmx_controls does: `required | optional`,
 * forced to the allowed settings. Returns undefined if a required bit is not allowed to be 1.
 */
export function adjustControls(required: number, optional: number, caps: ControlCaps): number | undefined {
  const value = ((required | optional) & caps.allowed1) | caps.allowed0;
  if ((required & ~caps.allowed1) !== 0) return undefined;
  return value >>> 0;
}
