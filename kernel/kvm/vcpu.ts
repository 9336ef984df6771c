/**
 * A KVM vCPU: a VMCS on a simulated VT-x processor and the run loop of arch/x86/kvm/x86.c
 * (facts §3.1–§3.5): complete the previous userspace I/O, inject pending interrupts, enter the
 * guest, and handle the exit — in the kernel when a fast path claims it (CPUID, HLT, PIC ports,
 * ioeventfds, coalesced zones, EPT faults on RAM), otherwise by filling kvm_run and returning.
 */
import { Cpu } from '../cpu/index.js';
import { EmulationAbort, type AccessKind, type EmulatorOps } from '../cpu/interfaces.js';
import { Reg } from '../cpu/cpu.js';
import { Vmx } from '../vmx/vmx.js';
import { VmcsField as F } from '../vmx/vmcs-fields.js';
import { CrAccessType, decodeCrQualification } from '../vmx/exit-qualification.js';
import { adjustControls, ENTRY_CAPS, EXIT_CAPS, PIN_CAPS, PROC2_CAPS, PROC_CAPS, type ControlCaps } from '../vmx/capabilities.js';
import { cpuidLookup, supportedCpuid, type CpuidEntry } from './cpuid.js';
import { createKvmRun, KVM_EXIT, KVM_EXIT_IO, KVM_INTERNAL_ERROR, readLe, writeLe, type KvmRun } from './kvm-run.js';
import { ExitReasonCounts, VCPU_STAT_NAMES, zeroStats, type StatTable, type VcpuStatName } from './stats.js';
import { VIRTUAL_NS_PER_PORT_IO } from './clock.js';
import type { Vm } from './vm.js';
import {
  CPU_BASED,
  EXIT_REASON,
  EXIT_REASON_NAMES,
  GUEST_ACTIVITY,
  GUEST_INTR_STATE,
  INTR_INFO,
  PIN_BASED,
  SECONDARY_EXEC,
  VM_EXIT_CTL,
  VMX_EXIT_REASONS_FAILED_VMENTRY,
  X86_CR0,
  X86_CR4,
  X86_EFLAGS,
} from './vmx-consts.js';

/** struct kvm_regs (the 32-bit subset). */
export interface KvmRegs {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
  esi: number;
  edi: number;
  esp: number;
  ebp: number;
  eip: number;
  eflags: number;
}

/** struct kvm_segment. */
export interface KvmSegment {
  base: number;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  g: number;
  avl: number;
  unusable: number;
}

/** struct kvm_sregs (the 32-bit subset). */
export interface KvmSregs {
  cs: KvmSegment;
  ds: KvmSegment;
  es: KvmSegment;
  fs: KvmSegment;
  gs: KvmSegment;
  ss: KvmSegment;
  tr: KvmSegment;
  ldt: KvmSegment;
  gdt: { base: number; limit: number };
  idt: { base: number; limit: number };
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
}

const SEG_FIELDS = {
  es: [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
  cs: [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES],
  ss: [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
  ds: [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
  fs: [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES],
  gs: [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES],
  ldt: [F.GUEST_LDTR_SELECTOR, F.GUEST_LDTR_BASE, F.GUEST_LDTR_LIMIT, F.GUEST_LDTR_AR_BYTES],
  tr: [F.GUEST_TR_SELECTOR, F.GUEST_TR_BASE, F.GUEST_TR_LIMIT, F.GUEST_TR_AR_BYTES],
} as const;
type SegName = keyof typeof SEG_FIELDS;

/** CR0/CR4 bits KVM owns (guest reads see the read shadow): NE and VMXE must stay 1 in VMX operation. */
const CR0_HOST_OWNED = X86_CR0.NE;
const CR4_HOST_OWNED = X86_CR4.VMXE;

/** Instructions per run slice before the vCPU returns to the host event loop. */
export const DEFAULT_SLICE = 200_000;
/** Wall time per slice: a vCPU that exits often must still return to the event loop (the host tick). */
export const SLICE_MS = 1;

/** A control value within the processor's capabilities; missing required bits are a bug. */
function adjust(required: number, optional: number, caps: ControlCaps, what: string): number {
  const v = adjustControls(required, optional, caps);
  if (v === undefined) throw new Error(`assertion failed: the processor lacks required ${what} controls`);
  return v;
}

/** A userspace I/O whose completion is pending until the next run() (complete_userspace_io). */
type PendingCompletion =
  | { kind: 'none' }
  | { kind: 'pio-in'; size: number; instrLen: number }
  | { kind: 'skip'; instrLen: number }
  | { kind: 'emulate' };

export class Vcpu {
  readonly cpu: Cpu;
  readonly vmx: Vmx;
  readonly run: KvmRun = createKvmRun();
  readonly stats: StatTable<VcpuStatName> = zeroStats(VCPU_STAT_NAMES);
  readonly exitCounts = new ExitReasonCounts();
  cpuid: CpuidEntry[] = supportedCpuid();
  /** Instructions to run before the next slice end; the VMM stops exactly at virtual-clock deadlines. */
  budget: () => number = () => DEFAULT_SLICE;
  /** Wall time per slice in ms; the VMM shortens it while the device model has I/O in flight. */
  sliceMs: () => number = () => SLICE_MS;
  /**
   * Basic reason of the last VM exit, for the per-reason table of MMIO exits to userspace: EPT
   * misconfiguration (MMIO found before), EPT violation (a read-only memslot), #PF (shadow
   * paging); -1 while real mode is emulated without exits.
   */
  private lastExitReason = -1;
  /** When set, every VM exit is described here (`tskvm run --trace`). */
  trace: ((line: string) => void) | undefined;
  private launched = false;
  /** The current slice: ends at this instruction count or this wall time, whichever comes first. */
  private sliceEndAt = 0;
  private sliceEndMs = 0;
  private pending: PendingCompletion = { kind: 'none' };
  /** Data userspace supplied for an aborted emulation (MMIO read or string IN). */
  private emulationData: { mmio: number | undefined; pio: number[] | undefined } = { mmio: undefined, pio: undefined };
  /** Further MMIO writes of one emulated instruction, reported one exit each. */
  private readonly queuedMmioWrites: Array<{ addr: number; len: number; value: number }> = [];
  private primaryControls = 0;

  constructor(readonly vm: Vm, readonly id: number) {
    this.cpu = new Cpu(vm.hostMem);
    this.cpu.readTsc = () => vm.clock.tsc(this.cpu.instructionCount);
    this.vmx = new Vmx(vm.hostMem, this.cpu);
    const vmcs = Vmx.createVmcs();
    this.vmx.vmxon();
    this.vmx.vmclear(vmcs);
    this.vmx.vmptrld(vmcs);
    this.setupControls();
  }

  private w(field: number, value: number): void {
    this.vmx.vmwrite(field, value);
  }
  private r(field: number): number {
    return this.vmx.vmread(field);
  }

  /** vmx_vcpu_setup: execution controls, host state and a reset guest state. */
  private setupControls(): void {
    const tdp = this.vm.mmu.kind === 'ept';
    // adjust_vmx_controls: what we need, forced to the capability MSRs' must-be-1 bits.
    const pin = adjust(PIN_BASED.EXT_INTR_EXITING | PIN_BASED.NMI_EXITING | PIN_BASED.VMX_PREEMPTION_TIMER, 0, PIN_CAPS, 'pin-based');
    let proc = CPU_BASED.HLT_EXITING | CPU_BASED.UNCOND_IO_EXITING | CPU_BASED.USE_MSR_BITMAPS | CPU_BASED.ACTIVATE_SECONDARY_CONTROLS;
    if (!tdp) proc |= CPU_BASED.INVLPG_EXITING | CPU_BASED.CR3_LOAD_EXITING | CPU_BASED.CR3_STORE_EXITING;
    this.primaryControls = adjust(proc, 0, PROC_CAPS, 'primary processor-based');
    this.w(F.PIN_BASED_VM_EXEC_CONTROL, pin);
    this.w(F.CPU_BASED_VM_EXEC_CONTROL, this.primaryControls);
    // VPID tags this vCPU's translations, so VM entry need not flush the TLB; KVM flushes
    // explicitly whenever it changes a mapping (EPT zaps, shadow-table zaps).
    const secondary = SECONDARY_EXEC.ENABLE_VPID | (tdp ? SECONDARY_EXEC.ENABLE_EPT | SECONDARY_EXEC.UNRESTRICTED_GUEST : 0);
    this.w(F.SECONDARY_VM_EXEC_CONTROL, adjust(secondary, 0, PROC2_CAPS, 'secondary'));
    this.w(F.VIRTUAL_PROCESSOR_ID, this.id + 1);
    this.w(F.MSR_BITMAP, this.vm.msrBitmap);
    this.w(F.EXCEPTION_BITMAP, this.vm.mmu.exceptionBitmap);
    this.w(F.CR0_GUEST_HOST_MASK, CR0_HOST_OWNED | this.vm.mmu.cr0HostOwned);
    this.w(F.CR4_GUEST_HOST_MASK, CR4_HOST_OWNED | this.vm.mmu.cr4HostOwned);
    this.w(F.VM_EXIT_CONTROLS, adjust(VM_EXIT_CTL.ACK_INTR_ON_EXIT, 0, EXIT_CAPS, 'VM-exit'));
    this.w(F.VM_ENTRY_CONTROLS, adjust(0, 0, ENTRY_CAPS, 'VM-entry'));
    if (tdp) this.w(F.EPT_POINTER, this.vm.mmu.eptp());
    // Host state: the values of our (simulated) host kernel; checked by VM entry.
    this.w(F.HOST_CR0, 0x8000_0031); // PG | NE | ET | PE
    this.w(F.HOST_CR4, X86_CR4.VMXE);
    this.w(F.HOST_CS_SELECTOR, 0x08);
    this.w(F.HOST_SS_SELECTOR, 0x10);
    this.w(F.HOST_DS_SELECTOR, 0x10);
    this.w(F.HOST_ES_SELECTOR, 0x10);
    this.w(F.HOST_TR_SELECTOR, 0x18);
    this.w(F.HOST_RIP, 0xc000_1000);
    this.w(F.HOST_RSP, 0xc000_8000);
    this.vmx.vmwrite(F.VMCS_LINK_POINTER, 0xffff_ffff);
    this.vmx.vmwrite(F.VMCS_LINK_POINTER + 1, 0xffff_ffff);
    this.resetGuestState();
  }

  /** The architectural reset state (SDM 9.1.1), what KVM gives a fresh vCPU. */
  private resetGuestState(): void {
    const seg = (sel: number, base: number, type: number): KvmSegment => ({
      base, limit: 0xffff, selector: sel, type, present: 1, dpl: 0, db: 0, s: 1, g: 0, avl: 0, unusable: 0,
    });
    this.setSregs({
      cs: seg(0xf000, 0xffff_0000, 0xb),
      ds: seg(0, 0, 3), es: seg(0, 0, 3), fs: seg(0, 0, 3), gs: seg(0, 0, 3), ss: seg(0, 0, 3),
      tr: { ...seg(0, 0, 0xb), s: 0 },
      ldt: { ...seg(0, 0, 2), s: 0, unusable: 1 },
      gdt: { base: 0, limit: 0xffff },
      idt: { base: 0, limit: 0xffff },
      cr0: X86_CR0.ET, cr2: 0, cr3: 0, cr4: 0,
    });
    this.setRegs({ eax: 0, ebx: 0, ecx: 0, edx: 0x600, esi: 0, edi: 0, esp: 0, ebp: 0, eip: 0xfff0, eflags: X86_EFLAGS.FIXED });
    this.w(F.GUEST_ACTIVITY_STATE, GUEST_ACTIVITY.ACTIVE);
    this.w(F.GUEST_INTERRUPTIBILITY_INFO, 0);
    this.w(F.GUEST_DR7, 0x400);
  }

  // ---- KVM_GET/SET_REGS, KVM_GET/SET_SREGS -------------------------------------------------

  getRegs(): KvmRegs {
    const g = this.cpu.regs;
    return {
      eax: g[Reg.EAX]! >>> 0, ebx: g[Reg.EBX]! >>> 0, ecx: g[Reg.ECX]! >>> 0, edx: g[Reg.EDX]! >>> 0,
      esi: g[Reg.ESI]! >>> 0, edi: g[Reg.EDI]! >>> 0, ebp: g[Reg.EBP]! >>> 0,
      esp: this.r(F.GUEST_RSP) >>> 0, eip: this.r(F.GUEST_RIP) >>> 0, eflags: this.r(F.GUEST_RFLAGS) >>> 0,
    };
  }

  setRegs(v: KvmRegs): void {
    const g = this.cpu.regs;
    g[Reg.EAX] = v.eax; g[Reg.EBX] = v.ebx; g[Reg.ECX] = v.ecx; g[Reg.EDX] = v.edx;
    g[Reg.ESI] = v.esi; g[Reg.EDI] = v.edi; g[Reg.EBP] = v.ebp; g[Reg.ESP] = v.esp;
    this.w(F.GUEST_RSP, v.esp >>> 0);
    this.w(F.GUEST_RIP, v.eip >>> 0);
    this.w(F.GUEST_RFLAGS, (v.eflags | X86_EFLAGS.FIXED) >>> 0);
  }

  getSregs(): KvmSregs {
    const seg = (name: SegName): KvmSegment => {
      const [sel, base, limit, arf] = SEG_FIELDS[name];
      const ar = this.r(arf);
      return {
        selector: this.r(sel), base: this.r(base) >>> 0, limit: this.r(limit) >>> 0,
        type: ar & 0xf, s: (ar >> 4) & 1, dpl: (ar >> 5) & 3, present: (ar >> 7) & 1, avl: (ar >> 12) & 1,
        db: (ar >> 14) & 1, g: (ar >> 15) & 1, unusable: (ar >> 16) & 1,
      };
    };
    const cr0Mask = this.r(F.CR0_GUEST_HOST_MASK);
    const cr4Mask = this.r(F.CR4_GUEST_HOST_MASK);
    return {
      cs: seg('cs'), ds: seg('ds'), es: seg('es'), fs: seg('fs'), gs: seg('gs'), ss: seg('ss'), tr: seg('tr'), ldt: seg('ldt'),
      gdt: { base: this.r(F.GUEST_GDTR_BASE) >>> 0, limit: this.r(F.GUEST_GDTR_LIMIT) },
      idt: { base: this.r(F.GUEST_IDTR_BASE) >>> 0, limit: this.r(F.GUEST_IDTR_LIMIT) },
      cr0: ((this.r(F.GUEST_CR0) & ~cr0Mask) | (this.r(F.CR0_READ_SHADOW) & cr0Mask)) >>> 0,
      cr2: this.cpu.cr2 >>> 0,
      cr3: this.vm.mmu.guestCr3(this),
      cr4: ((this.r(F.GUEST_CR4) & ~cr4Mask) | (this.r(F.CR4_READ_SHADOW) & cr4Mask)) >>> 0,
    };
  }

  setSregs(s: KvmSregs): void {
    for (const name of Object.keys(SEG_FIELDS) as SegName[]) {
      const [sel, base, limit, arf] = SEG_FIELDS[name];
      const x = s[name];
      const ar = x.type | (x.s << 4) | (x.dpl << 5) | (x.present << 7) | (x.avl << 12) | (x.db << 14) | (x.g << 15) | (x.unusable << 16);
      this.w(sel, x.selector);
      this.w(base, x.base >>> 0);
      this.w(limit, x.limit >>> 0);
      this.w(arf, ar);
    }
    this.w(F.GUEST_GDTR_BASE, s.gdt.base >>> 0);
    this.w(F.GUEST_GDTR_LIMIT, s.gdt.limit);
    this.w(F.GUEST_IDTR_BASE, s.idt.base >>> 0);
    this.w(F.GUEST_IDTR_LIMIT, s.idt.limit);
    this.cpu.cr2 = s.cr2;
    this.setCr0(s.cr0);
    this.setCr4(s.cr4);
    this.vm.mmu.setGuestCr3(this, s.cr3);
  }

  /** Guest CR0 as the guest wrote it (read shadow) and as the hardware runs it (host-owned bits forced). */
  setCr0(value: number): void {
    this.w(F.CR0_READ_SHADOW, value >>> 0);
    this.w(F.GUEST_CR0, this.vm.mmu.hardwareCr0(value) >>> 0);
  }
  setCr4(value: number): void {
    this.w(F.CR4_READ_SHADOW, value >>> 0);
    this.w(F.GUEST_CR4, (this.vm.mmu.hardwareCr4(value) | X86_CR4.VMXE) >>> 0);
  }

  vmcsRead(field: number): number {
    return this.r(field);
  }
  vmcsWrite(field: number, value: number): void {
    this.w(field, value);
  }

  // ---- KVM_RUN ------------------------------------------------------------------------------

  private exitToUser(reason: number, vmxReason: number): KvmRun {
    this.run.exitReason = reason;
    this.stats.userspace_exits++;
    if (reason === KVM_EXIT.INTR) this.stats.signal_exits++; // KVM_RUN interrupted (immediate_exit)
    if (vmxReason >= 0) this.exitCounts.toUser[vmxReason & 0xff]!++;
    const flags = this.r(F.GUEST_RFLAGS);
    this.run.ifFlag = (flags & X86_EFLAGS.IF) !== 0;
    this.run.readyForInterruptInjection = true; // the PIC is in the kernel
    return this.run;
  }

  /** Advance past the exiting instruction (VM_EXIT_INSTRUCTION_LEN). */
  skip(): void {
    this.skipInstruction(this.r(F.VM_EXIT_INSTRUCTION_LEN));
  }

  private skipInstruction(len: number): void {
    this.w(F.GUEST_RIP, (this.r(F.GUEST_RIP) + len) >>> 0);
    // KVM's skip_emulated_instruction also ends an STI/MOV-SS shadow.
    const intr = this.r(F.GUEST_INTERRUPTIBILITY_INFO);
    if (intr & (GUEST_INTR_STATE.STI | GUEST_INTR_STATE.MOV_SS)) {
      this.w(F.GUEST_INTERRUPTIBILITY_INFO, intr & ~(GUEST_INTR_STATE.STI | GUEST_INTR_STATE.MOV_SS));
    }
  }

  /** complete_userspace_io: finish the instruction that exited to userspace. */
  private completeUserspaceIo(): KvmRun | undefined {
    const p = this.pending;
    this.pending = { kind: 'none' };
    switch (p.kind) {
      case 'none':
        return undefined;
      case 'skip':
        this.skipInstruction(p.instrLen);
        return undefined;
      case 'pio-in': {
        const value = readLe(this.run.io.data, 0, p.size);
        const eax = this.cpu.regs[Reg.EAX]!;
        this.cpu.regs[Reg.EAX] = p.size === 4 ? value : p.size === 2 ? (eax & ~0xffff) | value : (eax & ~0xff) | value;
        this.skipInstruction(p.instrLen);
        return undefined;
      }
      case 'emulate': {
        if (this.run.exitReason === KVM_EXIT.MMIO && !this.run.mmio.isWrite) {
          this.emulationData.mmio = readLe(this.run.mmio.data, 0, this.run.mmio.len);
        } else if (this.run.exitReason === KVM_EXIT.IO && this.run.io.direction === KVM_EXIT_IO.IN) {
          const { size, count, data } = this.run.io;
          const values: number[] = [];
          for (let i = 0; i < count; i++) values.push(readLe(data, i * size, size));
          this.emulationData.pio = values;
        } else {
          return undefined; // a write exit: the instruction already completed
        }
        return this.emulate();
      }
    }
  }

  /**
   * KVM_RUN. Resolves when userspace must act (run.exitReason says why). Blocks (awaits) while
   * the guest is halted with interrupts enabled, and yields to the host event loop every slice.
   */
  async runOnce(): Promise<KvmRun> {
    const next = this.queuedMmioWrites.shift();
    if (next) return this.mmioWriteExit(next.addr, next.len, next.value);
    const early = this.completeUserspaceIo();
    if (early) return early;
    if (this.run.immediateExit) return this.exitToUser(KVM_EXIT.INTR, -1);
    this.startSlice();
    // The time of the last VM exit serves as "now" for the slice check (one clock read per side);
    // after a yield or a halt it is older than the new slice's start, which only delays the check.
    let now = performance.now();
    for (;;) {
      if (this.cpu.instructionCount >= this.sliceEndAt || now >= this.sliceEndMs) {
        // The host's tick: let the event loop run (device messages, irqs), then continue.
        this.stats.host_yields++;
        await this.vm.yieldToHost();
        this.startSlice();
        if (this.run.immediateExit) return this.exitToUser(KVM_EXIT.INTR, -1);
      }
      this.vm.kernelTimers.runDue();
      this.injectPendingIrq();
      if (this.r(F.GUEST_ACTIVITY_STATE) === GUEST_ACTIVITY.HLT) {
        const blocked = await this.block();
        if (blocked) return blocked;
        this.startSlice();
        continue;
      }
      if (this.vm.mmu.emulationRequired(this)) {
        // emulate_invalid_guest_state: one instruction at a time through the emulator.
        this.lastExitReason = -1;
        const out = this.deliverQueuedEventByEmulation() ?? this.emulate();
        if (out) return out;
        now = performance.now(); // no VM exit here to take the time from
        continue;
      }
      const slice = Math.min(this.sliceEndAt - this.cpu.instructionCount, this.budget());
      this.w(F.VMX_PREEMPTION_TIMER_VALUE, Math.max(1, this.vm.kernelTimers.budget(slice)));
      const entered = performance.now();
      const result = this.launched ? this.vmx.vmresume() : this.vmx.vmlaunch();
      now = performance.now();
      this.stats.guest_ns += Math.round((now - entered) * 1e6);
      if (result.kind !== 'exit') {
        // VMfailValid carries the VM-instruction error; VMfailInvalid (no current VMCS) has none.
        this.run.failEntry.hardwareEntryFailureReason = result.kind === 'fail' ? result.error : 0;
        return this.exitToUser(KVM_EXIT.FAIL_ENTRY, -1);
      }
      this.launched = true;
      this.stats.exits++;
      const reason = result.reason >>> 0;
      this.lastExitReason = reason & 0xffff;
      if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
        this.launched = false;
        this.run.failEntry.hardwareEntryFailureReason = reason;
        return this.exitToUser(KVM_EXIT.FAIL_ENTRY, -1);
      }
      if (this.trace) this.traceExit(reason);
      this.completeInterrupts();
      const out = this.handleExit(reason);
      if (out === 'yield') {
        await this.vm.yieldToHost();
        this.startSlice();
        if (this.run.immediateExit) return this.exitToUser(KVM_EXIT.INTR, -1);
        continue;
      }
      if (out) return out;
      this.exitCounts.inKernel[reason & 0xff]!++;
    }
  }

  /**
   * An event queued for VM entry that the hardware cannot deliver (the guest runs in the
   * emulator, or the delivery needs a task switch) is delivered by KVM in root operation.
   */
  private deliverQueuedEventByEmulation(): KvmRun | undefined {
    const info = this.r(F.VM_ENTRY_INTR_INFO_FIELD);
    if (!(info & INTR_INFO.VALID)) return undefined;
    this.w(F.VM_ENTRY_INTR_INFO_FIELD, 0);
    const code = this.r(F.VM_ENTRY_EXCEPTION_ERROR_CODE);
    const len = this.r(F.VM_ENTRY_INSTRUCTION_LEN);
    return this.runEmulator((ops) => this.cpu.emulateEvent(ops, info & 0xff, (info >> 8) & 7, code, (info & INTR_INFO.DELIVER_CODE) !== 0, len));
  }

  /** End the slice at this exit: before the next entry the vCPU yields and runs vm.sliceEnd. */
  endSlice(): void {
    this.sliceEndAt = 0;
  }

  private startSlice(): void {
    // Slice ends sit on fixed instruction multiples, so preemption-timer exits happen at the
    // same instructions whenever the host happened to yield.
    this.sliceEndAt = (Math.floor(this.cpu.instructionCount / DEFAULT_SLICE) + 1) * DEFAULT_SLICE;
    this.sliceEndMs = performance.now() + this.sliceMs();
  }

  private traceExit(reason: number): void {
    const hex = (v: number): string => (v >>> 0).toString(16);
    const idt = this.r(F.IDT_VECTORING_INFO_FIELD);
    const intr = this.r(F.VM_EXIT_INTR_INFO);
    this.trace?.(
      `exit ${EXIT_REASON_NAMES[reason & 0xffff] ?? reason} rip=${hex(this.r(F.GUEST_RIP))} qual=${hex(this.r(F.EXIT_QUALIFICATION))}` +
        (reason === EXIT_REASON.EXCEPTION_NMI ? ` intr=${hex(intr)} err=${hex(this.r(F.VM_EXIT_INTR_ERROR_CODE))}` : '') +
        (idt & INTR_INFO.VALID ? ` idt-vectoring=${hex(idt)}` : '') +
        ` insns=${this.cpu.instructionCount}`,
    );
  }

  /**
   * vmx_complete_interrupts: an event whose delivery was cut short by the exit (IDT-vectoring
   * information valid, e.g. a #PF on the stack while injecting) is injected again on the next entry.
   */
  private completeInterrupts(): void {
    const idt = this.r(F.IDT_VECTORING_INFO_FIELD);
    if (!(idt & INTR_INFO.VALID)) return;
    this.w(F.VM_ENTRY_INTR_INFO_FIELD, (idt & ~(1 << 12)) >>> 0); // bit 12 (NMI unblocking) is reserved on entry
    if (idt & INTR_INFO.DELIVER_CODE) this.w(F.VM_ENTRY_EXCEPTION_ERROR_CODE, this.r(F.IDT_VECTORING_ERROR_CODE));
    this.w(F.VM_ENTRY_INSTRUCTION_LEN, this.r(F.VM_EXIT_INSTRUCTION_LEN));
  }

  /** kvm_check_and_inject_events for the external-interrupt case (PIC in the kernel). */
  private injectPendingIrq(): void {
    const pic = this.vm.pic;
    if (!pic.hasInterrupt()) return;
    if (this.r(F.VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO.VALID) return; // something is already being injected
    const flags = this.r(F.GUEST_RFLAGS);
    const shadow = this.r(F.GUEST_INTERRUPTIBILITY_INFO) & (GUEST_INTR_STATE.STI | GUEST_INTR_STATE.MOV_SS);
    if (flags & X86_EFLAGS.IF && !shadow) {
      const vector = pic.acknowledge();
      this.w(F.VM_ENTRY_INTR_INFO_FIELD, INTR_INFO.VALID | INTR_INFO.TYPE_EXT_INTR | vector);
      this.stats.irq_injections++;
      if (this.r(F.GUEST_ACTIVITY_STATE) === GUEST_ACTIVITY.HLT) this.w(F.GUEST_ACTIVITY_STATE, GUEST_ACTIVITY.ACTIVE);
      this.setIntrWindowExiting(false);
    } else {
      this.setIntrWindowExiting(true);
    }
  }

  private setIntrWindowExiting(on: boolean): void {
    const want = on ? this.primaryControls | CPU_BASED.INTR_WINDOW_EXITING : this.primaryControls & ~CPU_BASED.INTR_WINDOW_EXITING;
    if (want !== this.primaryControls) {
      this.primaryControls = want;
      this.w(F.CPU_BASED_VM_EXEC_CONTROL, want);
    }
  }

  /** vcpu_block: wait for an interrupt while halted. Returns an exit when nothing can ever wake us. */
  private async block(): Promise<KvmRun | undefined> {
    const flags = this.r(F.GUEST_RFLAGS);
    if (!(flags & X86_EFLAGS.IF)) {
      // Halted with interrupts off: only an NMI or reset could wake it. Tell userspace (as a
      // userspace-irqchip KVM would with KVM_EXIT_HLT) so the VMM can end the machine.
      return this.exitToUser(KVM_EXIT.HLT, -1); // the HLT exit itself was counted in the kernel
    }
    while (!this.vm.pic.hasInterrupt()) {
      const woke = await this.vm.waitForInterrupt();
      if (this.run.immediateExit) return this.exitToUser(KVM_EXIT.INTR, -1);
      if (!woke) return this.exitToUser(KVM_EXIT.HLT, -1); // nothing will ever come
    }
    this.stats.halt_wakeup++;
    this.w(F.GUEST_ACTIVITY_STATE, GUEST_ACTIVITY.ACTIVE);
    return undefined;
  }

  /** The exit handler table of vmx.c; returns kvm_run to go to userspace, 'yield', or undefined to re-enter. */
  private handleExit(reason: number): KvmRun | 'yield' | undefined {
    switch (reason) {
      case EXIT_REASON.EXTERNAL_INTERRUPT:
      case EXIT_REASON.PREEMPTION_TIMER:
        this.stats.irq_exits++;
        this.exitCounts.inKernel[reason]!++;
        return 'yield';
      case EXIT_REASON.INTERRUPT_WINDOW:
        this.stats.irq_window_exits++;
        this.setIntrWindowExiting(false);
        return undefined;
      case EXIT_REASON.CPUID:
        return this.handleCpuid();
      case EXIT_REASON.HLT:
        this.stats.halt_exits++;
        this.skipInstruction(this.r(F.VM_EXIT_INSTRUCTION_LEN));
        this.w(F.GUEST_ACTIVITY_STATE, GUEST_ACTIVITY.HLT);
        return undefined;
      case EXIT_REASON.IO_INSTRUCTION:
        return this.handleIo();
      case EXIT_REASON.CR_ACCESS:
        return this.handleCrAccess();
      case EXIT_REASON.TASK_SWITCH:
        // kvm_task_switch: a switch raised while delivering an event (an IDT task gate) is
        // completed by delivering that event in root operation; one raised by an instruction
        // (JMP/CALL to a TSS or task gate, IRET with NT) by emulating the instruction.
        if (this.r(F.VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO.VALID) return this.deliverQueuedEventByEmulation();
        return this.emulate();
      case EXIT_REASON.EPT_VIOLATION:
      case EXIT_REASON.EPT_MISCONFIG:
      case EXIT_REASON.EXCEPTION_NMI:
      case EXIT_REASON.INVLPG: {
        const r = this.vm.mmu.handleExit(this, reason);
        if (r === 'emulate') return this.emulate();
        if (r === 'unhandled') return this.internalError(KVM_INTERNAL_ERROR.UNEXPECTED_EXIT_REASON, reason);
        return undefined;
      }
      case EXIT_REASON.MSR_READ:
      case EXIT_REASON.MSR_WRITE:
        // Only MSRs outside the bitmap's two ranges exit here; none of them exist on this
        // processor, so KVM answers as for any unknown MSR: #GP(0) (kvm_get_msr/kvm_set_msr fail).
        this.queueException(13, 0);
        return undefined;
      case EXIT_REASON.TRIPLE_FAULT:
        return this.exitToUser(KVM_EXIT.SHUTDOWN, reason);
      case EXIT_REASON.VMCALL:
      case EXIT_REASON.VMCLEAR:
      case EXIT_REASON.VMLAUNCH:
      case EXIT_REASON.VMPTRLD:
      case EXIT_REASON.VMPTRST:
      case EXIT_REASON.VMREAD:
      case EXIT_REASON.VMRESUME:
      case EXIT_REASON.VMWRITE:
      case EXIT_REASON.VMOFF:
      case EXIT_REASON.VMON:
      case EXIT_REASON.INVEPT:
      case EXIT_REASON.INVVPID:
        // No nested virtualization: the guest gets #UD, as KVM does with nested=0.
        this.queueException(6);
        return undefined;
      default:
        return this.internalError(KVM_INTERNAL_ERROR.UNEXPECTED_EXIT_REASON, reason);
    }
  }

  private internalError(suberror: number, reason: number): KvmRun {
    this.run.internal.suberror = suberror;
    this.run.internal.data = [reason, this.r(F.EXIT_QUALIFICATION), this.r(F.GUEST_RIP)];
    return this.exitToUser(KVM_EXIT.INTERNAL_ERROR, reason);
  }

  /** The CR0/CR4 value the guest sees: host-owned bits come from the read shadow. */
  guestCr(cr: 0 | 4): number {
    const [real, mask, shadow] = cr === 0 ? [F.GUEST_CR0, F.CR0_GUEST_HOST_MASK, F.CR0_READ_SHADOW] : [F.GUEST_CR4, F.CR4_GUEST_HOST_MASK, F.CR4_READ_SHADOW];
    const m = this.r(mask);
    return ((this.r(real) & ~m) | (this.r(shadow) & m)) >>> 0;
  }

  private gpr(n: number): number {
    return n === Reg.ESP ? this.r(F.GUEST_RSP) >>> 0 : this.cpu.regs[n]! >>> 0;
  }
  private setGpr(n: number, value: number): void {
    this.cpu.regs[n] = value;
    if (n === Reg.ESP) this.w(F.GUEST_RSP, value >>> 0);
  }

  /** Apply a guest write of CR0/CR4 and tell the MMU when paging bits changed (kvm_set_cr0/4). */
  private writeGuestCr(cr: 0 | 4, value: number): void {
    const old = this.guestCr(cr);
    if (cr === 0) this.setCr0(value);
    else this.setCr4(value);
    const paging = cr === 0 ? X86_CR0.PG | X86_CR0.WP | X86_CR0.PE : X86_CR4.PSE | X86_CR4.PGE | X86_CR4.PAE;
    if ((old ^ value) & paging) this.vm.mmu.pagingModeChanged(this);
  }

  /** handle_cr: MOV to/from CR, CLTS, LMSW that touched a host-owned bit or CR3. */
  private handleCrAccess(): undefined {
    const q = decodeCrQualification(this.r(F.EXIT_QUALIFICATION));
    switch (q.accessType) {
      case CrAccessType.MOV_TO_CR: {
        const value = this.gpr(q.gpr);
        if (q.cr === 0 || q.cr === 4) this.writeGuestCr(q.cr, value);
        else if (q.cr === 3) this.vm.mmu.setGuestCr3(this, value);
        break;
      }
      case CrAccessType.MOV_FROM_CR:
        this.setGpr(q.gpr, q.cr === 3 ? this.vm.mmu.guestCr3(this) : 0);
        break;
      case CrAccessType.CLTS:
        this.writeGuestCr(0, this.guestCr(0) & ~(1 << 3));
        break;
      case CrAccessType.LMSW: {
        // LMSW loads MP/EM/TS and can set PE but never clear it.
        const cr0 = this.guestCr(0);
        this.writeGuestCr(0, ((cr0 & ~0xe) | (q.lmswSource & 0xf) | (cr0 & 1)) >>> 0);
        break;
      }
    }
    this.skip();
    return undefined;
  }

  /** Inject a hardware exception on the next entry (kvm_queue_exception). */
  queueException(vector: number, errorCode?: number): void {
    let info = INTR_INFO.VALID | INTR_INFO.TYPE_HARD_EXCEPTION | vector;
    if (errorCode !== undefined) {
      info |= INTR_INFO.DELIVER_CODE;
      this.w(F.VM_ENTRY_EXCEPTION_ERROR_CODE, errorCode);
    }
    this.w(F.VM_ENTRY_INTR_INFO_FIELD, info >>> 0);
  }

  private handleCpuid(): undefined {
    const g = this.cpu.regs;
    const e = cpuidLookup(this.cpuid, g[Reg.EAX]! >>> 0, g[Reg.ECX]! >>> 0);
    g[Reg.EAX] = e.eax;
    g[Reg.EBX] = e.ebx;
    g[Reg.ECX] = e.ecx;
    g[Reg.EDX] = e.edx;
    this.skipInstruction(this.r(F.VM_EXIT_INSTRUCTION_LEN));
    return undefined;
  }

  /** handle_io / kvm_fast_pio (facts §3.5). */
  private handleIo(): KvmRun | undefined {
    this.stats.io_exits++;
    this.vm.clock.stall(VIRTUAL_NS_PER_PORT_IO);
    const q = this.r(F.EXIT_QUALIFICATION);
    const size = (q & 7) + 1;
    const isIn = (q & 8) !== 0;
    const isString = (q & 16) !== 0;
    const port = q >>> 16;
    if (isString) return this.emulate();
    const instrLen = this.r(F.VM_EXIT_INSTRUCTION_LEN);
    const bus = this.vm.pioBus;
    if (isIn) {
      const v = bus.read(port, size);
      if (v !== undefined) {
        const eax = this.cpu.regs[Reg.EAX]!;
        this.cpu.regs[Reg.EAX] = size === 4 ? v : size === 2 ? (eax & ~0xffff) | (v & 0xffff) : (eax & ~0xff) | (v & 0xff);
        this.skipInstruction(instrLen);
        return undefined;
      }
      const io = this.run.io;
      io.direction = KVM_EXIT_IO.IN;
      io.size = size;
      io.port = port;
      io.count = 1;
      io.data.fill(0, 0, size);
      this.pending = { kind: 'pio-in', size, instrLen };
      return this.exitToUser(KVM_EXIT.IO, EXIT_REASON.IO_INSTRUCTION);
    }
    const mask = size === 4 ? 0xffff_ffff : size === 2 ? 0xffff : 0xff;
    const value = (this.cpu.regs[Reg.EAX]! & mask) >>> 0;
    if (bus.write(port, size, value)) {
      this.skipInstruction(instrLen);
      return undefined;
    }
    const io = this.run.io;
    io.direction = KVM_EXIT_IO.OUT;
    io.size = size;
    io.port = port;
    io.count = 1;
    writeLe(io.data, 0, size, value);
    this.pending = { kind: 'skip', instrLen };
    return this.exitToUser(KVM_EXIT.IO, EXIT_REASON.IO_INSTRUCTION);
  }

  private mmioWriteExit(addr: number, len: number, value: number): KvmRun {
    const m = this.run.mmio;
    m.physAddr = addr;
    m.len = len;
    m.isWrite = true;
    m.data.fill(0);
    writeLe(m.data, 0, len, value);
    this.stats.mmio_exits++;
    return this.exitToUser(KVM_EXIT.MMIO, this.lastExitReason);
  }

  /**
   * Run `fn` on the processor holding the guest's own view of CR0/CR3/CR4 (with shadow paging
   * the hardware runs KVM's values), then apply what the instruction changed and put the
   * hardware values back. Guest state is loaded from and stored to the VMCS around it.
   */
  private withGuestView(fn: () => boolean): boolean {
    this.vmx.syncCpuFromVmcs();
    const cpu = this.cpu;
    const mmu = this.vm.mmu;
    const view = { cr0: this.guestCr(0), cr3: mmu.guestCr3(this), cr4: this.guestCr(4) & ~X86_CR4.VMXE };
    const hw = { cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4 };
    cpu.cr0 = view.cr0;
    cpu.cr3 = view.cr3;
    cpu.cr4 = view.cr4;
    const done = fn();
    const now = { cr0: cpu.cr0 >>> 0, cr3: cpu.cr3 >>> 0, cr4: cpu.cr4 >>> 0 };
    cpu.cr0 = hw.cr0;
    cpu.cr3 = hw.cr3;
    cpu.cr4 = hw.cr4;
    this.vmx.syncVmcsFromCpu();
    if (now.cr0 !== view.cr0) this.writeGuestCr(0, now.cr0);
    if (now.cr4 !== view.cr4) this.writeGuestCr(4, now.cr4);
    if (now.cr3 !== view.cr3 >>> 0) mmu.setGuestCr3(this, now.cr3);
    return done;
  }

  /**
   * x86_emulate_instruction: run the instruction at guest RIP through the core's decoder with
   * guest-physical accesses and port I/O routed through KVM (memslots, in-kernel buses) and,
   * when nothing in the kernel claims them, out to userspace.
   */
  emulate(): KvmRun | undefined {
    this.stats.insn_emulation++;
    return this.runEmulator((ops) => this.cpu.emulate(ops));
  }

  /** Run the core in emulator mode (`step` gets the ops) and turn what it asked for into an exit. */
  private runEmulator(step: (ops: EmulatorOps) => boolean): KvmRun | undefined {
    let userExit: KvmRun | undefined;
    const vm = this.vm;
    const ops: EmulatorOps = {
      gpaToHpa: (gpa: number, access: AccessKind) => vm.gpaToHpaForEmulator(gpa, access),
      mmioRead: (gpa, size) => {
        const d = this.emulationData.mmio;
        if (d !== undefined) {
          this.emulationData.mmio = undefined;
          return d;
        }
        const v = vm.mmioBus.read(gpa, size);
        if (v !== undefined) return v;
        const m = this.run.mmio;
        m.physAddr = gpa;
        m.len = size;
        m.isWrite = false;
        m.data.fill(0);
        this.stats.mmio_exits++;
        userExit = this.exitToUser(KVM_EXIT.MMIO, this.lastExitReason);
        throw EmulationAbort.instance;
      },
      mmioWrite: (gpa, size, value) => {
        if (vm.mmioBus.write(gpa, size, value)) return;
        if (userExit) this.queuedMmioWrites.push({ addr: gpa, len: size, value });
        else userExit = this.mmioWriteExit(gpa, size, value);
      },
      pioIn: (port, size, count) => {
        const d = this.emulationData.pio;
        if (d !== undefined) {
          this.emulationData.pio = undefined;
          return d;
        }
        const first = vm.pioBus.read(port, size);
        if (first !== undefined) {
          const values = [first];
          for (let i = 1; i < count; i++) values.push(vm.pioBus.read(port, size) ?? 0xffff_ffff);
          return values;
        }
        const io = this.run.io;
        io.direction = KVM_EXIT_IO.IN;
        io.size = size;
        io.port = port;
        io.count = Math.min(count, Math.floor(io.data.length / size));
        io.data.fill(0, 0, size * io.count);
        userExit = this.exitToUser(KVM_EXIT.IO, EXIT_REASON.IO_INSTRUCTION);
        throw EmulationAbort.instance;
      },
      pioOut: (port, size, values) => {
        if (values.length > 0 && vm.pioBus.write(port, size, values[0]!)) {
          for (let i = 1; i < values.length; i++) vm.pioBus.write(port, size, values[i]!);
          return;
        }
        const io = this.run.io;
        io.direction = KVM_EXIT_IO.OUT;
        io.size = size;
        io.port = port;
        io.count = values.length;
        for (let i = 0; i < values.length; i++) writeLe(io.data, i * size, size, values[i]!);
        userExit = this.exitToUser(KVM_EXIT.IO, EXIT_REASON.IO_INSTRUCTION);
      },
    };
    const completed = this.withGuestView(() => step(ops));
    if (completed) {
      if (userExit) this.pending = { kind: 'none' };
      return userExit;
    }
    if (!userExit) {
      this.stats.insn_emulation_fail++;
      return this.internalError(KVM_INTERNAL_ERROR.EMULATION, EXIT_REASON.EPT_MISCONFIG);
    }
    this.pending = { kind: 'emulate' };
    return userExit;
  }
}

