/**
 * The simulated IA-32 processor (P6 class): architectural state and the public surface used by
 * the VMX unit and the KVM module. Decode and execution live in the other files of kernel/cpu.
 *
 * Register and segment state is kept in typed arrays so the interpreter's hot paths stay
 * monomorphic. Segment access rights use the VMCS guest AR format (SDM 24.4.1): type 3:0, S 4,
 * DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15, unusable 16.
 */
import type { HostMemory } from '../hw/host-memory.js';
import type { BareIo, EmulatorOps, ExitInfo, NonRootHooks, StopReason } from './interfaces.js';

/** General-purpose register numbers in ModRM order. */
export const Reg = { EAX: 0, ECX: 1, EDX: 2, EBX: 3, ESP: 4, EBP: 5, ESI: 6, EDI: 7 } as const;

/** Segment register numbers: 0-5 in ModRM sreg order, then LDTR and TR in the same arrays. */
export const SReg = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5, LDTR: 6, TR: 7 } as const;

/** Event types of the interruption-information format (SDM 24.8.3), used for delivery too. */
export const EventType = {
  external: 0,
  nmi: 2,
  hardwareException: 3,
  softwareInterrupt: 4,
  privilegedSoftwareException: 5,
  softwareException: 6,
} as const;

export interface CpuState {
  regs: Int32Array; // EAX ECX EDX EBX ESP EBP ESI EDI
  eip: number; // uint32
  segSel: Uint16Array; // 8: ES CS SS DS FS GS LDTR TR
  segBase: Int32Array; // 8, linear base (read with >>> 0)
  segLimit: Int32Array; // 8, byte-granular effective limit (read with >>> 0)
  segAr: Int32Array; // 8, VMCS access-rights format
  gdtrBase: number;
  gdtrLimit: number;
  idtrBase: number;
  idtrLimit: number;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  dr: Int32Array; // DR0-DR7 (4/5 alias 6/7)
  /** IA32_SYSENTER_CS/ESP/EIP, IA32_EFER, IA32_PAT, IA32_APIC_BASE, IA32_DEBUGCTL */
  sysenterCs: number;
  sysenterEsp: number;
  sysenterEip: number;
  efer: number;
  pat: number;
  debugCtl: number;
  /** Interruptibility state in VMCS format: bit0 blocking by STI, bit1 blocking by MOV SS. */
  interruptibility: number;
  /** Activity state in VMCS format: 0 active, 1 HLT, 2 shutdown. */
  activity: number;
}

/** The processor. Methods declared here are implemented by the files of kernel/cpu. */
export interface CpuApi extends CpuState {
  readonly mem: HostMemory;
  /** Set by the VMX unit for the duration of non-root operation; null = root / bare. */
  nonRoot: NonRootHooks | null;
  /** Filled before a VM exit unwinds (StopReason.vmExit). */
  readonly exit: ExitInfo;
  /** Ask the run loop to call nonRoot.eventWindow() before the next instruction. */
  eventCheck: boolean;
  /** Port I/O outside non-root (bare CPU tests). */
  io: BareIo;
  /** Time-stamp counter source (host or virtual clock); RDTSC adds the VMCS TSC offset. */
  readTsc: () => number;
  /** Guest instructions retired so far (the virtual clock's source). */
  instructionCount: number;

  getEflags(): number;
  setEflags(value: number): void;
  /** Current privilege level (CS.DPL in protected mode, 0 in real mode). */
  readonly cpl: number;
  /**
   * Run until budget instructions retired, a VM exit, HLT or shutdown. `resume`: since the last
   * run() returned, only EIP, the GPRs and CR2 were changed, so the mode and segment caches
   * derived from the rest are still valid (VM entry of state the processor still holds).
   */
  run(budget: number, resume?: boolean): StopReason;
  /** KVM's emulator: run one instruction with guest-physical and I/O accesses through ops.
   * Returns true when it completed, false when an op threw EmulationAbort (state unchanged). */
  emulate(ops: EmulatorOps): boolean;
  /** Deliver an event (as deliverEvent) with guest-physical accesses through ops, as emulate(). */
  emulateEvent(ops: EmulatorOps, vector: number, type: number, errorCode: number, hasErrorCode: boolean, instrLen: number): boolean;
  /** Record exit info and throw VmExitSignal (only meaningful in non-root operation). */
  vmExit(reason: number, qualification: number, instrLen?: number): never;
  /** Record an instruction-caused VM exit without unwinding (see NonRootHooks); returns true. */
  exitInstruction(reason: number, qualification: number, instrLen: number): true;
  /** Deliver an event as if raised now (used for VM-entry event injection). */
  deliverEvent(vector: number, type: number, errorCode: number, hasErrorCode: boolean, instrLen: number): void;
  /** Can an external interrupt be taken now (IF=1, no STI/MOV SS blocking)? */
  interruptsEnabled(): boolean;
  /** Drop every cached translation (CR3 load without PGE semantics, EPTP change, INVEPT). */
  flushTlb(): void;
  /** Invalidate the translations of one linear page. */
  invalidatePage(linear: number): void;
  /** Power-on/reset state (SDM 9.1.1): real mode, CS.sel F000 base FFFF0000, EIP FFF0. */
  reset(): void;
}
