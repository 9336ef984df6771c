/**
 * Architectural state of the x87 FPU (SDM Vol. 1 8.1): the eight data registers R0-R7 addressed
 * as a stack through TOP, the control, status and tag words and the last-instruction pointers.
 * Kept free of imports so processor.ts can hold it without an import cycle; x87.ts executes.
 *
 * Values are JS numbers (IEEE double), not 80-bit extended: see the limitations in x87.ts. NaN
 * bit patterns are kept beside the value (nanHi/nanLo, the double's high and low words) because a
 * JS NaN does not reliably carry its sign and payload.
 */

/** Status word bits (SDM Vol. 1 figure 8-4). */
export const Sw = {
  IE: 0x1,
  DE: 0x2,
  ZE: 0x4,
  OE: 0x8,
  UE: 0x10,
  PE: 0x20,
  SF: 0x40,
  ES: 0x80,
  C0: 0x100,
  C1: 0x200,
  C2: 0x400,
  TOP: 0x3800,
  C3: 0x4000,
  B: 0x8000,
} as const;

/** The six exception flags (and, in the control word, their masks). */
export const EXC_MASK = 0x3f;

export class X87State {
  /** Physical registers R0-R7 (ST(i) is R((TOP + i) mod 8)). */
  readonly val = new Float64Array(8);
  /** Bit pattern (as a double's high / low word) of a register holding a NaN. */
  readonly nanHi = new Int32Array(8);
  readonly nanLo = new Int32Array(8);
  /** Bit i set: physical register Ri is empty (tag 11). Other tags derive from the value. */
  empty = 0;
  top = 0;
  cw = 0x037f;
  /** Status word without the TOP field (bits 13:11 always zero here). */
  sw = 0;
  /** Last non-control instruction: CS:offset, linear address, opcode (11 bits), data pointer. */
  fip = 0;
  fcs = 0;
  fipLin = 0;
  fop = 0;
  fdp = 0;
  fds = 0;
  fdpLin = 0;

  /** Power-on state (SDM Vol. 3A table 9-1): CW 0040H, SW 0, TW 5555H (all +0.0, tag "zero"). */
  reset(): void {
    this.val.fill(0);
    this.nanHi.fill(0);
    this.nanLo.fill(0);
    this.empty = 0;
    this.top = 0;
    this.cw = 0x0040;
    this.sw = 0;
    this.clearPointers();
  }

  /** FNINIT / FNSAVE: CW 037FH, SW 0, TW FFFFH, pointers cleared (SDM FINIT). */
  init(): void {
    this.empty = 0xff;
    this.top = 0;
    this.cw = 0x037f;
    this.sw = 0;
    this.clearPointers();
  }

  private clearPointers(): void {
    this.fip = this.fcs = this.fipLin = this.fop = this.fdp = this.fds = this.fdpLin = 0;
  }

  /** The status word as FNSTSW stores it. */
  status(): number {
    return (this.sw & ~Sw.TOP) | (this.top << 11);
  }
}
