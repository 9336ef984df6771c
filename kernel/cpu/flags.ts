/**
 * EFLAGS bits and the lazy arithmetic-flag evaluation (SDM Vol. 1 3.4.3, Appendix A "EFLAGS
 * cross-reference"). ALU instructions record their operation, operands and result; the six status
 * flags are computed only when something reads them.
 */

/** EFLAGS bit masks (SDM Vol. 1 figure 3-8). */
export const Eflags = {
  CF: 0x1,
  FIXED1: 0x2, // bit 1 reads as 1
  PF: 0x4,
  AF: 0x10,
  ZF: 0x40,
  SF: 0x80,
  TF: 0x100,
  IF: 0x200,
  DF: 0x400,
  OF: 0x800,
  IOPL: 0x3000,
  NT: 0x4000,
  RF: 0x10000,
  VM: 0x20000,
  AC: 0x40000,
  ID: 0x200000,
} as const;

/** The six status flags (the ones computed lazily). */
export const ARITH_FLAGS = 0x8d5;
/** Bits software can change on a P6 (everything else is reserved, bit 1 reads as 1). */
export const EFLAGS_WRITABLE = 0x277fd5;

/** Recorded operation of the last flag-setting ALU instruction. */
export const LazyOp = {
  add: 0,
  adc: 1, // ADC with carry-in 1 (ADC with carry-in 0 is recorded as add)
  sub: 2,
  sbb: 3, // SBB with borrow-in 1
  logic: 4,
  inc: 5,
  dec: 6,
  shl: 7, // b = count (1..31)
  shr: 8,
  sar: 9,
} as const;
export type LazyOp = (typeof LazyOp)[keyof typeof LazyOp];

/** Parity of the low byte (PF = 1 when the number of set bits is even). */
export function parity8(v: number): number {
  let x = v & 0xff;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return ~x & 1;
}

/** Mask of an operand of `bits` width. */
function sizeMask(bits: number): number {
  return bits === 32 ? -1 : (1 << bits) - 1;
}

/** CF of a recorded operation. */
export function lazyCf(op: number, a: number, b: number, res: number, bits: number): number {
  const m = sizeMask(bits);
  switch (op) {
    case LazyOp.add:
      return (res & m) >>> 0 < (a & m) >>> 0 ? 1 : 0;
    case LazyOp.adc:
      return (res & m) >>> 0 <= (a & m) >>> 0 ? 1 : 0;
    case LazyOp.sub:
      return (a & m) >>> 0 < (b & m) >>> 0 ? 1 : 0;
    case LazyOp.sbb:
      return (a & m) >>> 0 <= (b & m) >>> 0 ? 1 : 0;
    case LazyOp.shl:
      return b > bits ? 0 : ((a & m) >>> (bits - b)) & 1;
    case LazyOp.shr:
      return b > bits ? 0 : ((a & m) >>> (b - 1)) & 1;
    case LazyOp.sar: {
      const s = (a << (32 - bits)) >> (32 - bits);
      return (s >> (b >= bits ? bits - 1 : b - 1)) & 1;
    }
    default:
      return 0; // logic: CF cleared; inc/dec never take CF from here
  }
}

/** OF of a recorded operation. */
export function lazyOf(op: number, a: number, b: number, res: number, bits: number): number {
  const top = bits - 1;
  switch (op) {
    case LazyOp.add:
    case LazyOp.adc:
    case LazyOp.inc:
      return (((a ^ res) & (b ^ res)) >>> top) & 1;
    case LazyOp.sub:
    case LazyOp.sbb:
    case LazyOp.dec:
      return (((a ^ b) & (a ^ res)) >>> top) & 1;
    case LazyOp.shl:
      // defined for count 1 only: CF xor the new top bit
      return (lazyCf(op, a, b, res, bits) ^ (res >>> top)) & 1;
    case LazyOp.shr:
      return (a >>> top) & 1;
    default:
      return 0; // logic, sar
  }
}

/** AF of a recorded operation (undefined for logic and shifts: reported 0). */
export function lazyAf(op: number, a: number, b: number, res: number): number {
  switch (op) {
    case LazyOp.add:
    case LazyOp.adc:
    case LazyOp.sub:
    case LazyOp.sbb:
    case LazyOp.inc:
    case LazyOp.dec:
      return ((a ^ b ^ res) >> 4) & 1;
    default:
      return 0;
  }
}

/** All six status flags of a recorded operation, as EFLAGS bits. */
export function lazyFlags(op: number, a: number, b: number, res: number, bits: number): number {
  const m = sizeMask(bits);
  return (
    lazyCf(op, a, b, res, bits) |
    (parity8(res) << 2) |
    (lazyAf(op, a, b, res) << 4) |
    ((res & m) === 0 ? Eflags.ZF : 0) |
    (((res >>> (bits - 1)) & 1) << 7) |
    (lazyOf(op, a, b, res, bits) << 11)
  );
}
