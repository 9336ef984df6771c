/**
 * Decode and execution of the IA-32 integer instruction set through the P6 (SDM Vol. 2, opcode
 * map in appendix A). `step` runs one instruction on a Cpu: prefixes, one switch on the opcode
 * byte, a second one for the 0F page. Faults unwind with FaultSignal through Cpu.fault.
 */
import { Access, StopReason } from './interfaces.js';
import { EventType, Reg, SReg } from './cpu.js';
import { ARITH_FLAGS, Eflags, LazyOp, parity8 } from './flags.js';
import { Ar, Cr0, Cr4, CR4_SUPPORTED, CrAccess, CpuidEdx, CPUID_SIGNATURE, ExitReason, MICROCODE_REVISION, Msr, SysType, Vector } from './arch.js';
import { Cpu } from './processor.js';
import { TaskSource, taskSwitch } from './task-switch.js';
import { fwait, x87 } from './x87.js';

const MAX_INSTR_LEN = 15;
/** ALU operation numbers of the 00-3F block and group 1 (SDM table A-6). */
const Alu = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7 } as const;
/** Shift group 2 operation numbers (SDM table A-6). */
const Shift = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, shr: 5, sal: 6, sar: 7 } as const;
/** String instruction kinds. */
const Str = { movs: 0, cmps: 1, stos: 2, lods: 3, scas: 4, ins: 5, outs: 6 } as const;
/** "GenuineIntel" as CPUID leaf 0 returns it in EBX, EDX, ECX. */
const VENDOR = { ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e } as const;
/** CPUID.1:EDX: an on-chip x87 FPU; no FXSR/MMX/SSE (those opcodes stay #UD). */
const CPUID_FEATURES = CpuidEdx.FPU | CpuidEdx.DE | CpuidEdx.PSE | CpuidEdx.TSC | CpuidEdx.MSR | CpuidEdx.CX8 | CpuidEdx.SEP | CpuidEdx.PGE | CpuidEdx.CMOV;
/** CPUID leaf 2 descriptor byte: 0x01 in AL means "call once". */
const CPUID_LEAF2_EAX = 0x03020101;
const CPUID_MAX_LEAF = 2;

function mask(bits: number): number {
  return bits === 32 ? -1 : (1 << bits) - 1;
}
function sx8(v: number): number {
  return (v << 24) >> 24;
}
function sx16(v: number): number {
  return (v << 16) >> 16;
}
function sx(v: number, bits: number): number {
  return bits === 32 ? v | 0 : bits === 16 ? sx16(v) : sx8(v);
}

// ------------------------------------------------------------------ registers and operands

/** 8-bit register r in ModRM order (AL CL DL BL AH CH DH BH, SDM table 2-1). */
export function getReg8(c: Cpu, r: number): number {
  return r < 4 ? c.regs[r]! & 0xff : (c.regs[r - 4]! >> 8) & 0xff;
}
/** Write 8-bit register r in ModRM order. */
export function setReg8(c: Cpu, r: number, v: number): void {
  if (r < 4) c.regs[r] = (c.regs[r]! & ~0xff) | (v & 0xff);
  else c.regs[r - 4] = (c.regs[r - 4]! & ~0xff00) | ((v & 0xff) << 8);
}
function getReg(c: Cpu, r: number, bits: number): number {
  return bits === 32 ? c.regs[r]! : bits === 16 ? c.regs[r]! & 0xffff : getReg8(c, r);
}
function setReg(c: Cpu, r: number, bits: number, v: number): void {
  if (bits === 32) c.regs[r] = v;
  else if (bits === 16) c.regs[r] = (c.regs[r]! & ~0xffff) | (v & 0xffff);
  else setReg8(c, r, v);
}

/** Decode a ModRM byte (and SIB/displacement) into mod/regField/rmReg/eaSeg/eaOff. */
export function modrm(c: Cpu): void {
  modrmFrom(c, c.fetch8());
}

/** Decode ModRM byte `m` (already fetched) and what follows it, as `modrm` does. */
export function modrmFrom(c: Cpu, m: number): void {
  c.modrm = m;
  const mod = m >> 6;
  const rm = m & 7;
  c.mod = mod;
  c.regField = (m >> 3) & 7;
  c.rmReg = rm;
  if (mod === 3) return;
  let seg: number = SReg.DS;
  let off = 0;
  const r = c.regs;
  if (!c.a32) {
    switch (rm) {
      case 0:
        off = r[Reg.EBX]! + r[Reg.ESI]!;
        break;
      case 1:
        off = r[Reg.EBX]! + r[Reg.EDI]!;
        break;
      case 2:
        off = r[Reg.EBP]! + r[Reg.ESI]!;
        seg = SReg.SS;
        break;
      case 3:
        off = r[Reg.EBP]! + r[Reg.EDI]!;
        seg = SReg.SS;
        break;
      case 4:
        off = r[Reg.ESI]!;
        break;
      case 5:
        off = r[Reg.EDI]!;
        break;
      case 6:
        if (mod === 0) off = c.fetch16();
        else {
          off = r[Reg.EBP]!;
          seg = SReg.SS;
        }
        break;
      default:
        off = r[Reg.EBX]!;
        break;
    }
    if (mod === 1) off += sx8(c.fetch8());
    else if (mod === 2) off += c.fetch16();
    c.eaOff = off & 0xffff;
  } else {
    if (rm === 4) {
      const sib = c.fetch8();
      const idx = (sib >> 3) & 7;
      const base = sib & 7;
      off = idx === 4 ? 0 : r[idx]! << (sib >> 6);
      if (base === 5 && mod === 0) off += c.fetch32();
      else {
        off += r[base]!;
        if (base === 4 || base === 5) seg = SReg.SS;
      }
    } else if (rm === 5 && mod === 0) off = c.fetch32();
    else {
      off = r[rm]!;
      if (rm === 5) seg = SReg.SS;
    }
    if (mod === 1) off += sx8(c.fetch8());
    else if (mod === 2) off += c.fetch32();
    c.eaOff = off >>> 0;
  }
  c.eaSeg = c.segOvr >= 0 ? c.segOvr : seg;
}

function readRm(c: Cpu, bits: number): number {
  if (c.mod === 3) return getReg(c, c.rmReg, bits);
  return c.rdSz(c.eaSeg, c.eaOff, bits);
}
function writeRm(c: Cpu, bits: number, v: number): void {
  if (c.mod === 3) setReg(c, c.rmReg, bits, v);
  else c.wrSz(c.eaSeg, c.eaOff, bits, v);
}
/** Memory operand at eaOff + delta (wrapping in the address size). */
function eaPlus(c: Cpu, delta: number): number {
  return c.a32 ? (c.eaOff + delta) >>> 0 : (c.eaOff + delta) & 0xffff;
}
function requireMem(c: Cpu): void {
  if (c.mod === 3) c.ud();
}

// ------------------------------------------------------------------ ALU

/** ALU operation `op` (SDM table A-6 numbering) on `bits`-wide operands; records the lazy flags. */
export function alu(c: Cpu, op: number, a: number, b: number, bits: number): number {
  let r: number;
  switch (op) {
    case Alu.add:
      r = (a + b) | 0;
      c.setLazy(LazyOp.add, a, b, r, bits);
      break;
    case Alu.or:
      r = a | b;
      c.setLazy(LazyOp.logic, a, b, r, bits);
      break;
    case Alu.adc: {
      const cf = c.getCF();
      r = (a + b + cf) | 0;
      c.setLazy(cf ? LazyOp.adc : LazyOp.add, a, b, r, bits);
      break;
    }
    case Alu.sbb: {
      const cf = c.getCF();
      r = (a - b - cf) | 0;
      c.setLazy(cf ? LazyOp.sbb : LazyOp.sub, a, b, r, bits);
      break;
    }
    case Alu.and:
      r = a & b;
      c.setLazy(LazyOp.logic, a, b, r, bits);
      break;
    case Alu.xor:
      r = a ^ b;
      c.setLazy(LazyOp.logic, a, b, r, bits);
      break;
    default: // sub, cmp
      r = (a - b) | 0;
      c.setLazy(LazyOp.sub, a, b, r, bits);
      break;
  }
  return r & mask(bits);
}

/** Compute an ALU result without touching flags (for the write-before-flags order). */
function aluResult(c: Cpu, op: number, a: number, b: number, bits: number): number {
  switch (op) {
    case Alu.add:
      return (a + b) & mask(bits);
    case Alu.or:
      return (a | b) & mask(bits);
    case Alu.adc:
      return (a + b + c.getCF()) & mask(bits);
    case Alu.sbb:
      return (a - b - c.getCF()) & mask(bits);
    case Alu.and:
      return a & b & mask(bits);
    case Alu.xor:
      return (a ^ b) & mask(bits);
    default:
      return (a - b) & mask(bits);
  }
}

/** ALU on r/m destination: write first (it may fault), then the flags. */
export function aluRm(c: Cpu, op: number, b: number, bits: number): void {
  if (c.mod === 3) {
    const r = alu(c, op, getReg(c, c.rmReg, bits), b, bits);
    if (op !== Alu.cmp) setReg(c, c.rmReg, bits, r);
    return;
  }
  const a = readRm(c, bits);
  if (op !== Alu.cmp) writeRm(c, bits, aluResult(c, op, a, b, bits));
  alu(c, op, a, b, bits);
}

/** Set CF, OF and SF/ZF/PF from a result; AF cleared (eager flag update). */
function setSzpCo(c: Cpu, res: number, bits: number, cf: number, of: number): void {
  const m = mask(bits);
  const f =
    (cf & 1) | (parity8(res) << 2) | ((res & m) === 0 ? Eflags.ZF : 0) | (((res >>> (bits - 1)) & 1) << 7) | ((of & 1) << 11);
  c.setFlagBits(ARITH_FLAGS, f);
}

function incDec(c: Cpu, a: number, dec: boolean, bits: number): number {
  const r = (dec ? a - 1 : a + 1) & mask(bits);
  return r;
}

// ------------------------------------------------------------------ shifts and rotates

/** Shift group 2 operation `op` of `a` by `count` (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR); sets the flags. */
export function shift(c: Cpu, op: number, a: number, count: number, bits: number): number {
  const m = mask(bits);
  let cnt = count & 0x1f;
  if (cnt === 0) return a;
  a &= m;
  let r: number;
  switch (op) {
    case Shift.rol: {
      const rc = cnt % bits;
      r = rc === 0 ? a : ((a << rc) | (a >>> (bits - rc))) & m;
      const cf = r & 1;
      c.setFlagBits(Eflags.CF | Eflags.OF, cf | ((((r >>> (bits - 1)) ^ cf) & 1) << 11));
      return r;
    }
    case Shift.ror: {
      const rc = cnt % bits;
      r = rc === 0 ? a : ((a >>> rc) | (a << (bits - rc))) & m;
      const msb = (r >>> (bits - 1)) & 1;
      c.setFlagBits(Eflags.CF | Eflags.OF, msb | ((msb ^ ((r >>> (bits - 2)) & 1)) << 11));
      return r;
    }
    case Shift.rcl: {
      if (bits < 32) cnt %= bits + 1;
      let cf = c.getCF();
      r = a;
      for (let i = 0; i < cnt; i++) {
        const out = (r >>> (bits - 1)) & 1;
        r = ((r << 1) | cf) & m;
        cf = out;
      }
      c.setFlagBits(Eflags.CF | Eflags.OF, cf | ((((r >>> (bits - 1)) ^ cf) & 1) << 11));
      return r;
    }
    case Shift.rcr: {
      if (bits < 32) cnt %= bits + 1;
      let cf = c.getCF();
      r = a;
      for (let i = 0; i < cnt; i++) {
        const out = r & 1;
        r = ((r >>> 1) | (cf << (bits - 1))) & m;
        cf = out;
      }
      const of = ((r >>> (bits - 1)) ^ (r >>> (bits - 2))) & 1;
      c.setFlagBits(Eflags.CF | Eflags.OF, cf | (of << 11));
      return r;
    }
    case Shift.shl:
    case Shift.sal:
      r = cnt >= 32 ? 0 : (a << cnt) & m;
      c.setLazy(LazyOp.shl, a, cnt, r, bits);
      return r;
    case Shift.shr:
      r = (a >>> cnt) & m;
      c.setLazy(LazyOp.shr, a, cnt, r, bits);
      return r;
    default: {
      const s = sx(a, bits);
      r = (s >> cnt) & m;
      c.setLazy(LazyOp.sar, a, cnt, r, bits);
      return r;
    }
  }
}

/** Result of a shift/rotate without flags (for write-before-flags on memory). */
export function shiftGroup(c: Cpu, bits: number, count: number): void {
  const op = c.regField;
  const a = readRm(c, bits);
  if ((count & 0x1f) === 0) return;
  if (c.mod !== 3) {
    // probe writability before flags change
    c.wrSz(c.eaSeg, c.eaOff, bits, a);
  }
  writeRm(c, bits, shift(c, op, a, count, bits));
}

function shld(c: Cpu, bits: number, count: number, right: boolean): void {
  const cnt = count & 0x1f;
  const dst = readRm(c, bits) & mask(bits);
  const src = getReg(c, c.regField, bits) & mask(bits);
  if (cnt === 0) return;
  let r: number;
  let cf: number;
  if (bits === 32) {
    if (right) {
      r = (dst >>> cnt) | (src << (32 - cnt));
      cf = (dst >>> (cnt - 1)) & 1;
    } else {
      r = (dst << cnt) | (src >>> (32 - cnt));
      cf = (dst >>> (32 - cnt)) & 1;
    }
  } else {
    // 16-bit: shift the 32-bit pair dst:src (count > 16 gives an undefined result on hardware)
    if (right) {
      const pair = ((src << 16) | dst) >>> 0;
      r = (pair >>> cnt) & 0xffff;
      cf = (pair >>> (cnt - 1)) & 1;
    } else {
      const pair = ((dst << 16) | src) >>> 0;
      r = ((pair << cnt) >>> 16) & 0xffff;
      cf = (pair >>> (32 - cnt)) & 1;
    }
  }
  writeRm(c, bits, r);
  const of = ((r ^ dst) >>> (bits - 1)) & 1;
  setSzpCo(c, r, bits, cf, of);
}

// ------------------------------------------------------------------ multiply and divide

let mulLo = 0;
let mulHi = 0;
/** Unsigned 32×32 → 64 multiply into mulLo/mulHi (both uint32). */
function mulu32(a: number, b: number): void {
  a >>>= 0;
  b >>>= 0;
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const ll = aL * bL;
  const lh = aL * bH;
  const hl = aH * bL;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  mulLo = (((mid & 0xffff) << 16) | (ll & 0xffff)) >>> 0;
  mulHi = (aH * bH + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 0x10000)) >>> 0;
}
/** Signed 32×32 → 64 multiply into mulLo/mulHi. */
function muls32(a: number, b: number): void {
  mulu32(a, b);
  let hi = mulHi;
  if (a < 0 || a > 0x7fffffff) hi -= b >>> 0;
  if (b < 0 || b > 0x7fffffff) hi -= a >>> 0;
  mulHi = hi >>> 0;
}

/** IMUL with a truncated destination (two- and three-operand forms): result, CF = OF = overflow. */
export function imulTrunc(c: Cpu, a: number, b: number, bits: number): number {
  let r: number;
  let of: number;
  if (bits === 32) {
    muls32(a, b);
    r = mulLo | 0;
    of = mulHi !== (r >> 31) >>> 0 ? 1 : 0;
  } else {
    const full = sx16(a) * sx16(b);
    r = full & 0xffff;
    of = full !== sx16(r) ? 1 : 0;
  }
  setSzpCo(c, r, bits, of, of);
  return r;
}

function mulGroup(c: Cpu, signed: boolean, bits: number): void {
  const src = readRm(c, bits);
  let of: number;
  let low: number;
  if (bits === 8) {
    const al = c.regs[Reg.EAX]! & 0xff;
    const p = signed ? sx8(al) * sx8(src) : al * (src & 0xff);
    c.regs[Reg.EAX] = (c.regs[Reg.EAX]! & ~0xffff) | (p & 0xffff);
    of = signed ? (p !== sx8(p & 0xff) ? 1 : 0) : (p & 0xff00) !== 0 ? 1 : 0;
    low = p & 0xff;
  } else if (bits === 16) {
    const ax = c.regs[Reg.EAX]! & 0xffff;
    const p = signed ? sx16(ax) * sx16(src) : ax * (src & 0xffff);
    setReg(c, Reg.EAX, 16, p);
    setReg(c, Reg.EDX, 16, p >> 16);
    of = signed ? (p !== sx16(p & 0xffff) ? 1 : 0) : (p >>> 16) & 0xffff ? 1 : 0;
    low = p & 0xffff;
  } else {
    if (signed) muls32(c.regs[Reg.EAX]!, src);
    else mulu32(c.regs[Reg.EAX]!, src);
    c.regs[Reg.EAX] = mulLo;
    c.regs[Reg.EDX] = mulHi;
    of = signed ? (mulHi !== (mulLo >> 31) >>> 0 ? 1 : 0) : mulHi !== 0 ? 1 : 0;
    low = mulLo;
  }
  setSzpCo(c, low, bits, of, of);
}

/** Unsigned 64/32 division of hi:lo by d (hi < d), into mulLo (quotient) / mulHi (remainder). */
function divu64(hi: number, lo: number, d: number): void {
  if (hi === 0) {
    mulLo = Math.floor(lo / d) >>> 0;
    mulHi = lo % d;
    return;
  }
  const n1 = hi * 0x10000 + (lo >>> 16);
  const q1 = Math.floor(n1 / d);
  const r1 = n1 - q1 * d;
  const n0 = r1 * 0x10000 + (lo & 0xffff);
  const q0 = Math.floor(n0 / d);
  mulLo = (q1 * 0x10000 + q0) >>> 0;
  mulHi = n0 - q0 * d;
}

function divGroup(c: Cpu, signed: boolean, bits: number): void {
  const raw = readRm(c, bits);
  const d = raw & mask(bits);
  if (d === 0) c.fault(Vector.DE, 0, false);
  if (bits === 8) {
    const ax = c.regs[Reg.EAX]! & 0xffff;
    let q: number;
    let r: number;
    if (signed) {
      const n = sx16(ax);
      const ds = sx8(d);
      q = Math.trunc(n / ds);
      r = n - q * ds;
      if (q > 127 || q < -128) c.fault(Vector.DE, 0, false);
    } else {
      q = Math.floor(ax / d);
      r = ax % d;
      if (q > 0xff) c.fault(Vector.DE, 0, false);
    }
    c.regs[Reg.EAX] = (c.regs[Reg.EAX]! & ~0xffff) | (q & 0xff) | ((r & 0xff) << 8);
  } else if (bits === 16) {
    const n32 = ((c.regs[Reg.EDX]! & 0xffff) << 16) | (c.regs[Reg.EAX]! & 0xffff);
    let q: number;
    let r: number;
    if (signed) {
      const ds = sx16(d);
      q = Math.trunc(n32 / ds);
      r = n32 - q * ds;
      if (q > 32767 || q < -32768) c.fault(Vector.DE, 0, false);
    } else {
      const n = n32 >>> 0;
      q = Math.floor(n / d);
      r = n % d;
      if (q > 0xffff) c.fault(Vector.DE, 0, false);
    }
    setReg(c, Reg.EAX, 16, q);
    setReg(c, Reg.EDX, 16, r);
  } else {
    let hi = c.regs[Reg.EDX]! >>> 0;
    let lo = c.regs[Reg.EAX]! >>> 0;
    if (!signed) {
      if (hi >= d >>> 0) c.fault(Vector.DE, 0, false);
      divu64(hi, lo, d >>> 0);
      c.regs[Reg.EAX] = mulLo;
      c.regs[Reg.EDX] = mulHi;
      return;
    }
    const negN = hi > 0x7fffffff;
    if (negN) {
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    }
    const ds = d | 0;
    const negD = ds < 0;
    const ad = negD ? -ds : ds; // 0x80000000 stays exact as a double
    if (hi >= ad) c.fault(Vector.DE, 0, false);
    divu64(hi, lo, ad);
    const neg = negN !== negD;
    if (neg ? mulLo > 0x80000000 : mulLo > 0x7fffffff) c.fault(Vector.DE, 0, false);
    c.regs[Reg.EAX] = neg ? -mulLo : mulLo;
    c.regs[Reg.EDX] = negN ? -mulHi : mulHi;
  }
}

// ------------------------------------------------------------------ BCD

function bcd(c: Cpu, op: number): void {
  const eax = c.regs[Reg.EAX]!;
  let al = eax & 0xff;
  const af = c.getAF();
  const cf = c.getCF();
  switch (op) {
    case 0x27: // DAA
    case 0x2f: {
      // DAS
      const old = al;
      let ncf = 0;
      let naf = 0;
      const sub = op === 0x2f;
      if ((al & 0xf) > 9 || af) {
        ncf = cf | (sub ? (al < 6 ? 1 : 0) : al + 6 > 0xff ? 1 : 0);
        al = (sub ? al - 6 : al + 6) & 0xff;
        naf = 1;
      } else ncf = 0;
      if (old > 0x99 || cf) {
        al = (sub ? al - 0x60 : al + 0x60) & 0xff;
        ncf = 1;
      } else if (!sub || !ncf) ncf = ncf && sub ? 1 : 0;
      c.regs[Reg.EAX] = (eax & ~0xff) | al;
      const f = ncf | (parity8(al) << 2) | (naf << 4) | (al === 0 ? Eflags.ZF : 0) | (al & 0x80);
      c.setFlagBits(ARITH_FLAGS, f);
      return;
    }
    case 0x37: // AAA
    case 0x3f: {
      // AAS
      let ax = eax & 0xffff;
      let flag = 0;
      if ((al & 0xf) > 9 || af) {
        if (op === 0x37) ax = (ax + 0x106) & 0xffff;
        else ax = (ax - 6 - 0x100) & 0xffff; // SDM: AX = AX - 6; AH = AH - 1
        flag = 1;
      }
      ax &= 0xff0f;
      c.regs[Reg.EAX] = (eax & ~0xffff) | ax;
      const l = ax & 0xff;
      c.setFlagBits(ARITH_FLAGS, flag | (flag << 4) | (parity8(l) << 2) | (l === 0 ? Eflags.ZF : 0) | (l & 0x80));
      return;
    }
    default:
      return;
  }
}

// ------------------------------------------------------------------ control transfer

function jumpNear(c: Cpu, target: number): void {
  const t = c.o32 ? target >>> 0 : target & 0xffff;
  if (t > c.csLimit) c.gp(0);
  c.eip = t;
}

/** Far JMP/CALL (SDM JMP, CALL): real mode, code segments and call gates. */
function farTransfer(c: Cpu, sel: number, off: number, isCall: boolean): void {
  if (!c.pe || c.vm86) {
    const t = c.o32 ? off >>> 0 : off & 0xffff;
    if (isCall) {
      c.pushV(c.segSel[SReg.CS]!);
      c.pushV(c.eip);
    }
    c.loadRealSeg(SReg.CS, sel);
    c.eip = t;
    return;
  }
  if ((sel & ~3) === 0) c.gp(0);
  if (!c.readDescriptor(sel)) c.gp(sel & ~3);
  const ar = Cpu.descAr(c.descHi);
  if (ar & Ar.S) {
    c.checkFarCode(sel);
    const t = c.o32 ? off >>> 0 : off & 0xffff;
    if (t > Cpu.descLimit(c.descLo, c.descHi) >>> 0) c.gp(0);
    if (isCall) {
      const lo = c.descLo;
      const hi = c.descHi;
      c.pushV(c.segSel[SReg.CS]!);
      c.pushV(c.eip);
      c.descLo = lo;
      c.descHi = hi;
    }
    c.loadCs(sel, c.cplv);
    c.eip = t;
    return;
  }
  const type = ar & 0xf;
  const dpl = (ar >> Ar.DPL_SHIFT) & 3;
  if (type === SysType.tss32Avail || type === SysType.tss32Busy || type === SysType.taskGate) {
    // task switch through a TSS descriptor or a task gate (SDM 7.3)
    if (dpl < c.cplv || dpl < (sel & 3)) c.gp(sel & ~3);
    if (!(ar & Ar.P)) c.fault(Vector.NP, sel & ~3, true);
    const tss = type === SysType.taskGate ? c.descLo >>> 16 : sel;
    taskSwitch(c, tss, isCall ? TaskSource.call : TaskSource.jmp, c.eip, false, 0);
    return;
  }
  if (type !== SysType.callGate16 && type !== SysType.callGate32) c.gp(sel & ~3);
  callGate(c, sel, ar, isCall, type === SysType.callGate32);
}

/** Transfer through a call gate (SDM 5.8.4, 5.8.5), with the stack switch for inner-level CALLs. */
function callGate(c: Cpu, gateSel: number, gateAr: number, isCall: boolean, is32: boolean): void {
  const gdpl = (gateAr >> Ar.DPL_SHIFT) & 3;
  if (gdpl < c.cplv || gdpl < (gateSel & 3)) c.gp(gateSel & ~3);
  if (!(gateAr & Ar.P)) c.fault(Vector.NP, gateSel & ~3, true);
  const glo = c.descLo;
  const ghi = c.descHi;
  const sel = glo >>> 16;
  const target = is32 ? ((ghi & 0xffff0000) | (glo & 0xffff)) >>> 0 : glo & 0xffff;
  const params = ghi & 0x1f;
  if ((sel & ~3) === 0) c.gp(0);
  if (!c.readDescriptor(sel)) c.gp(sel & ~3);
  const ar = Cpu.descAr(c.descHi);
  const dpl = (ar >> Ar.DPL_SHIFT) & 3;
  if ((ar & (Ar.S | Ar.CODE)) !== (Ar.S | Ar.CODE) || dpl > c.cplv) c.gp(sel & ~3);
  if (!isCall && !(ar & Ar.EXPAND_DOWN) && dpl !== c.cplv) c.gp(sel & ~3);
  if (!(ar & Ar.P)) c.fault(Vector.NP, sel & ~3, true);
  if (target > Cpu.descLimit(c.descLo, c.descHi) >>> 0) c.gp(0);
  const size = is32 ? 4 : 2;
  const cslo = c.descLo;
  const cshi = c.descHi;
  if (isCall && !(ar & Ar.EXPAND_DOWN) && dpl < c.cplv) {
    const tr32 = (c.segAr[SReg.TR]! & 0xf) === SysType.tss32Busy;
    const slot = tr32 ? 4 + dpl * 8 : 2 + dpl * 4;
    const trBase = c.segBase[SReg.TR]!;
    if (slot + (tr32 ? 7 : 3) > c.segLimit[SReg.TR]! >>> 0) c.fault(Vector.TS, c.segSel[SReg.TR]! & ~3, true);
    const newEsp = tr32 ? c.rdSys32((trBase + slot) | 0) : c.rdSys16((trBase + slot) | 0);
    const newSs = c.rdSys16((trBase + slot + (tr32 ? 4 : 2)) | 0);
    if ((newSs & ~3) === 0 || !c.readDescriptor(newSs)) c.fault(Vector.TS, newSs & ~3, true);
    const ssAr = Cpu.descAr(c.descHi);
    if ((newSs & 3) !== dpl || ((ssAr >> Ar.DPL_SHIFT) & 3) !== dpl || (ssAr & (Ar.S | Ar.CODE | Ar.WRITABLE)) !== (Ar.S | Ar.WRITABLE)) {
      c.fault(Vector.TS, newSs & ~3, true);
    }
    if (!(ssAr & Ar.P)) c.fault(Vector.SS, newSs & ~3, true);
    // collect the parameters from the old stack before switching
    const oldSs = c.segSel[SReg.SS]!;
    const oldEsp = c.regs[Reg.ESP]!;
    const args = PARAM_BUF;
    for (let i = 0; i < params; i++) args[i] = c.peek(i * size, size * 8);
    c.markAccessed(newSs);
    c.loadFromDesc(SReg.SS, newSs);
    c.regs[Reg.ESP] = newEsp;
    c.setCpl(dpl);
    c.pushSz(size, oldSs);
    c.pushSz(size, oldEsp);
    for (let i = params - 1; i >= 0; i--) c.pushSz(size, args[i]!);
    c.pushSz(size, c.segSel[SReg.CS]!);
    c.pushSz(size, c.eip);
    c.descLo = cslo;
    c.descHi = cshi;
    c.loadCs(sel, dpl);
    c.updateMode();
  } else {
    if (isCall) {
      c.pushSz(size, c.segSel[SReg.CS]!);
      c.pushSz(size, c.eip);
    }
    c.descLo = cslo;
    c.descHi = cshi;
    c.loadCs(sel, c.cplv);
  }
  c.eip = target;
}
const PARAM_BUF = new Int32Array(32);

/** RET far (SDM RET): same-level and outer-level returns. */
function retFar(c: Cpu, imm: number): void {
  const bits = c.o32 ? 32 : 16;
  const size = bits / 8;
  const off = c.peek(0, bits) >>> 0;
  const sel = c.peek(size, bits) & 0xffff;
  if (!c.pe || c.vm86) {
    c.addSp(2 * size + imm);
    c.loadRealSeg(SReg.CS, sel);
    c.eip = c.o32 ? off : off & 0xffff;
    return;
  }
  const rpl = sel & 3;
  if ((sel & ~3) === 0) c.gp(0);
  if (!c.readDescriptor(sel)) c.gp(sel & ~3);
  const ar = Cpu.descAr(c.descHi);
  const dpl = (ar >> Ar.DPL_SHIFT) & 3;
  if (rpl < c.cplv || (ar & (Ar.S | Ar.CODE)) !== (Ar.S | Ar.CODE)) c.gp(sel & ~3);
  if (ar & Ar.EXPAND_DOWN ? dpl > rpl : dpl !== rpl) c.gp(sel & ~3);
  if (!(ar & Ar.P)) c.fault(Vector.NP, sel & ~3, true);
  if (off > Cpu.descLimit(c.descLo, c.descHi) >>> 0) c.gp(0);
  if (rpl === c.cplv) {
    c.addSp(2 * size + imm);
    c.loadCs(sel, rpl);
    c.eip = off;
    return;
  }
  const cslo = c.descLo;
  const cshi = c.descHi;
  const newEsp = c.peek(2 * size + imm, bits);
  const newSs = c.peek(3 * size + imm, bits) & 0xffff;
  checkOuterSs(c, newSs, rpl);
  const sslo = c.descLo;
  const sshi = c.descHi;
  c.descLo = cslo;
  c.descHi = cshi;
  c.loadCs(sel, rpl);
  c.descLo = sslo;
  c.descHi = sshi;
  c.markAccessed(newSs);
  c.loadFromDesc(SReg.SS, newSs);
  c.regs[Reg.ESP] = bits === 32 || c.ss32 ? newEsp : (c.regs[Reg.ESP]! & ~0xffff) | (newEsp & 0xffff);
  c.addSp(imm);
  c.eip = off;
  c.updateMode();
  c.nullOuterSegments();
}

/** Checks on the SS popped by a return to an outer level (leaves its descriptor in descLo/Hi). */
function checkOuterSs(c: Cpu, ss: number, rpl: number): void {
  if ((ss & ~3) === 0) c.gp(0);
  if (!c.readDescriptor(ss)) c.gp(ss & ~3);
  const ar = Cpu.descAr(c.descHi);
  if ((ss & 3) !== rpl || ((ar >> Ar.DPL_SHIFT) & 3) !== rpl || (ar & (Ar.S | Ar.CODE | Ar.WRITABLE)) !== (Ar.S | Ar.WRITABLE)) c.gp(ss & ~3);
  if (!(ar & Ar.P)) c.fault(Vector.SS, ss & ~3, true);
}

/** IRET (SDM IRET): real mode, same level and return to an outer level. */
function iret(c: Cpu): void {
  const bits = c.o32 ? 32 : 16;
  const size = bits / 8;
  const off = c.peek(0, bits) >>> 0;
  const sel = c.peek(size, bits) & 0xffff;
  const fl = c.peek(2 * size, bits) >>> 0;
  const old = c.getEflags();
  if (!c.pe) {
    c.addSp(3 * size);
    c.loadRealSeg(SReg.CS, sel);
    c.eip = off;
    c.setEflags(bits === 32 ? fl : (old & 0xffff0000) | fl);
    c.requestEventCheck();
    return;
  }
  if (c.vm86) {
    if (c.iopl < 3) c.gp(0);
    c.addSp(3 * size);
    c.loadRealSeg(SReg.CS, sel);
    c.eip = off;
    const keep = Eflags.IOPL | Eflags.VM;
    const v = bits === 32 ? fl : (old & 0xffff0000) | fl;
    c.setEflags((v & ~keep) | (old & keep));
    c.requestEventCheck();
    return;
  }
  if (old & Eflags.NT) {
    // return from a nested task to the one in the back link (SDM 7.3)
    const back = c.rdSys16(c.segBase[SReg.TR]!);
    taskSwitch(c, back, TaskSource.iret, c.eip, false, 0);
    return;
  }
  if (fl & Eflags.VM && bits === 32 && c.cplv === 0) c.gp(0); // return to virtual-8086 not modelled
  const rpl = sel & 3;
  if ((sel & ~3) === 0) c.gp(0);
  if (!c.readDescriptor(sel)) c.gp(sel & ~3);
  const ar = Cpu.descAr(c.descHi);
  const dpl = (ar >> Ar.DPL_SHIFT) & 3;
  if (rpl < c.cplv || (ar & (Ar.S | Ar.CODE)) !== (Ar.S | Ar.CODE)) c.gp(sel & ~3);
  if (ar & Ar.EXPAND_DOWN ? dpl > rpl : dpl !== rpl) c.gp(sel & ~3);
  if (!(ar & Ar.P)) c.fault(Vector.NP, sel & ~3, true);
  if (off > Cpu.descLimit(c.descLo, c.descHi) >>> 0) c.gp(0);
  const cpl = c.cplv;
  // which EFLAGS bits IRET may change at this privilege level
  let writable = Eflags.CF | Eflags.PF | Eflags.AF | Eflags.ZF | Eflags.SF | Eflags.TF | Eflags.DF | Eflags.OF | Eflags.NT | Eflags.RF | Eflags.AC | Eflags.ID;
  if (cpl === 0) writable |= Eflags.IOPL;
  if (cpl <= c.iopl) writable |= Eflags.IF;
  if (bits === 16) writable &= 0xffff;
  const nf = (old & ~writable) | (fl & writable);
  const cslo = c.descLo;
  const cshi = c.descHi;
  if (rpl === cpl) {
    c.addSp(3 * size);
    c.loadCs(sel, rpl);
    c.eip = off;
    c.setEflags(nf);
    c.requestEventCheck();
    return;
  }
  const newEsp = c.peek(3 * size, bits);
  const newSs = c.peek(4 * size, bits) & 0xffff;
  checkOuterSs(c, newSs, rpl);
  const sslo = c.descLo;
  const sshi = c.descHi;
  c.descLo = cslo;
  c.descHi = cshi;
  c.loadCs(sel, rpl);
  c.descLo = sslo;
  c.descHi = sshi;
  c.markAccessed(newSs);
  c.loadFromDesc(SReg.SS, newSs);
  c.regs[Reg.ESP] = bits === 32 ? newEsp : (c.regs[Reg.ESP]! & ~0xffff) | (newEsp & 0xffff);
  c.eip = off;
  c.setEflags(nf);
  c.updateMode();
  c.nullOuterSegments();
  c.requestEventCheck();
}

/** INT n / INT3 / INTO / INT1: deliver with the return address after the instruction. */
function softInt(c: Cpu, vector: number, type: number): void {
  if (c.vm86 && c.iopl < 3 && type === EventType.softwareInterrupt) c.gp(0);
  c.deliver(vector, type, 0, false, c.eip);
}

// ------------------------------------------------------------------ port I/O

/** I/O permission: IOPL, then the TSS I/O bitmap (SDM Vol. 1 18.5). */
function ioPermission(c: Cpu, port: number, size: number): void {
  if (!c.pe || (!c.vm86 && c.cplv <= c.iopl)) return;
  const trAr = c.segAr[SReg.TR]! & 0xf;
  const limit = c.segLimit[SReg.TR]! >>> 0;
  if ((trAr !== SysType.tss32Busy && trAr !== SysType.tss32Avail) || limit < 0x67) c.gp(0);
  const base = c.segBase[SReg.TR]!;
  const mapBase = c.rdSys16((base + 0x66) | 0);
  const byte = mapBase + (port >> 3);
  if (byte + 1 > limit) c.gp(0);
  const bitsWord = c.rdSys16((base + byte) | 0);
  if ((bitsWord >> (port & 7)) & ((1 << size) - 1)) c.gp(0);
}

/** True when the I/O instruction exited to the VMM (the caller must return at once). */
function ioHook(c: Cpu, port: number, size: number, isIn: boolean, isString: boolean, imm: boolean): boolean {
  return c.nonRoot !== null && c.nonRoot.io(port, size, isIn, isString, c.rep !== 0 && isString, imm, c.eip - c.instrStart);
}

function portIn(c: Cpu, port: number, size: number): number {
  if (c.emuOps !== null) return c.emuOps.pioIn(port, size, 1)[0]! & mask(size * 8);
  return c.io.in(port, size) & mask(size * 8);
}
function portOut(c: Cpu, port: number, size: number, v: number): void {
  const val = size === 4 ? v >>> 0 : v & mask(size * 8);
  if (c.emuOps !== null) {
    ONE_VALUE[0] = val;
    c.emuOps.pioOut(port, size, ONE_VALUE);
  } else c.io.out(port, size, val);
}
const ONE_VALUE = [0];

function inOut(c: Cpu, port: number, size: number, isIn: boolean, imm: boolean): void {
  ioPermission(c, port, size);
  if (ioHook(c, port, size, isIn, false, imm)) return;
  if (isIn) setReg(c, Reg.EAX, size * 8, portIn(c, port, size));
  else portOut(c, port, size, c.regs[Reg.EAX]!);
}

// ------------------------------------------------------------------ string instructions

function strIndex(c: Cpu, r: number): number {
  return c.a32 ? c.regs[r]! >>> 0 : c.regs[r]! & 0xffff;
}
function strAdvance(c: Cpu, r: number, delta: number): void {
  if (c.a32) c.regs[r] = (c.regs[r]! + delta) | 0;
  else c.regs[r] = (c.regs[r]! & ~0xffff) | ((c.regs[r]! + delta) & 0xffff);
}

function stringOp(c: Cpu, kind: number, bits: number): void {
  const size = bits >> 3;
  const delta = c.flags & Eflags.DF ? -size : size;
  const src = c.segOvr >= 0 ? c.segOvr : SReg.DS;
  let port = 0;
  if (kind === Str.ins || kind === Str.outs) {
    port = c.regs[Reg.EDX]! & 0xffff;
    ioPermission(c, port, size);
    if (ioHook(c, port, size, kind === Str.ins, true, false)) return;
  }
  const rep = c.rep;
  // REP MOVS/STOS forward over RAM: whole runs inside a page at once (each element still counts)
  let fast = false;
  if (rep !== 0) {
    if (strIndex(c, Reg.ECX) === 0) return;
    if (c.emuOps !== null && (kind === Str.ins || kind === Str.outs)) {
      stringIoBulk(c, kind, size, delta, port, src);
      return;
    }
    fast = (kind === Str.movs || kind === Str.stos) && delta > 0 && !c.dbData && c.emuOps === null;
  }
  let first = true;
  for (;;) {
    if (fast) {
      const r = repChunk(c, kind, size, src, first);
      if (r < 0) return;
      if (r > 0) {
        first = false;
        continue;
      }
    }
    // every element after the first is one more retired instruction, within the budget
    if (!first) {
      if (c.instructionCount >= c.budgetEnd) {
        c.eip = c.instrStart; // resume the REP on the next run
        return;
      }
      c.instructionCount++;
    }
    first = false;
    switch (kind) {
      case Str.movs: {
        const v = c.rdSz(src, strIndex(c, Reg.ESI), bits);
        c.wrSz(SReg.ES, strIndex(c, Reg.EDI), bits, v);
        strAdvance(c, Reg.ESI, delta);
        strAdvance(c, Reg.EDI, delta);
        break;
      }
      case Str.cmps: {
        const a = c.rdSz(src, strIndex(c, Reg.ESI), bits);
        const b = c.rdSz(SReg.ES, strIndex(c, Reg.EDI), bits);
        alu(c, Alu.cmp, a, b, bits);
        strAdvance(c, Reg.ESI, delta);
        strAdvance(c, Reg.EDI, delta);
        break;
      }
      case Str.stos:
        c.wrSz(SReg.ES, strIndex(c, Reg.EDI), bits, c.regs[Reg.EAX]!);
        strAdvance(c, Reg.EDI, delta);
        break;
      case Str.lods:
        setReg(c, Reg.EAX, bits, c.rdSz(src, strIndex(c, Reg.ESI), bits));
        strAdvance(c, Reg.ESI, delta);
        break;
      case Str.scas: {
        const b = c.rdSz(SReg.ES, strIndex(c, Reg.EDI), bits);
        alu(c, Alu.cmp, getReg(c, Reg.EAX, bits), b, bits);
        strAdvance(c, Reg.EDI, delta);
        break;
      }
      case Str.ins: {
        // probe the destination before the port read has its side effect
        const di = strIndex(c, Reg.EDI);
        c.wrSz(SReg.ES, di, bits, 0);
        c.wrSz(SReg.ES, di, bits, portIn(c, port, size));
        strAdvance(c, Reg.EDI, delta);
        break;
      }
      default: {
        const v = c.rdSz(src, strIndex(c, Reg.ESI), bits);
        portOut(c, port, size, v);
        strAdvance(c, Reg.ESI, delta);
        break;
      }
    }
    if (rep === 0) return;
    strAdvance(c, Reg.ECX, -1);
    if (strIndex(c, Reg.ECX) === 0) return;
    if (kind === Str.cmps || kind === Str.scas) {
      const zf = c.getZF();
      if (rep === 0xf3 ? zf === 0 : zf === 1) return;
    }
  }
}

/** Host address of a linear address for a bulk string access, or -1 when it is not plain RAM. */
function hostAddr(c: Cpu, lin: number, write: boolean): number {
  const e = c.tlb[lin >>> 12]!;
  if ((e & (write ? c.accW : c.accR)) !== 0) return (e & -4096) | (lin & 0xfff);
  return c.translate(lin, write ? Access.write : Access.read, c.user);
}

/**
 * One run of a forward REP MOVS/STOS that stays inside one source and one destination page and
 * the budget. Returns -1 when the instruction finished or stopped for the budget, 1 after
 * progress, 0 when the next element must take the element-by-element path.
 */
function repChunk(c: Cpu, kind: number, size: number, src: number, first: boolean): number {
  const allowed = c.budgetEnd - c.instructionCount + (first ? 1 : 0);
  if (allowed <= 0) {
    c.eip = c.instrStart; // resume the REP on the next run
    return -1;
  }
  const n = strIndex(c, Reg.ECX);
  const di = strIndex(c, Reg.EDI);
  const linD = (c.segBase[SReg.ES]! + di) | 0;
  let chunk = Math.min(n, allowed, Math.floor((0x1000 - (linD & 0xfff)) / size));
  if (!c.a32) chunk = Math.min(chunk, Math.floor((0x10000 - di) / size));
  const movs = kind === Str.movs;
  let si = 0;
  let linS = 0;
  if (movs) {
    si = strIndex(c, Reg.ESI);
    linS = (c.segBase[src]! + si) | 0;
    chunk = Math.min(chunk, Math.floor((0x1000 - (linS & 0xfff)) / size));
    if (!c.a32) chunk = Math.min(chunk, Math.floor((0x10000 - si) / size));
  }
  if (chunk < 2) return 0;
  const bytes = chunk * size;
  // segment checks for the whole run, then the translations (either may fault: nothing done yet)
  if (movs) c.segAddr(src, si, bytes, 1);
  c.segAddr(SReg.ES, di, bytes, 2);
  const hs = movs ? hostAddr(c, linS, false) : 0;
  const hd = hostAddr(c, linD, true);
  if (hd < 0 || hs < 0) return 0;
  const u8 = c.mem.u8;
  if (movs) {
    if (hd > hs && hd < hs + bytes) return 0; // overlapping forward copy repeats a pattern
    u8.copyWithin(hd, hs, hs + bytes);
  } else {
    const v = c.regs[Reg.EAX]!;
    if (size === 1) u8.fill(v & 0xff, hd, hd + bytes);
    else if (size === 2 && (hd & 1) === 0) c.mem.u16.fill(v & 0xffff, hd >> 1, (hd + bytes) >> 1);
    else if (size === 4 && (hd & 3) === 0) c.mem.i32.fill(v, hd >> 2, (hd + bytes) >> 2);
    else for (let i = 0; i < bytes; i++) u8[hd + i] = v >> (8 * (i % size));
  }
  if (movs) strAdvance(c, Reg.ESI, bytes);
  strAdvance(c, Reg.EDI, bytes);
  strAdvance(c, Reg.ECX, -chunk);
  c.instructionCount += chunk - (first ? 1 : 0);
  return strIndex(c, Reg.ECX) === 0 ? -1 : 1;
}

/** REP INS/OUTS under emulate(): one pio call for the elements that fit in the page. */
function stringIoBulk(c: Cpu, kind: number, size: number, delta: number, port: number, src: number): void {
  const reg = kind === Str.ins ? Reg.EDI : Reg.ESI;
  const seg = kind === Str.ins ? SReg.ES : src;
  const off = strIndex(c, reg);
  const lin = (c.segBase[seg]! + off) >>> 0;
  const inPage = delta > 0 ? Math.floor((0x1000 - (lin & 0xfff)) / size) : Math.floor((lin & 0xfff) / size) + 1;
  const count = Math.max(1, Math.min(strIndex(c, Reg.ECX), inPage));
  const bits = size * 8;
  const wrap = c.a32 ? -1 : 0xffff;
  if (kind === Str.ins) {
    // check every destination before the port read has its side effect
    for (let i = 0; i < count; i++) c.wrSz(SReg.ES, ((off + i * delta) & wrap) >>> 0, bits, 0);
    const vals = c.emuOps!.pioIn(port, size, count);
    for (let i = 0; i < count; i++) c.wrSz(SReg.ES, ((off + i * delta) & wrap) >>> 0, bits, vals[i] ?? 0);
    strAdvance(c, Reg.EDI, count * delta);
  } else {
    const vals: number[] = [];
    for (let i = 0; i < count; i++) vals.push(c.rdSz(seg, ((off + i * delta) & wrap) >>> 0, bits) >>> 0);
    c.emuOps!.pioOut(port, size, vals);
    strAdvance(c, Reg.ESI, count * delta);
  }
  strAdvance(c, Reg.ECX, -count);
  if (strIndex(c, Reg.ECX) !== 0) c.eip = c.instrStart;
}

// ------------------------------------------------------------------ system instructions

function requireCpl0(c: Cpu): void {
  if (c.pe && c.cplv !== 0) c.gp(0);
}

/** MOV to CR0/CR3/CR4 and the CR0 half of CLTS/LMSW (SDM MOV-to-CR, 2.5). */
function writeCr(c: Cpu, cr: number, v: number): void {
  v >>>= 0;
  switch (cr) {
    case 0: {
      if (v & Cr0.PG && !(v & Cr0.PE)) c.gp(0);
      if (v & Cr0.NW && !(v & Cr0.CD)) c.gp(0);
      const old = c.cr0;
      c.cr0 = (v | Cr0.ET) | 0;
      if ((old ^ c.cr0) & (Cr0.PG | Cr0.WP | Cr0.PE)) c.flushTlb();
      c.lastCr0 = c.cr0;
      c.updateMode();
      return;
    }
    case 3:
      c.cr3 = v | 0;
      c.lastCr3 = c.cr3;
      c.flushTlbNonGlobal();
      return;
    case 4: {
      // in VMX non-root operation the host keeps CR4.VMXE set (SDM 23.8, fixed-1 bits)
      if (v & ~(CR4_SUPPORTED | (c.nonRoot !== null ? Cr4.VMXE : 0))) c.gp(0);
      const old = c.cr4;
      c.cr4 = v | 0;
      if ((old ^ c.cr4) & (Cr4.PSE | Cr4.PGE | Cr4.PAE)) c.flushTlb();
      c.lastCr4 = c.cr4;
      return;
    }
    default:
      c.ud();
  }
}

/** In non-root operation, host-owned CR0/CR4 bits keep their value (SDM 26.3). */
function nonRootCrValue(c: Cpu, cr: number, v: number): number {
  const h = c.nonRoot;
  return h !== null && h.crWriteValue !== undefined && (cr === 0 || cr === 4) ? h.crWriteValue(cr, v) : v;
}

function readCr(c: Cpu, cr: number): number {
  switch (cr) {
    case 0:
      return c.cr0;
    case 2:
      return c.cr2;
    case 3:
      return c.cr3;
    case 4:
      return c.cr4;
    default:
      return c.ud();
  }
}

function rdmsr(c: Cpu, msr: number): void {
  let lo = 0;
  let hi = 0;
  switch (msr) {
    case Msr.TSC: {
      const t = c.readTsc() + c.tscAdjust;
      lo = t % 0x100000000;
      hi = Math.floor(t / 0x100000000);
      break;
    }
    case Msr.SYSENTER_CS:
      lo = c.sysenterCs;
      break;
    case Msr.SYSENTER_ESP:
      lo = c.sysenterEsp;
      break;
    case Msr.SYSENTER_EIP:
      lo = c.sysenterEip;
      break;
    case Msr.PAT:
      lo = c.pat % 0x100000000;
      hi = Math.floor(c.pat / 0x100000000);
      break;
    case Msr.DEBUGCTL:
      lo = c.debugCtl;
      break;
    case Msr.BIOS_SIGN_ID:
      hi = MICROCODE_REVISION;
      break;
    default:
      c.gp(0);
  }
  c.regs[Reg.EAX] = lo;
  c.regs[Reg.EDX] = hi;
}

function wrmsr(c: Cpu, msr: number): void {
  const lo = c.regs[Reg.EAX]! >>> 0;
  const hi = c.regs[Reg.EDX]! >>> 0;
  switch (msr) {
    case Msr.TSC:
      c.tscAdjust = hi * 0x100000000 + lo - c.readTsc();
      return;
    case Msr.SYSENTER_CS:
      c.sysenterCs = lo & 0xffff;
      return;
    case Msr.SYSENTER_ESP:
      c.sysenterEsp = lo;
      return;
    case Msr.SYSENTER_EIP:
      c.sysenterEip = lo;
      return;
    case Msr.PAT: {
      // each byte must be a valid memory type (0, 1, 4, 5, 6, 7)
      for (let i = 0; i < 8; i++) {
        const t = ((i < 4 ? lo : hi) >>> ((i & 3) * 8)) & 0xff;
        if (t > 7 || t === 2 || t === 3) c.gp(0);
      }
      c.pat = hi * 0x100000000 + lo;
      return;
    }
    case Msr.DEBUGCTL:
      c.debugCtl = lo & 0x3;
      return;
    case Msr.BIOS_SIGN_ID:
      // software writes 0 before CPUID to read the revision back; there is no microcode to load
      return;
    default:
      c.gp(0);
  }
}

function cpuid(c: Cpu): void {
  const leaf = c.regs[Reg.EAX]! >>> 0;
  const r = c.regs;
  const l = leaf > CPUID_MAX_LEAF ? CPUID_MAX_LEAF : leaf;
  switch (l) {
    case 0:
      r[Reg.EAX] = CPUID_MAX_LEAF;
      r[Reg.EBX] = VENDOR.ebx;
      r[Reg.EDX] = VENDOR.edx;
      r[Reg.ECX] = VENDOR.ecx;
      return;
    case 1:
      r[Reg.EAX] = CPUID_SIGNATURE;
      r[Reg.EBX] = 0;
      r[Reg.ECX] = 0;
      r[Reg.EDX] = CPUID_FEATURES;
      return;
    default:
      r[Reg.EAX] = CPUID_LEAF2_EAX;
      r[Reg.EBX] = 0;
      r[Reg.ECX] = 0;
      r[Reg.EDX] = 0;
  }
}

/** Group 6 (0F 00): SLDT STR LLDT LTR VERR VERW (SDM 2.6). */
function group6(c: Cpu): void {
  modrm(c);
  if (!c.pe || c.vm86) c.ud();
  const op = c.regField;
  switch (op) {
    case 0: // SLDT
    case 1: // STR
      writeRm(c, c.mod === 3 ? (c.o32 ? 32 : 16) : 16, c.segSel[op === 0 ? SReg.LDTR : SReg.TR]!);
      return;
    case 2: {
      // LLDT
      requireCpl0(c);
      const sel = readRm(c, 16);
      if ((sel & ~3) === 0) {
        c.segSel[SReg.LDTR] = sel;
        c.segAr[SReg.LDTR] = Ar.UNUSABLE;
        c.updateSeg(SReg.LDTR);
        return;
      }
      if (sel & 4 || !c.readDescriptor(sel)) c.gp(sel & ~3);
      const ar = Cpu.descAr(c.descHi);
      if ((ar & (Ar.S | Ar.TYPE)) !== SysType.ldt) c.gp(sel & ~3);
      if (!(ar & Ar.P)) c.fault(Vector.NP, sel & ~3, true);
      c.loadFromDesc(SReg.LDTR, sel);
      return;
    }
    case 3: {
      // LTR
      requireCpl0(c);
      const sel = readRm(c, 16);
      if ((sel & ~3) === 0) c.gp(0);
      if (sel & 4 || !c.readDescriptor(sel)) c.gp(sel & ~3);
      const ar = Cpu.descAr(c.descHi);
      const t = ar & (Ar.S | Ar.TYPE);
      if (t !== SysType.tss32Avail && t !== SysType.tss16Avail) c.gp(sel & ~3);
      if (!(ar & Ar.P)) c.fault(Vector.NP, sel & ~3, true);
      c.descHi |= 0x200; // busy
      c.wrSys32((c.gdtrBase + (sel & ~7) + 4) | 0, c.descHi);
      c.loadFromDesc(SReg.TR, sel);
      return;
    }
    case 4:
    case 5: {
      // VERR / VERW
      const sel = readRm(c, 16);
      let ok = false;
      if ((sel & ~3) !== 0 && c.readDescriptor(sel)) {
        const ar = Cpu.descAr(c.descHi);
        const dpl = (ar >> Ar.DPL_SHIFT) & 3;
        const conforming = (ar & (Ar.CODE | Ar.EXPAND_DOWN)) === (Ar.CODE | Ar.EXPAND_DOWN);
        if (ar & Ar.S && (conforming || dpl >= Math.max(c.cplv, sel & 3))) {
          ok = op === 4 ? !(ar & Ar.CODE) || (ar & Ar.WRITABLE) !== 0 : !(ar & Ar.CODE) && (ar & Ar.WRITABLE) !== 0;
        }
      }
      c.setFlagBits(Eflags.ZF, ok ? Eflags.ZF : 0);
      return;
    }
    default:
      c.ud();
  }
}

/** Group 7 (0F 01): SGDT SIDT LGDT LIDT SMSW LMSW INVLPG and the VMX instructions in mod=3. */
function group7(c: Cpu): void {
  modrm(c);
  const op = c.regField;
  if (c.mod === 3) {
    if (op === 0 && c.rmReg >= 1 && c.rmReg <= 4) {
      const reasons = [0, ExitReason.VMCALL, ExitReason.VMLAUNCH, ExitReason.VMRESUME, ExitReason.VMXOFF] as const;
      vmxInstr(c, reasons[c.rmReg]!);
      return;
    }
    if (op !== 4 && op !== 6) c.ud();
  }
  switch (op) {
    case 0:
    case 1: {
      // SGDT / SIDT: 16-bit operand size stores 24 bits of base on P6? it stores all 32 with the top byte (SDM: 386+ store base bits 31:24 as 0 only for 16-bit)
      const limit = op === 0 ? c.gdtrLimit : c.idtrLimit;
      let base = op === 0 ? c.gdtrBase : c.idtrBase;
      if (!c.o32) base &= 0xffffff;
      c.wr16(c.eaSeg, c.eaOff, limit);
      c.wr32(c.eaSeg, eaPlus(c, 2), base);
      return;
    }
    case 2:
    case 3: {
      requireCpl0(c);
      const limit = c.rd16(c.eaSeg, c.eaOff);
      let base = c.rd32(c.eaSeg, eaPlus(c, 2));
      if (!c.o32) base &= 0xffffff;
      if (op === 2) {
        c.gdtrLimit = limit;
        c.gdtrBase = base | 0;
      } else {
        c.idtrLimit = limit;
        c.idtrBase = base | 0;
      }
      return;
    }
    case 4: {
      // SMSW
      let v = c.cr0;
      if (c.nonRoot !== null) v = c.nonRoot.crRead(0, c.rmReg, c.cr0);
      if (c.mod === 3) setReg(c, c.rmReg, c.o32 ? 32 : 16, c.o32 ? v : v & 0xffff);
      else c.wr16(c.eaSeg, c.eaOff, v & 0xffff);
      return;
    }
    case 6: {
      // LMSW: can set PE but never clear it; only PE MP EM TS
      requireCpl0(c);
      const src = readRm(c, 16);
      const nv = (c.cr0 & ~0xe) | (src & 0xf) | (c.cr0 & Cr0.PE);
      if (c.nonRoot !== null) {
        c.nonRoot.crWrite(0, nv, 0, CrAccess.lmsw);
        writeCr(c, 0, nonRootCrValue(c, 0, nv));
      } else writeCr(c, 0, nv);
      return;
    }
    case 7: {
      // INVLPG
      requireCpl0(c);
      const lin = (c.segBase[c.eaSeg]! + c.eaOff) | 0;
      if (c.nonRoot !== null && c.nonRoot.invlpg(lin >>> 0)) return;
      c.invalidatePage(lin);
      return;
    }
    default:
      c.ud();
  }
}

/** VMX instructions: VM exit in non-root operation, #UD otherwise (CPUID reports no VMX). */
function vmxInstr(c: Cpu, reason: number): void {
  if (c.nonRoot === null) c.ud();
  c.nonRoot.vmxInstruction(reason, c.eip - c.instrStart);
  c.ud();
}

/** LAR / LSL (SDM LAR, LSL): ZF=1 and the value when the descriptor is visible at CPL/RPL. */
function larLsl(c: Cpu, lsl: boolean): void {
  modrm(c);
  if (!c.pe || c.vm86) c.ud();
  const sel = readRm(c, 16);
  const bits = c.o32 ? 32 : 16;
  let ok = false;
  if ((sel & ~3) !== 0 && c.readDescriptor(sel)) {
    const ar = Cpu.descAr(c.descHi);
    const dpl = (ar >> Ar.DPL_SHIFT) & 3;
    const conforming = (ar & (Ar.S | Ar.CODE | Ar.EXPAND_DOWN)) === (Ar.S | Ar.CODE | Ar.EXPAND_DOWN);
    let typeOk = true;
    if (!(ar & Ar.S)) {
      const t = ar & 0xf;
      typeOk = t === 1 || t === 2 || t === 3 || t === 9 || t === 11 || (!lsl && (t === 4 || t === 5 || t === 12));
    }
    if (typeOk && (conforming || dpl >= Math.max(c.cplv, sel & 3))) {
      ok = true;
      if (lsl) setReg(c, c.regField, bits, Cpu.descLimit(c.descLo, c.descHi));
      else setReg(c, c.regField, bits, c.descHi & 0x00f0ff00);
    }
  }
  c.setFlagBits(Eflags.ZF, ok ? Eflags.ZF : 0);
}

function sysenter(c: Cpu): void {
  if (!c.pe || (c.sysenterCs & 0xfffc) === 0) c.gp(0);
  c.setEflags(c.getEflags() & ~(Eflags.VM | Eflags.IF | Eflags.RF));
  const cs = c.sysenterCs & 0xfffc;
  flatSeg(c, SReg.CS, cs, FLAT_AR.code0);
  flatSeg(c, SReg.SS, (cs + 8) & 0xffff, FLAT_AR.data0);
  c.updateMode();
  c.setCpl(0);
  c.regs[Reg.ESP] = c.sysenterEsp;
  c.eip = c.sysenterEip >>> 0;
}

function sysexit(c: Cpu): void {
  if (!c.pe || c.vm86 || c.cplv !== 0 || (c.sysenterCs & 0xfffc) === 0) c.gp(0);
  const cs = ((c.sysenterCs + 16) & 0xfffc) | 3;
  flatSeg(c, SReg.CS, cs, FLAT_AR.code3);
  flatSeg(c, SReg.SS, ((c.sysenterCs + 24) & 0xfffc) | 3, FLAT_AR.data3);
  c.updateMode();
  c.setCpl(3);
  c.regs[Reg.ESP] = c.regs[Reg.ECX]!;
  c.eip = c.regs[Reg.EDX]! >>> 0;
}

/** Load a flat 4 GiB segment without a descriptor read (SYSENTER/SYSEXIT). */
function flatSeg(c: Cpu, s: number, sel: number, ar: number): void {
  c.segSel[s] = sel;
  c.segBase[s] = 0;
  c.segLimit[s] = -1;
  c.segAr[s] = ar;
  c.updateSeg(s);
}
/** Access rights SYSENTER/SYSEXIT load (SDM SYSENTER: flat, 32-bit, 4 KiB granular, accessed). */
const FLAT_AR = { code0: 0xc09b, data0: 0xc093, code3: 0xc0fb, data3: 0xc0f3 } as const;

/** MMX / SSE opcodes (0F page): #NM with CR0.EM or CR0.TS, #UD otherwise (CPUID reports neither). */
function fpu(c: Cpu): never {
  if (c.cr0 & (Cr0.EM | Cr0.TS)) c.fault(Vector.NM, 0, false);
  return c.ud();
}

// ------------------------------------------------------------------ LOCK validity

/** LOCK is legal only on the read-modify-write forms with a memory destination (SDM LOCK). */
function lockValid(c: Cpu, op: number): boolean {
  const save = c.eip;
  let op2 = -1;
  if (op === 0x0f) op2 = c.fetch8();
  const m = c.fetch8();
  c.eip = save;
  if (m >> 6 === 3) return false;
  const reg = (m >> 3) & 7;
  if (op2 >= 0) {
    switch (op2) {
      case 0xab:
      case 0xb3:
      case 0xbb:
      case 0xb0:
      case 0xb1:
      case 0xc0:
      case 0xc1:
        return true;
      case 0xba:
        return reg >= 5;
      case 0xc7:
        return reg === 1;
      default:
        return false;
    }
  }
  if (op < 0x40) return (op & 7) < 2 && op !== 0x38 && op !== 0x39;
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
      return reg !== 7;
    case 0x86:
    case 0x87:
      return true;
    case 0xf6:
    case 0xf7:
      return reg === 2 || reg === 3;
    case 0xfe:
      return reg < 2;
    case 0xff:
      return reg < 2;
    default:
      return false;
  }
}

// ------------------------------------------------------------------ the decoder

/** 1 for the prefix bytes (SDM Vol. 2A 2.1.1), so the common no-prefix case skips the prefix loop. */
const IS_PREFIX = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) IS_PREFIX[p] = 1;

/** Execute one instruction at CS:EIP (one REP iteration or more, within the budget). */
export function step(c: Cpu): void {
  c.instructionCount++;
  const code32 = c.code32;
  c.o32 = code32;
  c.a32 = code32;
  c.segOvr = -1;
  c.rep = 0;
  c.lock = false;
  // the state above is fast-path.ts's 32-bit default exactly when the code is 32-bit
  c.decodeDirty = !code32;
  dispatch(c, c.fetch8());
}

/** Decode and execute the instruction whose first byte `b` was just fetched (prefixes, then exec). */
export function dispatch(c: Cpu, first: number): void {
  const code32 = c.code32;
  let b = first;
  if (IS_PREFIX[b] === 0) {
    exec(c, b);
    return;
  }
  c.decodeDirty = true;
  for (;;) {
    switch (b) {
      case 0x66:
        c.o32 = !code32;
        break;
      case 0x67:
        c.a32 = !code32;
        break;
      case 0x26:
        c.segOvr = SReg.ES;
        break;
      case 0x2e:
        c.segOvr = SReg.CS;
        break;
      case 0x36:
        c.segOvr = SReg.SS;
        break;
      case 0x3e:
        c.segOvr = SReg.DS;
        break;
      case 0x64:
        c.segOvr = SReg.FS;
        break;
      case 0x65:
        c.segOvr = SReg.GS;
        break;
      case 0xf0:
        c.lock = true;
        break;
      case 0xf2:
      case 0xf3:
        c.rep = b;
        break;
      default:
        if (c.lock && !lockValid(c, b)) c.ud();
        exec(c, b);
        return;
    }
    if (c.eip - c.instrStart >= MAX_INSTR_LEN) c.gp(0);
    b = c.fetch8();
  }
}

function exec(c: Cpu, op: number): void {
  const r = c.regs;
  const vb = c.o32 ? 32 : 16;
  if (op < 0x40 && (op & 7) < 6) {
    const aop = op >> 3;
    switch (op & 7) {
      case 0:
        modrm(c);
        aluRm(c, aop, getReg8(c, c.regField), 8);
        return;
      case 1:
        modrm(c);
        aluRm(c, aop, getReg(c, c.regField, vb), vb);
        return;
      case 2: {
        modrm(c);
        const v = alu(c, aop, getReg8(c, c.regField), readRm(c, 8), 8);
        if (aop !== Alu.cmp) setReg8(c, c.regField, v);
        return;
      }
      case 3: {
        modrm(c);
        const v = alu(c, aop, getReg(c, c.regField, vb), readRm(c, vb), vb);
        if (aop !== Alu.cmp) setReg(c, c.regField, vb, v);
        return;
      }
      case 4: {
        const v = alu(c, aop, r[Reg.EAX]! & 0xff, c.fetch8(), 8);
        if (aop !== Alu.cmp) setReg8(c, Reg.EAX, v);
        return;
      }
      default: {
        const v = alu(c, aop, getReg(c, Reg.EAX, vb), c.fetchV(), vb);
        if (aop !== Alu.cmp) setReg(c, Reg.EAX, vb, v);
        return;
      }
    }
  }
  switch (op) {
    case 0x06:
    case 0x0e:
    case 0x16:
    case 0x1e:
      c.pushV(c.segSel[op >> 3]!);
      return;
    case 0x07:
    case 0x17:
    case 0x1f: {
      const s = op >> 3;
      const v = c.peek(0, vb) & 0xffff;
      c.loadSeg(s, v);
      c.addSp(vb >> 3);
      if (s === SReg.SS) inhibit(c, 2);
      return;
    }
    case 0x0f:
      exec0f(c);
      return;
    case 0x27:
    case 0x2f:
    case 0x37:
    case 0x3f:
      bcd(c, op);
      return;
    case 0x40:
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44:
    case 0x45:
    case 0x46:
    case 0x47:
    case 0x48:
    case 0x49:
    case 0x4a:
    case 0x4b:
    case 0x4c:
    case 0x4d:
    case 0x4e:
    case 0x4f: {
      const reg = op & 7;
      const a = getReg(c, reg, vb);
      const dec = op >= 0x48;
      const res = incDec(c, a, dec, vb);
      setReg(c, reg, vb, res);
      c.setLazyKeepCf(dec ? LazyOp.dec : LazyOp.inc, a, res, vb);
      return;
    }
    case 0x50:
    case 0x51:
    case 0x52:
    case 0x53:
    case 0x54:
    case 0x55:
    case 0x56:
    case 0x57:
      c.pushV(r[op & 7]!);
      return;
    case 0x58:
    case 0x59:
    case 0x5a:
    case 0x5b:
    case 0x5c:
    case 0x5d:
    case 0x5e:
    case 0x5f: {
      const v = c.popV();
      setReg(c, op & 7, vb, v);
      return;
    }
    case 0x60: {
      // PUSHA: the ESP pushed is the value before the first push
      const sp = r[Reg.ESP]!;
      for (let i = 0; i < 8; i++) c.pushV(i === Reg.ESP ? sp : r[i]!);
      return;
    }
    case 0x61: {
      const size = vb >> 3;
      for (let i = 7; i >= 0; i--) {
        if (i !== Reg.ESP) setReg(c, i, vb, c.peek((7 - i) * size, vb));
      }
      c.addSp(8 * size);
      return;
    }
    case 0x62: {
      // BOUND
      modrm(c);
      requireMem(c);
      const idx = sx(getReg(c, c.regField, vb), vb);
      const lo = sx(c.rdSz(c.eaSeg, c.eaOff, vb), vb);
      const hi = sx(c.rdSz(c.eaSeg, eaPlus(c, vb >> 3), vb), vb);
      if (idx < lo || idx > hi) c.fault(Vector.BR, 0, false);
      return;
    }
    case 0x63: {
      // ARPL
      if (!c.pe || c.vm86) c.ud();
      modrm(c);
      const dst = readRm(c, 16);
      const src = getReg(c, c.regField, 16);
      if ((dst & 3) < (src & 3)) {
        writeRm(c, 16, (dst & ~3) | (src & 3));
        c.setFlagBits(Eflags.ZF, Eflags.ZF);
      } else c.setFlagBits(Eflags.ZF, 0);
      return;
    }
    case 0x68:
      c.pushV(c.fetchV());
      return;
    case 0x69:
    case 0x6b: {
      modrm(c);
      const a = readRm(c, vb);
      const imm = op === 0x69 ? c.fetchV() : sx8(c.fetch8());
      setReg(c, c.regField, vb, imm32(c, a, imm, vb));
      return;
    }
    case 0x6a:
      c.pushV(sx8(c.fetch8()));
      return;
    case 0x6c:
      stringOp(c, Str.ins, 8);
      return;
    case 0x6d:
      stringOp(c, Str.ins, vb);
      return;
    case 0x6e:
      stringOp(c, Str.outs, 8);
      return;
    case 0x6f:
      stringOp(c, Str.outs, vb);
      return;
    case 0x70:
    case 0x71:
    case 0x72:
    case 0x73:
    case 0x74:
    case 0x75:
    case 0x76:
    case 0x77:
    case 0x78:
    case 0x79:
    case 0x7a:
    case 0x7b:
    case 0x7c:
    case 0x7d:
    case 0x7e:
    case 0x7f: {
      const d = sx8(c.fetch8());
      if (c.cond(op & 0xf)) jumpNear(c, c.eip + d);
      return;
    }
    case 0x80:
    case 0x82:
      modrm(c);
      aluRm(c, c.regField, c.fetch8(), 8);
      return;
    case 0x81:
      modrm(c);
      aluRm(c, c.regField, c.fetchV() & mask(vb), vb);
      return;
    case 0x83:
      modrm(c);
      aluRm(c, c.regField, sx8(c.fetch8()) & mask(vb), vb);
      return;
    case 0x84:
      modrm(c);
      alu(c, Alu.and, readRm(c, 8), getReg8(c, c.regField), 8);
      return;
    case 0x85:
      modrm(c);
      alu(c, Alu.and, readRm(c, vb), getReg(c, c.regField, vb), vb);
      return;
    case 0x86: {
      modrm(c);
      const a = readRm(c, 8);
      writeRm(c, 8, getReg8(c, c.regField));
      setReg8(c, c.regField, a);
      return;
    }
    case 0x87: {
      modrm(c);
      const a = readRm(c, vb);
      writeRm(c, vb, getReg(c, c.regField, vb));
      setReg(c, c.regField, vb, a);
      return;
    }
    case 0x88:
      modrm(c);
      writeRm(c, 8, getReg8(c, c.regField));
      return;
    case 0x89:
      modrm(c);
      writeRm(c, vb, r[c.regField]!);
      return;
    case 0x8a:
      modrm(c);
      setReg8(c, c.regField, readRm(c, 8));
      return;
    case 0x8b:
      modrm(c);
      setReg(c, c.regField, vb, readRm(c, vb));
      return;
    case 0x8c:
      modrm(c);
      if (c.regField > 5) c.ud();
      if (c.mod === 3) setReg(c, c.rmReg, vb, c.segSel[c.regField]!);
      else c.wr16(c.eaSeg, c.eaOff, c.segSel[c.regField]!);
      return;
    case 0x8d:
      modrm(c);
      requireMem(c);
      setReg(c, c.regField, vb, c.eaOff);
      return;
    case 0x8e: {
      modrm(c);
      const s = c.regField;
      if (s === SReg.CS || s > 5) c.ud();
      c.loadSeg(s, readRm(c, 16));
      if (s === SReg.SS) inhibit(c, 2);
      return;
    }
    case 0x8f: {
      // POP Ev: ESP is incremented before the destination address is used
      const v = c.peek(0, vb);
      const esp = r[Reg.ESP]!;
      c.addSp(vb >> 3);
      modrm(c);
      try0f8f(c, vb, v, esp);
      return;
    }
    case 0x90:
      return;
    case 0x91:
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x95:
    case 0x96:
    case 0x97: {
      const reg = op & 7;
      const a = getReg(c, reg, vb);
      setReg(c, reg, vb, r[Reg.EAX]!);
      setReg(c, Reg.EAX, vb, a);
      return;
    }
    case 0x98:
      if (c.o32) r[Reg.EAX] = sx16(r[Reg.EAX]! & 0xffff);
      else setReg(c, Reg.EAX, 16, sx8(r[Reg.EAX]! & 0xff));
      return;
    case 0x99:
      if (c.o32) r[Reg.EDX] = r[Reg.EAX]! >> 31;
      else setReg(c, Reg.EDX, 16, sx16(r[Reg.EAX]! & 0xffff) >> 16);
      return;
    case 0x9a: {
      const off = c.fetchV();
      const sel = c.fetch16();
      farTransfer(c, sel, off, true);
      return;
    }
    case 0x9b:
      // WAIT: #NM when CR0.MP and CR0.TS are both set (SDM table 2-2), then pending x87 errors
      fwait(c);
      return;
    case 0x9c: {
      if (c.vm86 && c.iopl < 3) c.gp(0);
      const f = c.getEflags() & ~(Eflags.VM | Eflags.RF);
      c.pushV(f);
      return;
    }
    case 0x9d:
      popf(c, vb);
      return;
    case 0x9e: {
      const ah = (r[Reg.EAX]! >> 8) & 0xff;
      c.setFlagBits(Eflags.SF | Eflags.ZF | Eflags.AF | Eflags.PF | Eflags.CF, ah);
      return;
    }
    case 0x9f: {
      const f = (c.getEflags() & 0xd5) | Eflags.FIXED1;
      r[Reg.EAX] = (r[Reg.EAX]! & ~0xff00) | (f << 8);
      return;
    }
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3: {
      const off = c.a32 ? c.fetch32() >>> 0 : c.fetch16();
      const seg = c.segOvr >= 0 ? c.segOvr : SReg.DS;
      const bits = op & 1 ? vb : 8;
      if (op < 0xa2) setReg(c, Reg.EAX, bits, c.rdSz(seg, off, bits));
      else c.wrSz(seg, off, bits, r[Reg.EAX]!);
      return;
    }
    case 0xa4:
      stringOp(c, Str.movs, 8);
      return;
    case 0xa5:
      stringOp(c, Str.movs, vb);
      return;
    case 0xa6:
      stringOp(c, Str.cmps, 8);
      return;
    case 0xa7:
      stringOp(c, Str.cmps, vb);
      return;
    case 0xa8:
      alu(c, Alu.and, r[Reg.EAX]! & 0xff, c.fetch8(), 8);
      return;
    case 0xa9:
      alu(c, Alu.and, getReg(c, Reg.EAX, vb), c.fetchV(), vb);
      return;
    case 0xaa:
      stringOp(c, Str.stos, 8);
      return;
    case 0xab:
      stringOp(c, Str.stos, vb);
      return;
    case 0xac:
      stringOp(c, Str.lods, 8);
      return;
    case 0xad:
      stringOp(c, Str.lods, vb);
      return;
    case 0xae:
      stringOp(c, Str.scas, 8);
      return;
    case 0xaf:
      stringOp(c, Str.scas, vb);
      return;
    case 0xb0:
    case 0xb1:
    case 0xb2:
    case 0xb3:
    case 0xb4:
    case 0xb5:
    case 0xb6:
    case 0xb7:
      setReg8(c, op & 7, c.fetch8());
      return;
    case 0xb8:
    case 0xb9:
    case 0xba:
    case 0xbb:
    case 0xbc:
    case 0xbd:
    case 0xbe:
    case 0xbf:
      setReg(c, op & 7, vb, c.fetchV());
      return;
    case 0xc0:
      modrm(c);
      shiftGroup(c, 8, c.fetch8());
      return;
    case 0xc1:
      modrm(c);
      shiftGroup(c, vb, c.fetch8());
      return;
    case 0xc2:
    case 0xc3: {
      const imm = op === 0xc2 ? c.fetch16() : 0;
      const t = c.peek(0, vb);
      jumpNear(c, t);
      c.addSp((vb >> 3) + imm);
      return;
    }
    case 0xc4:
    case 0xc5: {
      modrm(c);
      requireMem(c);
      const off = c.rdSz(c.eaSeg, c.eaOff, vb);
      const sel = c.rd16(c.eaSeg, eaPlus(c, vb >> 3));
      c.loadSeg(op === 0xc4 ? SReg.ES : SReg.DS, sel);
      setReg(c, c.regField, vb, off);
      return;
    }
    case 0xc6:
      modrm(c);
      if (c.regField !== 0) c.ud();
      writeRm(c, 8, c.fetch8());
      return;
    case 0xc7:
      modrm(c);
      if (c.regField !== 0) c.ud();
      writeRm(c, vb, c.fetchV());
      return;
    case 0xc8:
      enter(c, vb);
      return;
    case 0xc9: {
      // LEAVE
      const bp = c.ss32 ? r[Reg.EBP]! >>> 0 : r[Reg.EBP]! & 0xffff;
      const v = c.rdSz(SReg.SS, bp, vb);
      if (c.ss32) r[Reg.ESP] = r[Reg.EBP]!;
      else r[Reg.ESP] = (r[Reg.ESP]! & ~0xffff) | bp;
      c.addSp(vb >> 3);
      setReg(c, Reg.EBP, vb, v);
      return;
    }
    case 0xca:
      retFar(c, c.fetch16());
      return;
    case 0xcb:
      retFar(c, 0);
      return;
    case 0xcc:
      softInt(c, Vector.BP, EventType.softwareException);
      return;
    case 0xcd:
      softInt(c, c.fetch8(), EventType.softwareInterrupt);
      return;
    case 0xce:
      if (c.getOF()) softInt(c, Vector.OF, EventType.softwareException);
      return;
    case 0xcf:
      iret(c);
      return;
    case 0xd0:
      modrm(c);
      shiftGroup(c, 8, 1);
      return;
    case 0xd1:
      modrm(c);
      shiftGroup(c, vb, 1);
      return;
    case 0xd2:
      modrm(c);
      shiftGroup(c, 8, r[Reg.ECX]!);
      return;
    case 0xd3:
      modrm(c);
      shiftGroup(c, vb, r[Reg.ECX]!);
      return;
    case 0xd4: {
      // AAM
      const base = c.fetch8();
      if (base === 0) c.fault(Vector.DE, 0, false);
      const al = r[Reg.EAX]! & 0xff;
      const nal = al % base;
      r[Reg.EAX] = (r[Reg.EAX]! & ~0xffff) | (Math.floor(al / base) << 8) | nal;
      setSzpCo(c, nal, 8, 0, 0);
      return;
    }
    case 0xd5: {
      // AAD
      const base = c.fetch8();
      const ax = r[Reg.EAX]!;
      const nal = ((ax & 0xff) + ((ax >> 8) & 0xff) * base) & 0xff;
      r[Reg.EAX] = (ax & ~0xffff) | nal;
      setSzpCo(c, nal, 8, 0, 0);
      return;
    }
    case 0xd6:
      // SALC (undocumented on P6, present in hardware)
      setReg8(c, Reg.EAX, c.getCF() ? 0xff : 0);
      return;
    case 0xd7: {
      const seg = c.segOvr >= 0 ? c.segOvr : SReg.DS;
      const base = c.a32 ? r[Reg.EBX]! : r[Reg.EBX]! & 0xffff;
      const off = c.a32 ? (base + (r[Reg.EAX]! & 0xff)) >>> 0 : (base + (r[Reg.EAX]! & 0xff)) & 0xffff;
      setReg8(c, Reg.EAX, c.rd8(seg, off));
      return;
    }
    case 0xd8:
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf:
      modrm(c);
      x87(c, op);
      return;
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3: {
      const d = sx8(c.fetch8());
      const cnt = c.a32 ? r[Reg.ECX]! : r[Reg.ECX]! & 0xffff;
      if (op === 0xe3) {
        if (cnt === 0) jumpNear(c, c.eip + d);
        return;
      }
      const n = c.a32 ? cnt - 1 : (cnt - 1) & 0xffff;
      if (c.a32) r[Reg.ECX] = n;
      else setReg(c, Reg.ECX, 16, n);
      let take = n !== 0;
      if (op === 0xe0) take = take && c.getZF() === 0;
      else if (op === 0xe1) take = take && c.getZF() === 1;
      if (take) jumpNear(c, c.eip + d);
      return;
    }
    case 0xe4:
      inOut(c, c.fetch8(), 1, true, true);
      return;
    case 0xe5:
      inOut(c, c.fetch8(), vb >> 3, true, true);
      return;
    case 0xe6:
      inOut(c, c.fetch8(), 1, false, true);
      return;
    case 0xe7:
      inOut(c, c.fetch8(), vb >> 3, false, true);
      return;
    case 0xe8: {
      const d = c.fetchV();
      const ret = c.eip;
      const t = c.o32 ? (ret + d) >>> 0 : (ret + d) & 0xffff;
      if (t > c.csLimit) c.gp(0);
      c.pushV(ret);
      c.eip = t;
      return;
    }
    case 0xe9: {
      const d = c.fetchV();
      jumpNear(c, c.eip + d);
      return;
    }
    case 0xea: {
      const off = c.fetchV();
      const sel = c.fetch16();
      farTransfer(c, sel, off, false);
      return;
    }
    case 0xeb: {
      const d = sx8(c.fetch8());
      jumpNear(c, c.eip + d);
      return;
    }
    case 0xec:
      inOut(c, r[Reg.EDX]! & 0xffff, 1, true, false);
      return;
    case 0xed:
      inOut(c, r[Reg.EDX]! & 0xffff, vb >> 3, true, false);
      return;
    case 0xee:
      inOut(c, r[Reg.EDX]! & 0xffff, 1, false, false);
      return;
    case 0xef:
      inOut(c, r[Reg.EDX]! & 0xffff, vb >> 3, false, false);
      return;
    case 0xf1:
      softInt(c, Vector.DB, EventType.privilegedSoftwareException);
      return;
    case 0xf4:
      hlt(c);
      return;
    case 0xf5:
      c.setFlagBits(Eflags.CF, c.getCF() ^ 1);
      return;
    case 0xf6:
      group3(c, 8);
      return;
    case 0xf7:
      group3(c, vb);
      return;
    case 0xf8:
    case 0xf9:
      c.setFlagBits(Eflags.CF, op & 1);
      return;
    case 0xfa:
      if (c.pe && (c.vm86 ? c.iopl < 3 : c.cplv > c.iopl)) c.gp(0);
      c.flags &= ~Eflags.IF;
      return;
    case 0xfb:
      if (c.pe && (c.vm86 ? c.iopl < 3 : c.cplv > c.iopl)) c.gp(0);
      if (!(c.flags & Eflags.IF)) {
        c.flags |= Eflags.IF;
        inhibit(c, 1);
      }
      return;
    case 0xfc:
      c.flags &= ~Eflags.DF;
      return;
    case 0xfd:
      c.flags |= Eflags.DF;
      return;
    case 0xfe: {
      modrm(c);
      const o = c.regField;
      if (o > 1) c.ud();
      const a = readRm(c, 8);
      const res = incDec(c, a, o === 1, 8);
      writeRm(c, 8, res);
      c.setLazyKeepCf(o === 1 ? LazyOp.dec : LazyOp.inc, a, res, 8);
      return;
    }
    case 0xff:
      group5(c, vb);
      return;
    default:
      c.ud();
  }
}

/** Interrupt shadow after STI (1) or MOV/POP SS (2) (SDM 6.8.3, VMCS interruptibility). */
function inhibit(c: Cpu, bit: number): void {
  if (c.interruptibility === 0) {
    c.interruptibility = bit;
    c.attention = 1;
  }
}

function try0f8f(c: Cpu, vb: number, v: number, esp: number): void {
  if (c.mod === 3) {
    setReg(c, c.rmReg, vb, v);
    return;
  }
  if (c.regField !== 0) {
    c.regs[Reg.ESP] = esp;
    c.ud();
  }
  c.wrSz(c.eaSeg, c.eaOff, vb, v);
}

function imm32(c: Cpu, a: number, b: number, bits: number): number {
  return imulTrunc(c, a, b, bits);
}

function hlt(c: Cpu): void {
  requireCpl0(c);
  if (c.nonRoot !== null && c.nonRoot.hlt()) return;
  c.activity = 1;
  c.stopReason = StopReason.halted;
}

function popf(c: Cpu, vb: number): void {
  if (c.vm86 && c.iopl < 3) c.gp(0);
  const v = c.peek(0, vb) >>> 0;
  const old = c.getEflags();
  let writable = Eflags.CF | Eflags.PF | Eflags.AF | Eflags.ZF | Eflags.SF | Eflags.TF | Eflags.DF | Eflags.OF | Eflags.NT | Eflags.AC | Eflags.ID;
  if (!c.pe || c.cplv === 0) writable |= Eflags.IOPL;
  if (!c.pe || c.cplv <= c.iopl) writable |= Eflags.IF;
  if (vb === 16) writable &= 0xffff;
  c.addSp(vb >> 3);
  c.setEflags(((old & ~writable) | (v & writable)) & ~Eflags.RF);
  c.requestEventCheck();
}

function enter(c: Cpu, vb: number): void {
  const size = c.fetch16();
  const level = c.fetch8() & 0x1f;
  const r = c.regs;
  const bp = r[Reg.EBP]!;
  c.pushV(bp);
  const frame = c.ss32 ? r[Reg.ESP]! : r[Reg.ESP]! & 0xffff;
  if (level > 0) {
    const step = vb >> 3;
    let ebp = bp;
    for (let i = 1; i < level; i++) {
      ebp = c.ss32 ? (ebp - step) | 0 : (ebp & ~0xffff) | ((ebp - step) & 0xffff);
      c.pushV(c.rdSz(SReg.SS, c.ss32 ? ebp >>> 0 : ebp & 0xffff, vb));
    }
    c.pushV(frame);
  }
  setReg(c, Reg.EBP, vb, frame);
  const esp = r[Reg.ESP]!;
  const n = c.ss32 ? (esp - size) | 0 : (esp & ~0xffff) | ((esp - size) & 0xffff);
  // the new stack top must be writable (SDM ENTER: #SS if it is outside the limit)
  if (size > 0) c.wr8(SReg.SS, c.ss32 ? n >>> 0 : n & 0xffff, c.rd8(SReg.SS, c.ss32 ? n >>> 0 : n & 0xffff));
  r[Reg.ESP] = n;
}

/** Group 3 (F6/F7): TEST NOT NEG MUL IMUL DIV IDIV. */
export function group3(c: Cpu, bits: number): void {
  modrm(c);
  switch (c.regField) {
    case 0:
    case 1: {
      const a = readRm(c, bits);
      const imm = bits === 8 ? c.fetch8() : c.fetchV();
      alu(c, Alu.and, a, imm, bits);
      return;
    }
    case 2:
      writeRm(c, bits, ~readRm(c, bits));
      return;
    case 3: {
      const a = readRm(c, bits);
      const res = -a & mask(bits);
      writeRm(c, bits, res);
      c.setLazy(LazyOp.sub, 0, a, res, bits);
      return;
    }
    case 4:
      mulGroup(c, false, bits);
      return;
    case 5:
      mulGroup(c, true, bits);
      return;
    case 6:
      divGroup(c, false, bits);
      return;
    default:
      divGroup(c, true, bits);
  }
}

/** Group 5 (FF): INC DEC CALL CALLF JMP JMPF PUSH. */
export function group5(c: Cpu, vb: number): void {
  modrm(c);
  const o = c.regField;
  switch (o) {
    case 0:
    case 1: {
      const a = readRm(c, vb);
      const res = incDec(c, a, o === 1, vb);
      writeRm(c, vb, res);
      c.setLazyKeepCf(o === 1 ? LazyOp.dec : LazyOp.inc, a, res, vb);
      return;
    }
    case 2: {
      const t = readRm(c, vb);
      const tt = c.o32 ? t >>> 0 : t & 0xffff;
      if (tt > c.csLimit) c.gp(0);
      c.pushV(c.eip);
      c.eip = tt;
      return;
    }
    case 3:
    case 5: {
      requireMem(c);
      const off = c.rdSz(c.eaSeg, c.eaOff, vb);
      const sel = c.rd16(c.eaSeg, eaPlus(c, vb >> 3));
      farTransfer(c, sel, off, o === 3);
      return;
    }
    case 4:
      jumpNear(c, readRm(c, vb));
      return;
    case 6:
      c.pushV(readRm(c, vb));
      return;
    default:
      c.ud();
  }
}

/** Bit test family (BT/BTS/BTR/BTC), register and immediate offsets (SDM BT). */
function bitOp(c: Cpu, kind: number, bitOffset: number, isImm: boolean, vb: number): void {
  let cf: number;
  if (c.mod === 3) {
    const bit = bitOffset & (vb - 1);
    const v = getReg(c, c.rmReg, vb);
    cf = (v >>> bit) & 1;
    if (kind !== 0) setReg(c, c.rmReg, vb, bitApply(kind, v, bit));
  } else {
    let off = c.eaOff;
    let bit: number;
    if (isImm) bit = bitOffset & (vb - 1);
    else {
      // register offsets are signed and may address outside the operand (SDM BT)
      const sOff = vb === 32 ? bitOffset | 0 : sx16(bitOffset);
      const unitBytes = vb >> 3;
      const units = Math.floor(sOff / vb);
      off = c.a32 ? (off + units * unitBytes) >>> 0 : (off + units * unitBytes) & 0xffff;
      bit = sOff - units * vb;
    }
    const v = c.rdSz(c.eaSeg, off, vb);
    cf = (v >>> bit) & 1;
    if (kind !== 0) c.wrSz(c.eaSeg, off, vb, bitApply(kind, v, bit));
  }
  c.setFlagBits(Eflags.CF, cf);
}
function bitApply(kind: number, v: number, bit: number): number {
  switch (kind) {
    case 1:
      return v | (1 << bit);
    case 2:
      return v & ~(1 << bit);
    default:
      return v ^ (1 << bit);
  }
}

/** The 0F opcode page (SDM table A-3). */
export function exec0f(c: Cpu): void {
  const op = c.fetch8();
  const r = c.regs;
  const vb = c.o32 ? 32 : 16;
  if (op >= 0x80 && op <= 0x8f) {
    const d = c.fetchV();
    if (c.cond(op & 0xf)) jumpNear(c, c.eip + d);
    return;
  }
  if (op >= 0x40 && op <= 0x4f) {
    modrm(c);
    const v = readRm(c, vb);
    if (c.cond(op & 0xf)) setReg(c, c.regField, vb, v);
    else if (vb === 32) r[c.regField] = r[c.regField]!; // 32-bit CMOV writes even when false (no upper half here)
    return;
  }
  if (op >= 0x90 && op <= 0x9f) {
    modrm(c);
    writeRm(c, 8, c.cond(op & 0xf) ? 1 : 0);
    return;
  }
  if (op >= 0xc8) {
    const reg = op & 7;
    const v = r[reg]!;
    r[reg] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    return;
  }
  switch (op) {
    case 0x00:
      group6(c);
      return;
    case 0x01:
      group7(c);
      return;
    case 0x02:
      larLsl(c, false);
      return;
    case 0x03:
      larLsl(c, true);
      return;
    case 0x06: {
      requireCpl0(c);
      if (c.nonRoot !== null) {
        c.nonRoot.crWrite(0, c.cr0 & ~Cr0.TS, 0, CrAccess.clts);
        c.cr0 = nonRootCrValue(c, 0, c.cr0 & ~Cr0.TS) | 0;
      } else c.cr0 &= ~Cr0.TS;
      c.lastCr0 = c.cr0;
      return;
    }
    case 0x08:
    case 0x09:
      requireCpl0(c);
      if (op === 0x08 && c.nonRoot !== null) c.nonRoot.vmxInstruction(ExitReason.INVD, c.eip - c.instrStart);
      return;
    case 0x0b:
      c.ud();
      return;
    case 0x18:
    case 0x19:
    case 0x1a:
    case 0x1b:
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x1f:
      // hint NOPs (0F 1F /0 is the recommended multi-byte NOP); PREFETCH is a NOP here too
      modrm(c);
      return;
    case 0x20:
    case 0x22: {
      modrm(c);
      requireCpl0(c);
      const cr = c.regField;
      if (cr === 1 || cr > 4) c.ud();
      const gpr = c.rmReg;
      if (op === 0x20) {
        let v = readCr(c, cr);
        if (c.nonRoot !== null && cr !== 2) v = c.nonRoot.crRead(cr, gpr, v);
        r[gpr] = v;
      } else {
        const v = r[gpr]!;
        if (cr === 2) {
          c.cr2 = v;
          return;
        }
        if (cr === 0 && v & Cr0.PG && !(v & Cr0.PE)) c.gp(0);
        if (cr === 4 && v & ~CR4_SUPPORTED) c.gp(0);
        if (c.nonRoot !== null) {
          c.nonRoot.crWrite(cr, v, gpr, CrAccess.movTo);
          writeCr(c, cr, nonRootCrValue(c, cr, v));
        } else writeCr(c, cr, v);
      }
      return;
    }
    case 0x21:
    case 0x23: {
      modrm(c);
      requireCpl0(c);
      let dr = c.regField;
      if (dr === 4 || dr === 5) {
        if (c.cr4 & Cr4.DE) c.ud();
        dr += 2;
      }
      if (c.nonRoot !== null && c.nonRoot.movDr(c.regField, op === 0x23, c.rmReg)) return;
      if (op === 0x21) r[c.rmReg] = c.dr[dr]!;
      else {
        const v = r[c.rmReg]!;
        c.dr[dr] = dr === 6 ? (v | 0xffff0ff0) & ~0x1000 : dr === 7 ? (v | 0x400) & ~0xd800 : v;
        c.updateDebug();
      }
      return;
    }
    case 0x30:
      requireCpl0(c);
      if (c.nonRoot !== null && c.nonRoot.wrmsr(r[Reg.ECX]! >>> 0)) return;
      wrmsr(c, r[Reg.ECX]! >>> 0);
      return;
    case 0x31: {
      if (c.cr4 & Cr4.TSD && c.pe && c.cplv !== 0) c.gp(0);
      if (c.nonRoot !== null && c.nonRoot.rdtsc()) return;
      const t = c.readTsc() + c.tscAdjust;
      r[Reg.EAX] = t % 0x100000000;
      r[Reg.EDX] = Math.floor(t / 0x100000000);
      return;
    }
    case 0x32:
      requireCpl0(c);
      if (c.nonRoot !== null && c.nonRoot.rdmsr(r[Reg.ECX]! >>> 0)) return;
      rdmsr(c, r[Reg.ECX]! >>> 0);
      return;
    case 0x33: {
      if (!(c.cr4 & Cr4.PCE) && c.pe && c.cplv !== 0) c.gp(0);
      const idx = r[Reg.ECX]! >>> 0;
      if (idx > 1) c.gp(0);
      if (c.nonRoot !== null && c.nonRoot.rdpmc()) return;
      r[Reg.EAX] = 0;
      r[Reg.EDX] = 0;
      return;
    }
    case 0x34:
      sysenter(c);
      return;
    case 0x35:
      sysexit(c);
      return;
    case 0x38: {
      // INVEPT / INVVPID (66 0F 38 80/81)
      const op3 = c.fetch8();
      if ((op3 !== 0x80 && op3 !== 0x81) || c.o32 === c.code32) c.ud();
      modrm(c);
      requireMem(c);
      vmxInstr(c, op3 === 0x80 ? ExitReason.INVEPT : ExitReason.INVVPID);
      return;
    }
    case 0x78:
    case 0x79:
      modrm(c);
      vmxInstr(c, op === 0x78 ? ExitReason.VMREAD : ExitReason.VMWRITE);
      return;
    case 0xa0:
    case 0xa8:
      c.pushV(c.segSel[op === 0xa0 ? SReg.FS : SReg.GS]!);
      return;
    case 0xa1:
    case 0xa9: {
      const s = op === 0xa1 ? SReg.FS : SReg.GS;
      c.loadSeg(s, c.peek(0, vb) & 0xffff);
      c.addSp(vb >> 3);
      return;
    }
    case 0xa2:
      if (c.nonRoot !== null && c.nonRoot.cpuid()) return;
      cpuid(c);
      return;
    case 0xa3:
      modrm(c);
      bitOp(c, 0, getReg(c, c.regField, vb), false, vb);
      return;
    case 0xab:
      modrm(c);
      bitOp(c, 1, getReg(c, c.regField, vb), false, vb);
      return;
    case 0xb3:
      modrm(c);
      bitOp(c, 2, getReg(c, c.regField, vb), false, vb);
      return;
    case 0xbb:
      modrm(c);
      bitOp(c, 3, getReg(c, c.regField, vb), false, vb);
      return;
    case 0xba: {
      modrm(c);
      if (c.regField < 4) c.ud();
      const imm = c.fetch8();
      bitOp(c, c.regField - 4, imm, true, vb);
      return;
    }
    case 0xa4:
    case 0xac:
      modrm(c);
      shld(c, vb, c.fetch8(), op === 0xac);
      return;
    case 0xa5:
    case 0xad:
      modrm(c);
      shld(c, vb, r[Reg.ECX]!, op === 0xad);
      return;
    case 0xaf:
      modrm(c);
      setReg(c, c.regField, vb, imulTrunc(c, getReg(c, c.regField, vb), readRm(c, vb), vb));
      return;
    case 0xb0:
    case 0xb1: {
      // CMPXCHG: the destination is always written (SDM CMPXCHG)
      const bits = op === 0xb0 ? 8 : vb;
      modrm(c);
      const dst = readRm(c, bits);
      const acc = getReg(c, Reg.EAX, bits);
      if ((acc & mask(bits)) === (dst & mask(bits))) writeRm(c, bits, getReg(c, c.regField, bits));
      else {
        writeRm(c, bits, dst);
        setReg(c, Reg.EAX, bits, dst);
      }
      alu(c, Alu.cmp, acc, dst, bits);
      return;
    }
    case 0xb2:
    case 0xb4:
    case 0xb5: {
      modrm(c);
      requireMem(c);
      const off = c.rdSz(c.eaSeg, c.eaOff, vb);
      const sel = c.rd16(c.eaSeg, eaPlus(c, vb >> 3));
      const s = op === 0xb2 ? SReg.SS : op === 0xb4 ? SReg.FS : SReg.GS;
      c.loadSeg(s, sel);
      setReg(c, c.regField, vb, off);
      return;
    }
    case 0xb6:
    case 0xb7:
      modrm(c);
      setReg(c, c.regField, vb, readRm(c, op === 0xb6 ? 8 : 16));
      return;
    case 0xbe:
      modrm(c);
      setReg(c, c.regField, vb, sx8(readRm(c, 8)));
      return;
    case 0xbf:
      modrm(c);
      setReg(c, c.regField, vb, sx16(readRm(c, 16)));
      return;
    case 0xbc:
    case 0xbd: {
      modrm(c);
      const v = readRm(c, vb) & mask(vb);
      if (v === 0) {
        c.setFlagBits(Eflags.ZF, Eflags.ZF);
        return;
      }
      const idx = op === 0xbc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
      setReg(c, c.regField, vb, idx);
      c.setFlagBits(Eflags.ZF, 0);
      return;
    }
    case 0xc0:
    case 0xc1: {
      const bits = op === 0xc0 ? 8 : vb;
      modrm(c);
      const dst = readRm(c, bits);
      const src = getReg(c, c.regField, bits);
      const sum = (dst + src) & mask(bits);
      writeRm(c, bits, sum);
      setReg(c, c.regField, bits, dst);
      alu(c, Alu.add, dst, src, bits);
      return;
    }
    case 0xc7: {
      modrm(c);
      const o = c.regField;
      if (o === 1) {
        requireMem(c);
        const lo = c.rd32(c.eaSeg, c.eaOff);
        const hi = c.rd32(c.eaSeg, eaPlus(c, 4));
        if (lo === r[Reg.EAX] && hi === r[Reg.EDX]) {
          c.wr32(c.eaSeg, c.eaOff, r[Reg.EBX]!);
          c.wr32(c.eaSeg, eaPlus(c, 4), r[Reg.ECX]!);
          c.setFlagBits(Eflags.ZF, Eflags.ZF);
        } else {
          c.wr32(c.eaSeg, c.eaOff, lo);
          c.wr32(c.eaSeg, eaPlus(c, 4), hi);
          r[Reg.EAX] = lo;
          r[Reg.EDX] = hi;
          c.setFlagBits(Eflags.ZF, 0);
        }
        return;
      }
      if ((o === 6 || o === 7) && c.mod !== 3) {
        if (o === 7) vmxInstr(c, ExitReason.VMPTRST);
        else if (c.rep === 0xf3) vmxInstr(c, ExitReason.VMXON);
        else vmxInstr(c, c.o32 !== c.code32 ? ExitReason.VMCLEAR : ExitReason.VMPTRLD);
      }
      c.ud();
      return;
    }
    case 0x10:
    case 0x11:
    case 0x12:
    case 0x13:
    case 0x14:
    case 0x15:
    case 0x16:
    case 0x17:
    case 0x28:
    case 0x29:
    case 0x2a:
    case 0x2b:
    case 0x2c:
    case 0x2d:
    case 0x2e:
    case 0x2f:
    case 0xae:
    case 0xc2:
    case 0xc3:
    case 0xc4:
    case 0xc5:
    case 0xc6:
    case 0x77:
      fpu(c);
      return;
    default:
      if ((op >= 0x50 && op <= 0x7f) || (op >= 0xd0 && op <= 0xfe)) fpu(c);
      c.ud();
  }
}
