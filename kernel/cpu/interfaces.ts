/**
 * Contracts between the IA-32 core (kernel/cpu), the VMX unit (kernel/vmx, kernel/ept) and the
 * KVM module (kernel/kvm). The core knows nothing about VMCS layouts or KVM: in VMX non-root
 * operation it calls NonRootHooks at the architectural decision points, and the VMX unit decides
 * whether a VM exit happens (SDM Vol. 3C ch. 26 "Instructions that cause VM exits").
 */

/** Kind of memory access, also the EPT-violation qualification bits 0-2 (SDM 28.3.3.2). */
export const Access = {
  read: 1,
  write: 2,
  fetch: 4,
} as const;
export type AccessKind = (typeof Access)[keyof typeof Access];

/** Thrown (as a singleton instance) by the core to unwind an instruction on a VM exit. */
export class VmExitSignal {
  private constructor() {}
  static readonly instance = new VmExitSignal();
}

/** Exit information the core records before unwinding with VmExitSignal (SDM 27.2). */
export interface ExitInfo {
  reason: number; // basic exit reason (SDM Appendix C); bit 31 for entry failures
  qualification: number;
  guestLinear: number; // GUEST_LINEAR_ADDRESS, when defined for the reason
  guestPhysical: number; // GUEST_PHYSICAL_ADDRESS for EPT exits
  instructionLength: number; // VM_EXIT_INSTRUCTION_LEN for instruction-caused exits
  instructionInfo: number; // VMX_INSTRUCTION_INFO (INS/OUTS address size + segment, etc.)
  intrInfo: number; // VM_EXIT_INTR_INFO for exception/NMI/external-interrupt exits
  intrErrorCode: number;
  idtVectoringInfo: number; // event being delivered when the exit happened (0 = none)
  idtVectoringErrorCode: number;
}

/**
 * Called by the core only while it is in VMX non-root operation. Each hook either returns
 * (no exit: the instruction proceeds) or records ExitInfo through `cpu.vmExit(...)`, which throws
 * VmExitSignal. Implemented by kernel/vmx from the VMCS execution controls.
 */
export interface NonRootHooks {
  // Instruction hooks return true when the instruction exits: the exit was recorded with
  // cpu.exitInstruction (no unwinding) and the instruction must end at once without effect.
  // Any hook may instead throw VmExitSignal through cpu.vmExit.
  cpuid(): boolean; // unconditional exit (reason 10)
  hlt(): boolean; // HLT exiting (proc bit 7)
  invlpg(linear: number): boolean; // INVLPG exiting (proc bit 9)
  rdtsc(): boolean; // RDTSC exiting (proc bit 12)
  rdpmc(): boolean;
  /** MOV to CR0/3/4/8, CLTS, LMSW: may exit (reason 28) per masks/shadows/CR3-load exiting. */
  crWrite(cr: number, value: number, gpr: number, accessType: number): void;
  /**
   * Optional: the value a non-exiting MOV to CR0/CR4, CLTS or LMSW actually loads (host-owned
   * bits keep their current value, SDM 26.3). Without it the operand is loaded as is.
   */
  crWriteValue?(cr: number, value: number): number;
  /** MOV from CR3/CR8 may exit; CR0/CR4 reads return the read shadow for host-owned bits. */
  crRead(cr: number, gpr: number, actual: number): number;
  movDr(dr: number, toDr: boolean, gpr: number): boolean; // MOV-DR exiting (proc bit 23)
  /** Port I/O after privilege checks passed: exit reason 30 if unconditional I/O or bitmap says so. */
  io(port: number, size: number, isIn: boolean, isString: boolean, isRep: boolean, immediate: boolean, instrLen: number): boolean;
  rdmsr(msr: number): boolean; // MSR bitmap / always when bitmaps are off (reason 31)
  wrmsr(msr: number): boolean; // (reason 32)
  /** An exception about to be delivered: exit (reason 0) if the exception bitmap says so. */
  exception(vector: number, errorCode: number, hasErrorCode: boolean): void;
  tripleFault(): void; // always exits (reason 2)
  /** VMX instructions and others that unconditionally exit in non-root (VMCALL 18 … INVEPT 50). */
  vmxInstruction(reason: number, instrLen: number): void;
  /** Between instructions, when `cpu.eventCheck` is set: interrupt window (reason 7). */
  eventWindow(): void;
  /** Guest-physical → host-physical through EPT (or identity). Exits 48/49 on a fault. */
  translateGpa(gpa: number, access: AccessKind, linear: number, isFinal: boolean, linearValid: boolean): number;
}

/** Result marker from EmulatorOps.gpaToHpa: the GPA is not RAM and must go to MMIO callbacks. */
export const MMIO = -1;

/** Thrown by EmulatorOps to abandon the instruction: it will be re-run after userspace answers. */
export class EmulationAbort {
  private constructor() {}
  static readonly instance = new EmulationAbort();
}

/**
 * KVM's instruction emulator reuses the core's decoder and execution: `cpu.emulate(ops)` runs one
 * instruction in root operation with guest state, routing guest-physical accesses and port I/O
 * through these callbacks (the x86_emulate_ops of arch/x86/kvm/emulate.c).
 */
export interface EmulatorOps {
  /** GPA → HPA for RAM (may allocate), or MMIO for an address no memslot backs. */
  gpaToHpa(gpa: number, access: AccessKind): number;
  /** MMIO read of 1/2/4 bytes; throws EmulationAbort when userspace must supply the value first. */
  mmioRead(gpa: number, size: number): number;
  mmioWrite(gpa: number, size: number, value: number): void;
  /** Port input of `count` elements (string I/O with REP gives count > 1); may throw EmulationAbort. */
  pioIn(port: number, size: number, count: number): ArrayLike<number>;
  pioOut(port: number, size: number, values: ArrayLike<number>): void;
}

/** Why `cpu.run()` returned (it never throws for a guest-caused condition). */
export const StopReason = {
  budget: 0, // instruction budget used up (the VMX unit turns this into a preemption-timer exit)
  vmExit: 1, // ExitInfo in cpu.exit
  halted: 2, // HLT outside non-root with interrupts off or none pending
  shutdown: 3, // triple fault outside non-root
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];

/** Port I/O used when the core runs bare (unit tests, no VMX): not used in non-root operation. */
export interface BareIo {
  in(port: number, size: number): number;
  out(port: number, size: number, value: number): void;
}
