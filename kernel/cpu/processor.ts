/**
 * The IA-32 processor core (P6 class): architectural state, segmentation (SDM Vol. 3A ch. 3 and
 * 5), 32-bit paging with a software TLB (SDM 4.3, 4.10), interrupt and exception delivery (SDM
 * ch. 6), VMX non-root decision points (SDM 25.1, 26.1) and the run loop. Instruction decode and
 * execution are in execute.ts.
 */
import type { HostMemory } from '../hw/host-memory.js';
import {
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
import { EventType, Reg, SReg, type CpuApi } from './cpu.js';
import { ARITH_FLAGS, EFLAGS_WRITABLE, Eflags, lazyCf, lazyFlags, lazyOf, parity8 } from './flags.js';
import { Ar, Cr0, Cr4, PDE4M_RESERVED, PAT_DEFAULT, PfErr, Pte, SysType, Vector } from './arch.js';
import { step } from './execute.js';
import { runFast32 } from './fast-path.js';
import { BlockCache, runBlocks } from './block-cache.js';
import { TaskSource, taskSwitch } from './task-switch.js';
import { tuneJitForInterpreter } from './jit-tuning.js';
import { X87State } from './x87-state.js';

// before any of the interpreter's functions is hot enough to be optimized
tuneJitForInterpreter();

/** Thrown (as a singleton) to unwind an instruction that raised an exception; see Cpu.faultVector. */
export class FaultSignal {
  private constructor() {}
  static readonly instance = new FaultSignal();
}

/** Software-TLB entry bits below the 4 KiB frame address (the frame is in bits 31:12). */
export const TlbBit = {
  read: 0x1,
  write: 0x2,
  userRead: 0x4,
  userWrite: 0x8,
  fetch: 0x10,
  userFetch: 0x20,
  global: 0x40,
  large: 0x80,
} as const;

/** How many TLB slots are tracked for a cheap flush before falling back to clearing the array. */
const TLB_TRACKED = 8192;
const PAGE = 0x1000;
const OFFSET_MASK = 0xfff;
const FRAME_MASK = -4096;
const EMPTY_EXIT: ExitInfo = {
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

/** Exception classes for the double-fault rules (SDM Vol. 3A table 6-5). */
function faultClass(vector: number): number {
  if (vector === Vector.PF) return 2;
  if (vector === Vector.DE || (vector >= Vector.TS && vector <= Vector.GP)) return 1;
  return 0;
}

/** Vectors whose exceptions push an error code (SDM Vol. 3A 6.13). */
export function hasErrorCodeVector(vector: number): boolean {
  return vector === Vector.DF || (vector >= Vector.TS && vector <= Vector.PF) || vector === Vector.AC;
}

/**
 * The processor. Every member is public so the execution functions in execute.ts can reach the
 * hot state without accessors; only the CpuApi members are meant for other folders.
 */
export class Cpu implements CpuApi {
  readonly mem: HostMemory;
  /** Views of mem copied onto the CPU: one load less on every access of the hot paths. */
  readonly ram8: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  readonly ramView: DataView;
  nonRoot: NonRootHooks | null = null;
  readonly exit: ExitInfo = { ...EMPTY_EXIT };
  eventCheck = false;
  io: BareIo = { in: () => -1, out: () => {} };
  readTsc: () => number = () => this.instructionCount;
  instructionCount = 0;

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
  pat = PAT_DEFAULT;
  debugCtl = 0;
  interruptibility = 0;
  activity = 0;
  /** Added to readTsc() by RDTSC; changed by WRMSR IA32_TSC. */
  tscAdjust = 0;
  /** Linear address of the last #PF raised (for the VMX unit's exception-exit qualification). */
  pfLinear = 0;
  /** x87 FPU registers and control/status state (x87.ts executes the instructions). */
  readonly fpu = new X87State();

  // --- flags: static bits plus the lazily evaluated status flags ---
  flags = Eflags.FIXED1 as number;
  lazyMask = 0;
  lzOp = 0;
  lzA = 0;
  lzB = 0;
  lzRes = 0;
  lzBits = 32;

  // --- derived mode state, recomputed by updateMode() ---
  pe = false;
  pg = false;
  vm86 = false;
  cplv = 0;
  code32 = false;
  /** 32-bit code with the fast path on: the run loop uses fast-path.ts runFast32. */
  fast32 = false;
  /** Off makes every instruction take the general decoder (tests compare the two paths). */
  fastPathEnabled = true;
  /** Translated blocks (block-cache.ts) where the fast path runs; off = runFast32 alone. */
  blockCacheEnabled = true;
  readonly blockCache = new BlockCache();
  ss32 = false;
  /** TLB permission bit for data reads / writes / fetches at the current privilege level. */
  accR: number = TlbBit.read;
  accW: number = TlbBit.write;
  accX: number = TlbBit.fetch;
  user = false;
  /** CS base and effective limit, copied out of the arrays for instruction fetch. */
  csBase = 0;
  csLimit = 0xffff;
  /** Per segment: bit0 readable, bit1 writable (0 = unusable), bits 4/5 the same for a flat
   * segment (no checks needed); valid offsets segLo..segHi. */
  segRights = new Int32Array(8);
  segLo = new Float64Array(8);
  segHi = new Float64Array(8);

  // --- software TLB (linear page → host frame | TlbBit) ---
  tlb = new Int32Array(1 << 20);
  tlbPages = new Int32Array(TLB_TRACKED);
  tlbCount = 0;
  tlbOverflow = false;
  /** EIPs [fetchLo, fetchHi] lie in the cached code page and inside the CS limit; their bytes
   * are at host index EIP + fetchDelta (empty when fetchLo > fetchHi). */
  fetchLo = 1;
  fetchHi = 0;
  fetchDelta = 0;
  noTlbFill = false;
  lastCr0 = 0;
  lastCr3 = 0;
  lastCr4 = 0;
  lastNonRoot: NonRootHooks | null = null;
  /** Guest-physical address of the last unbacked (MMIO / out-of-range) translation. */
  lastGpa = 0;

  // --- per-instruction decode state ---
  instrStart = 0;
  instrEsp = 0;
  o32 = false;
  a32 = false;
  segOvr = -1;
  rep = 0;
  lock = false;
  /** False while o32/a32/segOvr/rep/lock hold the 32-bit no-prefix default (fast-path.ts). */
  decodeDirty = true;
  modrm = 0;
  mod = 0;
  rmReg = 0;
  regField = 0;
  eaSeg = 0;
  eaOff = 0;
  budgetEnd = 0;
  stopReason = -1;

  // --- exception in flight ---
  faultVector = 0;
  faultCode = 0;
  faultHasCode = false;
  /** IDT-vectoring information of the event being delivered (0 = none), SDM 24.9.3 format. */
  delivering = 0;
  deliveringCode = 0;
  emuOps: EmulatorOps | null = null;
  /** Nonzero when the run loop must take the slow per-instruction path (see updateAttention). */
  attention = 0;
  /** Armed instruction / data breakpoints, and data-breakpoint hits of the current instruction. */
  dbExec = false;
  dbData = false;
  dbHits = 0;
  descLo = 0;
  descHi = 0;
  private readonly saveRegs = new Int32Array(8);
  private readonly saveSegSel = new Uint16Array(8);
  private readonly saveSegBase = new Int32Array(8);
  private readonly saveSegLimit = new Int32Array(8);
  private readonly saveSegAr = new Int32Array(8);
  private readonly saveMisc = new Float64Array(12);

  constructor(mem: HostMemory) {
    this.mem = mem;
    this.ram8 = mem.u8;
    this.ram16 = mem.u16;
    this.ram32 = mem.i32;
    this.ramView = mem.view;
    this.reset();
  }

  // =============================================================== state, flags and mode

  get cpl(): number {
    return this.cplv;
  }

  /** Power-on state (SDM Vol. 3A 9.1.1, table 9-1). */
  reset(): void {
    this.regs.fill(0);
    this.regs[Reg.EDX] = 0x683;
    this.eip = 0xfff0;
    for (let s = 0; s < 6; s++) this.setSegRaw(s, 0, 0, 0xffff, 0x93);
    this.setSegRaw(SReg.CS, 0xf000, 0xffff0000 | 0, 0xffff, 0x9b);
    this.setSegRaw(SReg.LDTR, 0, 0, 0xffff, 0x82);
    this.setSegRaw(SReg.TR, 0, 0, 0xffff, 0x8b);
    this.gdtrBase = this.idtrBase = 0;
    this.gdtrLimit = this.idtrLimit = 0xffff;
    this.cr0 = Cr0.CD | Cr0.NW | Cr0.ET;
    this.cr2 = this.cr3 = this.cr4 = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.efer = 0;
    this.pat = PAT_DEFAULT;
    this.debugCtl = 0;
    this.interruptibility = 0;
    this.activity = 0;
    this.flags = Eflags.FIXED1;
    this.lazyMask = 0;
    this.tscAdjust = 0;
    this.eventCheck = false;
    this.fpu.reset();
    this.flushTlb();
    this.updateMode();
  }

  private setSegRaw(s: number, sel: number, base: number, limit: number, ar: number): void {
    this.segSel[s] = sel;
    this.segBase[s] = base;
    this.segLimit[s] = limit;
    this.segAr[s] = ar;
  }

  /** Full EFLAGS with the lazy status flags folded in. */
  getEflags(): number {
    let f = this.flags;
    if (this.lazyMask !== 0) {
      f = (f & ~this.lazyMask) | (lazyFlags(this.lzOp, this.lzA, this.lzB, this.lzRes, this.lzBits) & this.lazyMask);
    }
    return (f | Eflags.FIXED1) >>> 0;
  }

  /** Load EFLAGS (no privilege rules: callers apply POPF/IRET rules first). */
  setEflags(value: number): void {
    const old = this.flags;
    this.flags = (value & EFLAGS_WRITABLE) | Eflags.FIXED1;
    this.lazyMask = 0;
    if ((old ^ this.flags) & Eflags.VM) this.updateMode();
    if (this.flags & Eflags.IF && !(old & Eflags.IF)) this.eventCheck = true;
    this.updateAttention();
  }

  /** Fold the lazy status flags into `flags` (before partial flag updates). */
  materialize(): void {
    if (this.lazyMask !== 0) {
      this.flags = this.getEflags();
      this.lazyMask = 0;
    }
  }

  /** Record an ALU result for lazy evaluation of all six status flags. */
  setLazy(op: number, a: number, b: number, res: number, bits: number): void {
    this.lzOp = op;
    this.lzA = a;
    this.lzB = b;
    this.lzRes = res;
    this.lzBits = bits;
    this.lazyMask = ARITH_FLAGS;
  }

  /** Record INC/DEC: CF keeps its value. */
  setLazyKeepCf(op: number, a: number, res: number, bits: number): void {
    const cf = this.getCF();
    this.flags = (this.flags & ~Eflags.CF) | cf;
    this.lzOp = op;
    this.lzA = a;
    this.lzB = 1;
    this.lzRes = res;
    this.lzBits = bits;
    this.lazyMask = ARITH_FLAGS & ~Eflags.CF;
  }

  /** Set the given status flags to the given values (eager). */
  setFlagBits(mask: number, value: number): void {
    this.materialize();
    this.flags = (this.flags & ~mask) | (value & mask);
  }

  getCF(): number {
    if (this.lazyMask & Eflags.CF) return lazyCf(this.lzOp, this.lzA, this.lzB, this.lzRes, this.lzBits);
    return this.flags & 1;
  }
  getZF(): number {
    if (this.lazyMask & Eflags.ZF) return (this.lzRes << (32 - this.lzBits)) === 0 ? 1 : 0;
    return (this.flags >> 6) & 1;
  }
  getSF(): number {
    if (this.lazyMask & Eflags.SF) return (this.lzRes >>> (this.lzBits - 1)) & 1;
    return (this.flags >> 7) & 1;
  }
  getOF(): number {
    if (this.lazyMask & Eflags.OF) return lazyOf(this.lzOp, this.lzA, this.lzB, this.lzRes, this.lzBits);
    return (this.flags >> 11) & 1;
  }
  getPF(): number {
    if (this.lazyMask & Eflags.PF) return parity8(this.lzRes);
    return (this.flags >> 2) & 1;
  }
  getAF(): number {
    if (this.lazyMask & Eflags.AF) return (this.getEflags() >> 4) & 1;
    return (this.flags >> 4) & 1;
  }

  /** Jcc/SETcc/CMOVcc condition `cc` (SDM Vol. 1 table B-1). */
  cond(cc: number): boolean {
    let r: number;
    switch (cc >> 1) {
      case 0:
        r = this.getOF();
        break;
      case 1:
        r = this.getCF();
        break;
      case 2:
        r = this.getZF();
        break;
      case 3:
        r = this.getCF() | this.getZF();
        break;
      case 4:
        r = this.getSF();
        break;
      case 5:
        r = this.getPF();
        break;
      case 6:
        r = this.getSF() ^ this.getOF();
        break;
      default:
        r = this.getZF() | (this.getSF() ^ this.getOF());
        break;
    }
    return (r ^ (cc & 1)) !== 0;
  }

  get iopl(): number {
    return (this.flags >> 12) & 3;
  }

  /** Recompute the mode flags and segment caches from CR0, EFLAGS and the segment registers. */
  updateMode(): void {
    this.pe = (this.cr0 & Cr0.PE) !== 0;
    this.pg = this.pe && (this.cr0 & Cr0.PG) !== 0;
    this.vm86 = this.pe && (this.flags & Eflags.VM) !== 0;
    this.cplv = !this.pe ? 0 : this.vm86 ? 3 : (this.segAr[SReg.SS]! >> Ar.DPL_SHIFT) & 3;
    for (let s = 0; s < 8; s++) this.updateSeg(s);
    this.setCpl(this.cplv);
  }

  setCpl(cpl: number): void {
    this.cplv = cpl;
    this.user = cpl === 3;
    this.accR = this.user ? TlbBit.userRead : TlbBit.read;
    this.accW = this.user ? TlbBit.userWrite : TlbBit.write;
    this.accX = this.user ? TlbBit.userFetch : TlbBit.fetch;
    this.invalidateFetch();
  }

  /** Recompute the access cache of one segment register from its hidden part. */
  updateSeg(s: number): void {
    const ar = this.segAr[s]!;
    const limit = this.segLimit[s]! >>> 0;
    let rights = 3;
    let lo = 0;
    let hi = limit;
    if (ar & Ar.UNUSABLE) {
      rights = 0;
      lo = 1;
      hi = 0;
    } else if (this.pe && !this.vm86 && s < 6) {
      if (ar & Ar.CODE) rights = ar & Ar.WRITABLE ? 1 : 0;
      else {
        rights = ar & Ar.WRITABLE ? 3 : 1;
        if (ar & Ar.EXPAND_DOWN) {
          lo = limit + 1;
          hi = ar & Ar.DB ? 0xffffffff : 0xffff;
        }
      }
    }
    // bits 4/5: flat readable/writable (base 0, limit 4 GiB): the hot paths skip the checks
    const flat = this.segBase[s] === 0 && lo === 0 && hi === 0xffffffff ? rights << 4 : 0;
    this.segRights[s] = rights | flat;
    this.segLo[s] = lo;
    this.segHi[s] = hi;
    if (s === SReg.CS) {
      this.code32 = (ar & Ar.DB) !== 0;
      this.fast32 = this.code32 && this.fastPathEnabled;
      this.invalidateFetch();
      this.csBase = this.segBase[s]!;
      this.csLimit = hi;
    } else if (s === SReg.SS) this.ss32 = (ar & Ar.DB) !== 0;
  }

  /** Pick up state written directly by the VMX unit or KVM (control registers, segments, mode). */
  sync(): void {
    // XOR compares as int32: the VMX unit may store control registers as uint32
    const crChanged = ((this.cr0 ^ this.lastCr0) | (this.cr3 ^ this.lastCr3) | (this.cr4 ^ this.lastCr4)) !== 0;
    if (crChanged || this.nonRoot !== this.lastNonRoot) {
      this.lastCr0 = this.cr0;
      this.lastCr3 = this.cr3;
      this.lastCr4 = this.cr4;
      this.lastNonRoot = this.nonRoot;
      this.flushTlb();
    }
    this.updateMode();
    this.updateDebug();
  }

  interruptsEnabled(): boolean {
    return (this.flags & Eflags.IF) !== 0 && (this.interruptibility & 3) === 0;
  }

  // =============================================================== exceptions

  /** Raise exception `vector` from the current instruction (unwinds with FaultSignal). */
  fault(vector: number, code: number, hasCode: boolean): never {
    this.faultVector = vector;
    this.faultCode = code;
    this.faultHasCode = hasCode;
    throw FaultSignal.instance;
  }
  gp(code: number): never {
    return this.fault(Vector.GP, code, true);
  }
  ud(): never {
    return this.fault(Vector.UD, 0, false);
  }
  segFault(s: number, code: number): never {
    return this.fault(s === SReg.SS ? Vector.SS : Vector.GP, code, true);
  }

  vmExit(reason: number, qualification: number, instrLen = 0): never {
    this.recordExit(reason, qualification, instrLen);
    throw VmExitSignal.instance;
  }

  /**
   * A VM exit caused by the current instruction, without unwinding: EIP and ESP go back to the
   * instruction boundary and the run loop returns StopReason.vmExit once the handler returns
   * (which it must do at once). Cheaper than vmExit's throw on the exits KVM takes most.
   */
  exitInstruction(reason: number, qualification: number, instrLen: number): true {
    this.recordExit(reason, qualification, instrLen);
    this.eip = this.instrStart;
    this.regs[Reg.ESP] = this.instrEsp;
    this.delivering = 0;
    this.rep = 0;
    this.stopReason = StopReason.vmExit;
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
    e.idtVectoringInfo = this.delivering;
    e.idtVectoringErrorCode = this.delivering !== 0 ? this.deliveringCode : 0;
  }

  // =============================================================== segmentation

  /** Linear address of seg:off after the limit and rights checks (kind 1 read, 2 write). */
  segAddr(s: number, off: number, len: number, kind: number): number {
    if ((this.segRights[s]! & kind) === 0 || off < this.segLo[s]! || off + len - 1 > this.segHi[s]!) this.segFault(s, 0);
    return (this.segBase[s]! + off) | 0;
  }

  rd8(s: number, off: number): number {
    if ((this.segRights[s]! & FLAT_READ) !== 0) return this.rdLin8(off | 0);
    return this.rdLin8(this.segAddr(s, off, 1, 1));
  }
  rd16(s: number, off: number): number {
    if ((this.segRights[s]! & FLAT_READ) !== 0 && off < 0xffffffff) return this.rdLin16(off | 0);
    return this.rdLin16(this.segAddr(s, off, 2, 1));
  }
  rd32(s: number, off: number): number {
    if ((this.segRights[s]! & FLAT_READ) !== 0 && off <= 0xfffffffc) return this.rdLin32(off | 0);
    return this.rdLin32(this.segAddr(s, off, 4, 1));
  }
  wr8(s: number, off: number, v: number): void {
    if ((this.segRights[s]! & FLAT_WRITE) !== 0) this.wrLin8(off | 0, v);
    else this.wrLin8(this.segAddr(s, off, 1, 2), v);
  }
  wr16(s: number, off: number, v: number): void {
    if ((this.segRights[s]! & FLAT_WRITE) !== 0 && off < 0xffffffff) this.wrLin16(off | 0, v);
    else this.wrLin16(this.segAddr(s, off, 2, 2), v);
  }
  wr32(s: number, off: number, v: number): void {
    if ((this.segRights[s]! & FLAT_WRITE) !== 0 && off <= 0xfffffffc) this.wrLin32(off | 0, v);
    else this.wrLin32(this.segAddr(s, off, 4, 2), v);
  }
  /** Read of `bits` width (8/16/32). */
  rdSz(s: number, off: number, bits: number): number {
    return bits === 32 ? this.rd32(s, off) : bits === 16 ? this.rd16(s, off) : this.rd8(s, off);
  }
  wrSz(s: number, off: number, bits: number, v: number): void {
    if (bits === 32) this.wr32(s, off, v);
    else if (bits === 16) this.wr16(s, off, v);
    else this.wr8(s, off, v);
  }

  /** Read a descriptor into descLo/descHi; false when the selector is outside its table. */
  readDescriptor(sel: number): boolean {
    const idx = sel & ~7;
    let base: number;
    let limit: number;
    if (sel & 4) {
      if (this.segAr[SReg.LDTR]! & Ar.UNUSABLE || (this.segSel[SReg.LDTR]! & ~3) === 0) return false;
      base = this.segBase[SReg.LDTR]!;
      limit = this.segLimit[SReg.LDTR]! >>> 0;
    } else {
      base = this.gdtrBase;
      limit = this.gdtrLimit;
    }
    if (idx + 7 > limit) return false;
    this.descLo = this.rdSys32((base + idx) | 0);
    this.descHi = this.rdSys32((base + idx + 4) | 0);
    return true;
  }

  /** Set the accessed bit of the descriptor last read (SDM 3.4.5.1). */
  markAccessed(sel: number): void {
    if (this.descHi & 0x100) return;
    this.descHi |= 0x100;
    const base = sel & 4 ? this.segBase[SReg.LDTR]! : this.gdtrBase;
    this.wrSys32((base + (sel & ~7) + 4) | 0, this.descHi);
  }

  static descBase(lo: number, hi: number): number {
    return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
  }
  static descLimit(lo: number, hi: number): number {
    const raw = (lo & 0xffff) | (hi & 0xf0000);
    return hi & 0x800000 ? ((raw << 12) | 0xfff) | 0 : raw;
  }
  static descAr(hi: number): number {
    return ((hi >>> 8) & 0xff) | ((hi >>> 8) & 0xf000);
  }

  /** Load the hidden part of segment s from descLo/descHi. */
  loadFromDesc(s: number, sel: number): void {
    this.segSel[s] = sel;
    this.segBase[s] = Cpu.descBase(this.descLo, this.descHi);
    this.segLimit[s] = Cpu.descLimit(this.descLo, this.descHi);
    this.segAr[s] = Cpu.descAr(this.descHi);
    this.updateSeg(s);
  }

  /** Real-mode / virtual-8086 segment load: base = selector × 16 (SDM 20.1.1). */
  loadRealSeg(s: number, sel: number): void {
    this.segSel[s] = sel;
    this.segBase[s] = sel << 4;
    if (this.vm86) {
      this.segLimit[s] = 0xffff;
      this.segAr[s] = s === SReg.CS ? 0xfb : 0xf3;
    } else if (this.segAr[s]! & Ar.UNUSABLE) this.segAr[s] = s === SReg.CS ? 0x9b : 0x93;
    this.updateSeg(s);
  }

  /** MOV/POP/LDS-style load of a data or stack segment register (SDM 3.4.3, MOV instruction). */
  loadSeg(s: number, sel: number): void {
    if (!this.pe || this.vm86) {
      this.loadRealSeg(s, sel);
      return;
    }
    const cpl = this.cplv;
    const rpl = sel & 3;
    if ((sel & ~3) === 0) {
      if (s === SReg.SS) this.gp(0);
      this.segSel[s] = sel;
      this.segAr[s] = Ar.UNUSABLE;
      this.segBase[s] = 0;
      this.segLimit[s] = 0;
      this.updateSeg(s);
      return;
    }
    if (!this.readDescriptor(sel)) this.gp(sel & ~3);
    const ar = Cpu.descAr(this.descHi);
    const dpl = (ar >> Ar.DPL_SHIFT) & 3;
    if (!(ar & Ar.S)) this.gp(sel & ~3);
    if (s === SReg.SS) {
      if (rpl !== cpl || dpl !== cpl || ar & Ar.CODE || !(ar & Ar.WRITABLE)) this.gp(sel & ~3);
      if (!(ar & Ar.P)) this.fault(Vector.SS, sel & ~3, true);
    } else {
      if (ar & Ar.CODE && !(ar & Ar.WRITABLE)) this.gp(sel & ~3);
      const conformingCode = (ar & (Ar.CODE | Ar.EXPAND_DOWN)) === (Ar.CODE | Ar.EXPAND_DOWN);
      if (!conformingCode && dpl < Math.max(cpl, rpl)) this.gp(sel & ~3);
      if (!(ar & Ar.P)) this.fault(Vector.NP, sel & ~3, true);
    }
    this.markAccessed(sel);
    this.loadFromDesc(s, sel);
  }

  /** Load CS for a far JMP/CALL/RET/IRET already checked; sets CPL. */
  loadCs(sel: number, cpl: number): void {
    this.markAccessed(sel);
    this.loadFromDesc(SReg.CS, (sel & ~3) | cpl);
    if (cpl !== this.cplv) this.setCpl(cpl);
  }

  /** Check a code-segment descriptor (in descLo/descHi) as a far JMP/CALL target (SDM JMP). */
  checkFarCode(sel: number): void {
    const ar = Cpu.descAr(this.descHi);
    const dpl = (ar >> Ar.DPL_SHIFT) & 3;
    if ((ar & (Ar.S | Ar.CODE)) !== (Ar.S | Ar.CODE)) this.gp(sel & ~3);
    if (ar & Ar.EXPAND_DOWN) {
      if (dpl > this.cplv) this.gp(sel & ~3);
    } else if ((sel & 3) > this.cplv || dpl !== this.cplv) this.gp(sel & ~3);
    if (!(ar & Ar.P)) this.fault(Vector.NP, sel & ~3, true);
  }

  /** After a return to an outer level: null data segments the new CPL may not use (SDM RET). */
  nullOuterSegments(): void {
    for (const s of OUTER_NULL_SEGS) {
      const ar = this.segAr[s]!;
      if (ar & Ar.UNUSABLE) continue;
      const dpl = (ar >> Ar.DPL_SHIFT) & 3;
      const conformingCode = (ar & (Ar.CODE | Ar.EXPAND_DOWN)) === (Ar.CODE | Ar.EXPAND_DOWN);
      if (!conformingCode && dpl < this.cplv) {
        this.segSel[s] = 0;
        this.segAr[s] = Ar.UNUSABLE;
        this.updateSeg(s);
      }
    }
  }

  // =============================================================== stack

  push16(v: number): void {
    const esp = this.regs[Reg.ESP]!;
    if (this.ss32) {
      const n = (esp - 2) | 0;
      this.wr16(SReg.SS, n >>> 0, v);
      this.regs[Reg.ESP] = n;
    } else {
      const n = (esp - 2) & 0xffff;
      this.wr16(SReg.SS, n, v);
      this.regs[Reg.ESP] = (esp & ~0xffff) | n;
    }
  }
  push32(v: number): void {
    const esp = this.regs[Reg.ESP]!;
    if (this.ss32) {
      const n = (esp - 4) | 0;
      this.wr32(SReg.SS, n >>> 0, v);
      this.regs[Reg.ESP] = n;
    } else {
      const n = (esp - 4) & 0xffff;
      this.wr32(SReg.SS, n, v);
      this.regs[Reg.ESP] = (esp & ~0xffff) | n;
    }
  }
  pushV(v: number): void {
    if (this.o32) this.push32(v);
    else this.push16(v);
  }
  /** Stack offset of the top of stack (ESP or SP). */
  stackTop(): number {
    return this.ss32 ? this.regs[Reg.ESP]! >>> 0 : this.regs[Reg.ESP]! & 0xffff;
  }
  /** Read a stack item `depth` bytes above the top without popping. */
  peek(depth: number, bits: number): number {
    const off = this.ss32 ? (this.regs[Reg.ESP]! + depth) >>> 0 : (this.regs[Reg.ESP]! + depth) & 0xffff;
    return bits === 32 ? this.rd32(SReg.SS, off) : this.rd16(SReg.SS, off);
  }
  /** Drop `n` bytes from the stack. */
  addSp(n: number): void {
    const esp = this.regs[Reg.ESP]!;
    this.regs[Reg.ESP] = this.ss32 ? (esp + n) | 0 : (esp & ~0xffff) | ((esp + n) & 0xffff);
  }
  pop16(): number {
    const v = this.peek(0, 16);
    this.addSp(2);
    return v;
  }
  pop32(): number {
    const v = this.peek(0, 32);
    this.addSp(4);
    return v;
  }
  popV(): number {
    return this.o32 ? this.pop32() : this.pop16();
  }

  // =============================================================== linear memory and the TLB

  rdLin8(lin: number): number {
    const e = this.tlb[lin >>> 12]!;
    if ((e & this.accR) !== 0) return this.ram8[(e & FRAME_MASK) | (lin & OFFSET_MASK)]!;
    return this.rdSlow(lin, 1, this.accR);
  }
  rdLin16(lin: number): number {
    const e = this.tlb[lin >>> 12]!;
    if ((e & this.accR) !== 0 && (lin & OFFSET_MASK) !== OFFSET_MASK) {
      const hpa = (e & FRAME_MASK) | (lin & OFFSET_MASK);
      return (hpa & 1) === 0 ? this.ram16[hpa >> 1]! : this.ram8[hpa]! | (this.ram8[hpa + 1]! << 8);
    }
    return this.rdSlow(lin, 2, this.accR);
  }
  rdLin32(lin: number): number {
    const e = this.tlb[lin >>> 12]!;
    if ((e & this.accR) !== 0 && (lin & OFFSET_MASK) <= 0xffc) {
      const hpa = (e & FRAME_MASK) | (lin & OFFSET_MASK);
      return (hpa & 3) === 0 ? this.ram32[hpa >> 2]! : this.ramView.getInt32(hpa, true);
    }
    return this.rdSlow(lin, 4, this.accR);
  }
  wrLin8(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12]!;
    if ((e & this.accW) !== 0) this.ram8[(e & FRAME_MASK) | (lin & OFFSET_MASK)] = v;
    else this.wrSlow(lin, 1, v, this.accW);
  }
  wrLin16(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12]!;
    if ((e & this.accW) !== 0 && (lin & OFFSET_MASK) !== OFFSET_MASK) {
      const hpa = (e & FRAME_MASK) | (lin & OFFSET_MASK);
      if ((hpa & 1) === 0) this.ram16[hpa >> 1] = v;
      else {
        this.ram8[hpa] = v;
        this.ram8[hpa + 1] = v >> 8;
      }
    } else this.wrSlow(lin, 2, v, this.accW);
  }
  wrLin32(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12]!;
    if ((e & this.accW) !== 0 && (lin & OFFSET_MASK) <= 0xffc) {
      const hpa = (e & FRAME_MASK) | (lin & OFFSET_MASK);
      if ((hpa & 3) === 0) this.ram32[hpa >> 2] = v;
      else this.ramView.setInt32(hpa, v, true);
    } else this.wrSlow(lin, 4, v, this.accW);
  }

  /** Supervisor (implicit) accesses: descriptor tables, TSS, IDT (SDM 4.6.1). */
  rdSys16(lin: number): number {
    return this.rdSlow(lin, 2, TlbBit.read);
  }
  rdSys32(lin: number): number {
    return this.rdSlow(lin, 4, TlbBit.read);
  }
  wrSys32(lin: number, v: number): void {
    this.wrSlow(lin, 4, v, TlbBit.write);
  }

  /** Read through the TLB or a page walk; `acc` is the TlbBit the access needs. */
  rdSlow(lin: number, size: number, acc: number): number {
    if ((lin & OFFSET_MASK) + size > PAGE) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.rdSlow((lin + i) | 0, 1, acc) << (8 * i);
      return size === 4 ? v | 0 : v >>> 0;
    }
    if (this.dbData) this.checkWatch(lin, size, false);
    const e = this.tlb[lin >>> 12]!;
    let hpa: number;
    if ((e & acc) !== 0) hpa = (e & FRAME_MASK) | (lin & OFFSET_MASK);
    else {
      hpa = this.translate(lin, Access.read, (acc & (TlbBit.userRead | TlbBit.userWrite)) !== 0);
      if (hpa < 0) return this.readUnbacked(this.lastGpa, size);
    }
    return size === 1 ? this.ram8[hpa]! : size === 2 ? this.ramView.getUint16(hpa, true) : this.ramView.getInt32(hpa, true);
  }

  wrSlow(lin: number, size: number, v: number, acc: number): void {
    const user = (acc & (TlbBit.userRead | TlbBit.userWrite)) !== 0;
    if ((lin & OFFSET_MASK) + size > PAGE) {
      // both pages must be writable before any byte is stored
      this.translate(lin, Access.write, user);
      this.translate((lin + size - 1) | 0, Access.write, user);
      for (let i = 0; i < size; i++) this.wrSlow((lin + i) | 0, 1, v >> (8 * i), acc);
      return;
    }
    if (this.dbData) this.checkWatch(lin, size, true);
    const e = this.tlb[lin >>> 12]!;
    let hpa: number;
    if ((e & acc) !== 0) hpa = (e & FRAME_MASK) | (lin & OFFSET_MASK);
    else {
      hpa = this.translate(lin, Access.write, user);
      if (hpa < 0) {
        this.writeUnbacked(this.lastGpa, size, v);
        return;
      }
    }
    if (size === 1) this.ram8[hpa] = v;
    else if (size === 2) this.ramView.setUint16(hpa, v, true);
    else this.ramView.setInt32(hpa, v, true);
  }

  /** A guest-physical address with no RAM: MMIO under emulate(), all ones / dropped when bare. */
  readUnbacked(gpa: number, size: number): number {
    if (this.emuOps !== null) {
      const v = this.emuOps.mmioRead(gpa, size);
      return size === 4 ? v | 0 : v & (size === 2 ? 0xffff : 0xff);
    }
    return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
  }
  writeUnbacked(gpa: number, size: number, v: number): void {
    if (this.emuOps !== null) this.emuOps.mmioWrite(gpa, size, size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff));
  }

  /** Guest-physical → host-physical for one access (EPT hook, emulator ops, or identity). */
  gpaToHpa(gpa: number, access: AccessKind, lin: number, isFinal: boolean): number {
    if (this.emuOps !== null) {
      const h = this.emuOps.gpaToHpa(gpa, access);
      return h === MMIO ? -1 : h;
    }
    if (this.nonRoot !== null) return this.nonRoot.translateGpa(gpa, access, lin >>> 0, isFinal, true);
    return gpa < this.mem.size ? gpa : -1;
  }

  readPhys32(gpa: number, lin: number): number {
    const hpa = this.gpaToHpa(gpa, Access.read, lin, false);
    if (hpa < 0 || hpa + 4 > this.mem.size) return -1;
    return this.ramView.getInt32(hpa, true);
  }
  writePhys32(gpa: number, lin: number, v: number): void {
    const hpa = this.gpaToHpa(gpa, Access.write, lin, false);
    if (hpa < 0 || hpa + 4 > this.mem.size) return;
    this.ramView.setInt32(hpa, v, true);
  }

  pageFault(lin: number, code: number): never {
    this.pfLinear = lin >>> 0;
    return this.fault(Vector.PF, code, true);
  }

  /**
   * Translate a linear address for one access (SDM 4.3 32-bit paging), setting accessed/dirty
   * bits, raising #PF, and filling the TLB. Returns the host-physical address, or -1 when the
   * guest-physical address is not RAM (lastGpa holds it).
   */
  translate(lin: number, access: AccessKind, user: boolean): number {
    let gpa: number;
    let userOk = true;
    let rwOk = true;
    let global = 0;
    let large = 0;
    const write = access === Access.write;
    if (!this.pg) gpa = lin >>> 0;
    else {
      const code = (write ? PfErr.W : 0) | (user ? PfErr.U : 0);
      const pdeGpa = ((this.cr3 & FRAME_MASK) >>> 0) + ((lin >>> 22) << 2);
      const pde = this.readPhys32(pdeGpa, lin);
      if (!(pde & Pte.P)) this.pageFault(lin, code);
      if (pde & Pte.PS && this.cr4 & Cr4.PSE) {
        if (pde & PDE4M_RESERVED) this.pageFault(lin, code | PfErr.P | PfErr.RSVD);
        userOk = (pde & Pte.US) !== 0;
        rwOk = (pde & Pte.RW) !== 0;
        this.checkPagePerm(lin, code, user, write, userOk, rwOk);
        const upd = pde | Pte.A | (write ? Pte.D : 0);
        if (upd !== pde) this.writePhys32(pdeGpa, lin, upd);
        gpa = ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
        global = pde & Pte.G && this.cr4 & Cr4.PGE ? TlbBit.global : 0;
        large = TlbBit.large;
      } else {
        const pteGpa = ((pde & FRAME_MASK) >>> 0) + (((lin >>> 12) & 0x3ff) << 2);
        const pte = this.readPhys32(pteGpa, lin);
        if (!(pte & Pte.P)) this.pageFault(lin, code);
        userOk = (pde & pte & Pte.US) !== 0;
        rwOk = (pde & pte & Pte.RW) !== 0;
        this.checkPagePerm(lin, code, user, write, userOk, rwOk);
        if (!(pde & Pte.A)) this.writePhys32(pdeGpa, lin, pde | Pte.A);
        const upd = pte | Pte.A | (write ? Pte.D : 0);
        if (upd !== pte) this.writePhys32(pteGpa, lin, upd);
        gpa = ((pte & FRAME_MASK) | (lin & OFFSET_MASK)) >>> 0;
        global = pte & Pte.G && this.cr4 & Cr4.PGE ? TlbBit.global : 0;
      }
    }
    const hpa = this.gpaToHpa(gpa, access, lin, true);
    if (hpa < 0 || hpa >= this.mem.size) {
      this.lastGpa = gpa;
      return -1;
    }
    if (!this.noTlbFill && !this.dbData) {
      let bits: number;
      if (access === Access.fetch) bits = TlbBit.fetch | (userOk ? TlbBit.userFetch : 0);
      else if (write) {
        bits = TlbBit.read | TlbBit.write | (userOk ? TlbBit.userRead : 0) | (userOk && rwOk ? TlbBit.userWrite : 0);
        if (!rwOk && this.cr0 & Cr0.WP) bits &= ~TlbBit.write;
      } else bits = TlbBit.read | (userOk ? TlbBit.userRead : 0);
      const idx = lin >>> 12;
      const old = this.tlb[idx]!;
      const frame = hpa & FRAME_MASK;
      if (old !== 0 && (old & FRAME_MASK) === frame) bits |= old & 0xff;
      else if (old === 0) {
        if (this.tlbCount < TLB_TRACKED) this.tlbPages[this.tlbCount++] = idx;
        else this.tlbOverflow = true;
      }
      this.tlb[idx] = frame | bits | global | large;
    }
    return hpa;
  }

  private checkPagePerm(lin: number, code: number, user: boolean, write: boolean, userOk: boolean, rwOk: boolean): void {
    if (user && !userOk) this.pageFault(lin, code | PfErr.P);
    if (write && !rwOk && (user || this.cr0 & Cr0.WP)) this.pageFault(lin, code | PfErr.P);
  }

  flushTlb(): void {
    if (this.tlbOverflow) this.tlb.fill(0);
    else for (let i = 0; i < this.tlbCount; i++) this.tlb[this.tlbPages[i]!] = 0;
    this.tlbCount = 0;
    this.tlbOverflow = false;
    this.invalidateFetch();
  }

  /** MOV to CR3 with CR4.PGE: keep global entries (SDM 4.10.4.1). */
  flushTlbNonGlobal(): void {
    if (!(this.cr4 & Cr4.PGE)) {
      this.flushTlb();
      return;
    }
    if (this.tlbOverflow) {
      const t = this.tlb;
      for (let i = 0; i < t.length; i++) if ((t[i]! & TlbBit.global) === 0) t[i] = 0;
      this.tlbOverflow = false;
      this.tlbCount = 0;
      // untracked survivors stay valid; they are cleared by the next full flush (which scans)
      this.tlbOverflow = true;
    } else {
      let n = 0;
      for (let i = 0; i < this.tlbCount; i++) {
        const idx = this.tlbPages[i]!;
        if (this.tlb[idx]! & TlbBit.global) this.tlbPages[n++] = idx;
        else this.tlb[idx] = 0;
      }
      this.tlbCount = n;
    }
    this.invalidateFetch();
  }

  invalidatePage(linear: number): void {
    const idx = linear >>> 12;
    if (this.cr4 & Cr4.PSE) {
      // a 4 MiB page is cached as 1024 small entries: drop them all
      const first = idx & ~0x3ff;
      for (let i = first; i < first + 0x400; i++) if (this.tlb[i]! & TlbBit.large) this.tlb[i] = 0;
    }
    this.tlb[idx] = 0;
    this.invalidateFetch();
  }

  // =============================================================== instruction fetch

  /** Forget the cached code page (CS, CPL or a translation changed). */
  invalidateFetch(): void {
    this.fetchLo = 1;
    this.fetchHi = 0;
  }

  fetch8(): number {
    const eip = this.eip;
    if (eip >= this.fetchLo && eip <= this.fetchHi) {
      this.eip = eip + 1;
      return this.ram8[eip + this.fetchDelta]!;
    }
    return this.fetch8Slow();
  }
  /** Fetch outside the cached page: limit check, translation, and a new cached page. */
  fetch8Slow(): number {
    let eip = this.eip;
    if (eip > this.csLimit) eip = this.wrapEip(eip);
    const lin = (this.csBase + eip) | 0;
    this.eip = eip + 1;
    return this.fetchSlow(lin, eip);
  }
  /**
   * EIP past the CS limit. It is a 32-bit register (16-bit IP in 16-bit code): code that runs
   * off the top of the offset space continues at offset 0 when the limit allows (a 4 GiB
   * segment; a 64 KiB one in 16-bit code, between instructions only), otherwise #GP(0).
   */
  private wrapEip(eip: number): number {
    const top = this.code32 ? 0x1_0000_0000 : 0x1_0000;
    const mid = eip !== this.instrStart;
    if (eip < top || (mid && !this.code32) || eip - top > this.csLimit) this.gp(0);
    if (!mid) this.instrStart = eip - top;
    return eip - top;
  }
  fetch16(): number {
    const lo = this.fetch8();
    return lo | (this.fetch8() << 8);
  }
  fetch32(): number {
    const eip = this.eip;
    if (eip >= this.fetchLo && eip + 3 <= this.fetchHi) {
      this.eip = eip + 4;
      return this.ramView.getInt32(eip + this.fetchDelta, true);
    }
    const b0 = this.fetch8();
    const b1 = this.fetch8();
    const b2 = this.fetch8();
    return b0 | (b1 << 8) | (b2 << 16) | (this.fetch8() << 24);
  }
  /** Immediate of operand size (16 or 32). */
  fetchV(): number {
    return this.o32 ? this.fetch32() : this.fetch16();
  }

  fetchSlow(lin: number, eip: number): number {
    const e = this.tlb[lin >>> 12]!;
    let hpa: number;
    if ((e & this.accX) !== 0) hpa = (e & FRAME_MASK) | (lin & OFFSET_MASK);
    else {
      hpa = this.translate(lin, Access.fetch, this.user);
      if (hpa < 0) return this.readUnbacked(this.lastGpa, 1);
    }
    if (!this.noTlbFill) {
      // the EIP of the page's first byte (linear pages never straddle the 4 GiB wrap)
      const pageEip = eip - (lin & OFFSET_MASK);
      this.fetchLo = Math.max(pageEip, 0);
      this.fetchHi = Math.min(pageEip + OFFSET_MASK, this.csLimit);
      this.fetchDelta = (hpa & FRAME_MASK) - pageEip;
    }
    return this.ram8[hpa]!;
  }

  // =============================================================== events

  /**
   * Deliver an event as VM-entry injection would (SDM 26.6.1.1). A fault while delivering is
   * handled here with the double-fault rules; a VM exit during delivery (EPT violation, exception
   * bitmap, triple fault) throws VmExitSignal with cpu.exit filled, IDT-vectoring info included.
   */
  deliverEvent(vector: number, type: number, errorCode: number, hasErrorCode: boolean, instrLen: number): void {
    this.sync();
    const soft = type === EventType.softwareInterrupt || type === EventType.softwareException || type === EventType.privilegedSoftwareException;
    if (this.activity === 1) this.activity = 0;
    try {
      this.deliver(vector, type, errorCode, hasErrorCode, soft ? (this.eip + instrLen) >>> 0 : this.eip);
    } catch (e) {
      if (e !== FaultSignal.instance) {
        this.delivering = 0;
        throw e; // VmExitSignal: the caller (VM entry) unwinds
      }
      // a fault while delivering: the double-fault rules apply against an injected exception
      const r = this.handleFault(type === EventType.hardwareException ? vector : -1);
      if (r === StopReason.vmExit) throw VmExitSignal.instance;
    }
  }

  /**
   * Deliver an interrupt or exception through the IVT (real mode) or IDT (protected mode), SDM
   * 6.12 and 20.1.4. `retEip` is the return address pushed. Faults raised while delivering
   * propagate as FaultSignal (the caller applies the double-fault rules).
   */
  deliver(vector: number, type: number, code: number, hasCode: boolean, retEip: number): void {
    this.delivering = (0x80000000 | vector | (type << 8) | (hasCode ? 0x800 : 0)) | 0;
    this.deliveringCode = code;
    const flags = this.getEflags();
    if (!this.pe) {
      const off = vector * 4;
      if (off + 3 > this.idtrLimit) this.gp(vector * 8 + 2);
      const ip = this.rdSys16((this.idtrBase + off) | 0);
      const cs = this.rdSys16((this.idtrBase + off + 2) | 0);
      this.o32 = false;
      this.decodeDirty = true;
      this.push16(flags);
      this.push16(this.segSel[SReg.CS]!);
      this.push16(retEip);
      this.flags = flags & ~(Eflags.IF | Eflags.TF | Eflags.AC | Eflags.RF);
      this.lazyMask = 0;
      this.loadRealSeg(SReg.CS, cs);
      this.eip = ip;
      this.delivering = 0;
      return;
    }
    const ext = type === EventType.external || type === EventType.nmi || type === EventType.hardwareException ? 1 : 0;
    const soft = type === EventType.softwareInterrupt || type === EventType.softwareException;
    const off = vector * 8;
    if (off + 7 > this.idtrLimit) this.gp(off + 2 + ext);
    const lo = this.rdSys32((this.idtrBase + off) | 0);
    const hi = this.rdSys32((this.idtrBase + off + 4) | 0);
    const gtype = (hi >> 8) & 0x1f;
    const gdpl = (hi >> 13) & 3;
    const is32 = gtype === SysType.intGate32 || gtype === SysType.trapGate32;
    if (!is32 && gtype !== SysType.intGate16 && gtype !== SysType.trapGate16 && gtype !== SysType.taskGate) this.gp(off + 2 + ext);
    if (soft && gdpl < this.cplv) this.gp(off + 2);
    if (!(hi & 0x8000)) this.fault(Vector.NP, off + 2 + ext, true);
    if (gtype === SysType.taskGate) {
      taskSwitch(this, lo >>> 16, TaskSource.gate, retEip, hasCode, code);
      this.delivering = 0;
      return;
    }
    const sel = lo >>> 16;
    const target = is32 ? ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0 : lo & 0xffff;
    if ((sel & ~3) === 0) this.gp(ext);
    if (!this.readDescriptor(sel)) this.gp((sel & ~3) + ext);
    const ar = Cpu.descAr(this.descHi);
    const dpl = (ar >> Ar.DPL_SHIFT) & 3;
    if ((ar & (Ar.S | Ar.CODE)) !== (Ar.S | Ar.CODE) || dpl > this.cplv) this.gp((sel & ~3) + ext);
    if (!(ar & Ar.P)) this.fault(Vector.NP, (sel & ~3) + ext, true);
    const csLo = this.descLo;
    const csHi = this.descHi;
    const size = is32 ? 4 : 2;
    const oldCs = this.segSel[SReg.CS]!;
    const oldSs = this.segSel[SReg.SS]!;
    const oldEsp = this.regs[Reg.ESP]!;
    const wasVm86 = this.vm86;
    let newCpl = this.cplv;
    if (!(ar & Ar.EXPAND_DOWN) && dpl < this.cplv) {
      // inter-privilege: switch to the stack of level dpl from the TSS (SDM 6.12.1)
      newCpl = dpl;
      const trBase = this.segBase[SReg.TR]!;
      const tr32 = (this.segAr[SReg.TR]! & 0xf) === SysType.tss32Busy || (this.segAr[SReg.TR]! & 0xf) === SysType.tss32Avail;
      const slot = tr32 ? 4 + dpl * 8 : 2 + dpl * 4;
      if (slot + (tr32 ? 7 : 3) > this.segLimit[SReg.TR]! >>> 0) this.fault(Vector.TS, (this.segSel[SReg.TR]! & ~3) + ext, true);
      const newEsp = tr32 ? this.rdSys32((trBase + slot) | 0) : this.rdSys16((trBase + slot) | 0);
      const newSs = tr32 ? this.rdSys16((trBase + slot + 4) | 0) : this.rdSys16((trBase + slot + 2) | 0);
      if ((newSs & ~3) === 0) this.fault(Vector.TS, ext, true);
      if (!this.readDescriptor(newSs)) this.fault(Vector.TS, (newSs & ~3) + ext, true);
      const ssAr = Cpu.descAr(this.descHi);
      if ((newSs & 3) !== dpl || ((ssAr >> Ar.DPL_SHIFT) & 3) !== dpl || (ssAr & (Ar.S | Ar.CODE | Ar.WRITABLE)) !== (Ar.S | Ar.WRITABLE)) {
        this.fault(Vector.TS, (newSs & ~3) + ext, true);
      }
      if (!(ssAr & Ar.P)) this.fault(Vector.SS, (newSs & ~3) + ext, true);
      // load the new stack, then push; on a fault restore the old stack
      this.markAccessed(newSs);
      const saveSs = [this.segBase[SReg.SS]!, this.segLimit[SReg.SS]!, this.segAr[SReg.SS]!];
      this.loadFromDesc(SReg.SS, newSs);
      this.regs[Reg.ESP] = newEsp;
      const savedCpl = this.cplv;
      this.setCpl(dpl);
      try {
        if (wasVm86) {
          this.pushSz(size, this.segSel[SReg.GS]!);
          this.pushSz(size, this.segSel[SReg.FS]!);
          this.pushSz(size, this.segSel[SReg.DS]!);
          this.pushSz(size, this.segSel[SReg.ES]!);
        }
        this.pushSz(size, oldSs);
        this.pushSz(size, oldEsp);
        this.pushSz(size, flags);
        this.pushSz(size, oldCs);
        this.pushSz(size, retEip);
        if (hasCode) this.pushSz(size, code);
      } catch (e) {
        this.segSel[SReg.SS] = oldSs;
        this.segBase[SReg.SS] = saveSs[0]!;
        this.segLimit[SReg.SS] = saveSs[1]!;
        this.segAr[SReg.SS] = saveSs[2]!;
        this.updateSeg(SReg.SS);
        this.regs[Reg.ESP] = oldEsp;
        this.setCpl(savedCpl);
        throw e;
      }
      if (wasVm86) {
        for (const s of VM86_NULL_SEGS) {
          this.segSel[s] = 0;
          this.segAr[s] = Ar.UNUSABLE;
        }
      }
    } else {
      if (wasVm86) this.gp((sel & ~3) + ext);
      try {
        this.pushSz(size, flags);
        this.pushSz(size, oldCs);
        this.pushSz(size, retEip);
        if (hasCode) this.pushSz(size, code);
      } catch (e) {
        this.regs[Reg.ESP] = oldEsp;
        throw e;
      }
    }
    this.descLo = csLo;
    this.descHi = csHi;
    this.flags = flags & ~(Eflags.TF | Eflags.NT | Eflags.RF | Eflags.VM | (gtype & 1 ? 0 : Eflags.IF));
    this.lazyMask = 0;
    this.loadCs(sel, newCpl);
    this.updateMode();
    this.eip = target;
    this.delivering = 0;
  }

  pushSz(size: number, v: number): void {
    if (size === 4) this.push32(v);
    else this.push16(v);
  }

  /**
   * Deliver the exception recorded in faultVector (EIP at the faulting instruction), applying the
   * double- and triple-fault rules (SDM 6.15 interrupt 8). Returns a StopReason or -1 to go on.
   */
  handleFault(prevVector = -1): number {
    let vector = this.faultVector;
    let code = this.faultCode;
    let hasCode = this.faultHasCode;
    let prev = prevVector;
    for (;;) {
      // Set when the exception bitmap was already asked about `vector` and did not exit.
      let asked = false;
      if (prev >= 0 && this.nonRoot !== null) {
        // An exception while delivering an event is checked against the exception bitmap
        // before any double-fault processing: if it exits, IDT-vectoring information keeps
        // the event being delivered (`delivering`) so the VMM can inject it again (SDM 27.2.4).
        try {
          this.nonRoot.exception(vector, code, hasCode);
        } catch (e) {
          this.delivering = 0;
          if (e === VmExitSignal.instance) return StopReason.vmExit;
          throw e;
        }
        asked = true;
      }
      if (prev >= 0) {
        if (prev === Vector.DF) return this.tripleFault();
        const c1 = faultClass(prev);
        const c2 = faultClass(vector);
        if ((c1 === 1 && c2 === 1) || (c1 === 2 && c2 !== 0)) {
          vector = Vector.DF;
          code = 0;
          hasCode = true;
          asked = false;
        }
      }
      try {
        if (this.nonRoot !== null && !asked) this.nonRoot.exception(vector, code, hasCode);
        if (vector === Vector.PF) this.cr2 = this.pfLinear;
        const soft = vector === Vector.BP || vector === Vector.OF;
        this.deliver(vector, soft ? EventType.softwareException : EventType.hardwareException, code, hasCode, this.eip);
        return -1;
      } catch (e) {
        if (e === VmExitSignal.instance) {
          this.delivering = 0;
          return StopReason.vmExit;
        }
        if (e !== FaultSignal.instance) throw e;
        // `delivering` still names the event whose delivery faulted, for the next round.
        prev = vector;
        vector = this.faultVector;
        code = this.faultCode;
        hasCode = this.faultHasCode;
      }
    }
  }

  /** Shutdown (SDM 6.15): a VM exit in non-root operation, activity state 2 otherwise. */
  tripleFault(): number {
    if (this.nonRoot !== null) {
      try {
        this.nonRoot.tripleFault();
      } catch (e) {
        if (e === VmExitSignal.instance) return StopReason.vmExit;
        throw e;
      }
    }
    this.activity = 2;
    return StopReason.shutdown;
  }

  // =============================================================== debug registers

  /** Recompute which DR0-DR3 breakpoints are armed (SDM 17.2.4); data ones bypass the TLB. */
  updateDebug(): void {
    const d7 = this.dr[7]!;
    let exec = false;
    let data = false;
    for (let i = 0; i < 4; i++) {
      if (((d7 >> (i * 2)) & 3) === 0) continue;
      const rw = (d7 >>> (16 + i * 4)) & 3;
      if (rw === 0) exec = true;
      else if (rw !== 2) data = true;
    }
    this.dbExec = exec;
    if (data !== this.dbData) {
      this.dbData = data;
      this.flushTlb();
    }
    this.updateAttention();
  }

  /** Instruction breakpoints: a fault before the instruction unless EFLAGS.RF is set. */
  checkExecBreakpoints(): void {
    if (this.flags & Eflags.RF) {
      this.flags &= ~Eflags.RF;
      return;
    }
    const lin = (this.segBase[SReg.CS]! + this.eip) | 0;
    const d7 = this.dr[7]!;
    let hits = 0;
    for (let i = 0; i < 4; i++) {
      if (((d7 >> (i * 2)) & 3) !== 0 && ((d7 >>> (16 + i * 4)) & 3) === 0 && this.dr[i] === lin) hits |= 1 << i;
    }
    if (hits !== 0) {
      this.dr[6] = (this.dr[6]! & ~0xf) | hits;
      this.fault(Vector.DB, 0, false);
    }
  }

  /** Data breakpoints: record hits of this access (reported as a trap after the instruction). */
  checkWatch(lin: number, size: number, write: boolean): void {
    const d7 = this.dr[7]!;
    for (let i = 0; i < 4; i++) {
      if (((d7 >> (i * 2)) & 3) === 0) continue;
      const rw = (d7 >>> (16 + i * 4)) & 3;
      if (rw === 0 || rw === 2 || (rw === 1 && !write)) continue;
      const len = [1, 2, 8, 4][(d7 >>> (18 + i * 4)) & 3]!;
      const start = (this.dr[i]! & ~(len - 1)) >>> 0;
      const a = lin >>> 0;
      if (a <= start + len - 1 && a + size - 1 >= start) this.dbHits |= 1 << i;
    }
  }

  // =============================================================== run loop

  run(budget: number, resume = false): StopReason {
    // CR changes still re-derive everything: the VMX unit re-asserts host-owned bits after a run.
    if (!resume || this.nonRoot !== this.lastNonRoot || ((this.cr0 ^ this.lastCr0) | (this.cr3 ^ this.lastCr3) | (this.cr4 ^ this.lastCr4)) !== 0) this.sync();
    if (this.activity === 2) return StopReason.shutdown;
    if (this.activity === 1) return StopReason.halted;
    this.budgetEnd = this.instructionCount + budget;
    this.updateAttention();
    for (;;) {
      try {
        const end = this.budgetEnd;
        while (this.instructionCount < end) {
          if (this.attention === 0 && this.fast32) {
            if (this.blockCacheEnabled) runBlocks(this, end);
            else runFast32(this, end);
          } else {
            // instrStart first: an exit from the window check must leave EIP at this boundary.
            this.instrStart = this.eip;
            this.instrEsp = this.regs[Reg.ESP]!;
            if (this.attention === 0) step(this);
            else {
              const r = this.stepWithEvents();
              if (r >= 0) return r as StopReason;
            }
          }
          if (this.stopReason >= 0) {
            const r = this.stopReason;
            this.stopReason = -1;
            return r as StopReason;
          }
        }
        return StopReason.budget;
      } catch (e) {
        if (e === FaultSignal.instance) {
          this.eip = this.instrStart;
          this.regs[Reg.ESP] = this.instrEsp;
          this.rep = 0;
          const r = this.handleFault();
          if (r >= 0) return r as StopReason;
          continue;
        }
        if (e === VmExitSignal.instance) {
          this.eip = this.instrStart;
          this.regs[Reg.ESP] = this.instrEsp;
          this.delivering = 0;
          this.rep = 0;
          return StopReason.vmExit;
        }
        throw e;
      }
    }
  }

  /**
   * One instruction with the rare per-instruction work: the event-window check, the STI / MOV SS
   * shadow, instruction and data breakpoints and single-step. Returns a StopReason or -1.
   */
  stepWithEvents(): number {
    if (this.eventCheck) {
      this.eventCheck = false;
      if (this.nonRoot !== null) this.nonRoot.eventWindow();
    }
    if (this.dbExec) this.checkExecBreakpoints();
    const tf = this.flags & Eflags.TF;
    const shadow = this.interruptibility;
    step(this);
    // An instruction that exited (exitInstruction) had no effect: shadows and traps stay pending.
    if (this.stopReason === StopReason.vmExit) return -1;
    if (shadow !== 0) {
      // the STI / MOV SS shadow covered exactly this instruction
      this.interruptibility = 0;
      this.eventCheck = true;
    }
    // MOV SS / POP SS holds off debug traps until after the next instruction (SDM 6.8.3)
    const movSs = shadow === 0 && (this.interruptibility & MOV_SS_BLOCKING) !== 0;
    if (((tf !== 0 && (this.flags & Eflags.TF) !== 0) || this.dbHits !== 0) && !movSs) {
      // single-step and data-breakpoint traps after the instruction (SDM 17.3.1)
      this.dr[6] = (this.dr[6]! & ~0xf) | this.dbHits | (tf !== 0 ? DR6_BS : 0);
      this.dbHits = 0;
      this.faultVector = Vector.DB;
      this.faultCode = 0;
      this.faultHasCode = false;
      const r = this.handleFault();
      if (r >= 0) return r;
    }
    this.updateAttention();
    return -1;
  }

  /** Recompute `attention`: whether the run loop must take stepWithEvents(). */
  updateAttention(): void {
    this.attention =
      this.eventCheck || this.interruptibility !== 0 || this.dbExec || this.dbData || (this.flags & Eflags.TF) !== 0 ? 1 : 0;
  }

  /** Ask for an event-window check before the next instruction. */
  requestEventCheck(): void {
    this.eventCheck = true;
    this.attention = 1;
  }

  /** Make run() return `reason` after the current instruction (e.g. a debug-exit port write). */
  requestStop(reason: StopReason): void {
    this.stopReason = reason;
  }

  emulate(ops: EmulatorOps): boolean {
    return this.withEmulatorOps(ops, () => {
      this.instrStart = this.eip;
      this.instrEsp = this.regs[Reg.ESP]!;
      try {
        step(this);
      } catch (e) {
        if (e !== FaultSignal.instance) throw e;
        this.eip = this.instrStart;
        this.regs[Reg.ESP] = this.instrEsp;
        this.handleFault();
      }
    });
  }

  /**
   * KVM's event delivery outside the hardware (an event whose delivery needs a task switch, or
   * a guest the hardware cannot run): deliver it as deliverEvent does, with guest-physical
   * accesses through `ops` as in emulate(). Returns false when an op aborted (state unchanged).
   */
  emulateEvent(ops: EmulatorOps, vector: number, type: number, errorCode: number, hasErrorCode: boolean, instrLen: number): boolean {
    return this.withEmulatorOps(ops, () => this.deliverEvent(vector, type, errorCode, hasErrorCode, instrLen));
  }

  /** Run `body` in root operation with guest-physical accesses and port I/O through `ops`. */
  private withEmulatorOps(ops: EmulatorOps, body: () => void): boolean {
    this.sync();
    this.saveState();
    this.flushTlb();
    this.emuOps = ops;
    this.noTlbFill = true;
    const savedNonRoot = this.nonRoot;
    this.nonRoot = null;
    this.budgetEnd = this.instructionCount + 1;
    try {
      body();
      this.stopReason = -1;
      return true;
    } catch (e) {
      if (e !== EmulationAbort.instance) throw e;
      this.restoreState();
      return false;
    } finally {
      this.nonRoot = savedNonRoot;
      this.emuOps = null;
      this.noTlbFill = false;
      this.flushTlb();
    }
  }

  private saveState(): void {
    this.saveRegs.set(this.regs);
    this.saveSegSel.set(this.segSel);
    this.saveSegBase.set(this.segBase);
    this.saveSegLimit.set(this.segLimit);
    this.saveSegAr.set(this.segAr);
    const m = this.saveMisc;
    m[0] = this.eip;
    m[1] = this.getEflags();
    m[2] = this.cr0;
    m[3] = this.cr2;
    m[4] = this.cr3;
    m[5] = this.cr4;
    m[6] = this.interruptibility;
    m[7] = this.activity;
    m[8] = this.instructionCount;
    m[9] = this.gdtrBase;
    m[10] = this.idtrBase;
  }

  private restoreState(): void {
    this.regs.set(this.saveRegs);
    this.segSel.set(this.saveSegSel);
    this.segBase.set(this.saveSegBase);
    this.segLimit.set(this.saveSegLimit);
    this.segAr.set(this.saveSegAr);
    const m = this.saveMisc;
    this.eip = m[0]!;
    this.flags = (m[1]! & EFLAGS_WRITABLE) | Eflags.FIXED1;
    this.lazyMask = 0;
    this.cr0 = m[2]!;
    this.cr2 = m[3]!;
    this.cr3 = m[4]!;
    this.cr4 = m[5]!;
    this.interruptibility = m[6]!;
    this.activity = m[7]!;
    this.instructionCount = m[8]!;
    this.gdtrBase = m[9]!;
    this.idtrBase = m[10]!;
    this.delivering = 0;
    this.updateMode();
  }
}

/** Interruptibility bit for blocking by MOV SS (SDM 24.4.2). */
const MOV_SS_BLOCKING = 2;
/** segRights bits of a flat readable / writable segment. */
const FLAT_READ = 0x10;
const FLAT_WRITE = 0x20;
/** DR6.BS: the debug exception was a single step. */
const DR6_BS = 0x4000;
const OUTER_NULL_SEGS = [SReg.ES, SReg.DS, SReg.FS, SReg.GS] as const;
const VM86_NULL_SEGS = [SReg.ES, SReg.DS, SReg.FS, SReg.GS] as const;
