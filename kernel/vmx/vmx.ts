/**
 * The VT-x unit as root-mode software sees it (SDM Vol. 3C ch. 24, 27, 28, 31): VMXON, VMCLEAR,
 * VMPTRLD, VMREAD, VMWRITE, VMLAUNCH/VMRESUME, INVEPT/INVVPID. VM entry runs the SDM's checks,
 * loads the guest state into the processor, injects the pending event, runs the processor in
 * non-root operation, and on the way out saves guest state and writes the exit-information fields.
 *
 * The host side of a VM exit has no state to load here: the host is the TypeScript caller, which
 * gets control back when `vmlaunch`/`vmresume` return. GPRs other than ESP stay in `cpu.regs`.
 */
import type { HostMemory } from '../hw/host-memory.js';
import type { CpuApi } from '../cpu/cpu.js';
import { StopReason, VmExitSignal } from '../cpu/interfaces.js';
import { FaultSignal } from '../cpu/index.js';
import { readVmxCapabilityMsr, VMCS_REVISION_ID, VmxMisc, type MsrValue } from './capabilities.js';
import { ActivityState, EntryControls, ExitControls, PinBased, ProcBased, ProcBased2 } from './controls.js';
import { checkControls, checkGuestState, checkHostState } from './entry-checks.js';
import { BASIC_EXIT_REASON_MASK, EXIT_REASON_COUNT, ExitReason, ExitReasonFlags } from './exit-reasons.js';
import { IntrInfo, InterruptionType, makeIntrInfo } from './interruption.js';
import { VmxNonRoot } from './nonroot.js';
import { LaunchState, Vmcs, VmcsDirty } from './vmcs.js';
import { fieldType, FieldType, VmcsField } from './vmcs-fields.js';
import { VmInstructionError } from './vm-instruction-errors.js';

/** Outcome of VMXON, VMXOFF, VMCLEAR, VMPTRLD, INVEPT, INVVPID (SDM 31.2 conventions). */
export type VmxStatus = { kind: 'ok' } | { kind: 'failInvalid' } | { kind: 'fail'; error: VmInstructionError };

/**
 * Outcome of VMLAUNCH/VMRESUME: VMfailInvalid (no current VMCS), VMfailValid with the
 * VM-instruction error (4/5 launch state, 7 controls, 8 host state), or a VM exit whose full
 * reason is also in VM_EXIT_REASON (bit 31 set for an entry failure, e.g. 0x80000021).
 */
export type VmEntryResult = { kind: 'exit'; reason: number } | { kind: 'fail'; error: VmInstructionError } | { kind: 'failInvalid' };

/** VMREAD/VMWRITE failed (tier 2: the caller passed a bad encoding or wrote a read-only field). */
export class VmFailError extends Error {
  readonly code: 'VMFAIL_VALID' | 'VMFAIL_INVALID';
  /** VM-instruction error (0 for VMfailInvalid). */
  readonly error: number;
  constructor(op: string, encoding: number, error: number) {
    super(error === 0 ? `${op}: no current VMCS` : `${op} 0x${encoding.toString(16)}: VM-instruction error ${error}`);
    this.code = error === 0 ? 'VMFAIL_INVALID' : 'VMFAIL_VALID';
    this.error = error;
  }
}

/** Instructions a vCPU runs per slice when no preemption timer bounds it (about 1 ms of guest time). */
export const DEFAULT_SLICE_INSTRUCTIONS = 100_000;
/** Vector reported with "acknowledge interrupt on exit" for the host tick (Linux LOCAL_TIMER_VECTOR). */
export const HOST_TIMER_VECTOR = 0xec;
const TWO_POW_32 = 0x1_0000_0000;
const MAX_INSTRUCTION_LENGTH = 15;

/**
 * The core's handler for a fault raised while delivering an event (public on Cpu, not yet part
 * of CpuApi): applies the double/triple-fault rules and returns -1 or a StopReason.
 */
interface FaultHandling {
  handleFault(): number;
}

/** Options of the VT-x unit. */
export interface VmxOptions {
  /** Instruction budget of one slice without the preemption timer. */
  sliceInstructions?: number;
}

/** Guest-state field groups indexed like cpu segment arrays (ES CS SS DS FS GS LDTR TR). */
const SEG_COUNT = 8;
const segField = {
  sel: (i: number): number => VmcsField.GUEST_ES_SELECTOR + 2 * i,
  base: (i: number): number => VmcsField.GUEST_ES_BASE + 2 * i,
  limit: (i: number): number => VmcsField.GUEST_ES_LIMIT + 2 * i,
  ar: (i: number): number => VmcsField.GUEST_ES_AR_BYTES + 2 * i,
};
const REG_ESP = 4;
const DR7 = 7;

/**
 * Guest-state fields the processor keeps after a VM exit instead of storing them in the VMCS
 * region (SDM 25.11.1: a processor may hold VMCS data in processor-specific locations; VMCLEAR
 * writes it back). These are the fields VM exit saves, minus the debug controls (stored at once).
 */
const PROCESSOR_HELD = new Uint8Array(0x8000);
for (const enc of [
  VmcsField.GUEST_CR0,
  VmcsField.GUEST_CR3,
  VmcsField.GUEST_CR4,
  VmcsField.GUEST_SYSENTER_CS,
  VmcsField.GUEST_SYSENTER_ESP,
  VmcsField.GUEST_SYSENTER_EIP,
  VmcsField.GUEST_GDTR_BASE,
  VmcsField.GUEST_GDTR_LIMIT,
  VmcsField.GUEST_IDTR_BASE,
  VmcsField.GUEST_IDTR_LIMIT,
  VmcsField.GUEST_RSP,
  VmcsField.GUEST_RIP,
  VmcsField.GUEST_RFLAGS,
  VmcsField.GUEST_INTERRUPTIBILITY_INFO,
  VmcsField.GUEST_ACTIVITY_STATE,
]) {
  PROCESSOR_HELD[enc] = 1;
}
for (let i = 0; i < 8; i++) {
  for (const f of [segField.sel, segField.base, segField.limit, segField.ar]) PROCESSOR_HELD[f(i)] = 1;
}

/** One shared result object per basic exit reason: VM exits are the hot path. */
const EXIT_RESULTS: readonly VmEntryResult[] = Array.from({ length: EXIT_REASON_COUNT }, (_, reason) => Object.freeze({ kind: 'exit' as const, reason }));

/** The VT-x unit of one logical processor. */
export class Vmx {
  readonly mem: HostMemory;
  readonly cpu: CpuApi;
  /** NonRootHooks installed during non-root operation; also holds the EPT walk statistics. */
  readonly hooks: VmxNonRoot;
  /** VM exits by basic exit reason (entry failures count under 33/34). */
  readonly exitCounts = new Uint32Array(EXIT_REASON_COUNT);
  /** All VM exits, including entry failures. */
  exits = 0;
  /** VM entries that reached non-root operation. */
  entries = 0;
  /** The rule a failed VM entry broke, for diagnostics (null after a successful entry). */
  lastEntryFailure: string | null = null;
  sliceInstructions: number;

  private inVmxOperation = false;
  private current: Vmcs | null = null;
  /**
   * The VMCS whose PROCESSOR_HELD fields live in the processor since the last VM exit. VMREAD
   * and VMWRITE of RIP/RSP (and reads of RFLAGS, interruptibility, activity) use the processor;
   * any other access to held or guest-state fields writes the area back first. VM entry of the
   * same VMCS with no control or guest-structure change then skips the guest-state checks and
   * load: the state is what the processor saved (a model shortcut with the SDM's results).
   */
  private held: Vmcs | null = null;
  /** This entry runs the state the processor held (cpu.run may skip re-deriving its caches). */
  private resumeHeld = false;
  /** Translation context of the last entry: flush cached translations when it changes. */
  private lastEptp = -1;
  private lastVpid = -1;

  constructor(mem: HostMemory, cpu: CpuApi, options: VmxOptions = {}) {
    this.mem = mem;
    this.cpu = cpu;
    this.hooks = new VmxNonRoot(cpu);
    this.sliceInstructions = options.sliceInstructions ?? DEFAULT_SLICE_INSTRUCTIONS;
  }

  /** A new VMCS region carrying this processor's revision identifier (what software writes first). */
  static createVmcs(): Vmcs {
    return new Vmcs(VMCS_REVISION_ID);
  }

  /** RDMSR of a VMX capability MSR (0x480-0x491). */
  readCapability(index: number): MsrValue | undefined {
    return readVmxCapabilityMsr(index);
  }

  /** The current VMCS, or null; its region is up to date (held guest state written back). */
  get currentVmcs(): Vmcs | null {
    this.writeBack();
    return this.current;
  }

  // ------------------------------------------------------------------ VMX operation

  /** VMXON (SDM 31.3): enter VMX root operation. */
  vmxon(): VmxStatus {
    if (this.inVmxOperation) return this.fail(VmInstructionError.VMXON_IN_VMX_ROOT_OPERATION);
    this.inVmxOperation = true;
    this.current = null;
    return { kind: 'ok' };
  }

  /** VMXOFF (SDM 31.3): leave VMX operation. */
  vmxoff(): VmxStatus {
    this.requireVmx('VMXOFF');
    this.writeBack();
    this.inVmxOperation = false;
    this.current = null;
    return { kind: 'ok' };
  }

  /** VMCLEAR (SDM 31.3): launch state ← clear; the VMCS stops being current if it was. */
  vmclear(vmcs: Vmcs): VmxStatus {
    this.requireVmx('VMCLEAR');
    if (this.held === vmcs) this.writeBack();
    vmcs.launchState = LaunchState.clear;
    if (this.current === vmcs) this.current = null;
    return { kind: 'ok' };
  }

  /** VMPTRLD (SDM 31.3): make `vmcs` current after checking its revision identifier. */
  vmptrld(vmcs: Vmcs): VmxStatus {
    this.requireVmx('VMPTRLD');
    if (vmcs.revisionId !== VMCS_REVISION_ID) return this.fail(VmInstructionError.VMPTRLD_INCORRECT_VMCS_REVISION_ID);
    if (this.held !== vmcs) this.writeBack();
    this.current = vmcs;
    return { kind: 'ok' };
  }

  /**
   * VMREAD (SDM 31.3) with a 32-bit operand. Throws VmFailError after recording error 12 in
   * VM_INSTRUCTION_ERROR for an unsupported encoding.
   */
  vmread(encoding: number): number {
    const vmcs = this.requireCurrent('VMREAD', encoding);
    if (this.held === vmcs && PROCESSOR_HELD[encoding] === 1) {
      const cpu = this.cpu;
      switch (encoding) {
        case VmcsField.GUEST_RIP:
          return cpu.eip >>> 0;
        case VmcsField.GUEST_RSP:
          return cpu.regs[REG_ESP]! >>> 0;
        case VmcsField.GUEST_RFLAGS:
          return cpu.getEflags() >>> 0;
        case VmcsField.GUEST_INTERRUPTIBILITY_INFO:
          return cpu.interruptibility;
        case VmcsField.GUEST_ACTIVITY_STATE:
          return cpu.activity;
        default:
          this.writeBack();
      }
    }
    const v = vmcs.read(encoding);
    if (v < 0) this.throwFail(vmcs, 'VMREAD', encoding, VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
    return v;
  }

  /** VMWRITE (SDM 31.3) with a 32-bit operand; errors 12 (unsupported) and 13 (read-only) throw. */
  vmwrite(encoding: number, value: number): void {
    const vmcs = this.requireCurrent('VMWRITE', encoding);
    if (this.held === vmcs && fieldType(encoding) === FieldType.guest) {
      // KVM moves RIP past the instruction on most exits: that one stays in the processor.
      if (encoding === VmcsField.GUEST_RIP) {
        this.cpu.eip = value >>> 0;
        return;
      }
      if (encoding === VmcsField.GUEST_RSP) {
        this.cpu.regs[REG_ESP] = value | 0;
        return;
      }
      if (encoding !== VmcsField.VMX_PREEMPTION_TIMER_VALUE) this.writeBack();
    }
    const error = vmcs.write(encoding, value);
    if (error !== 0) this.throwFail(vmcs, 'VMWRITE', encoding, error);
  }

  /** Read a whole 64-bit field as two VMREADs (full, then high) would. */
  vmread64(encoding: number): number {
    return this.vmread(encoding) + this.vmread(encoding | 1) * TWO_POW_32;
  }

  /** Write a whole 64-bit field as two VMWRITEs (full, then high) would (Linux vmcs_write64 on 32-bit). */
  vmwrite64(encoding: number, value: number): void {
    this.vmwrite(encoding, value % TWO_POW_32);
    this.vmwrite(encoding | 1, Math.floor(value / TWO_POW_32));
  }

  /**
   * INVEPT (SDM 31.3): invalidate guest-physical and combined mappings. The processor has one
   * TLB without EPTP tags, so single-context and all-context both flush it.
   */
  invept(): VmxStatus {
    this.requireVmx('INVEPT');
    this.cpu.flushTlb();
    return { kind: 'ok' };
  }

  /** INVVPID (SDM 31.3): invalidate linear and combined mappings (the whole TLB here). */
  invvpid(): VmxStatus {
    this.requireVmx('INVVPID');
    this.cpu.flushTlb();
    return { kind: 'ok' };
  }

  /** VMLAUNCH (SDM 31.3, ch. 27): enter non-root operation with a clear VMCS. */
  vmlaunch(): VmEntryResult {
    return this.vmentry(true);
  }

  /** VMRESUME (SDM 31.3, ch. 27): re-enter non-root operation with a launched VMCS. */
  vmresume(): VmEntryResult {
    return this.vmentry(false);
  }

  /**
   * Load the current VMCS's guest-state area into the processor, for root-mode software that
   * runs the core on guest state (KVM's instruction emulator). Same loads as VM entry.
   */
  syncCpuFromVmcs(): void {
    const vmcs = this.requireCurrent('syncCpuFromVmcs', 0);
    if (this.held !== vmcs) this.loadGuestState(vmcs); // else the processor holds it already
  }

  /** Store the processor's state into the current VMCS's guest-state area (after emulation). */
  syncVmcsFromCpu(): void {
    const vmcs = this.requireCurrent('syncVmcsFromCpu', 0);
    // Emulation may have changed anything: the next entry checks and loads the whole area.
    this.held = null;
    this.saveGuestState(vmcs);
  }

  /** Write the guest state the processor holds back to its VMCS region. */
  private writeBack(): void {
    const vmcs = this.held;
    if (vmcs === null) return;
    this.held = null;
    this.saveGuestState(vmcs);
  }

  // ------------------------------------------------------------------ VM entry

  private vmentry(launch: boolean): VmEntryResult {
    this.requireVmx(launch ? 'VMLAUNCH' : 'VMRESUME');
    const vmcs = this.current;
    if (vmcs === null) return { kind: 'failInvalid' };
    // 27.1 basic checks
    if (launch && vmcs.launchState !== LaunchState.clear) return this.entryFail(vmcs, VmInstructionError.VMLAUNCH_NONCLEAR_VMCS, 'VMLAUNCH with a launched VMCS');
    if (!launch && vmcs.launchState !== LaunchState.launched) return this.entryFail(vmcs, VmInstructionError.VMRESUME_NONLAUNCHED_VMCS, 'VMRESUME with a clear VMCS');
    // Guest state as the last exit left it in the processor: nothing to check or load (see `held`).
    const resident = this.held === vmcs && (vmcs.dirty & (VmcsDirty.controls | VmcsDirty.guestStructure)) === 0;
    if (!resident) this.writeBack();
    // 27.2 controls and host state (only classes changed since the last successful entry)
    if (vmcs.dirty & VmcsDirty.controls) {
      const badControl = checkControls(vmcs, this.mem.size);
      if (badControl !== null) return this.entryFail(vmcs, VmInstructionError.ENTRY_INVALID_CONTROL_FIELD, badControl);
    }
    if (vmcs.dirty & VmcsDirty.host) {
      const badHost = checkHostState(vmcs);
      if (badHost !== null) return this.entryFail(vmcs, VmInstructionError.ENTRY_INVALID_HOST_STATE_FIELD, badHost);
    }
    // 27.3 guest state: a failure here is a VM exit with bit 31 set (27.8)
    const badGuest = resident ? null : checkGuestState(vmcs, (vmcs.dirty & (VmcsDirty.guestStructure | VmcsDirty.controls)) !== 0);
    if (badGuest !== null) {
      this.lastEntryFailure = badGuest.why;
      const reason = (ExitReason.INVALID_STATE | ExitReasonFlags.FAILED_VMENTRY) >>> 0;
      vmcs.writeInternal(VmcsField.VM_EXIT_REASON, reason);
      vmcs.writeInternal(VmcsField.EXIT_QUALIFICATION, badGuest.qualification);
      this.countExit(reason);
      return { kind: 'exit', reason };
    }
    this.lastEntryFailure = null;
    const controlsChanged = (vmcs.dirty & VmcsDirty.controls) !== 0;
    vmcs.dirty = 0;

    if (!resident) this.loadGuestState(vmcs);
    this.held = null;
    this.resumeHeld = resident;
    if (launch) vmcs.launchState = LaunchState.launched;
    const sameContext = !controlsChanged && this.hooks.configuredFor === vmcs;
    if (!sameContext) this.flushIfContextChanged(vmcs);
    else if (this.lastVpid === 0) this.cpu.flushTlb(); // without a VPID every entry flushes
    if (!sameContext) this.hooks.configure(vmcs);
    else this.hooks.beginEntry();
    this.entries++;
    return this.runNonRoot(vmcs);
  }

  /** Load the guest-state area into the processor (SDM 27.3.2, 27.3.3). */
  private loadGuestState(vmcs: Vmcs): void {
    const cpu = this.cpu;
    cpu.cr0 = vmcs.read(VmcsField.GUEST_CR0);
    cpu.cr3 = vmcs.read(VmcsField.GUEST_CR3);
    cpu.cr4 = vmcs.read(VmcsField.GUEST_CR4);
    if (vmcs.read(VmcsField.VM_ENTRY_CONTROLS) & EntryControls.LOAD_DEBUG_CONTROLS) {
      cpu.dr[DR7] = vmcs.read(VmcsField.GUEST_DR7) | 0;
      cpu.debugCtl = vmcs.read(VmcsField.GUEST_IA32_DEBUGCTL);
    }
    cpu.sysenterCs = vmcs.read(VmcsField.GUEST_SYSENTER_CS);
    cpu.sysenterEsp = vmcs.read(VmcsField.GUEST_SYSENTER_ESP);
    cpu.sysenterEip = vmcs.read(VmcsField.GUEST_SYSENTER_EIP);
    for (let i = 0; i < SEG_COUNT; i++) {
      cpu.segSel[i] = vmcs.read(segField.sel(i));
      cpu.segBase[i] = vmcs.read(segField.base(i)) | 0;
      cpu.segLimit[i] = vmcs.read(segField.limit(i)) | 0;
      cpu.segAr[i] = vmcs.read(segField.ar(i)) | 0;
    }
    cpu.gdtrBase = vmcs.read(VmcsField.GUEST_GDTR_BASE);
    cpu.gdtrLimit = vmcs.read(VmcsField.GUEST_GDTR_LIMIT);
    cpu.idtrBase = vmcs.read(VmcsField.GUEST_IDTR_BASE);
    cpu.idtrLimit = vmcs.read(VmcsField.GUEST_IDTR_LIMIT);
    cpu.regs[REG_ESP] = vmcs.read(VmcsField.GUEST_RSP) | 0;
    cpu.eip = vmcs.read(VmcsField.GUEST_RIP);
    cpu.setEflags(vmcs.read(VmcsField.GUEST_RFLAGS));
    cpu.interruptibility = vmcs.read(VmcsField.GUEST_INTERRUPTIBILITY_INFO);
    cpu.activity = vmcs.read(VmcsField.GUEST_ACTIVITY_STATE);
  }

  /**
   * Without VPIDs every VM entry invalidates linear and combined mappings (SDM 29.4.3.3); with
   * a VPID the single TLB is flushed only when the VPID or EPTP differs from the last entry's.
   */
  private flushIfContextChanged(vmcs: Vmcs): void {
    const proc = vmcs.read(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
    const proc2 = proc & ProcBased.ACTIVATE_SECONDARY_CONTROLS ? vmcs.read(VmcsField.SECONDARY_VM_EXEC_CONTROL) : 0;
    const vpid = proc2 & ProcBased2.ENABLE_VPID ? vmcs.read(VmcsField.VIRTUAL_PROCESSOR_ID) : 0;
    const eptp = proc2 & ProcBased2.ENABLE_EPT ? vmcs.read64(VmcsField.EPT_POINTER) : 0;
    if (vpid === 0 || vpid !== this.lastVpid || eptp !== this.lastEptp) this.cpu.flushTlb();
    this.lastVpid = vpid;
    this.lastEptp = eptp;
  }

  // ------------------------------------------------------------------ non-root operation and VM exit

  private runNonRoot(vmcs: Vmcs): VmEntryResult {
    const cpu = this.cpu;
    const hooks = this.hooks;
    const pin = vmcs.read(VmcsField.PIN_BASED_VM_EXEC_CONTROL);
    const proc = vmcs.read(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
    const exitCtl = vmcs.read(VmcsField.VM_EXIT_CONTROLS);
    const hostReadTsc = cpu.readTsc;
    const cr0Mask = vmcs.read(VmcsField.CR0_GUEST_HOST_MASK);
    const cr4Mask = vmcs.read(VmcsField.CR4_GUEST_HOST_MASK);
    const entryCr0 = cpu.cr0;
    const entryCr4 = cpu.cr4;
    if (proc & ProcBased.USE_TSC_OFFSETTING) {
      // RDTSC in non-root returns TSC + TSC_OFFSET (SDM 26.3); the offset is a signed 64-bit value.
      const offset = vmcs.read(VmcsField.TSC_OFFSET) + (vmcs.readHigh(VmcsField.TSC_OFFSET) | 0) * TWO_POW_32;
      cpu.readTsc = () => hostReadTsc() + offset;
    }
    cpu.nonRoot = hooks;
    if (hooks.interruptWindowExiting) cpu.eventCheck = true;

    const timerActive = (pin & PinBased.VMX_PREEMPTION_TIMER) !== 0;
    const timerValue = vmcs.read(VmcsField.VMX_PREEMPTION_TIMER_VALUE);
    // The timer bounds the run when active (SDM 26.5.1); otherwise the host's slice does.
    const timerBudget = timerActive ? timerValue * 2 ** VmxMisc.PREEMPTION_TIMER_RATE : Infinity;
    const budget = timerActive ? timerBudget : this.sliceInstructions;
    const startCount = cpu.instructionCount;

    let stop: StopReason = StopReason.budget;
    try {
      const injected = this.injectEvent(vmcs);
      if (!injected) stop = StopReason.vmExit;
      else if (budget > 0) stop = cpu.run(budget, this.resumeHeld);
    } finally {
      cpu.nonRoot = null;
      cpu.readTsc = hostReadTsc;
    }

    // Host-owned CR0/CR4 bits cannot change in non-root operation: a MOV to CR that did not exit
    // leaves them as they were (SDM 26.3). Re-assert them in case the core wrote the raw operand.
    cpu.cr0 = ((cpu.cr0 & ~cr0Mask) | (entryCr0 & cr0Mask)) >>> 0;
    cpu.cr4 = ((cpu.cr4 & ~cr4Mask) | (entryCr4 & cr4Mask)) >>> 0;

    const executed = cpu.instructionCount - startCount;
    let reason: number;
    if (stop === StopReason.vmExit) {
      reason = cpu.exit.reason;
    } else if (timerActive && (stop !== StopReason.budget || executed >= timerBudget)) {
      // The timer ran out, or the guest idles (HLT/shutdown) until it does: virtual time skips ahead.
      reason = ExitReason.PREEMPTION_TIMER;
    } else {
      // The host's tick ends the slice: how a vCPU returns to the host every ~1 ms.
      reason = ExitReason.EXTERNAL_INTERRUPT;
    }

    // The rest of the guest state stays in the processor until software asks for it (`held`).
    if (exitCtl & ExitControls.SAVE_DEBUG_CONTROLS) this.saveDebugControls(vmcs);
    this.held = vmcs;
    if (exitCtl & ExitControls.SAVE_VMX_PREEMPTION_TIMER) {
      const remaining = reason === ExitReason.PREEMPTION_TIMER ? 0 : Math.max(0, timerValue - Math.floor(executed / 2 ** VmxMisc.PREEMPTION_TIMER_RATE));
      vmcs.writeInternal(VmcsField.VMX_PREEMPTION_TIMER_VALUE, remaining);
    }
    this.writeExitInformation(vmcs, reason, stop === StopReason.vmExit, exitCtl);
    // Every VM exit clears the valid bit of the VM-entry interruption information (SDM 28.2).
    vmcs.writeInternal(VmcsField.VM_ENTRY_INTR_INFO_FIELD, vmcs.read(VmcsField.VM_ENTRY_INTR_INFO_FIELD) & ~IntrInfo.VALID);
    this.countExit(reason);
    return EXIT_RESULTS[reason] ?? { kind: 'exit', reason };
  }

  /**
   * Event injection (SDM 27.6): deliver VM_ENTRY_INTR_INFO through the guest IDT. Returns false
   * if delivery ended in a VM exit (e.g. EPT violation on the guest stack, or a triple fault);
   * the guest state is then rolled back so that the exit's IDT-vectoring information lets
   * software re-inject the event. A fault raised by the delivery itself is handled with the
   * double-fault rules, as for any event (SDM 27.6.1.1).
   */
  private injectEvent(vmcs: Vmcs): boolean {
    const info = vmcs.read(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
    if (!(info & IntrInfo.VALID)) return true;
    const cpu = this.cpu;
    const snapshot = {
      eip: cpu.eip,
      esp: cpu.regs[REG_ESP]!,
      eflags: cpu.getEflags(),
      activity: cpu.activity,
      segSel: cpu.segSel.slice(),
      segBase: cpu.segBase.slice(),
      segLimit: cpu.segLimit.slice(),
      segAr: cpu.segAr.slice(),
    };
    const rollBack = (): void => {
      cpu.eip = snapshot.eip;
      cpu.regs[REG_ESP] = snapshot.esp;
      cpu.setEflags(snapshot.eflags);
      cpu.activity = snapshot.activity;
      cpu.segSel.set(snapshot.segSel);
      cpu.segBase.set(snapshot.segBase);
      cpu.segLimit.set(snapshot.segLimit);
      cpu.segAr.set(snapshot.segAr);
    };
    const vector = info & IntrInfo.VECTOR_MASK;
    const type = (info & IntrInfo.TYPE_MASK) >>> IntrInfo.TYPE_SHIFT;
    const hasCode = (info & IntrInfo.DELIVER_ERROR_CODE) !== 0;
    // Injecting an event ends a HLT activity state (SDM 27.6.1 with 27.3.1.5's allowed events).
    if (cpu.activity === ActivityState.HLT) cpu.activity = ActivityState.ACTIVE;
    try {
      cpu.deliverEvent(vector, type, hasCode ? vmcs.read(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE) : 0, hasCode, vmcs.read(VmcsField.VM_ENTRY_INSTRUCTION_LEN));
      return true;
    } catch (e) {
      if (e === VmExitSignal.instance) {
        rollBack();
        return false;
      }
      const core = cpu as Partial<FaultHandling>;
      if (!(e instanceof FaultSignal) || typeof core.handleFault !== 'function') throw e;
      // Undo the partial frame, then deliver the nested exception (#DF, triple fault → exit 2).
      rollBack();
      cpu.activity = ActivityState.ACTIVE;
      if (core.handleFault() !== StopReason.vmExit) return true;
      rollBack();
      return false;
    }
  }

  private saveDebugControls(vmcs: Vmcs): void {
    vmcs.writeInternal(VmcsField.GUEST_DR7, this.cpu.dr[DR7] ?? 0);
    vmcs.write64Internal(VmcsField.GUEST_IA32_DEBUGCTL, this.cpu.debugCtl >>> 0);
  }

  /** Save processor state into the guest-state area (SDM 28.3). */
  private saveGuestState(vmcs: Vmcs): void {
    const cpu = this.cpu;
    vmcs.writeInternal(VmcsField.GUEST_CR0, cpu.cr0);
    vmcs.writeInternal(VmcsField.GUEST_CR3, cpu.cr3);
    vmcs.writeInternal(VmcsField.GUEST_CR4, cpu.cr4);
    if (vmcs.read(VmcsField.VM_EXIT_CONTROLS) & ExitControls.SAVE_DEBUG_CONTROLS) this.saveDebugControls(vmcs);
    vmcs.writeInternal(VmcsField.GUEST_SYSENTER_CS, cpu.sysenterCs);
    vmcs.writeInternal(VmcsField.GUEST_SYSENTER_ESP, cpu.sysenterEsp);
    vmcs.writeInternal(VmcsField.GUEST_SYSENTER_EIP, cpu.sysenterEip);
    for (let i = 0; i < SEG_COUNT; i++) {
      vmcs.writeInternal(segField.sel(i), cpu.segSel[i] ?? 0);
      vmcs.writeInternal(segField.base(i), cpu.segBase[i] ?? 0);
      vmcs.writeInternal(segField.limit(i), cpu.segLimit[i] ?? 0);
      vmcs.writeInternal(segField.ar(i), cpu.segAr[i] ?? 0);
    }
    vmcs.writeInternal(VmcsField.GUEST_GDTR_BASE, cpu.gdtrBase);
    vmcs.writeInternal(VmcsField.GUEST_GDTR_LIMIT, cpu.gdtrLimit);
    vmcs.writeInternal(VmcsField.GUEST_IDTR_BASE, cpu.idtrBase);
    vmcs.writeInternal(VmcsField.GUEST_IDTR_LIMIT, cpu.idtrLimit);
    vmcs.writeInternal(VmcsField.GUEST_RSP, cpu.regs[REG_ESP] ?? 0);
    vmcs.writeInternal(VmcsField.GUEST_RIP, cpu.eip);
    vmcs.writeInternal(VmcsField.GUEST_RFLAGS, cpu.getEflags());
    vmcs.writeInternal(VmcsField.GUEST_INTERRUPTIBILITY_INFO, cpu.interruptibility);
    vmcs.writeInternal(VmcsField.GUEST_ACTIVITY_STATE, cpu.activity);
  }

  /** Write the exit-information fields (SDM 28.2). */
  private writeExitInformation(vmcs: Vmcs, reason: number, fromCore: boolean, exitCtl: number): void {
    const x = this.cpu.exit;
    const p = this.hooks.pending;
    const hook = fromCore && p.fromHook && p.reason === reason;
    let qualification = 0;
    let linear = 0;
    let physical = 0;
    let instrLen = 0;
    let instrInfo = 0;
    let intrInfo = 0;
    let intrError = 0;
    let idtInfo = 0;
    let idtError = 0;
    if (fromCore) {
      qualification = x.qualification;
      linear = hook ? p.guestLinear : x.guestLinear;
      physical = hook ? p.guestPhysical : x.guestPhysical;
      instrInfo = x.instructionInfo;
      intrInfo = hook ? p.intrInfo : x.intrInfo;
      intrError = hook ? p.intrErrorCode : x.intrErrorCode;
      idtInfo = x.idtVectoringInfo;
      idtError = x.idtVectoringErrorCode;
      instrLen = x.instructionLength;
      if (instrLen === 0 && hook && p.instructionCaused) {
        // The core advanced EIP past the decoded instruction before the hook ran, then rewound it.
        const len = (p.eipAfterDecode - this.cpu.eip) >>> 0;
        if (len >= 1 && len <= MAX_INSTRUCTION_LENGTH) instrLen = len;
      }
    } else if (reason === ExitReason.EXTERNAL_INTERRUPT && exitCtl & ExitControls.ACK_INTR_ON_EXIT) {
      intrInfo = makeIntrInfo(HOST_TIMER_VECTOR, InterruptionType.EXTERNAL_INTERRUPT, false);
    }
    p.fromHook = false;
    vmcs.writeExitInformation(reason >>> 0, qualification >>> 0, linear >>> 0, physical, instrLen, instrInfo >>> 0, intrInfo >>> 0, intrError >>> 0, idtInfo >>> 0, idtError >>> 0);
  }

  // ------------------------------------------------------------------ helpers

  private countExit(reason: number): void {
    this.exits++;
    const basic = reason & BASIC_EXIT_REASON_MASK;
    if (basic < EXIT_REASON_COUNT) this.exitCounts[basic]!++;
  }

  /** VMfail(error): VMfailValid with a current VMCS, else VMfailInvalid (SDM 31.2). */
  private fail(error: VmInstructionError): VmxStatus {
    if (this.current === null) return { kind: 'failInvalid' };
    this.current.writeInternal(VmcsField.VM_INSTRUCTION_ERROR, error);
    return { kind: 'fail', error };
  }

  private entryFail(vmcs: Vmcs, error: VmInstructionError, why: string): VmEntryResult {
    this.lastEntryFailure = why;
    vmcs.writeInternal(VmcsField.VM_INSTRUCTION_ERROR, error);
    return { kind: 'fail', error };
  }

  private requireVmx(op: string): void {
    // Outside VMX operation these instructions raise #UD: for root-mode software that is a bug.
    if (!this.inVmxOperation) throw new Error(`bug: ${op} outside VMX operation`);
  }

  private requireCurrent(op: string, encoding: number): Vmcs {
    this.requireVmx(op);
    if (this.current === null) throw new VmFailError(op, encoding, 0);
    return this.current;
  }

  private throwFail(vmcs: Vmcs, op: string, encoding: number, error: VmInstructionError): never {
    vmcs.writeInternal(VmcsField.VM_INSTRUCTION_ERROR, error);
    throw new VmFailError(op, encoding, error);
  }
}
