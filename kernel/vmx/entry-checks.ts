/**
 * VM-entry checks (SDM 27.2 "Checks on VMX controls and host-state area", 27.3.1 "Checks on the
 * guest state area"). Each checker returns null when the state is valid, otherwise a short text
 * naming the rule that failed (kept by Vmx for diagnostics); the caller turns a control failure
 * into VM-instruction error 7, a host-state failure into 8, and a guest-state failure into exit
 * 33 with bit 31 set.
 */
import {
  controlsValid,
  ENTRY_CAPS,
  EXIT_CAPS,
  FixedCr,
  PIN_CAPS,
  PROC2_CAPS,
  PROC_CAPS,
  VmxMisc,
} from './capabilities.js';
import { ActivityState, EntryControls, ExitControls, Interruptibility, PinBased, ProcBased, ProcBased2 } from './controls.js';
import { EntryFailureQualification } from './exit-reasons.js';
import { ERROR_CODE_VECTORS, IntrInfo, InterruptionType, Vector } from './interruption.js';
import type { Vmcs } from './vmcs.js';
import { VmcsField } from './vmcs-fields.js';
import { Eptp, EptMemoryType, PAGE_4K } from '../ept/ept-format.js';

/** Segment access-rights bits (SDM 25.4.1 Table 25-2; facts §2.9). */
export const SegAr = {
  TYPE_MASK: 0xf,
  TYPE_ACCESSED: 1 << 0,
  TYPE_READ_WRITE: 1 << 1,
  TYPE_CONFORMING: 1 << 2,
  TYPE_CODE: 1 << 3,
  S: 1 << 4,
  DPL_SHIFT: 5,
  DPL_MASK: 0x60,
  P: 1 << 7,
  AVL: 1 << 12,
  L: 1 << 13,
  DB: 1 << 14,
  G: 1 << 15,
  UNUSABLE: 1 << 16,
  /** Bits 11:8 and 31:17 are reserved (Linux 0xFFFE0F00). */
  RESERVED: 0xfffe_0f00,
} as const;

/** RFLAGS bits the checks need (SDM 3.4.3). */
export const Rflags = {
  FIXED1: 1 << 1,
  /** Bits 3, 5, 15 and 31:22 are reserved (must be 0). */
  RESERVED: 0xffc0_8028,
  IF: 1 << 9,
  TF: 1 << 8,
  VM: 1 << 17,
} as const;

const CR0_PE = 1 << 0;
const CR0_PG = 1 << 31;
/** Segment types a check refers to by number (SDM 3.4.5.1). */
const SegType = { DATA_RW_ACCESSED: 3, LDT: 2, TSS16_BUSY: 3, TSS32_BUSY: 11 } as const;
/** IA32_DEBUGCTL bits a P6-class processor defines: 0-1, 6-11, 13-15 (SDM 27.3.1.1). */
const DEBUGCTL_DEFINED = 0x3 | 0xfc0 | 0xe000;
/** Pending debug exceptions: B3-B0, enabled breakpoint (12), BS (14), RTM (16). */
const PENDING_DBG_DEFINED = 0xf | (1 << 12) | (1 << 14) | (1 << 16);
const V86_AR = 0xf3;
const V86_LIMIT = 0xffff;
const ENTRY_ERROR_CODE_RESERVED = 0xffff_0000;
const MAX_INSTRUCTION_LENGTH = 15;
const MSR_LIST_ALIGN = 16;
const MAX_VECTOR_EXCEPTION = 31;
const LIMIT_LOW_BITS = 0xfff;
const LIMIT_HIGH_BITS = 0xfff0_0000;

/** Is a 64-bit field holding a page address inside host memory and 4 KiB aligned? */
function pageAddressValid(vmcs: Vmcs, field: number, memSize: number): boolean {
  const addr = vmcs.read64(field);
  return addr % PAGE_4K === 0 && addr + PAGE_4K <= memSize;
}

/** Checks on VM-execution, VM-exit and VM-entry control fields (SDM 27.2.1). */
export function checkControls(vmcs: Vmcs, memSize: number): string | null {
  const pin = vmcs.read(VmcsField.PIN_BASED_VM_EXEC_CONTROL);
  const proc = vmcs.read(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
  if (!controlsValid(pin, PIN_CAPS)) return 'pin-based controls outside allowed settings';
  if (!controlsValid(proc, PROC_CAPS)) return 'primary processor-based controls outside allowed settings';
  const proc2 = proc & ProcBased.ACTIVATE_SECONDARY_CONTROLS ? vmcs.read(VmcsField.SECONDARY_VM_EXEC_CONTROL) : 0;
  if (!controlsValid(proc2, PROC2_CAPS)) return 'secondary processor-based controls outside allowed settings';
  if (vmcs.read(VmcsField.CR3_TARGET_COUNT) > VmxMisc.CR3_TARGET_COUNT) return 'CR3-target count too large';
  if (proc & ProcBased.USE_IO_BITMAPS) {
    if (!pageAddressValid(vmcs, VmcsField.IO_BITMAP_A, memSize)) return 'I/O bitmap A address invalid';
    if (!pageAddressValid(vmcs, VmcsField.IO_BITMAP_B, memSize)) return 'I/O bitmap B address invalid';
  }
  if (proc & ProcBased.USE_MSR_BITMAPS && !pageAddressValid(vmcs, VmcsField.MSR_BITMAP, memSize)) return 'MSR bitmap address invalid';
  if (!(pin & PinBased.NMI_EXITING) && pin & PinBased.VIRTUAL_NMIS) return 'virtual NMIs without NMI exiting';
  if (proc2 & ProcBased2.UNRESTRICTED_GUEST && !(proc2 & ProcBased2.ENABLE_EPT)) return 'unrestricted guest without EPT';
  if (proc2 & ProcBased2.ENABLE_VPID && vmcs.read(VmcsField.VIRTUAL_PROCESSOR_ID) === 0) return 'VPID 0 with enable VPID';
  if (proc2 & ProcBased2.ENABLE_EPT) {
    const why = checkEptp(vmcs.read64(VmcsField.EPT_POINTER), memSize);
    if (why !== null) return why;
  }

  const exit = vmcs.read(VmcsField.VM_EXIT_CONTROLS);
  if (!controlsValid(exit, EXIT_CAPS)) return 'VM-exit controls outside allowed settings';
  if (!(pin & PinBased.VMX_PREEMPTION_TIMER) && exit & ExitControls.SAVE_VMX_PREEMPTION_TIMER) return 'save preemption timer without the timer';
  if (vmcs.read64(VmcsField.VM_EXIT_MSR_STORE_ADDR) % MSR_LIST_ALIGN !== 0) return 'VM-exit MSR-store address misaligned';
  if (vmcs.read64(VmcsField.VM_EXIT_MSR_LOAD_ADDR) % MSR_LIST_ALIGN !== 0) return 'VM-exit MSR-load address misaligned';

  const entry = vmcs.read(VmcsField.VM_ENTRY_CONTROLS);
  if (!controlsValid(entry, ENTRY_CAPS)) return 'VM-entry controls outside allowed settings';
  if (vmcs.read64(VmcsField.VM_ENTRY_MSR_LOAD_ADDR) % MSR_LIST_ALIGN !== 0) return 'VM-entry MSR-load address misaligned';
  return checkEntryEvent(vmcs, proc2);
}

/** EPTP checks (SDM 27.2.1.1): supported memory type, 4-level walk, A/D only if supported, reserved bits. */
export function checkEptp(eptp: number, memSize: number): string | null {
  const low = eptp % PAGE_4K;
  const type = low & Eptp.MEMORY_TYPE_MASK;
  if (type !== EptMemoryType.UC && type !== EptMemoryType.WB) return 'EPTP memory type unsupported';
  if ((low & Eptp.WALK_LENGTH_MASK) !== Eptp.WALK_LENGTH_4) return 'EPTP page-walk length not 4';
  if (low & Eptp.RESERVED_LOW_MASK) return 'EPTP reserved bits set';
  if (eptp - low + PAGE_4K > memSize) return 'EPTP beyond host memory';
  return null;
}

/** VM-entry interruption-information checks (SDM 27.2.1.3). */
function checkEntryEvent(vmcs: Vmcs, proc2: number): string | null {
  const info = vmcs.read(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
  if (!(info & IntrInfo.VALID)) return null;
  const type = (info & IntrInfo.TYPE_MASK) >>> IntrInfo.TYPE_SHIFT;
  const vector = info & IntrInfo.VECTOR_MASK;
  if (type === 1 || type === InterruptionType.OTHER_EVENT) return 'entry event type reserved or unsupported';
  if (type === InterruptionType.NMI && vector !== Vector.NMI) return 'entry NMI with vector other than 2';
  if (type === InterruptionType.HARDWARE_EXCEPTION && vector > MAX_VECTOR_EXCEPTION) return 'entry hardware exception vector > 31';
  const pe = (vmcs.read(VmcsField.GUEST_CR0) & CR0_PE) !== 0;
  const unrestricted = (proc2 & ProcBased2.UNRESTRICTED_GUEST) !== 0;
  // An error code is delivered exactly for these exceptions, and never in real mode (unrestricted guest).
  const needsCode = type === InterruptionType.HARDWARE_EXCEPTION && ERROR_CODE_VECTORS.has(vector) && (!unrestricted || pe);
  if (((info & IntrInfo.DELIVER_ERROR_CODE) !== 0) !== needsCode) return 'entry deliver-error-code bit inconsistent';
  if (info & IntrInfo.ENTRY_RESERVED_MASK) return 'entry interruption-information reserved bits set';
  if (info & IntrInfo.DELIVER_ERROR_CODE && vmcs.read(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE) & ENTRY_ERROR_CODE_RESERVED) return 'entry error code bits 31:16 set';
  if (type === InterruptionType.SOFTWARE_INTERRUPT || type === InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION || type === InterruptionType.SOFTWARE_EXCEPTION) {
    const len = vmcs.read(VmcsField.VM_ENTRY_INSTRUCTION_LEN);
    // IA32_VMX_MISC bit 30 is 0, so a zero length is not allowed.
    if (len < 1 || len > MAX_INSTRUCTION_LENGTH) return 'entry instruction length not in 1..15';
  }
  return null;
}

/** Checks on host control registers and selectors (SDM 27.2.2, 27.2.3). */
export function checkHostState(vmcs: Vmcs): string | null {
  const cr0 = vmcs.read(VmcsField.HOST_CR0);
  const cr4 = vmcs.read(VmcsField.HOST_CR4);
  if (!fixedBitsOk(cr0, FixedCr.CR0_FIXED0, FixedCr.CR0_FIXED1)) return 'host CR0 fixed bits';
  if (!fixedBitsOk(cr4, FixedCr.CR4_FIXED0, FixedCr.CR4_FIXED1)) return 'host CR4 fixed bits';
  // Host CR3, SYSENTER_ESP/EIP, bases and RIP are natural-width: 32 bits here, so always canonical.
  const selectors = [
    VmcsField.HOST_ES_SELECTOR,
    VmcsField.HOST_CS_SELECTOR,
    VmcsField.HOST_SS_SELECTOR,
    VmcsField.HOST_DS_SELECTOR,
    VmcsField.HOST_FS_SELECTOR,
    VmcsField.HOST_GS_SELECTOR,
    VmcsField.HOST_TR_SELECTOR,
  ];
  for (const f of selectors) if (vmcs.read(f) & 7) return 'host selector RPL/TI not 0';
  if (vmcs.read(VmcsField.HOST_CS_SELECTOR) === 0) return 'host CS selector null';
  if (vmcs.read(VmcsField.HOST_TR_SELECTOR) === 0) return 'host TR selector null';
  // "Host address-space size" is 0 (no Intel 64), so SS may not be null either.
  if (vmcs.read(VmcsField.HOST_SS_SELECTOR) === 0) return 'host SS selector null';
  return null;
}

function fixedBitsOk(value: number, fixed0: number, fixed1: number): boolean {
  return ((value & fixed0) >>> 0) === fixed0 >>> 0 && (value & ~fixed1) === 0;
}

/** One guest segment as the checks see it. */
interface GuestSeg {
  sel: number;
  base: number;
  limit: number;
  ar: number;
}

function guestSeg(vmcs: Vmcs, i: number): GuestSeg {
  return {
    sel: vmcs.read(VmcsField.GUEST_ES_SELECTOR + 2 * i),
    base: vmcs.read(VmcsField.GUEST_ES_BASE + 2 * i),
    limit: vmcs.read(VmcsField.GUEST_ES_LIMIT + 2 * i),
    ar: vmcs.read(VmcsField.GUEST_ES_AR_BYTES + 2 * i),
  };
}

const dpl = (ar: number): number => (ar & SegAr.DPL_MASK) >>> SegAr.DPL_SHIFT;
const segType = (ar: number): number => ar & SegAr.TYPE_MASK;
const usable = (ar: number): boolean => (ar & SegAr.UNUSABLE) === 0;

/** Limit/G consistency (SDM 27.3.1.2): G=0 needs limit 31:20 zero, G=1 needs limit 11:0 all ones. */
function granularityOk(s: GuestSeg): boolean {
  if ((s.limit & LIMIT_LOW_BITS) !== LIMIT_LOW_BITS && s.ar & SegAr.G) return false;
  if (s.limit & LIMIT_HIGH_BITS && !(s.ar & SegAr.G)) return false;
  return true;
}

/** A guest-state failure: the rule and the exit qualification to report (SDM 27.8). */
export interface GuestStateFailure {
  why: string;
  qualification: number;
}

/** Checks on the guest-state area (SDM 27.3.1). */
export function checkGuestState(vmcs: Vmcs, structure = true): GuestStateFailure | null {
  const why = guestStateRule(vmcs, structure);
  if (why !== null) return { why, qualification: EntryFailureQualification.DEFAULT };
  // VMCS shadowing is unsupported, so the link pointer must be all ones (SDM 27.3.1.5).
  if (vmcs.read(VmcsField.VMCS_LINK_POINTER) !== 0xffff_ffff || vmcs.readHigh(VmcsField.VMCS_LINK_POINTER) !== 0xffff_ffff) {
    return { why: 'VMCS link pointer not all ones', qualification: EntryFailureQualification.INVALID_VMCS_LINK_POINTER };
  }
  return null;
}

/** `structure` false: the CR, segment and descriptor-table fields are as last checked; skip them. */
function guestStateRule(vmcs: Vmcs, structure: boolean): string | null {
  const proc = vmcs.read(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
  const proc2 = proc & ProcBased.ACTIVATE_SECONDARY_CONTROLS ? vmcs.read(VmcsField.SECONDARY_VM_EXEC_CONTROL) : 0;
  const unrestricted = (proc2 & ProcBased2.UNRESTRICTED_GUEST) !== 0;
  const entryCtl = vmcs.read(VmcsField.VM_ENTRY_CONTROLS);

  // 27.3.1.1 control registers, debug registers, MSRs
  const cr0 = vmcs.read(VmcsField.GUEST_CR0);
  const fixed0 = unrestricted ? FixedCr.CR0_FIXED0 & ~FixedCr.UNRESTRICTED_CR0_RELAXED : FixedCr.CR0_FIXED0;
  if (structure && !fixedBitsOk(cr0, fixed0, FixedCr.CR0_FIXED1)) return 'guest CR0 fixed bits';
  if (cr0 & CR0_PG && !(cr0 & CR0_PE)) return 'guest CR0.PG without PE';
  if (!fixedBitsOk(vmcs.read(VmcsField.GUEST_CR4), FixedCr.CR4_FIXED0, FixedCr.CR4_FIXED1)) return 'guest CR4 fixed bits';
  if (entryCtl & EntryControls.LOAD_DEBUG_CONTROLS) {
    if (vmcs.read(VmcsField.GUEST_IA32_DEBUGCTL) & ~DEBUGCTL_DEFINED || vmcs.readHigh(VmcsField.GUEST_IA32_DEBUGCTL) !== 0) return 'guest DEBUGCTL reserved bits';
  }

  // 27.3.1.4 RIP and RFLAGS (checked before segments: VM decides which segment rules apply)
  const rflags = vmcs.read(VmcsField.GUEST_RFLAGS);
  if (rflags & Rflags.RESERVED || !(rflags & Rflags.FIXED1)) return 'guest RFLAGS reserved bits';
  const v86 = (rflags & Rflags.VM) !== 0;
  if (v86 && !(cr0 & CR0_PE)) return 'guest RFLAGS.VM with CR0.PE = 0';
  const entryInfo = vmcs.read(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
  const entryValid = (entryInfo & IntrInfo.VALID) !== 0;
  const entryType = (entryInfo & IntrInfo.TYPE_MASK) >>> IntrInfo.TYPE_SHIFT;
  if (entryValid && entryType === InterruptionType.EXTERNAL_INTERRUPT && !(rflags & Rflags.IF)) return 'external interrupt injected with IF = 0';

  // 27.3.1.2 segment registers
  const segRule = structure || v86 ? checkSegments(vmcs, cr0, v86, unrestricted) : null;
  if (segRule !== null) return segRule;

  // 27.3.1.3 descriptor-table registers
  if (vmcs.read(VmcsField.GUEST_GDTR_LIMIT) & 0xffff_0000) return 'guest GDTR limit bits 31:16';
  if (vmcs.read(VmcsField.GUEST_IDTR_LIMIT) & 0xffff_0000) return 'guest IDTR limit bits 31:16';

  // 27.3.1.5 non-register state
  const activity = vmcs.read(VmcsField.GUEST_ACTIVITY_STATE);
  if (activity !== ActivityState.ACTIVE && activity !== ActivityState.HLT && activity !== ActivityState.SHUTDOWN) return 'guest activity state unsupported';
  const ss = guestSeg(vmcs, 2);
  if (activity === ActivityState.HLT && dpl(ss.ar) !== 0) return 'HLT activity with SS.DPL != 0';
  const intr = vmcs.read(VmcsField.GUEST_INTERRUPTIBILITY_INFO);
  const stiOrMovSs = intr & (Interruptibility.BLOCKING_BY_STI | Interruptibility.BLOCKING_BY_MOV_SS);
  if (stiOrMovSs && activity !== ActivityState.ACTIVE) return 'STI/MOV-SS blocking outside active state';
  if (entryValid) {
    const vector = entryInfo & IntrInfo.VECTOR_MASK;
    const hwDbOrMc = entryType === InterruptionType.HARDWARE_EXCEPTION && (vector === Vector.DB || vector === Vector.MC);
    if (activity === ActivityState.HLT && !(entryType === InterruptionType.EXTERNAL_INTERRUPT || entryType === InterruptionType.NMI || hwDbOrMc)) return 'event not allowed in HLT state';
    if (activity === ActivityState.SHUTDOWN && !(entryType === InterruptionType.NMI || (entryType === InterruptionType.HARDWARE_EXCEPTION && vector === Vector.MC))) return 'event not allowed in shutdown state';
  }
  if (intr & ~0x1f) return 'guest interruptibility reserved bits';
  if ((intr & stiOrMovSs) === (Interruptibility.BLOCKING_BY_STI | Interruptibility.BLOCKING_BY_MOV_SS)) return 'blocking by both STI and MOV SS';
  if (intr & Interruptibility.BLOCKING_BY_STI && !(rflags & Rflags.IF)) return 'blocking by STI with IF = 0';
  if (intr & Interruptibility.BLOCKING_BY_SMI) return 'blocking by SMI outside SMM';
  if (entryValid && entryType === InterruptionType.EXTERNAL_INTERRUPT && stiOrMovSs) return 'external interrupt injected during STI/MOV-SS blocking';
  if (entryValid && entryType === InterruptionType.NMI && intr & (Interruptibility.BLOCKING_BY_MOV_SS | Interruptibility.BLOCKING_BY_NMI)) return 'NMI injected while blocked';
  if (vmcs.read(VmcsField.GUEST_PENDING_DBG_EXCEPTIONS) & ~PENDING_DBG_DEFINED) return 'pending debug exceptions reserved bits';
  return null;
}

function checkSegments(vmcs: Vmcs, cr0: number, v86: boolean, unrestricted: boolean): string | null {
  const names = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'] as const;
  const segs = names.map((_, i) => guestSeg(vmcs, i));
  const [es, cs, ss, ds, fs, gs, ldtr, tr] = segs as [GuestSeg, GuestSeg, GuestSeg, GuestSeg, GuestSeg, GuestSeg, GuestSeg, GuestSeg];

  // Selector rules
  if (tr.sel & 4) return 'guest TR selector TI set';
  if (usable(ldtr.ar) && ldtr.sel & 4) return 'guest LDTR selector TI set';
  if (!v86 && !unrestricted && (ss.sel & 3) !== (cs.sel & 3)) return 'guest SS.RPL != CS.RPL';

  if (v86) {
    // Virtual-8086 mode: base = selector·16, limit 0xFFFF, AR 0xF3 for the six data/code segments.
    for (let i = 0; i < 6; i++) {
      const s = segs[i]!;
      if (s.base !== s.sel * 16) return `guest ${names[i]} base in virtual-8086 mode`;
      if (s.limit !== V86_LIMIT) return `guest ${names[i]} limit in virtual-8086 mode`;
      if (s.ar !== V86_AR) return `guest ${names[i]} access rights in virtual-8086 mode`;
    }
  } else {
    // CS
    const csType = segType(cs.ar);
    const csTypeOk = csType === 9 || csType === 11 || csType === 13 || csType === 15 || (unrestricted && csType === SegType.DATA_RW_ACCESSED);
    if (!csTypeOk) return 'guest CS type';
    if (!(cs.ar & SegAr.S)) return 'guest CS.S = 0';
    if (csType === SegType.DATA_RW_ACCESSED && dpl(cs.ar) !== 0) return 'guest CS DPL not 0 for data type';
    if ((csType === 9 || csType === 11) && dpl(cs.ar) !== dpl(ss.ar)) return 'guest CS.DPL != SS.DPL (non-conforming)';
    if ((csType === 13 || csType === 15) && dpl(cs.ar) > dpl(ss.ar)) return 'guest CS.DPL > SS.DPL (conforming)';
    if (!(cs.ar & SegAr.P)) return 'guest CS not present';
    if (cs.ar & SegAr.RESERVED) return 'guest CS access-rights reserved bits';
    if (!granularityOk(cs)) return 'guest CS limit/G';
    // SS
    if (usable(ss.ar)) {
      const t = segType(ss.ar);
      if (t !== 3 && t !== 7) return 'guest SS type';
      if (!(ss.ar & SegAr.S)) return 'guest SS.S = 0';
      if (!(ss.ar & SegAr.P)) return 'guest SS not present';
      if (ss.ar & SegAr.RESERVED) return 'guest SS access-rights reserved bits';
      if (!granularityOk(ss)) return 'guest SS limit/G';
    }
    if (!unrestricted && dpl(ss.ar) !== (ss.sel & 3)) return 'guest SS.DPL != SS.RPL';
    if ((csType === SegType.DATA_RW_ACCESSED || !(cr0 & CR0_PE)) && dpl(ss.ar) !== 0) return 'guest SS.DPL not 0';
    // DS, ES, FS, GS
    for (const [i, s] of [[0, es], [3, ds], [4, fs], [5, gs]] as const) {
      if (!usable(s.ar)) continue;
      const t = segType(s.ar);
      if (!(t & SegAr.TYPE_ACCESSED)) return `guest ${names[i]} type not accessed`;
      if (t & SegAr.TYPE_CODE && !(t & SegAr.TYPE_READ_WRITE)) return `guest ${names[i]} execute-only code`;
      if (!(s.ar & SegAr.S)) return `guest ${names[i]}.S = 0`;
      if (!unrestricted && t <= 11 && dpl(s.ar) < (s.sel & 3)) return `guest ${names[i]}.DPL < RPL`;
      if (!(s.ar & SegAr.P)) return `guest ${names[i]} not present`;
      if (s.ar & SegAr.RESERVED) return `guest ${names[i]} access-rights reserved bits`;
      if (!granularityOk(s)) return `guest ${names[i]} limit/G`;
    }
  }
  // TR (always usable)
  const trType = segType(tr.ar);
  if (trType !== SegType.TSS16_BUSY && trType !== SegType.TSS32_BUSY) return 'guest TR type not busy TSS';
  if (tr.ar & SegAr.S) return 'guest TR.S = 1';
  if (!(tr.ar & SegAr.P)) return 'guest TR not present';
  if (tr.ar & SegAr.RESERVED) return 'guest TR access-rights reserved bits';
  if (!granularityOk(tr)) return 'guest TR limit/G';
  if (!usable(tr.ar)) return 'guest TR unusable';
  // LDTR if usable
  if (usable(ldtr.ar)) {
    if (segType(ldtr.ar) !== SegType.LDT) return 'guest LDTR type';
    if (ldtr.ar & SegAr.S) return 'guest LDTR.S = 1';
    if (!(ldtr.ar & SegAr.P)) return 'guest LDTR not present';
    if (ldtr.ar & SegAr.RESERVED) return 'guest LDTR access-rights reserved bits';
    if (!granularityOk(ldtr)) return 'guest LDTR limit/G';
  }
  return null;
}
