/**
 * NonRootHooks from the current VMCS controls: decides, at each point where the core asks,
 * whether an instruction or event causes a VM exit (SDM 26.1-26.2 "Instructions that cause VM
 * exits", 26.3 "Changes to instruction behavior", 29.3.3 EPT-induced exits), and translates
 * guest-physical addresses through EPT.
 *
 * Exit information the core's `vmExit` does not carry (guest-physical and guest-linear address,
 * interruption information) is kept here in `pending` and merged by Vmx when it writes the
 * exit-information fields.
 */
import type { HostMemory } from '../hw/host-memory.js';
import type { CpuApi } from '../cpu/cpu.js';
import type { AccessKind, NonRootHooks } from '../cpu/interfaces.js';
import { eptWalk, newEptWalkStats, type EptWalkStats } from '../ept/ept-walk.js';
import { eptViolationQualification } from '../ept/ept-format.js';
import { PinBased, ProcBased, ProcBased2 } from './controls.js';
import { ExitReason } from './exit-reasons.js';
import { CrAccessType, crQualification, drQualification, ioQualification } from './exit-qualification.js';
import { InterruptionType, makeIntrInfo, Vector } from './interruption.js';
import type { Vmcs } from './vmcs.js';
import { VmcsField } from './vmcs-fields.js';

const CR0_PE = 1 << 0;
const CR0_TS = 1 << 3;
/** LMSW can change CR0 bits 3:0 only (PE, MP, EM, TS). */
const LMSW_BITS = 0xf;
const PAGE_BYTES = 4096;
/** MSR bitmap layout (SDM 25.6.9): four 1 KiB quarters. */
const MsrBitmap = { READ_LOW: 0, READ_HIGH: 1024, WRITE_LOW: 2048, WRITE_HIGH: 3072, LOW_LAST: 0x1fff, HIGH_FIRST: 0xc000_0000, HIGH_LAST: 0xc000_1fff } as const;
const IO_PORT_SPLIT = 0x8000;
const PORT_LIMIT = 0x10000;

/** Exit information recorded by a hook before `cpu.vmExit` unwinds (zero = not provided). */
export interface PendingExitInfo {
  /** True when a hook of this object caused the exit in progress. */
  fromHook: boolean;
  reason: number;
  guestPhysical: number;
  guestLinear: number;
  intrInfo: number;
  intrErrorCode: number;
  /** EIP after the exiting instruction was decoded (its length is this minus its start). */
  eipAfterDecode: number;
  /** The exit is instruction-caused, so VM_EXIT_INSTRUCTION_LEN is meaningful. */
  instructionCaused: boolean;
}

/** Page-fault linear address, exposed by the core as `pfLinear` (not yet part of CpuApi). */
interface PageFaultAddressSource {
  readonly pfLinear?: number;
}

/** The VMX unit's implementation of NonRootHooks for one VMCS's controls. */
export class VmxNonRoot implements NonRootHooks {
  readonly cpu: CpuApi;
  readonly mem: HostMemory;
  /** EPT walk statistics (walks, page-structure references, violations, misconfigurations). */
  readonly eptStats: EptWalkStats = newEptWalkStats();
  readonly pending: PendingExitInfo = {
    fromHook: false,
    reason: 0,
    guestPhysical: 0,
    guestLinear: 0,
    intrInfo: 0,
    intrErrorCode: 0,
    eipAfterDecode: 0,
    instructionCaused: false,
  };

  // Controls cached from the VMCS at VM entry (software may not change them while in non-root).
  private pin = 0;
  private proc = 0;
  private proc2 = 0;
  private exceptionBitmap = 0;
  private pfecMask = 0;
  private pfecMatch = 0;
  private cr0Mask = 0;
  private cr0Shadow = 0;
  private cr4Mask = 0;
  private cr4Shadow = 0;
  private cr3Targets: number[] = [];
  private ioBitmapA = 0;
  private ioBitmapB = 0;
  private msrBitmap = 0;
  private eptp = 0;
  private eptOn = false;

  constructor(cpu: CpuApi) {
    this.cpu = cpu;
    this.mem = cpu.mem;
  }

  /** Load the controls of `vmcs` (called by VM entry after its checks passed). */
  /** The VMCS the cached controls were read from (configure is skipped while they are current). */
  configuredFor: Vmcs | null = null;

  /** Start a new entry with the controls cached by the last configure(). */
  beginEntry(): void {
    this.pending.fromHook = false;
  }

  configure(vmcs: Vmcs): void {
    this.configuredFor = vmcs;
    this.pin = vmcs.read(VmcsField.PIN_BASED_VM_EXEC_CONTROL);
    this.proc = vmcs.read(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
    this.proc2 = (this.proc & ProcBased.ACTIVATE_SECONDARY_CONTROLS) !== 0 ? vmcs.read(VmcsField.SECONDARY_VM_EXEC_CONTROL) : 0;
    this.exceptionBitmap = vmcs.read(VmcsField.EXCEPTION_BITMAP);
    this.pfecMask = vmcs.read(VmcsField.PAGE_FAULT_ERROR_CODE_MASK);
    this.pfecMatch = vmcs.read(VmcsField.PAGE_FAULT_ERROR_CODE_MATCH);
    this.cr0Mask = vmcs.read(VmcsField.CR0_GUEST_HOST_MASK);
    this.cr0Shadow = vmcs.read(VmcsField.CR0_READ_SHADOW);
    this.cr4Mask = vmcs.read(VmcsField.CR4_GUEST_HOST_MASK);
    this.cr4Shadow = vmcs.read(VmcsField.CR4_READ_SHADOW);
    const targets = [VmcsField.CR3_TARGET_VALUE0, VmcsField.CR3_TARGET_VALUE1, VmcsField.CR3_TARGET_VALUE2, VmcsField.CR3_TARGET_VALUE3];
    this.cr3Targets = targets.slice(0, vmcs.read(VmcsField.CR3_TARGET_COUNT)).map((f) => vmcs.read(f));
    this.ioBitmapA = vmcs.read64(VmcsField.IO_BITMAP_A);
    this.ioBitmapB = vmcs.read64(VmcsField.IO_BITMAP_B);
    this.msrBitmap = vmcs.read64(VmcsField.MSR_BITMAP);
    this.eptOn = (this.proc2 & ProcBased2.ENABLE_EPT) !== 0;
    this.eptp = vmcs.read64(VmcsField.EPT_POINTER);
    this.pending.fromHook = false;
  }

  /** Is the VMX-preemption timer active for the loaded controls? */
  get preemptionTimerActive(): boolean {
    return (this.pin & PinBased.VMX_PREEMPTION_TIMER) !== 0;
  }

  /** Is interrupt-window exiting on? */
  get interruptWindowExiting(): boolean {
    return (this.proc & ProcBased.INTR_WINDOW_EXITING) !== 0;
  }

  // ------------------------------------------------------------------ unconditional and simple exits

  cpuid(): boolean {
    return this.exitBefore(ExitReason.CPUID, 0);
  }

  hlt(): boolean {
    return (this.proc & ProcBased.HLT_EXITING) !== 0 && this.exitBefore(ExitReason.HLT, 0);
  }

  invlpg(linear: number): boolean {
    // The qualification is the linear-address operand (SDM 28.2.1).
    return (this.proc & ProcBased.INVLPG_EXITING) !== 0 && this.exitBefore(ExitReason.INVLPG, linear >>> 0);
  }

  rdtsc(): boolean {
    return (this.proc & ProcBased.RDTSC_EXITING) !== 0 && this.exitBefore(ExitReason.RDTSC, 0);
  }

  rdpmc(): boolean {
    return (this.proc & ProcBased.RDPMC_EXITING) !== 0 && this.exitBefore(ExitReason.RDPMC, 0);
  }

  vmxInstruction(reason: number, instrLen: number): void {
    this.instructionExit(reason, 0, instrLen);
  }

  tripleFault(): void {
    this.exit(ExitReason.TRIPLE_FAULT, 0);
  }

  eventWindow(): void {
    // The core re-arms eventCheck whenever IF or the interrupt shadow changes.
    if (this.proc & ProcBased.INTR_WINDOW_EXITING && this.cpu.interruptsEnabled()) this.exit(ExitReason.INTERRUPT_WINDOW, 0);
  }

  // ------------------------------------------------------------------ control and debug registers

  crWrite(cr: number, value: number, gpr: number, accessType: number): void {
    let exits = false;
    if (accessType === CrAccessType.CLTS) {
      // CLTS exits if TS is host-owned and its shadow is 1 (SDM 26.1.3).
      exits = (this.cr0Mask & CR0_TS) !== 0 && (this.cr0Shadow & CR0_TS) !== 0;
    } else if (accessType === CrAccessType.LMSW) {
      const owned = this.cr0Mask & LMSW_BITS;
      // LMSW cannot clear PE: it exits for PE only when setting a host-owned PE whose shadow is 0.
      const setsPe = (owned & CR0_PE) !== 0 && (this.cr0Shadow & CR0_PE) === 0 && (value & CR0_PE) !== 0;
      exits = setsPe || ((value ^ this.cr0Shadow) & owned & ~CR0_PE) !== 0;
    } else if (cr === 0) {
      exits = ((value ^ this.cr0Shadow) & this.cr0Mask) !== 0;
    } else if (cr === 4) {
      exits = ((value ^ this.cr4Shadow) & this.cr4Mask) !== 0;
    } else if (cr === 3) {
      exits = (this.proc & ProcBased.CR3_LOAD_EXITING) !== 0 && !this.cr3Targets.includes(value >>> 0);
    }
    if (exits) {
      const crNum = accessType === CrAccessType.MOV_TO_CR ? cr : 0;
      this.instructionExit(ExitReason.CR_ACCESS, crQualification(crNum, accessType, gpr, value));
    }
  }

  crRead(cr: number, gpr: number, actual: number): number {
    if (cr === 3 && this.proc & ProcBased.CR3_STORE_EXITING) {
      this.instructionExit(ExitReason.CR_ACCESS, crQualification(3, CrAccessType.MOV_FROM_CR, gpr));
    }
    // Host-owned bits read as their shadow (SDM 26.3 "MOV from CR0/CR4", SMSW).
    if (cr === 0) return ((actual & ~this.cr0Mask) | (this.cr0Shadow & this.cr0Mask)) >>> 0;
    if (cr === 4) return ((actual & ~this.cr4Mask) | (this.cr4Shadow & this.cr4Mask)) >>> 0;
    return actual;
  }

  /**
   * The value a non-exiting MOV to CR0/CR4 (or CLTS/LMSW) leaves in the register: host-owned bits
   * keep their current value (SDM 26.3). The core should write this instead of the raw operand.
   */
  crWriteValue(cr: number, value: number): number {
    if (cr === 0) return ((value & ~this.cr0Mask) | (this.cpu.cr0 & this.cr0Mask)) >>> 0;
    if (cr === 4) return ((value & ~this.cr4Mask) | (this.cpu.cr4 & this.cr4Mask)) >>> 0;
    return value >>> 0;
  }

  movDr(dr: number, toDr: boolean, gpr: number): boolean {
    return (this.proc & ProcBased.MOV_DR_EXITING) !== 0 && this.exitBefore(ExitReason.DR_ACCESS, drQualification(dr, toDr, gpr));
  }

  // ------------------------------------------------------------------ I/O and MSRs

  io(port: number, size: number, isIn: boolean, isString: boolean, isRep: boolean, immediate: boolean, instrLen: number): boolean {
    return this.ioExits(port, size) && this.exitBefore(ExitReason.IO_INSTRUCTION, ioQualification(port, size, isIn, isString, isRep, immediate), instrLen);
  }

  /** SDM 26.1.3: unconditional I/O exiting unless I/O bitmaps are used; bitmaps are checked per byte. */
  private ioExits(port: number, size: number): boolean {
    if ((this.proc & ProcBased.USE_IO_BITMAPS) === 0) return (this.proc & ProcBased.UNCOND_IO_EXITING) !== 0;
    for (let p = port; p < port + size; p++) {
      if (p >= PORT_LIMIT) return true; // wraps around the I/O space
      const base = p < IO_PORT_SPLIT ? this.ioBitmapA : this.ioBitmapB;
      const bit = p & (IO_PORT_SPLIT - 1);
      if ((this.readBitmapByte(base, bit >>> 3) >>> (bit & 7)) & 1) return true;
    }
    return false;
  }

  rdmsr(msr: number): boolean {
    return this.msrExits(msr >>> 0, false) && this.exitBefore(ExitReason.MSR_READ, 0);
  }

  wrmsr(msr: number): boolean {
    return this.msrExits(msr >>> 0, true) && this.exitBefore(ExitReason.MSR_WRITE, 0);
  }

  /** SDM 26.1.3: without MSR bitmaps every RDMSR/WRMSR exits; ECX outside both ranges always exits. */
  private msrExits(msr: number, write: boolean): boolean {
    if ((this.proc & ProcBased.USE_MSR_BITMAPS) === 0) return true;
    let quarter: number;
    let bit: number;
    if (msr <= MsrBitmap.LOW_LAST) {
      quarter = write ? MsrBitmap.WRITE_LOW : MsrBitmap.READ_LOW;
      bit = msr;
    } else if (msr >= MsrBitmap.HIGH_FIRST && msr <= MsrBitmap.HIGH_LAST) {
      quarter = write ? MsrBitmap.WRITE_HIGH : MsrBitmap.READ_HIGH;
      bit = msr - MsrBitmap.HIGH_FIRST;
    } else {
      return true;
    }
    return ((this.readBitmapByte(this.msrBitmap, quarter + (bit >>> 3)) >>> (bit & 7)) & 1) !== 0;
  }

  private readBitmapByte(base: number, offset: number): number {
    // VM entry checked that every bitmap page lies inside host memory.
    if (offset >= PAGE_BYTES) throw new Error('bug: bitmap offset beyond its page');
    return this.mem.read8(base + offset);
  }

  // ------------------------------------------------------------------ exceptions

  exception(vector: number, errorCode: number, hasErrorCode: boolean): void {
    if (vector === Vector.NMI || vector > 31) return; // NMIs follow NMI exiting, not the bitmap
    let exits = ((this.exceptionBitmap >>> vector) & 1) !== 0;
    if (vector === Vector.PF) {
      // #PF: bit 14 set ⇒ exit iff (PFEC & mask) = match; clear ⇒ exit iff they differ (SDM 25.6.3).
      const matches = ((errorCode & this.pfecMask) >>> 0) === this.pfecMatch >>> 0;
      exits = exits ? matches : !matches;
    }
    if (!exits) return;
    const type = vector === Vector.BP || vector === Vector.OF ? InterruptionType.SOFTWARE_EXCEPTION : InterruptionType.HARDWARE_EXCEPTION;
    this.pending.intrInfo = makeIntrInfo(vector, type, hasErrorCode);
    this.pending.intrErrorCode = hasErrorCode ? errorCode >>> 0 : 0;
    // A #PF exit reports the faulting address as its qualification; CR2 is left unchanged (SDM 28.2.1).
    const qualification = vector === Vector.PF ? ((this.cpu as PageFaultAddressSource).pfLinear ?? 0) >>> 0 : 0;
    this.exit(ExitReason.EXCEPTION_NMI, qualification, type === InterruptionType.SOFTWARE_EXCEPTION);
  }

  // ------------------------------------------------------------------ guest-physical translation

  translateGpa(gpa: number, access: AccessKind, linear: number, isFinal: boolean, linearValid: boolean): number {
    if (!this.eptOn) {
      // Without EPT, guest-physical is host-physical (shadow tables hold HPAs built by KVM).
      if (!(gpa >= 0 && gpa < this.mem.size)) throw new Error(`bug: identity guest-physical access 0x${gpa.toString(16)} outside host memory`);
      return gpa;
    }
    const r = eptWalk(this.mem, this.eptp, gpa, access, this.eptStats);
    if (r.kind === 'ok') return r.hpa;
    this.pending.guestPhysical = gpa;
    this.pending.guestLinear = linearValid ? linear >>> 0 : 0;
    if (r.kind === 'violation') this.exit(ExitReason.EPT_VIOLATION, eptViolationQualification(access, r.granted, linearValid, isFinal));
    return this.exit(ExitReason.EPT_MISCONFIG, 0);
  }

  // ------------------------------------------------------------------ exit plumbing

  /** Record pending information and unwind through the core. */
  private exit(reason: number, qualification: number, instructionCaused = false, instrLen?: number): never {
    this.recordPending(reason, instructionCaused);
    return this.cpu.vmExit(reason, qualification, instrLen ?? 0);
  }

  private instructionExit(reason: number, qualification: number, instrLen?: number): never {
    return this.exit(reason, qualification, true, instrLen);
  }

  /** An instruction-caused exit before the instruction has any effect, without unwinding. */
  private exitBefore(reason: number, qualification: number, instrLen?: number): true {
    this.recordPending(reason, true);
    return this.cpu.exitInstruction(reason, qualification, instrLen ?? 0);
  }

  private recordPending(reason: number, instructionCaused: boolean): void {
    const p = this.pending;
    p.fromHook = true;
    p.reason = reason;
    p.instructionCaused = instructionCaused;
    p.eipAfterDecode = this.cpu.eip;
    if (reason !== ExitReason.EPT_VIOLATION && reason !== ExitReason.EPT_MISCONFIG) {
      p.guestPhysical = 0;
      p.guestLinear = 0;
    }
    if (reason !== ExitReason.EXCEPTION_NMI) {
      p.intrInfo = 0;
      p.intrErrorCode = 0;
    }
  }
}
