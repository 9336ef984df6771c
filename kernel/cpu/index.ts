/**
 * Public surface of the IA-32 core: the Cpu class, its state types and the contracts with the
 * VMX unit and KVM.
 */
export { Cpu, FaultSignal, TlbBit, hasErrorCodeVector } from './processor.js';
export { Reg, SReg, EventType, type CpuState, type CpuApi } from './cpu.js';
export {
  Access,
  EmulationAbort,
  MMIO,
  StopReason,
  VmExitSignal,
  type AccessKind,
  type BareIo,
  type EmulatorOps,
  type ExitInfo,
  type NonRootHooks,
} from './interfaces.js';
export { Eflags, ARITH_FLAGS, LazyOp } from './flags.js';
export { Vector, Cr0, Cr4, Pte, PfErr, SysType, Ar, Msr, CpuidEdx, ExitReason, CrAccess } from './arch.js';
