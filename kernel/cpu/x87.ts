/**
 * The x87 FPU instructions (escape opcodes D8-DF, SDM Vol. 1 ch. 8, Vol. 2 "F..." pages) and
 * WAIT/FWAIT. execute.ts decodes the ModRM byte and calls x87(); the state is Cpu.fpu
 * (x87-state.ts).
 *
 * Documented limitations of this model:
 * - Values are IEEE doubles: arithmetic has a 53-bit significand and the double exponent range,
 *   not the 64-bit significand and 15-bit exponent of double extended. The precision-control
 *   field is stored and read back but results are always rounded to double; rounding control is
 *   applied (to double) for add, subtract, multiply, divide, square root, FRNDINT and the integer
 *   stores. Overflow / underflow / precision (OE/UE/PE) are flagged where the double result
 *   shows them; an unmasked OE/UE does not rescale the result as the hardware does.
 * - FLD m80 converts exactly when the value fits a double (rounded to nearest otherwise, ±inf or
 *   ±0 beyond the double range); FSTP m80 is exact. FILD m64 rounds beyond 2^53.
 * - Transcendentals use Math.* (correctly rounded or nearly so in double, not the x87's own
 *   approximations); FPREM/FPREM1 always reduce completely (C2 = 0).
 * - Unmasked exceptions set ES/B and raise #MF at the next waiting x87 instruction or WAIT when
 *   CR0.NE = 1. With CR0.NE = 0 a PC signals FERR# to the interrupt controller (IRQ 13); that path
 *   is not modelled, so nothing is raised.
 * - The denormal-operand exception (DE) is not detected.
 *
 * Precise exceptions: every instruction reads all its memory operands and probes every store
 * (segment limit and page permissions) before it changes any FPU state, so a fault or an
 * aborted emulation (Cpu.emulate, which does not snapshot the FPU) leaves the state unchanged.
 */
import { Access } from './interfaces.js';
import { Reg, SReg } from './cpu.js';
import { Cr0, Vector } from './arch.js';
import { Eflags } from './flags.js';
import type { Cpu } from './processor.js';
import { EXC_MASK, Sw, type X87State } from './x87-state.js';

// ------------------------------------------------------------------ bit conversions

const F64 = new Float64Array(1);
const F32 = new Float32Array(F64.buffer, 0, 1);
const U32 = new Int32Array(F64.buffer);
/** Double words of the QNaN floating-point indefinite (SDM Vol. 1 table 4-3, negative sign). */
const INDEF_HI = 0xfff80000 | 0;
const MIN_NORMAL = 2.2250738585072014e-308;
const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;
/** Control word fields. */
const CW_RC_SHIFT = 10;
const Rc = { nearest: 0, down: 1, up: 2, zero: 3 } as const;

function bitsHi(v: number): number {
  F64[0] = v;
  return U32[1]!;
}
function bitsLo(v: number): number {
  F64[0] = v;
  return U32[0]!;
}
function fromBits(hi: number, lo: number): number {
  U32[1] = hi;
  U32[0] = lo;
  return F64[0]!;
}
/** The next double away from zero (magnitude up) or toward zero, for directed rounding. */
function stepAway(x: number): number {
  F64[0] = x;
  const lo = (U32[0]! + 1) | 0;
  U32[0] = lo;
  if (lo === 0) U32[1] = (U32[1]! + 1) | 0;
  return F64[0]!;
}
function stepToward0(x: number): number {
  F64[0] = x;
  const lo = U32[0]!;
  U32[0] = (lo - 1) | 0;
  if (lo === 0) U32[1] = (U32[1]! - 1) | 0;
  return F64[0]!;
}

/** ldexp without intermediate overflow / underflow for exponents beyond ±1023. */
function scale2(x: number, e: number): number {
  let v = x;
  let n = e;
  while (n > 1023) {
    v *= 8.98846567431158e307; // 2^1023
    n -= 1023;
    if (!Number.isFinite(v)) return v;
  }
  while (n < -1022) {
    v *= 2.2250738585072014e-308; // 2^-1022
    n += 1022;
    if (v === 0) return v;
  }
  return v * fromBits(((n + 1023) << 20) | 0, 0);
}

/** Unbiased exponent of a finite nonzero double, denormals included. */
function exponentOf(x: number): number {
  const e = (bitsHi(x) >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  return ((bitsHi(x * 18446744073709551616) >>> 20) & 0x7ff) - 1023 - 64;
}

// ------------------------------------------------------------------ per-instruction scratch

/** Exception flags raised by the operation in progress (committed by `raise`). */
let exc = 0;
/** C1 after a rounded result: the magnitude was rounded up. */
let roundedUp = 0;
/** NaN bit patterns of the two operands and of the result (double high / low words). */
let aHi = 0;
let aLo = 0;
let bHi = 0;
let bLo = 0;
let rHi = 0;
let rLo = 0;

function isSnan(hi: number, lo: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && (hi & 0x80000) === 0 && ((hi & 0xfffff) | lo) !== 0;
}
/** The result is the QNaN indefinite. */
function indefinite(): number {
  rHi = INDEF_HI;
  rLo = 0;
  return NaN;
}
/** NaN operand rules for arithmetic (SDM Vol. 1 table 4-7): SNaN raises IE and is quieted. */
function nanResult(a: number, b: number): number {
  const an = a !== a;
  const bn = b !== b;
  if ((an && isSnan(aHi, aLo)) || (bn && isSnan(bHi, bLo))) exc |= Sw.IE;
  let useA: boolean;
  if (an && bn) {
    const aq = !isSnan(aHi, aLo);
    const bq = !isSnan(bHi, bLo);
    if (aq !== bq) useA = aq;
    else {
      const am = aHi & 0x7ffff;
      const bm = bHi & 0x7ffff;
      useA = am > bm || (am === bm && aLo >>> 0 >= bLo >>> 0);
    }
  } else useA = an;
  rHi = (useA ? aHi : bHi) | 0x80000;
  rLo = useA ? aLo : bLo;
  return NaN;
}

// Veltkamp / Dekker error terms: the exact a+b or a*b minus the rounded result.
function sumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return a - (s - bb) + (b - bb);
}
const SPLIT = 134217729;
function prodErr(a: number, b: number, p: number): number {
  const ta = SPLIT * a;
  const tb = SPLIT * b;
  if (!Number.isFinite(ta) || !Number.isFinite(tb)) return 0;
  const ah = ta - (ta - a);
  const al = a - ah;
  const bh = tb - (tb - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/**
 * Round-to-double result `r` with exact error `err` (exact = r + err): flags PE, applies the
 * control word's rounding direction, sets roundedUp (C1).
 */
function rounded(f: X87State, r: number, err: number): number {
  if (err === 0 || r !== r) return r;
  exc |= Sw.PE;
  let v = r;
  switch ((f.cw >> CW_RC_SHIFT) & 3) {
    case Rc.down:
      if (err < 0) v = v > 0 ? stepToward0(v) : stepAway(v);
      break;
    case Rc.up:
      if (err > 0) v = v > 0 ? stepAway(v) : stepToward0(v);
      break;
    case Rc.zero:
      if (err < 0 !== v < 0) v = stepToward0(v);
      break;
    default:
      break;
  }
  // rounded up = the magnitude ended above the exact value (a directed step brackets it)
  roundedUp = (v === r ? (r > 0 ? err < 0 : err > 0) : Math.abs(v) > Math.abs(r)) ? 1 : 0;
  return v;
}

/** Overflow / underflow of a result computed from finite operands. */
function range(f: X87State, r: number): number {
  if (r === Infinity || r === -Infinity) {
    exc |= Sw.OE | Sw.PE;
    roundedUp = 1;
    const rc = (f.cw >> CW_RC_SHIFT) & 3;
    if (rc === Rc.zero || (rc === Rc.down && r > 0) || (rc === Rc.up && r < 0)) {
      roundedUp = 0;
      return r > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
    }
    return r;
  }
  if (r !== 0 && Math.abs(r) < MIN_NORMAL && (exc & Sw.PE) !== 0) exc |= Sw.UE;
  return r;
}

/** Arithmetic op (ModRM reg numbering: 0 add, 1 mul, 4 a-b, 5 b-a, 6 a/b, 7 b/a). */
function arith(f: X87State, op: number, a0: number, b0: number): number {
  let a = a0;
  let b = b0;
  let o = op;
  if (o === 5 || o === 7) {
    a = b0;
    b = a0;
    const h = aHi;
    const l = aLo;
    aHi = bHi;
    aLo = bLo;
    bHi = h;
    bLo = l;
    o--;
  }
  if (a !== a || b !== b) return nanResult(a, b);
  const finite = Number.isFinite(a) && Number.isFinite(b);
  let r: number;
  switch (o) {
    case 0:
    case 4: {
      const bb = o === 4 ? -b : b;
      r = a + bb;
      if (r !== r) {
        exc |= Sw.IE;
        return indefinite();
      }
      if (!finite) return r;
      // x + (-x) is -0 only when rounding down (SDM table 4-x, FADD)
      if (r === 0 && a !== 0 && ((f.cw >> CW_RC_SHIFT) & 3) === Rc.down) r = -0;
      r = rounded(f, r, sumErr(a, bb, r));
      return range(f, r);
    }
    case 1: {
      r = a * b;
      if (r !== r) {
        exc |= Sw.IE;
        return indefinite();
      }
      if (!finite) return r;
      const err = prodErr(a, b, r);
      r = rounded(f, r, err);
      if (r === 0 && a !== 0 && b !== 0) exc |= Sw.UE | Sw.PE;
      return range(f, r);
    }
    default: {
      if ((a === 0 && b === 0) || (!Number.isFinite(a) && !Number.isFinite(b))) {
        exc |= Sw.IE;
        return indefinite();
      }
      if (b === 0) {
        if (Number.isFinite(a)) exc |= Sw.ZE;
        return a / b;
      }
      r = a / b;
      if (!finite) return r;
      // exact quotient - r has the sign of (a - r*b) / b
      let err = 0;
      if (Number.isFinite(r) && r !== 0) {
        const p = r * b;
        const rem = a - p - prodErr(r, b, p);
        // only the sign of the error matters to `rounded`
        err = rem === 0 ? 0 : rem > 0 === b > 0 ? 1 : -1;
      }
      r = rounded(f, r, err);
      if (r === 0 && a !== 0) exc |= Sw.UE | Sw.PE;
      return range(f, r);
    }
  }
}

// ------------------------------------------------------------------ stack and exceptions

function phys(f: X87State, i: number): number {
  return (f.top + i) & 7;
}
function isEmpty(f: X87State, i: number): boolean {
  return ((f.empty >> phys(f, i)) & 1) !== 0;
}
/** ST(i) as a number; a NaN's bits go to (aHi, aLo) or (bHi, bLo). */
function stA(f: X87State, i: number): number {
  const p = phys(f, i);
  const v = f.val[p]!;
  if (v !== v) {
    aHi = f.nanHi[p]!;
    aLo = f.nanLo[p]!;
  }
  return v;
}
function stB(f: X87State, i: number): number {
  const p = phys(f, i);
  const v = f.val[p]!;
  if (v !== v) {
    bHi = f.nanHi[p]!;
    bLo = f.nanLo[p]!;
  }
  return v;
}
/** Write ST(i) (a NaN takes its bits from rHi/rLo) and mark it non-empty. */
function setSt(f: X87State, i: number, v: number): void {
  const p = phys(f, i);
  f.val[p] = v;
  if (v !== v) {
    f.nanHi[p] = rHi;
    f.nanLo[p] = rLo;
  }
  f.empty &= ~(1 << p);
}
function pop(f: X87State): void {
  f.empty |= 1 << f.top;
  f.top = (f.top + 1) & 7;
}
/** Make a result NaN keep the operand-A bits (moves, FCHS/FABS, loads of NaN). */
function keepA(v: number): number {
  if (v !== v) {
    rHi = aHi;
    rLo = aLo;
  }
  return v;
}

/** Record exception flags; unmasked ones set ES and B (SDM 8.4). */
function raise(f: X87State, bits: number): void {
  f.sw |= bits;
  if ((f.sw & ~f.cw & EXC_MASK) !== 0) f.sw |= Sw.ES | Sw.B;
}
/** After CW or SW changed wholesale: ES/B say whether an unmasked exception is pending. */
function updateEs(f: X87State): void {
  if ((f.sw & ~f.cw & EXC_MASK) !== 0) f.sw |= Sw.ES | Sw.B;
  else f.sw &= ~(Sw.ES | Sw.B);
}
function unmasked(f: X87State, bits: number): boolean {
  return (bits & ~f.cw & EXC_MASK) !== 0;
}
function setCc(f: X87State, c3: number, c2: number, c1: number, c0: number): void {
  f.sw = (f.sw & ~(Sw.C0 | Sw.C1 | Sw.C2 | Sw.C3)) | (c0 ? Sw.C0 : 0) | (c1 ? Sw.C1 : 0) | (c2 ? Sw.C2 : 0) | (c3 ? Sw.C3 : 0);
}
function setC1(f: X87State, v: number): void {
  f.sw = v ? f.sw | Sw.C1 : f.sw & ~Sw.C1;
}
/** Stack underflow (IE + SF, C1 = 0). Returns true when masked (the caller stores indefinite). */
function underflow(f: X87State): boolean {
  setC1(f, 0);
  raise(f, Sw.IE | Sw.SF);
  return !unmasked(f, Sw.IE);
}
/** Push `v`; a full slot is stack overflow (IE + SF, C1 = 1): indefinite when masked. */
function push(f: X87State, v: number): void {
  const t = (f.top - 1) & 7;
  if (((f.empty >> t) & 1) === 0) {
    setC1(f, 1);
    raise(f, Sw.IE | Sw.SF);
    if (unmasked(f, Sw.IE)) return;
    f.top = t;
    setSt(f, 0, indefinite());
    return;
  }
  f.top = t;
  setSt(f, 0, v);
}
/** Can a push be done? Otherwise raises the overflow and returns false (caller stops). */
function pushOk(f: X87State): boolean {
  if (!isEmpty(f, 7)) {
    push(f, 0);
    return false;
  }
  return true;
}
/** Commit `exc` and C1 after an arithmetic result; true when the result may be stored. */
function commitResult(f: X87State): boolean {
  const e = exc;
  setC1(f, e & Sw.PE ? roundedUp : 0);
  raise(f, e);
  // unmasked IE / ZE (and DE) leave the destination unchanged; OE/UE/PE still deliver a result
  return !unmasked(f, e & (Sw.IE | Sw.ZE | Sw.DE));
}

// ------------------------------------------------------------------ memory operands

function ea(c: Cpu, delta: number): number {
  return c.a32 ? (c.eaOff + delta) >>> 0 : (c.eaOff + delta) & 0xffff;
}
/** Check that `len` bytes at the memory operand can be written, before any byte is stored. */
function probeWrite(c: Cpu, len: number): void {
  const lin = c.segAddr(c.eaSeg, c.eaOff, len, 2);
  if (c.pg) {
    c.translate(lin, Access.write, c.user);
    if (((lin ^ (lin + len - 1)) & ~0xfff) !== 0) c.translate((lin + len - 1) | 0, Access.write, c.user);
  }
}

/** Read the memory operand as a value of kind (0 m32fp, 1 m32int, 2 m64fp, 3 m16int); NaN bits in b. FLD and FILD use it too. */
function readArithOp(c: Cpu, kind: number): number {
  switch (kind) {
    case 0:
      return readF32(c.rd32(c.eaSeg, c.eaOff));
    case 1:
      return c.rd32(c.eaSeg, c.eaOff);
    case 2: {
      const lo = c.rd32(c.eaSeg, c.eaOff);
      const hi = c.rd32(c.eaSeg, ea(c, 4));
      return readF64(hi, lo);
    }
    default:
      return (c.rd16(c.eaSeg, c.eaOff) << 16) >> 16;
  }
}
function readF32(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) {
    bHi = (bits & 0x80000000) | 0x7ff00000 | ((bits & 0x7fffff) >>> 3);
    bLo = bits << 29;
    return NaN;
  }
  U32[0] = bits;
  return F32[0]!;
}
function readF64(hi: number, lo: number): number {
  const v = fromBits(hi, lo);
  if (v !== v) {
    bHi = hi;
    bLo = lo;
  }
  return v;
}
/** Double extended to double (SDM Vol. 1 4.2.2): exact when it fits, NaN bits kept in b. */
function fromExtended(lo: number, hi: number, se: number): number {
  const sign = se & 0x8000 ? -1 : 1;
  const e = se & 0x7fff;
  if (e === 0x7fff) {
    if (((hi & 0x7fffffff) | lo) === 0) return sign * Infinity;
    bHi = (se & 0x8000 ? 0x80000000 : 0) | 0x7ff00000 | ((hi >>> 11) & 0xfffff);
    bLo = (hi << 21) | (lo >>> 11);
    if ((((hi >>> 11) & 0xfffff) | bLo) === 0) bLo = 1; // payload only in the dropped bits: keep it a NaN
    return NaN;
  }
  // one rounding to nearest of the 64-bit significand, then an exact power-of-two scale
  const sig = (hi >>> 0) * TWO32 + (lo >>> 0);
  if (sig === 0) return sign * 0;
  return sign * scale2(sig, (e === 0 ? 1 : e) - 16383 - 63);
}
/** Double to double extended: [lo, hi, sign+exponent]. */
function toExtended(v: number, hiIn: number, loIn: number): [number, number, number] {
  if (v !== v) {
    return [loIn << 11, 0x80000000 | ((hiIn & 0xfffff) << 11) | (loIn >>> 21), (hiIn < 0 ? 0x8000 : 0) | 0x7fff];
  }
  const s = bitsHi(v) < 0 ? 0x8000 : 0;
  if (v === 0) return [0, 0, s];
  if (!Number.isFinite(v)) return [0, 0x80000000 | 0, s | 0x7fff];
  const e = exponentOf(v);
  const norm = Math.abs(scale2(v, -e)); // in [1, 2)
  const h = bitsHi(norm);
  const l = bitsLo(norm);
  return [l << 11, 0x80000000 | ((h & 0xfffff) << 11) | (l >>> 21), s | (e + 16383)];
}

function wr64(c: Cpu, lo: number, hi: number): void {
  probeWrite(c, 8);
  c.wr32(c.eaSeg, c.eaOff, lo);
  c.wr32(c.eaSeg, ea(c, 4), hi);
}

/** Round to an integer with the control word's rounding control. */
function roundInt(f: X87State, v: number): number {
  switch ((f.cw >> CW_RC_SHIFT) & 3) {
    case Rc.down:
      return Math.floor(v);
    case Rc.up:
      return Math.ceil(v);
    case Rc.zero:
      return Math.trunc(v);
    default: {
      const r = Math.round(v);
      // Math.round rounds halves up; the x87 rounds them to even
      return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
    }
  }
}

// ------------------------------------------------------------------ compares

/** 0 greater, 1 less, 2 equal, 3 unordered; IE for SNaN, or any NaN when `ordered`. */
function compare(a: number, b: number, ordered: boolean): number {
  if (a !== a || b !== b) {
    if (ordered || (a !== a && isSnan(aHi, aLo)) || (b !== b && isSnan(bHi, bLo))) exc |= Sw.IE;
    return 3;
  }
  return a > b ? 0 : a < b ? 1 : 2;
}
const CC_OF = [
  [0, 0, 0],
  [0, 0, 1],
  [1, 0, 0],
  [1, 1, 1],
] as const;
function setCompareCc(f: X87State, r: number): void {
  const cc = CC_OF[r]!;
  setCc(f, cc[0], cc[1], 0, cc[2]);
}
/** FCOMI and friends: ZF, PF, CF from the comparison, OF/SF/AF cleared. */
function setCompareFlags(c: Cpu, r: number): void {
  const cc = CC_OF[r]!;
  const v = (cc[0] ? Eflags.ZF : 0) | (cc[1] ? Eflags.PF : 0) | (cc[2] ? Eflags.CF : 0);
  c.setFlagBits(Eflags.ZF | Eflags.PF | Eflags.CF | Eflags.OF | Eflags.SF | Eflags.AF, v);
}

// ------------------------------------------------------------------ entry points

/** WAIT/FWAIT (9B): #NM with CR0.MP and TS; then pending unmasked exceptions (#MF). */
export function fwait(c: Cpu): void {
  if ((c.cr0 & (Cr0.MP | Cr0.TS)) === (Cr0.MP | Cr0.TS)) c.fault(Vector.NM, 0, false);
  checkPending(c);
}

function checkPending(c: Cpu): void {
  if ((c.fpu.sw & Sw.ES) !== 0 && (c.cr0 & Cr0.NE) !== 0) c.fault(Vector.MF, 0, false);
}

/** x87 escape `op` (D8-DF) with its ModRM already decoded by the caller. */
export function x87(c: Cpu, op: number): void {
  if ((c.cr0 & (Cr0.EM | Cr0.TS)) !== 0) c.fault(Vector.NM, 0, false);
  const f = c.fpu;
  const reg = c.regField;
  exc = 0;
  roundedUp = 0;
  if (c.mod !== 3) {
    // the control instructions: FLDENV FLDCW FNSTENV FNSTCW (D9 /4-/7), FRSTOR FNSAVE FNSTSW (DD /4 /6 /7)
    if (op === 0xd9 && reg >= 4) {
      if (reg < 6) checkPending(c);
      controlD9(c, f, reg);
      return;
    }
    if (op === 0xdd && reg >= 4) {
      if (reg === 4) checkPending(c);
      controlDD(c, f, reg);
      return;
    }
    checkPending(c);
    memOp(c, f, op, reg);
    f.fdp = c.eaOff;
    f.fds = c.segSel[c.eaSeg]!;
    f.fdpLin = (c.segBase[c.eaSeg]! + c.eaOff) | 0;
  } else {
    const m = c.modrm;
    if (op === 0xdb && (m === 0xe2 || m === 0xe3 || m === 0xe0 || m === 0xe1 || m === 0xe4)) {
      // FNCLEX, FNINIT; FNENI/FNDISI/FNSETPM are no-ops since the 387
      if (m === 0xe2) f.sw &= ~(EXC_MASK | Sw.SF | Sw.ES | Sw.B);
      else if (m === 0xe3) f.init();
      return;
    }
    if (op === 0xdf && m === 0xe0) {
      c.regs[Reg.EAX] = (c.regs[Reg.EAX]! & ~0xffff) | f.status();
      return;
    }
    checkPending(c);
    regOp(c, f, op, reg, c.rmReg);
  }
  f.fip = c.instrStart;
  f.fcs = c.segSel[SReg.CS]!;
  f.fipLin = (c.csBase + c.instrStart) | 0;
  f.fop = ((op & 7) << 8) | c.modrm;
}

// ------------------------------------------------------------------ memory forms

function memOp(c: Cpu, f: X87State, op: number, reg: number): void {
  switch (op) {
    case 0xd8:
    case 0xda:
    case 0xdc:
    case 0xde: {
      // arithmetic with m32fp / m32int / m64fp / m16int
      const b = readArithOp(c, (op - 0xd8) >> 1);
      if (reg === 2 || reg === 3) {
        fcom(f, b, true, reg === 3 ? 1 : 0);
        return;
      }
      if (isEmpty(f, 0)) {
        if (underflow(f)) setSt(f, 0, indefinite());
        return;
      }
      const r = arith(f, reg, stA(f, 0), b);
      if (commitResult(f)) setSt(f, 0, r);
      return;
    }
    case 0xd9:
      switch (reg) {
        case 0:
          loadValue(f, readArithOp(c, 0), true);
          return;
        case 2:
        case 3:
          storeFp(c, f, 32, reg === 3);
          return;
        default:
          c.ud();
      }
      return;
    case 0xdb:
      switch (reg) {
        case 0:
          loadValue(f, readArithOp(c, 1), false);
          return;
        case 2:
        case 3:
          storeInt(c, f, 32, reg === 3);
          return;
        case 5: {
          const lo = c.rd32(c.eaSeg, c.eaOff);
          const hi = c.rd32(c.eaSeg, ea(c, 4));
          const se = c.rd16(c.eaSeg, ea(c, 8));
          const v = fromExtended(lo, hi, se);
          // an SNaN loads unchanged from m80 (no conversion, SDM FLD)
          if (!pushOk(f)) return;
          if (v !== v) {
            rHi = bHi;
            rLo = bLo;
          }
          setC1(f, 0);
          push(f, v);
          return;
        }
        case 7:
          storeFp(c, f, 80, true);
          return;
        default:
          c.ud();
      }
      return;
    case 0xdd:
      switch (reg) {
        case 0:
          loadValue(f, readArithOp(c, 2), true);
          return;
        case 2:
        case 3:
          storeFp(c, f, 64, reg === 3);
          return;
        default:
          c.ud();
      }
      return;
    default: // 0xdf
      switch (reg) {
        case 0:
          loadValue(f, readArithOp(c, 3), false);
          return;
        case 2:
        case 3:
          storeInt(c, f, 16, reg === 3);
          return;
        case 4:
          fbld(c, f);
          return;
        case 5: {
          const lo = c.rd32(c.eaSeg, c.eaOff);
          const hi = c.rd32(c.eaSeg, ea(c, 4));
          loadValue(f, hi * TWO32 + (lo >>> 0), false);
          return;
        }
        case 6:
          fbstp(c, f);
          return;
        case 7:
          storeInt(c, f, 64, true);
          return;
        default:
          c.ud();
      }
  }
}

/** FLD of a converted m32fp/m64fp (SNaN: IE, quieted) or FILD value. */
function loadValue(f: X87State, v: number, fp: boolean): void {
  if (!pushOk(f)) return;
  if (fp && v !== v) {
    if (isSnan(bHi, bLo)) {
      raise(f, Sw.IE);
      if (unmasked(f, Sw.IE)) return;
    }
    rHi = bHi | 0x80000;
    rLo = bLo;
  }
  setC1(f, 0);
  push(f, v);
}

/** FST/FSTP m32fp / m64fp / m80fp. */
function storeFp(c: Cpu, f: X87State, bits: number, doPop: boolean): void {
  let v: number;
  let nh = INDEF_HI;
  let nl = 0;
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    v = NaN;
  } else {
    v = stA(f, 0);
    if (v !== v) {
      nh = aHi;
      nl = aLo;
      if (bits !== 80 && isSnan(nh, nl)) {
        exc |= Sw.IE;
        nh |= 0x80000;
      }
    }
  }
  let lo = 0;
  let hi = 0;
  if (bits === 32) {
    if (v !== v) lo = (nh & 0x80000000) | 0x7f800000 | ((nh & 0xfffff) << 3) | (nl >>> 29) | 0;
    else {
      let s = Math.fround(v);
      if (Number.isFinite(v) && s !== v) {
        const err = v - s; // exact: the double minus its float rounding
        s = roundFloat(f, v, s, err);
        if (!Number.isFinite(s)) exc |= Sw.OE;
        else if (s !== 0 && Math.abs(s) < 1.1754943508222875e-38) exc |= Sw.UE;
        else if (s === 0) exc |= Sw.UE;
      }
      F32[0] = s;
      lo = U32[0]!;
    }
    if (unmasked(f, exc & (Sw.IE | Sw.OE | Sw.UE))) {
      finishStore(f, false);
      return;
    }
    c.wr32(c.eaSeg, c.eaOff, lo);
  } else if (bits === 64) {
    if (v !== v) {
      hi = nh;
      lo = nl;
    } else {
      hi = bitsHi(v);
      lo = bitsLo(v);
    }
    if (unmasked(f, exc & Sw.IE)) {
      finishStore(f, false);
      return;
    }
    wr64(c, lo, hi);
  } else {
    const [l, h, se] = toExtended(v, nh, nl);
    probeWrite(c, 10);
    c.wr32(c.eaSeg, c.eaOff, l);
    c.wr32(c.eaSeg, ea(c, 4), h);
    c.wr16(c.eaSeg, ea(c, 8), se);
  }
  finishStore(f, doPop);
}

/** Double to single with the control word's rounding direction (s = round-to-nearest result). */
function roundFloat(f: X87State, v: number, s: number, err: number): number {
  exc |= Sw.PE;
  const rc = (f.cw >> CW_RC_SHIFT) & 3;
  let r = s;
  const stepF = (x: number, away: boolean): number => {
    F32[0] = x;
    const b = U32[0]!;
    if (x === 0) {
      U32[0] = (v < 0 ? 0x80000000 : 0) | 1;
      return away ? F32[0]! : x;
    }
    U32[0] = away ? b + 1 : b - 1;
    return F32[0]!;
  };
  if (rc === Rc.down && err < 0) r = r > 0 ? stepF(r, false) : stepF(r, true);
  else if (rc === Rc.up && err > 0) r = r >= 0 ? stepF(r, true) : stepF(r, false);
  else if (rc === Rc.zero && Math.abs(r) > Math.abs(v)) r = stepF(r, false);
  if (rc !== Rc.nearest && !Number.isFinite(r)) r = r > 0 ? 3.4028234663852886e38 : -3.4028234663852886e38;
  if (rc !== Rc.nearest && Number.isFinite(r) && Math.abs(r) > 3.4028234663852886e38) r = Math.sign(r) * 3.4028234663852886e38;
  roundedUp = Math.abs(r) > Math.abs(v) ? 1 : 0;
  return r;
}

function finishStore(f: X87State, doPop: boolean): void {
  setC1(f, exc & Sw.PE ? roundedUp : 0);
  raise(f, exc);
  if (doPop && !unmasked(f, exc & (Sw.IE | Sw.OE | Sw.UE))) pop(f);
}

/** FIST/FISTP m16int / m32int / m64int: out of range or NaN is IE, the integer indefinite. */
function storeInt(c: Cpu, f: X87State, bits: number, doPop: boolean): void {
  let ok = true;
  let r = 0;
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    ok = false;
  } else {
    const v = stA(f, 0);
    if (v !== v || !Number.isFinite(v)) ok = false;
    else {
      r = roundInt(f, v);
      const lim = bits === 16 ? 32768 : bits === 32 ? 2147483648 : TWO63;
      if (r < -lim || r >= lim) ok = false;
      else if (r !== v) {
        exc |= Sw.PE;
        roundedUp = Math.abs(r) > Math.abs(v) ? 1 : 0;
      }
    }
    if (!ok) {
      exc |= Sw.IE;
      if (unmasked(f, Sw.IE)) {
        finishStore(f, false);
        return;
      }
    }
  }
  if (bits === 16) c.wr16(c.eaSeg, c.eaOff, ok ? r & 0xffff : 0x8000);
  else if (bits === 32) c.wr32(c.eaSeg, c.eaOff, ok ? r | 0 : 0x80000000 | 0);
  else {
    const hi = ok ? Math.floor(r / TWO32) : 0x80000000 | 0;
    const lo = ok ? r - Math.floor(r / TWO32) * TWO32 : 0;
    wr64(c, lo | 0, hi | 0);
  }
  finishStore(f, doPop);
}

/** FBLD: 18 packed BCD digits and a sign byte. */
function fbld(c: Cpu, f: X87State): void {
  let v = 0;
  const bytes: number[] = [];
  for (let i = 0; i < 10; i++) bytes.push(c.rd8(c.eaSeg, ea(c, i)));
  for (let i = 8; i >= 0; i--) {
    const b = bytes[i]!;
    v = v * 100 + (b >> 4) * 10 + (b & 15);
  }
  if (bytes[9]! & 0x80) v = -v;
  loadValue(f, v, false);
}
/** FBSTP: round to an integer, store 18 BCD digits; out of range is IE with the BCD indefinite. */
function fbstp(c: Cpu, f: X87State): void {
  let ok = true;
  let r = 0;
  let neg = false;
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    ok = false;
  } else {
    const v = stA(f, 0);
    if (v !== v || !Number.isFinite(v)) ok = false;
    else {
      r = roundInt(f, v);
      if (Math.abs(r) >= 1e18) ok = false;
      else if (r !== v) exc |= Sw.PE;
      neg = bitsHi(v) < 0;
    }
    if (!ok) {
      exc |= Sw.IE;
      if (unmasked(f, Sw.IE)) {
        finishStore(f, false);
        return;
      }
    }
  }
  const out = new Array<number>(10).fill(0);
  if (!ok) {
    out[9] = 0xff;
    out[8] = 0xff;
    out[7] = 0xc0;
  } else {
    // digits from a decimal string: exact for integers below 1e18 only via BigInt
    const s = BigInt(Math.abs(r)).toString().padStart(18, '0');
    for (let i = 0; i < 9; i++) out[i] = Number(s[17 - 2 * i]) | (Number(s[16 - 2 * i]) << 4);
    out[9] = neg ? 0x80 : 0;
  }
  probeWrite(c, 10);
  for (let i = 0; i < 10; i++) c.wr8(c.eaSeg, ea(c, i), out[i]!);
  finishStore(f, true);
}

/** FCOM/FCOMP/FICOM/FICOMP with a memory operand (b already in place), or ST(i) via regOp. */
function fcom(f: X87State, b: number, ordered: boolean, pops: number): void {
  let r = 3;
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
  } else {
    r = compare(stA(f, 0), b, ordered);
    raise(f, exc);
    if (unmasked(f, exc)) return;
  }
  setCompareCc(f, r);
  for (let i = 0; i < pops; i++) pop(f);
}

// ------------------------------------------------------------------ control instructions

/** Environment layout (SDM Vol. 1 figures 8-9 to 8-12): 14 or 28 bytes. */
function storeEnv(c: Cpu, f: X87State, o32: boolean): number {
  const real = !c.pe || c.vm86;
  const tw = tagWord(f);
  const sw = f.status();
  const words: number[] = [];
  if (o32) {
    if (real) {
      words.push(f.cw | 0xffff0000, sw | 0xffff0000, tw | 0xffff0000, (f.fipLin & 0xffff) | 0xffff0000);
      words.push(((f.fipLin >>> 16) << 12) | (f.fop & 0x7ff), (f.fdpLin & 0xffff) | 0xffff0000, (f.fdpLin >>> 16) << 12);
    } else {
      words.push(f.cw | 0xffff0000, sw | 0xffff0000, tw | 0xffff0000, f.fip, f.fcs | ((f.fop & 0x7ff) << 16), f.fdp, f.fds | 0xffff0000);
    }
    for (let i = 0; i < 7; i++) c.wr32(c.eaSeg, ea(c, i * 4), words[i]! | 0);
    return 28;
  }
  if (real) words.push(f.cw, sw, tw, f.fipLin & 0xffff, ((f.fipLin >>> 4) & 0xf000) | (f.fop & 0x7ff), f.fdpLin & 0xffff, (f.fdpLin >>> 4) & 0xf000);
  else words.push(f.cw, sw, tw, f.fip & 0xffff, f.fcs, f.fdp & 0xffff, f.fds);
  for (let i = 0; i < 7; i++) c.wr16(c.eaSeg, ea(c, i * 2), words[i]!);
  return 14;
}

/** Read an environment (and, for FRSTOR, the registers) fully before changing any state. */
function loadEnv(c: Cpu, f: X87State, o32: boolean, withRegs: boolean): void {
  const real = !c.pe || c.vm86;
  const w: number[] = [];
  const size = o32 ? 4 : 2;
  for (let i = 0; i < 7; i++) w.push(o32 ? c.rd32(c.eaSeg, ea(c, i * 4)) : c.rd16(c.eaSeg, ea(c, i * 2)));
  const regs: number[] = [];
  if (withRegs) {
    const base = 7 * size;
    for (let i = 0; i < 8; i++) {
      const o = base + i * 10;
      regs.push(c.rd32(c.eaSeg, ea(c, o)), c.rd32(c.eaSeg, ea(c, o + 4)), c.rd16(c.eaSeg, ea(c, o + 8)));
    }
  }
  f.cw = w[0]! & 0x1f7f;
  const sw = w[1]! & 0xffff;
  f.top = (sw >> 11) & 7;
  f.sw = sw & ~Sw.TOP;
  const tw = w[2]! & 0xffff;
  if (o32 && !real) {
    f.fip = w[3]!;
    f.fcs = w[4]! & 0xffff;
    f.fop = (w[4]! >>> 16) & 0x7ff;
    f.fdp = w[5]!;
    f.fds = w[6]! & 0xffff;
  } else if (o32) {
    f.fipLin = (w[3]! & 0xffff) | (((w[4]! >>> 12) & 0xffff) << 16);
    f.fop = w[4]! & 0x7ff;
    f.fdpLin = (w[5]! & 0xffff) | (((w[6]! >>> 12) & 0xffff) << 16);
  } else if (real) {
    f.fipLin = w[3]! | ((w[4]! & 0xf000) << 4);
    f.fop = w[4]! & 0x7ff;
    f.fdpLin = w[5]! | ((w[6]! & 0xf000) << 4);
  } else {
    f.fip = w[3]!;
    f.fcs = w[4]!;
    f.fdp = w[5]!;
    f.fds = w[6]!;
  }
  if (withRegs) {
    for (let i = 0; i < 8; i++) {
      const v = fromExtended(regs[i * 3]!, regs[i * 3 + 1]!, regs[i * 3 + 2]!);
      const p = phys(f, i);
      f.val[p] = v;
      if (v !== v) {
        f.nanHi[p] = bHi;
        f.nanLo[p] = bLo;
      }
    }
  }
  // only the empty tag is taken from the image; the others follow from the values
  let empty = 0;
  for (let p = 0; p < 8; p++) if (((tw >> (p * 2)) & 3) === 3) empty |= 1 << p;
  f.empty = empty;
  updateEs(f);
}

/** Full tag word: 00 valid, 01 zero, 10 special (NaN, infinity), 11 empty. */
export function tagWord(f: X87State): number {
  let tw = 0;
  for (let p = 0; p < 8; p++) {
    let t: number;
    const v = f.val[p]!;
    if ((f.empty >> p) & 1) t = 3;
    else if (v === 0) t = 1;
    else if (!Number.isFinite(v)) t = 2;
    else t = 0;
    tw |= t << (p * 2);
  }
  return tw;
}

function controlD9(c: Cpu, f: X87State, reg: number): void {
  switch (reg) {
    case 4:
      loadEnv(c, f, c.o32, false);
      return;
    case 5:
      f.cw = c.rd16(c.eaSeg, c.eaOff) & 0x1f7f;
      updateEs(f);
      return;
    case 6:
      probeWrite(c, c.o32 ? 28 : 14);
      storeEnv(c, f, c.o32);
      // FNSTENV masks all exceptions after storing (SDM FSTENV)
      f.cw |= EXC_MASK;
      updateEs(f);
      return;
    default:
      c.wr16(c.eaSeg, c.eaOff, f.cw | 0x40);
  }
}

function controlDD(c: Cpu, f: X87State, reg: number): void {
  switch (reg) {
    case 4:
      loadEnv(c, f, c.o32, true);
      return;
    case 6: {
      const envSize = c.o32 ? 28 : 14;
      probeWrite(c, envSize + 80);
      storeEnv(c, f, c.o32);
      for (let i = 0; i < 8; i++) {
        const p = phys(f, i);
        const v = f.val[p]!;
        const [l, h, se] = toExtended(v, f.nanHi[p]!, f.nanLo[p]!);
        const o = envSize + i * 10;
        c.wr32(c.eaSeg, ea(c, o), l);
        c.wr32(c.eaSeg, ea(c, o + 4), h);
        c.wr16(c.eaSeg, ea(c, o + 8), se);
      }
      f.init();
      return;
    }
    case 7:
      c.wr16(c.eaSeg, c.eaOff, f.status());
      return;
    default:
      c.ud();
  }
}

// ------------------------------------------------------------------ register forms

/** Conditions of FCMOVcc (DA/DB C0-DF): B, E, BE, U and their negations. */
function fcmovCond(c: Cpu, k: number): boolean {
  switch (k) {
    case 0:
      return c.getCF() !== 0;
    case 1:
      return c.getZF() !== 0;
    case 2:
      return (c.getCF() | c.getZF()) !== 0;
    default:
      return c.getPF() !== 0;
  }
}

function regOp(c: Cpu, f: X87State, op: number, reg: number, i: number): void {
  switch (op) {
    case 0xd8:
    case 0xdc:
    case 0xde:
      arithReg(c, f, op, reg, i);
      return;
    case 0xd9:
      regD9(c, f, reg, i);
      return;
    case 0xda:
      if (reg < 4) {
        fcmov(f, fcmovCond(c, reg), i);
        return;
      }
      if (c.modrm === 0xe9) {
        compareReg(c, f, 1, false, 2, false);
        return;
      }
      c.ud();
      return;
    case 0xdb:
      if (reg < 4) fcmov(f, !fcmovCond(c, reg), i);
      else if (reg === 5 || reg === 6) compareReg(c, f, i, reg === 6, 0, true);
      else c.ud();
      return;
    case 0xdd:
      switch (reg) {
        case 0: // FFREE
          f.empty |= 1 << phys(f, i);
          return;
        case 1:
          fxch(f, i);
          return;
        case 2:
        case 3:
          fstReg(f, i, reg === 3);
          return;
        case 4:
        case 5:
          compareReg(c, f, i, false, reg === 5 ? 1 : 0, false);
          return;
        default:
          c.ud();
      }
      return;
    default: // 0xdf
      switch (reg) {
        case 0: // FFREEP (undocumented on P6, present)
          f.empty |= 1 << phys(f, i);
          pop(f);
          return;
        case 1:
          fxch(f, i);
          return;
        case 2:
        case 3:
          fstReg(f, i, true);
          return;
        case 5:
        case 6:
          compareReg(c, f, i, reg === 6, 1, true);
          return;
        default:
          c.ud();
      }
  }
}

/** D8 (ST(0) op= ST(i)), DC (ST(i) op= ST(0)), DE (the DC form and pop); /2 /3 are FCOM(P). */
function arithReg(c: Cpu, f: X87State, op: number, reg: number, i: number): void {
  if (reg === 2 || reg === 3) {
    // DC D0-DF and DE D0-D7 are the reserved FCOM2/FCOMP3/FCOMP5 aliases; of DE D8-DF only
    // DE D9 (FCOMPP) is defined
    if (op === 0xde && reg === 3 && i !== 1) c.ud();
    compareReg(c, f, i, true, op === 0xde ? reg - 1 : reg - 2, false);
    return;
  }
  const dst = op === 0xd8 ? 0 : i;
  const pops = op === 0xde;
  if (isEmpty(f, 0) || isEmpty(f, i)) {
    if (!underflow(f)) return;
    setSt(f, dst, indefinite());
    if (pops) pop(f);
    return;
  }
  // with a = ST(0) and b = ST(i) one ModRM reg means the same operation in D8, DC and DE: the
  // DC/DE "FSUB ST(i), ST(0)" (reg 5) computes ST(i) - ST(0) = b - a like D8's FSUBR (SDM FSUB)
  const r = arith(f, reg, stA(f, 0), stB(f, i));
  if (!commitResult(f)) return;
  setSt(f, dst, r);
  if (pops) pop(f);
}

/** FCOM-family on ST(0) and ST(i); `eflags` for FCOMI/FUCOMI; `ordered` false for FUCOM. */
function compareReg(c: Cpu, f: X87State, i: number, ordered: boolean, pops: number, eflags: boolean): void {
  let r = 3;
  if (isEmpty(f, 0) || isEmpty(f, i)) {
    if (!underflow(f)) return;
  } else {
    r = compare(stA(f, 0), stB(f, i), ordered);
    raise(f, exc);
    if (unmasked(f, exc)) return;
  }
  if (eflags) {
    setC1(f, 0);
    setCompareFlags(c, r);
  } else setCompareCc(f, r);
  for (let k = 0; k < pops; k++) pop(f);
}

function fcmov(f: X87State, cond: boolean, i: number): void {
  if (isEmpty(f, 0) || isEmpty(f, i)) {
    if (underflow(f)) setSt(f, 0, indefinite());
    return;
  }
  setC1(f, 0);
  if (cond) setSt(f, 0, keepA(stA(f, i)));
}

function fxch(f: X87State, i: number): void {
  if (isEmpty(f, 0) || isEmpty(f, i)) {
    if (!underflow(f)) return;
    // masked: empty operands become indefinite before the exchange
    if (isEmpty(f, 0)) setSt(f, 0, indefinite());
    if (isEmpty(f, i)) setSt(f, i, indefinite());
  }
  const p0 = phys(f, 0);
  const pi = phys(f, i);
  const v = f.val[p0]!;
  const h = f.nanHi[p0]!;
  const l = f.nanLo[p0]!;
  f.val[p0] = f.val[pi]!;
  f.nanHi[p0] = f.nanHi[pi]!;
  f.nanLo[p0] = f.nanLo[pi]!;
  f.val[pi] = v;
  f.nanHi[pi] = h;
  f.nanLo[pi] = l;
  setC1(f, 0);
}

function fstReg(f: X87State, i: number, doPop: boolean): void {
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    setSt(f, i, indefinite());
  } else {
    setSt(f, i, keepA(stA(f, 0)));
    setC1(f, 0);
  }
  if (doPop) pop(f);
}

const CONSTANTS = [1, 3.321928094887362, 1.4426950408889634, Math.PI, 0.3010299956639812, 0.6931471805599453, 0] as const;

function regD9(c: Cpu, f: X87State, reg: number, i: number): void {
  switch (reg) {
    case 0: {
      // FLD ST(i)
      if (isEmpty(f, i)) {
        if (!underflow(f)) return;
        push(f, indefinite());
        return;
      }
      const v = keepA(stA(f, i));
      const h = rHi;
      const l = rLo;
      if (!pushOk(f)) return;
      rHi = h;
      rLo = l;
      setC1(f, 0);
      push(f, v);
      return;
    }
    case 1:
      fxch(f, i);
      return;
    case 2:
      if (i !== 0) c.ud();
      return; // FNOP
    case 3: // FSTP1 (D9 D8+i, reserved alias of FSTP ST(i))
      fstReg(f, i, true);
      return;
    case 4:
      unaryE(c, f, i);
      return;
    case 5: {
      if (i === 7) c.ud();
      if (!pushOk(f)) return;
      setC1(f, 0);
      push(f, CONSTANTS[i]!);
      return;
    }
    case 6:
      transF0(f, i);
      return;
    default:
      transF8(f, i);
  }
}

/** D9 E0-E7: FCHS FABS FTST FXAM. */
function unaryE(c: Cpu, f: X87State, i: number): void {
  if (i === 5) {
    // FXAM: class in C3 C2 C0, sign in C1 (SDM FXAM); works on an empty register
    const p = phys(f, 0);
    const v = f.val[p]!;
    const sign = v !== v ? (f.nanHi[p]! < 0 ? 1 : 0) : bitsHi(v) < 0 ? 1 : 0;
    if ((f.empty >> p) & 1) setCc(f, 1, 0, sign, 1);
    else if (v !== v) setCc(f, 0, 0, sign, 1);
    else if (!Number.isFinite(v)) setCc(f, 0, 1, sign, 1);
    else if (v === 0) setCc(f, 1, 0, sign, 0);
    else setCc(f, 0, 1, sign, 0);
    return;
  }
  if (i !== 0 && i !== 1 && i !== 4) c.ud();
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    if (i === 4) setCc(f, 1, 1, 0, 1);
    else setSt(f, 0, indefinite());
    return;
  }
  const a = stA(f, 0);
  if (i === 4) {
    // FTST: compare with +0.0
    const r = compare(a, 0, true);
    raise(f, exc);
    if (!unmasked(f, exc)) setCompareCc(f, r);
    return;
  }
  setC1(f, 0);
  if (a !== a) {
    rHi = i === 0 ? aHi ^ 0x80000000 : aHi & 0x7fffffff;
    rLo = aLo;
    setSt(f, 0, NaN);
    return;
  }
  setSt(f, 0, i === 0 ? -a : Math.abs(a));
}

/** Largest |x| the trigonometric instructions accept; beyond it C2 = 1 and ST(0) is unchanged. */
const TRIG_LIMIT = TWO63;

/** Common checks of a one-operand op on ST(0): returns the operand, or undefined when done. */
/**
 * The operand of FSIN FCOS FSINCOS FPTAN, or undefined when the instruction is over: empty or
 * NaN (unaryOperand), ±inf (invalid), or |x| >= 2^63, which leaves ST(0) alone and sets C2.
 */
function trigOperand(f: X87State): number | undefined {
  const a = unaryOperand(f);
  if (a === undefined) return undefined;
  if (!Number.isFinite(a)) {
    unaryResult(f, NaN, false);
    return undefined;
  }
  if (Math.abs(a) >= TRIG_LIMIT) {
    f.sw |= Sw.C2;
    return undefined;
  }
  return a;
}

function unaryOperand(f: X87State): number | undefined {
  if (isEmpty(f, 0)) {
    if (underflow(f)) setSt(f, 0, indefinite());
    return undefined;
  }
  const a = stA(f, 0);
  if (a !== a) {
    exc = 0;
    const r = nanResult(a, 0);
    if (commitResult(f)) setSt(f, 0, r);
    return undefined;
  }
  return a;
}
/** Store a one-operand result computed with Math.* (inexact unless it is exactly representable). */
function unaryResult(f: X87State, r: number, exact: boolean): void {
  if (r !== r) {
    exc |= Sw.IE;
    r = indefinite();
  } else if (!exact) exc |= Sw.PE;
  if (commitResult(f)) setSt(f, 0, r);
}

/** D9 F0-F7: F2XM1 FYL2X FPTAN FPATAN FXTRACT FPREM1 FDECSTP FINCSTP. */
function transF0(f: X87State, i: number): void {
  switch (i) {
    case 0: {
      const a = unaryOperand(f);
      if (a === undefined) return;
      const r = a === 0 ? a : a === 1 ? 1 : a === -1 ? -0.5 : Math.expm1(a * Math.LN2);
      unaryResult(f, r, a === 0 || a === 1 || a === -1);
      return;
    }
    case 1:
      twoOperand(f, (x, y) => {
        // ST(1) * log2(ST(0)); log2 of a negative number is invalid, of zero is a divide by zero
        if (x < 0 && x !== -Infinity) return NaN;
        if (x === 0 && y !== 0 && Number.isFinite(y)) exc |= Sw.ZE;
        if (x === 0 && y === 0) return NaN;
        const l = Math.log2(x);
        return y * l;
      });
      return;
    case 2: {
      const a = trigOperand(f);
      if (a === undefined) return;
      if (!pushOk(f)) return;
      f.sw &= ~Sw.C2;
      unaryResult(f, Math.tan(a), a === 0);
      push(f, 1);
      return;
    }
    case 3:
      twoOperand(f, (x, y) => Math.atan2(y, x));
      return;
    case 4: {
      // FXTRACT: ST(0) = significand, pushed over the exponent
      const a = unaryOperand(f);
      if (a === undefined) return;
      if (!pushOk(f)) return;
      let e: number;
      let s: number;
      if (a === 0) {
        exc |= Sw.ZE;
        e = -Infinity;
        s = a;
      } else if (!Number.isFinite(a)) {
        e = Infinity;
        s = a;
      } else {
        e = exponentOf(a);
        s = scale2(a, -e);
      }
      if (!commitResult(f)) return;
      setSt(f, 0, e);
      push(f, s);
      return;
    }
    case 5:
      fprem(f, true);
      return;
    case 6:
      f.top = (f.top - 1) & 7;
      setC1(f, 0);
      return;
    default:
      f.top = (f.top + 1) & 7;
      setC1(f, 0);
  }
}

/** D9 F8-FF: FPREM FYL2XP1 FSQRT FSINCOS FRNDINT FSCALE FSIN FCOS. */
function transF8(f: X87State, i: number): void {
  switch (i) {
    case 0:
      fprem(f, false);
      return;
    case 1:
      twoOperand(f, (x, y) => (x < -1 ? NaN : (y * Math.log1p(x)) / Math.LN2));
      return;
    case 2: {
      const a = unaryOperand(f);
      if (a === undefined) return;
      if (a < 0) {
        unaryResult(f, NaN, false);
        return;
      }
      let r = Math.sqrt(a);
      if (Number.isFinite(a) && a !== 0) {
        // exact a - r*r gives the rounding direction
        const p = r * r;
        const rem = a - p - prodErr(r, r, p);
        r = rounded(f, r, rem === 0 ? 0 : rem > 0 ? 1 : -1);
      }
      if (commitResult(f)) setSt(f, 0, r);
      return;
    }
    case 3: {
      const a = trigOperand(f);
      if (a === undefined) return;
      if (!pushOk(f)) return;
      f.sw &= ~Sw.C2;
      const s = Math.sin(a);
      const co = Math.cos(a);
      if (a !== 0) exc |= Sw.PE;
      if (!commitResult(f)) return;
      setSt(f, 0, s);
      push(f, co);
      return;
    }
    case 4: {
      const a = unaryOperand(f);
      if (a === undefined) return;
      if (!Number.isFinite(a)) {
        if (commitResult(f)) setSt(f, 0, a);
        return;
      }
      const r = roundInt(f, a);
      if (r !== a) {
        exc |= Sw.PE;
        roundedUp = Math.abs(r) > Math.abs(a) ? 1 : 0;
      }
      if (commitResult(f)) setSt(f, 0, r);
      return;
    }
    case 5:
      twoOperand(
        f,
        (x, y) => {
          const n = Math.trunc(y);
          if (y === Infinity) return x === 0 ? NaN : x * Infinity;
          if (y === -Infinity) return !Number.isFinite(x) ? NaN : x * 0;
          return scale2(x, Math.max(-4000, Math.min(4000, n)));
        },
        false,
      );
      return;
    default: {
      const a = trigOperand(f);
      if (a === undefined) return;
      f.sw &= ~Sw.C2;
      unaryResult(f, i === 6 ? Math.sin(a) : Math.cos(a), i === 6 ? a === 0 : false);
    }
  }
}

/**
 * Ops on ST(0) (x) and ST(1) (y): FYL2X FYL2XP1 FPATAN write ST(1) and pop; FSCALE (pops = false)
 * writes ST(0). A NaN result of `fn` from non-NaN operands is an invalid operation.
 */
function twoOperand(f: X87State, fn: (x: number, y: number) => number, pops = true): void {
  const dst = pops ? 1 : 0;
  if (isEmpty(f, 0) || isEmpty(f, 1)) {
    if (!underflow(f)) return;
    setSt(f, dst, indefinite());
    if (pops) pop(f);
    return;
  }
  const x = stA(f, 0);
  const y = stB(f, 1);
  let r: number;
  if (x !== x || y !== y) r = nanResult(x, y);
  else {
    r = fn(x, y);
    if (r !== r) {
      exc |= Sw.IE;
      r = indefinite();
    } else if (pops) {
      if (Number.isFinite(r) && r !== 0 && (exc & Sw.ZE) === 0) exc |= Sw.PE;
    } else r = range(f, r);
  }
  if (!commitResult(f)) return;
  setSt(f, dst, r);
  if (pops) pop(f);
}

/** FPREM (truncating quotient) and FPREM1 (IEEE, nearest): complete reduction, Q2 Q1 Q0 in C0 C3 C1. */
function fprem(f: X87State, ieee: boolean): void {
  if (isEmpty(f, 0) || isEmpty(f, 1)) {
    if (underflow(f)) setSt(f, 0, indefinite());
    return;
  }
  const a = stA(f, 0);
  const b = stB(f, 1);
  if (a !== a || b !== b) {
    const r = nanResult(a, b);
    if (commitResult(f)) setSt(f, 0, r);
    return;
  }
  if (b === 0 || !Number.isFinite(a)) {
    exc |= Sw.IE;
    const r = indefinite();
    if (commitResult(f)) setSt(f, 0, r);
    return;
  }
  if (!Number.isFinite(b) || a === 0) {
    setCc(f, 0, 0, 0, 0);
    return;
  }
  let r = a % b;
  // low three bits of the truncated quotient: (a mod 8b - a mod b) / b is exact and below 8
  const b8 = 8 * b;
  let q = Number.isFinite(b8) ? Math.round(Math.abs((a % b8) - r) / Math.abs(b)) : Math.round(Math.abs((a - r) / b));
  if (ieee) {
    const half = Math.abs(b) / 2;
    const ar = Math.abs(r);
    if (ar > half || (ar === half && (q & 1) !== 0)) {
      r = r - Math.sign(a) * Math.abs(b);
      q++;
    }
  }
  if (r === 0) r = a < 0 || Object.is(a, -0) ? -0 : 0;
  exc = 0;
  if (r !== 0 && Math.abs(r) < MIN_NORMAL) exc |= Sw.UE;
  raise(f, exc);
  setCc(f, (q >> 1) & 1, 0, q & 1, (q >> 2) & 1);
  setSt(f, 0, r);
}
