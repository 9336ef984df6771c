/**
 * A minimal stand-in for the IA-32 core, implementing the parts of CpuApi the VMX unit touches.
 * `run` executes a script of steps; each step is one "instruction" of a given length that may
 * call the non-root hooks, the way the real core does at its decision points (EIP is advanced
 * past the instruction before the hook runs and rewound when a VM exit unwinds it).
 */
import { HostMemory } from '../../hw/host-memory.js';
import type { CpuApi } from '../../cpu/cpu.js';
import { StopReason, VmExitSignal, type BareIo, type EmulatorOps, type ExitInfo, type NonRootHooks } from '../../cpu/interfaces.js';

/** One scripted instruction: its length and what it does (it may throw VmExitSignal via hooks). */
export interface FakeStep {
  len: number;
  run: (cpu: FakeCpu, hooks: NonRootHooks) => void;
}

/** Call recorded by `deliverEvent`. */
export interface DeliveredEvent {
  vector: number;
  type: number;
  errorCode: number;
  hasErrorCode: boolean;
  instrLen: number;
}

const EFLAGS_FIXED1 = 2;
const EFLAGS_IF = 1 << 9;

/** Fake processor for VMX unit tests. */
export class FakeCpu implements CpuApi {
  readonly mem: HostMemory;
  regs = new Int32Array(8);
  eip = 0;
  segSel = new Uint16Array(8);
  segBase = new Int32Array(8);
  segLimit = new Int32Array(8);
  segAr = new Int32Array(8);
  gdtrBase = 0;
  gdtrLimit = 0;
  idtrBase = 0;
  idtrLimit = 0;
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  dr = new Int32Array(8);
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  efer = 0;
  pat = 0;
  debugCtl = 0;
  interruptibility = 0;
  activity = 0;
  nonRoot: NonRootHooks | null = null;
  readonly exit: ExitInfo = {
    reason: 0,
    qualification: 0,
    guestLinear: 0,
    guestPhysical: 0,
    instructionLength: 0,
    instructionInfo: 0,
    intrInfo: 0,
    intrErrorCode: 0,
    idtVectoringInfo: 0,
    idtVectoringErrorCode: 0,
  };
  eventCheck = false;
  io: BareIo = { in: () => 0xff, out: () => undefined };
  readTsc: () => number = () => this.instructionCount;
  instructionCount = 0;
  /** Page-fault linear address, as the real core exposes it. */
  pfLinear = 0;

  /** Steps `run` executes, one per instruction; when exhausted the fake spins (retiring no-ops). */
  script: FakeStep[] = [];
  /** Events delivered through `deliverEvent`. */
  delivered: DeliveredEvent[] = [];
  /** Make `deliverEvent` raise this exit (reason) instead of delivering, as an EPT fault would. */
  deliverExitReason: number | null = null;
  tlbFlushes = 0;
  /** `nonRoot` as seen by the last `run` call. */
  hooksSeenByRun: NonRootHooks | null = null;
  budgetsSeen: number[] = [];
  private flags = EFLAGS_FIXED1;
  private idleWhenDone = false;

  constructor(memSize = 1 << 20) {
    this.mem = new HostMemory(memSize);
  }

  /** After the script, report HLT (StopReason.halted) instead of spinning to the budget. */
  haltWhenDone(): this {
    this.idleWhenDone = true;
    return this;
  }

  getEflags(): number {
    return this.flags;
  }
  setEflags(value: number): void {
    this.flags = (value | EFLAGS_FIXED1) >>> 0;
  }
  get cpl(): number {
    return (this.segAr[2]! >> 5) & 3;
  }

  run(budget: number): StopReason {
    this.hooksSeenByRun = this.nonRoot;
    this.budgetsSeen.push(budget);
    const end = this.instructionCount + budget;
    while (this.instructionCount < end) {
      const hooks = this.nonRoot;
      if (hooks === null) throw new Error('fake cpu run outside non-root');
      const start = this.eip;
      try {
        if (this.eventCheck) {
          this.eventCheck = false;
          hooks.eventWindow();
        }
        const step = this.script.shift();
        if (step === undefined) {
          if (this.idleWhenDone) {
            this.activity = 1;
            return StopReason.halted;
          }
          this.instructionCount++;
          continue;
        }
        this.eip = (start + step.len) >>> 0;
        step.run(this, hooks);
        if (this.exitTaken) {
          // a hook recorded an exit with exitInstruction: the instruction had no effect
          this.exitTaken = false;
          this.eip = start;
          return StopReason.vmExit;
        }
        this.instructionCount++;
      } catch (e) {
        if (e === VmExitSignal.instance) {
          this.eip = start;
          return StopReason.vmExit;
        }
        throw e;
      }
    }
    return StopReason.budget;
  }

  emulate(_ops: EmulatorOps): boolean {
    throw new Error('not used by the VMX unit');
  }

  emulateEvent(): boolean {
    throw new Error('not used by the VMX unit');
  }

  vmExit(reason: number, qualification: number, instrLen = 0): never {
    this.recordExit(reason, qualification, instrLen);
    throw VmExitSignal.instance;
  }

  private exitTaken = false;
  exitInstruction(reason: number, qualification: number, instrLen: number): true {
    this.recordExit(reason, qualification, instrLen);
    this.exitTaken = true;
    return true;
  }

  private recordExit(reason: number, qualification: number, instrLen: number): void {
    const e = this.exit;
    e.reason = reason;
    e.qualification = qualification;
    e.guestLinear = 0;
    e.guestPhysical = 0;
    e.instructionLength = instrLen;
    e.instructionInfo = 0;
    e.intrInfo = 0;
    e.intrErrorCode = 0;
    e.idtVectoringInfo = 0;
    e.idtVectoringErrorCode = 0;
  }

  deliverEvent(vector: number, type: number, errorCode: number, hasErrorCode: boolean, instrLen: number): void {
    // Pretend to push a frame before a fault in delivery, so the test sees the rollback.
    this.regs[4] = (this.regs[4]! - 12) | 0;
    this.eip = 0xdead;
    if (this.deliverExitReason !== null) {
      this.vmExit(this.deliverExitReason, 0);
    }
    this.delivered.push({ vector, type, errorCode, hasErrorCode, instrLen });
  }

  interruptsEnabled(): boolean {
    return (this.flags & EFLAGS_IF) !== 0 && (this.interruptibility & 3) === 0;
  }
  flushTlb(): void {
    this.tlbFlushes++;
  }
  invalidatePage(_linear: number): void {}
  reset(): void {}
}
