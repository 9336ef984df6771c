/**
 * Property test: the lazy status flags of every recorded operation equal an eager reference
 * computed with plain arithmetic from the SDM definitions, for random operands of each size.
 * Only architecturally undefined flags are masked (AF after logic and shifts, OF after multi-bit
 * shifts, CF after SHL/SHR by at least the operand size).
 */
import { describe, expect, it } from 'vitest';
import { ARITH_FLAGS, Eflags, LazyOp, lazyFlags } from './flags.js';
import { xorshift32 } from './testing/xorshift.js';

function eager(op: number, a: number, b: number, bits: number): { res: number; flags: number; undef: number } {
  const mod = 2 ** bits;
  const half = 2 ** (bits - 1);
  const ua = a % mod;
  const ub = b % mod;
  const signed = (v: number) => (v >= half ? v - mod : v);
  let full: number;
  let cf = 0;
  let of = 0;
  let af = 0;
  let undef = 0;
  switch (op) {
    case LazyOp.add:
    case LazyOp.adc:
    case LazyOp.inc: {
      const cin = op === LazyOp.adc ? 1 : 0;
      const bb = op === LazyOp.inc ? 1 : ub;
      full = ua + bb + cin;
      cf = full >= mod ? 1 : 0;
      const s = signed(ua) + signed(bb) + cin;
      of = s >= half || s < -half ? 1 : 0;
      af = (ua % 16) + (bb % 16) + cin >= 16 ? 1 : 0;
      break;
    }
    case LazyOp.sub:
    case LazyOp.sbb:
    case LazyOp.dec: {
      const bin = op === LazyOp.sbb ? 1 : 0;
      const bb = op === LazyOp.dec ? 1 : ub;
      full = ua - bb - bin;
      cf = full < 0 ? 1 : 0;
      const s = signed(ua) - signed(bb) - bin;
      of = s >= half || s < -half ? 1 : 0;
      af = (ua % 16) - (bb % 16) - bin < 0 ? 1 : 0;
      break;
    }
    case LazyOp.logic:
      full = ua; // caller passes the result as a
      undef = Eflags.AF;
      break;
    case LazyOp.shl: {
      const n = b;
      full = (ua * 2 ** n) % mod;
      cf = n <= bits ? Math.floor((ua * 2 ** n) / mod) % 2 : 0;
      of = (Math.floor(full / half) % 2) ^ cf;
      undef = Eflags.AF | (n !== 1 ? Eflags.OF : 0) | (n >= bits ? Eflags.CF | Eflags.OF : 0);
      break;
    }
    case LazyOp.shr: {
      const n = b;
      full = Math.floor(ua / 2 ** n);
      cf = n <= bits ? Math.floor(ua / 2 ** (n - 1)) % 2 : 0;
      of = ua >= half ? 1 : 0;
      undef = Eflags.AF | (n !== 1 ? Eflags.OF : 0) | (n >= bits ? Eflags.CF | Eflags.OF : 0);
      break;
    }
    default: {
      // sar
      const n = b;
      const s = signed(ua);
      full = Math.floor(s / 2 ** n);
      cf = Math.floor(s / 2 ** (n - 1)) & 1;
      of = 0;
      undef = Eflags.AF | (n !== 1 ? Eflags.OF : 0);
      break;
    }
  }
  const res = ((full % mod) + mod) % mod;
  let pf = 1;
  for (let i = 0; i < 8; i++) pf ^= Math.floor(res / 2 ** i) % 2;
  const flags =
    cf * Eflags.CF + pf * Eflags.PF + af * Eflags.AF + (res === 0 ? Eflags.ZF : 0) + (res >= half ? Eflags.SF : 0) + of * Eflags.OF;
  return { res, flags, undef };
}

/** What the core records for op (the raw int32 result, as execute.ts stores it). */
function recorded(op: number, a: number, b: number, bits: number): number {
  const m = bits === 32 ? -1 : (1 << bits) - 1;
  switch (op) {
    case LazyOp.add:
      return (a + b) | 0;
    case LazyOp.adc:
      return (a + b + 1) | 0;
    case LazyOp.sub:
      return (a - b) | 0;
    case LazyOp.sbb:
      return (a - b - 1) | 0;
    case LazyOp.inc:
      return (a + 1) & m;
    case LazyOp.dec:
      return (a - 1) & m;
    case LazyOp.logic:
      return a;
    case LazyOp.shl:
      return b >= 32 ? 0 : (a << b) & m;
    case LazyOp.shr:
      return (a >>> b) & m;
    default:
      return ((((a << (32 - bits)) >> (32 - bits)) >> b) & m) | 0;
  }
}

const OPS = Object.entries(LazyOp);
const EDGES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

describe('lazy flags match an eager reference', () => {
  for (const [name, op] of OPS) {
    for (const bits of [8, 16, 32]) {
      it(`${name} ${bits}-bit`, () => {
        const next = xorshift32(op * 131 + bits);
        const mismatches: string[] = [];
        const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
        for (let i = 0; i < 20000; i++) {
          let a = (i < 121 ? EDGES[i % 11]! : next()) & m;
          let b = (i < 121 ? EDGES[Math.floor(i / 11) % 11]! : next()) & m;
          a >>>= 0;
          b >>>= 0;
          if (op === LazyOp.shl || op === LazyOp.shr || op === LazyOp.sar) b = 1 + (next() % 31);
          if (op === LazyOp.inc || op === LazyOp.dec) b = 1; // the core records the implicit 1
          const ref = eager(op, a, b, bits);
          const res = recorded(op, a | 0, b, bits);
          // the core records operands as it sees them: masked for 8/16, int32 for 32
          const got = lazyFlags(op, bits === 32 ? a | 0 : a, bits === 32 ? b | 0 : b, res, bits);
          const care = ARITH_FLAGS & ~ref.undef & ~(op === LazyOp.inc || op === LazyOp.dec ? Eflags.CF : 0);
          if ((res & m) >>> 0 !== ref.res) mismatches.push(`result ${a}/${b}: ${res & m} vs ${ref.res}`);
          if ((got & care) !== (ref.flags & care)) mismatches.push(`flags ${a.toString(16)}/${b.toString(16)}: ${(got & care).toString(16)} vs ${(ref.flags & care).toString(16)}`);
          if (mismatches.length > 5) break;
        }
        expect(mismatches).toEqual([]);
      });
    }
  }
});
