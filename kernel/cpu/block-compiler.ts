/**
 * Translation of hot basic blocks of 32-bit code into JavaScript functions (the block cache's
 * back end, see block-cache.ts). A block is a run of unprefixed 32-bit instructions inside one
 * code page, decoded from host-physical memory; it ends at an unconditional transfer (JMP,
 * CALL, RET), before the first instruction not translated here, at a page end or at MAX_INSNS.
 * Conditional branches leave the block when taken and fall through inside it; a branch back to
 * the block's first instruction loops inside the function while the budget allows.
 *
 * The generated code keeps the general registers and the lazy-flag record of the last flag
 * producer in locals and writes them back at every exit, so each exit and each fault leaves
 * exactly the interpreter's state:
 * - a fault or VM exit in instruction k unwinds through the function's catch, which stores the
 *   registers, the flags as they were before instruction k, instructionCount (k counted, as the
 *   interpreter counts an instruction before it executes it) and instrStart/instrEsp for Cpu.run;
 *   every instruction does all its accesses that can fault before it changes any register;
 * - the function first compares the code bytes it was built from with memory (so any writer of
 *   guest memory — CPU, DMA, loader, emulator — invalidates it), and a store by the block into
 *   its own bytes, or a store the fast path cannot place, ends the block after that instruction.
 * Semantics mirror execute.ts / fast-path.ts instruction for instruction (lazy-flag fields
 * included); block-cache.test.ts checks the two differentially.
 */
import type { Cpu } from './processor.js';
import { alu, imulTrunc, shift } from './execute.js';
import { ARITH_FLAGS, Eflags, LazyOp } from './flags.js';

/** Longest block, in instructions. */
export const MAX_INSNS = 48;
const PAGE_MASK = 0xfff;
const FRAME_MASK = -4096;
/** segRights bit of a flat writable segment (processor.ts). */
const FLAT_WRITE = 0x20;
const SS = 2;
const DS = 3;
const ESP = 4;
const INC_DEC_FLAGS = ARITH_FLAGS & ~Eflags.CF;
const Alu = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7 } as const;

/** A compiled block: `fn` returns 0 when its code bytes changed (nothing executed), else 1. */
export type BlockFn = (c: Cpu, end: number) => number;
export interface Compiled {
  fn: BlockFn;
  /** Instructions on the longest path through one pass of the block. */
  n: number;
  /** EIP of the block's last byte (must lie in the fetch window when it runs). */
  lastEip: number;
}

// ------------------------------------------------------------------ runtime helpers

/** Cpu.wr32 that also returns the host-physical address written, or -1 when the TLB missed. */
function st32(c: Cpu, s: number, off: number, v: number): number {
  const lin = (c.segRights[s]! & FLAT_WRITE) !== 0 && off <= 0xfffffffc ? off | 0 : c.segAddr(s, off, 4, 2);
  const e = c.tlb[lin >>> 12]!;
  if ((e & c.accW) !== 0 && (lin & PAGE_MASK) <= 0xffc) {
    const hpa = (e & FRAME_MASK) | (lin & PAGE_MASK);
    if ((hpa & 3) === 0) c.ram32[hpa >> 2] = v;
    else c.ramView.setInt32(hpa, v, true);
    return hpa;
  }
  c.wrSlow(lin, 4, v, c.accW);
  return -1;
}
/** Cpu.wr8, returning the host-physical address as st32 does. */
function st8(c: Cpu, s: number, off: number, v: number): number {
  const lin = (c.segRights[s]! & FLAT_WRITE) !== 0 ? off | 0 : c.segAddr(s, off, 1, 2);
  const e = c.tlb[lin >>> 12]!;
  if ((e & c.accW) !== 0) {
    const hpa = (e & FRAME_MASK) | (lin & PAGE_MASK);
    c.ram8[hpa] = v;
    return hpa;
  }
  c.wrSlow(lin, 1, v, c.accW);
  return -1;
}

const HELPERS = { st32, st8, alu, imulTrunc, shift };

// ------------------------------------------------------------------ decoding

interface Ea {
  /** JS expression of the 32-bit offset (uint32). */
  off: string;
  seg: number;
}
interface Modrm {
  mod: number;
  reg: number;
  rm: number;
  ea: Ea | null;
}

/** Byte reader over one code page; `ok` turns false when an instruction runs past `limit`. */
class Reader {
  pos: number;
  ok = true;
  constructor(
    private readonly ram: Uint8Array,
    start: number,
    private readonly limit: number,
  ) {
    this.pos = start;
  }
  u8(): number {
    if (this.pos > this.limit) {
      this.ok = false;
      return 0;
    }
    return this.ram[this.pos++]!;
  }
  s8(): number {
    return (this.u8() << 24) >> 24;
  }
  s32(): number {
    const b0 = this.u8();
    const b1 = this.u8();
    const b2 = this.u8();
    return b0 | (b1 << 8) | (b2 << 16) | (this.u8() << 24);
  }
}

// ------------------------------------------------------------------ code generation

/** A flag producer whose lazy-flag record is (possibly) still only in locals. */
interface Producer {
  kind: number;
  bits: number;
  a: string;
  b: string;
  res: string;
  /** INC/DEC: local holding the CF it kept. */
  cf: string;
}

/** Compile-time state of the lazy flags: in the Cpu fields, pending in locals, or at the loop head. */
type FlagState = { t: 'fields' } | { t: 'pending'; p: Producer } | { t: 'head'; p: Producer };
const FIELDS: FlagState = { t: 'fields' };
const WRITEBACK = '/*writeback*/';

function hex(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

class Gen {
  out: string[] = [];
  fs: FlagState = FIELDS;
  used = new Set<number>();
  written = new Set<number>();
  temps = new Set<string>();
  /** Per faulting instruction index: the flag stores its catch case makes. */
  catchCases = new Map<number, string>();
  eips: number[] = [];
  /** Flag state at the loop-back branches (producer to carry into the loop head, or null). */
  loopBack: Producer | null | undefined = undefined;
  loops = false;
  constructor(
    readonly headProducer: Producer | null,
    readonly startEip: number,
    readonly hpaLo: number,
    readonly byteLen: number,
  ) {
    if (headProducer !== null) this.fs = { t: 'head', p: headProducer };
  }

  reg(r: number): string {
    this.used.add(r);
    return `r${r}`;
  }
  setReg(r: number, expr: string): void {
    this.used.add(r);
    this.written.add(r);
    this.out.push(`r${r} = ${expr};`);
  }
  reg8(r: number): string {
    return r < 4 ? `(${this.reg(r)} & 0xff)` : `((${this.reg(r - 4)} >> 8) & 0xff)`;
  }
  setReg8(r: number, expr: string): void {
    if (r < 4) this.setReg(r, `(r${r} & -256) | ((${expr}) & 0xff)`);
    else this.setReg(r - 4, `(r${r - 4} & -65281) | (((${expr}) & 0xff) << 8)`);
  }
  temp(name: string): string {
    this.temps.add(name);
    return name;
  }
  emit(s: string): void {
    this.out.push(s);
  }

  /** Stores of a producer's lazy-flag record into the Cpu (as alu / setLazyKeepCf leave it). */
  storeCode(p: Producer): string {
    const pre = p.kind === LazyOp.inc || p.kind === LazyOp.dec ? `c.flags = (c.flags & -2) | ${p.cf}; ` : '';
    const mask = p.kind === LazyOp.inc || p.kind === LazyOp.dec ? INC_DEC_FLAGS : ARITH_FLAGS;
    return `${pre}c.lzOp = ${p.kind}; c.lzA = ${p.a}; c.lzB = ${p.b}; c.lzRes = ${p.res}; c.lzBits = ${p.bits}; c.lazyMask = ${mask};`;
  }
  flushCode(): string {
    const fs = this.fs;
    if (fs.t === 'pending') return this.storeCode(fs.p);
    if (fs.t === 'head') return `if (lp) { ${this.storeCode(fs.p)} }`;
    return '';
  }
  /** Make the Cpu fields hold the flags (before a helper or a runtime condition reads them). */
  flush(): void {
    const code = this.flushCode();
    if (code !== '') this.out.push(code);
    this.fs = FIELDS;
  }
  /** Instruction `i` may throw: record its catch case. */
  mayFault(i: number): void {
    this.out.push(`k = ${i};`);
    this.catchCases.set(i, this.flushCode());
  }
  /** Register stores of an exit: a marker, replaced in build() by every register the block writes
   * (in a looping block, later instructions of the previous pass wrote them too). */
  writeback(): string {
    return WRITEBACK;
  }
  writebackCode(): string {
    let s = '';
    for (const r of this.written) s += `R[${r}] = r${r}; `;
    return s;
  }
  /** Leave the block with `count` more instructions counted and EIP = `eip`. */
  exitCode(count: string, eip: string): string {
    return `${this.flushCode()} ${this.writeback()}c.instructionCount = n + ${count}; c.eip = ${eip}; return 1;`;
  }

  /** CF of the current flag state as a JS expression (0 or 1). */
  cfExpr(): string {
    const fs = this.fs;
    if (fs.t === 'fields') return 'c.getCF()';
    const st = staticCf(fs.p);
    if (fs.t === 'pending' && st !== null) return st;
    this.flush();
    return 'c.getCF()';
  }
  /** Condition `cc` (SDM table B-1) as a JS boolean expression. */
  condExpr(cc: number): string {
    const fs = this.fs;
    if (fs.t === 'pending') {
      const e = staticCond(fs.p, cc >> 1);
      if (e !== null) return cc & 1 ? `!${e}` : e;
    }
    this.flush();
    return `c.cond(${cc})`;
  }
  /** Record a flag producer: its lazy record stays in locals until something needs it. */
  produce(i: number, kind: number, bits: number, a: string, b: string, res: string): void {
    const p: Producer = { kind, bits, a: this.temp(`fa${i}`), b: this.temp(`fb${i}`), res: this.temp(`fr${i}`), cf: '0' };
    this.out.push(`fa${i} = ${a}; fb${i} = ${b}; fr${i} = ${res};`);
    this.fs = { t: 'pending', p };
  }
  /** INC/DEC: the producer also keeps the current CF. */
  produceIncDec(i: number, dec: boolean, a: string, res: string): void {
    const cf = this.cfExpr();
    const name = this.temp(`fc${i}`);
    this.out.push(`${name} = ${cf};`);
    const p: Producer = {
      kind: dec ? LazyOp.dec : LazyOp.inc,
      bits: 32,
      a: this.temp(`fa${i}`),
      b: '1',
      res: this.temp(`fr${i}`),
      cf: name,
    };
    this.out.push(`fa${i} = ${a}; fr${i} = ${res};`);
    this.fs = { t: 'pending', p };
  }
  /** Code after a store: leave the block after this instruction if it may have hit the block. */
  smcCheck(i: number, h: string, width: number, next: number): void {
    const lo = this.hpaLo - (width - 1);
    const span = this.byteLen + width - 1;
    this.out.push(`if (${h} < 0 || ((${h} - ${lo}) >>> 0) < ${span}) { ${this.exitCode(String(i + 1), hex(next))} }`);
  }
}

/** CF of a producer from its locals, or null when only the runtime knows it. */
function staticCf(p: Producer): string | null {
  const { a, b, res } = p;
  if (p.bits === 32) {
    switch (p.kind) {
      case LazyOp.add:
        return `((${res} >>> 0) < (${a} >>> 0) ? 1 : 0)`;
      case LazyOp.sub:
        return `((${a} >>> 0) < (${b} >>> 0) ? 1 : 0)`;
      case LazyOp.logic:
        return '0';
      case LazyOp.inc:
      case LazyOp.dec:
        return p.cf;
      case LazyOp.shl:
        return `((${a} >>> (32 - ${b})) & 1)`;
      case LazyOp.shr:
        return `((${a} >>> (${b} - 1)) & 1)`;
      case LazyOp.sar:
        return `((${a} >> (${b} - 1)) & 1)`;
    }
    return null;
  }
  switch (p.kind) {
    case LazyOp.add:
      return `((${res} & 0xff) < (${a} & 0xff) ? 1 : 0)`;
    case LazyOp.sub:
      return `((${a} & 0xff) < (${b} & 0xff) ? 1 : 0)`;
    case LazyOp.logic:
      return '0';
  }
  return null;
}

/** Positive condition `t` (cc >> 1) of a producer from its locals, or null. */
function staticCond(p: Producer, t: number): string | null {
  const { a, b, res } = p;
  if (p.bits === 32) {
    switch (p.kind) {
      case LazyOp.sub:
        return [
          `(((${a} ^ ${b}) & (${a} ^ ${res})) < 0)`,
          `((${a} >>> 0) < (${b} >>> 0))`,
          `(${a} === ${b})`,
          `((${a} >>> 0) <= (${b} >>> 0))`,
          `(${res} < 0)`,
          null,
          `(${a} < ${b})`,
          `(${a} <= ${b})`,
        ][t]!;
      case LazyOp.add: {
        const of = `(((${a} ^ ${res}) & (${b} ^ ${res})) < 0)`;
        return [
          of,
          `((${res} >>> 0) < (${a} >>> 0))`,
          `(${res} === 0)`,
          `((${res} >>> 0) < (${a} >>> 0) || ${res} === 0)`,
          `(${res} < 0)`,
          null,
          `((${res} < 0) !== ${of})`,
          `(${res} === 0 || (${res} < 0) !== ${of})`,
        ][t]!;
      }
      case LazyOp.logic:
        return ['false', 'false', `(${res} === 0)`, `(${res} === 0)`, `(${res} < 0)`, null, `(${res} < 0)`, `(${res} <= 0)`][t]!;
      case LazyOp.inc:
      case LazyOp.dec: {
        const of = `(${res} === ${p.kind === LazyOp.inc ? '-0x80000000' : '0x7fffffff'})`;
        return [
          of,
          `(${p.cf} !== 0)`,
          `(${res} === 0)`,
          `(${p.cf} !== 0 || ${res} === 0)`,
          `(${res} < 0)`,
          null,
          `((${res} < 0) !== ${of})`,
          `(${res} === 0 || (${res} < 0) !== ${of})`,
        ][t]!;
      }
      case LazyOp.shl:
      case LazyOp.shr:
      case LazyOp.sar:
        return t === 2 ? `(${res} === 0)` : t === 4 ? `(${res} < 0)` : null;
    }
    return null;
  }
  const sa = `((${a} << 24) >> 24)`;
  const sb = `((${b} << 24) >> 24)`;
  switch (p.kind) {
    case LazyOp.sub:
      return [
        `((((${a} ^ ${b}) & (${a} ^ ${res})) & 0x80) !== 0)`,
        `((${a} & 0xff) < (${b} & 0xff))`,
        `(((${a} ^ ${b}) & 0xff) === 0)`,
        `((${a} & 0xff) <= (${b} & 0xff))`,
        `((${res} & 0x80) !== 0)`,
        null,
        `(${sa} < ${sb})`,
        `(${sa} <= ${sb})`,
      ][t]!;
    case LazyOp.add:
      return t === 1 ? `((${res} & 0xff) < (${a} & 0xff))` : t === 2 ? `((${res} & 0xff) === 0)` : t === 4 ? `((${res} & 0x80) !== 0)` : null;
    case LazyOp.logic:
      return [
        'false',
        'false',
        `((${res} & 0xff) === 0)`,
        `((${res} & 0xff) === 0)`,
        `((${res} & 0x80) !== 0)`,
        null,
        `((${res} & 0x80) !== 0)`,
        `((${res} & 0xff) === 0 || (${res} & 0x80) !== 0)`,
      ][t]!;
  }
  return null;
}

/** JS expression and lazy kind of ALU op `aop` (not ADC/SBB) on int32 operands. */
function aluExpr(aop: number, a: string, b: string): { res: string; kind: number } {
  switch (aop) {
    case Alu.add:
      return { res: `(${a} + ${b}) | 0`, kind: LazyOp.add };
    case Alu.or:
      return { res: `${a} | ${b}`, kind: LazyOp.logic };
    case Alu.and:
      return { res: `${a} & ${b}`, kind: LazyOp.logic };
    case Alu.xor:
      return { res: `${a} ^ ${b}`, kind: LazyOp.logic };
    default:
      return { res: `(${a} - ${b}) | 0`, kind: LazyOp.sub };
  }
}

// ------------------------------------------------------------------ the translator

/** Result of translating one instruction. */
const enum Tr {
  /** Translated; the block goes on. */
  next,
  /** Translated; the block ends here (the code exits). */
  end,
}

/** A decoded instruction: whether the block goes on after it, and its code emitter. */
interface Decoded {
  kind: Tr;
  emit: (next: number) => void;
}

class Translator {
  rd!: Reader;
  constructor(readonly g: Gen) {}

  modrm(): Modrm {
    const rd = this.rd;
    const g = this.g;
    const m = rd.u8();
    const mod = m >> 6;
    const rm = m & 7;
    const reg = (m >> 3) & 7;
    if (mod === 3) return { mod, reg, rm, ea: null };
    let seg = DS;
    const parts: string[] = [];
    let disp = 0;
    if (rm === 4) {
      const sib = rd.u8();
      const idx = (sib >> 3) & 7;
      const base = sib & 7;
      if (idx !== 4) parts.push(sib >> 6 === 0 ? g.reg(idx) : `(${g.reg(idx)} << ${sib >> 6})`);
      if (base === 5 && mod === 0) disp = rd.s32();
      else {
        parts.push(g.reg(base));
        if (base === 4 || base === 5) seg = SS;
      }
    } else if (rm === 5 && mod === 0) disp = rd.s32();
    else {
      parts.push(g.reg(rm));
      if (rm === 5) seg = SS;
    }
    if (mod === 1) disp += rd.s8();
    else if (mod === 2) disp += rd.s32();
    let off: string;
    if (parts.length === 0) off = hex(disp >>> 0);
    else {
      if (disp !== 0) parts.push(hex(disp));
      off = `((${parts.join(' + ')}) >>> 0)`;
    }
    return { mod, reg, rm, ea: { off, seg } };
  }

  /** Decode instruction `i` at the reader; the returned emitter gets the EIP after it. */
  insn(i: number): Decoded | null {
    const rd = this.rd;
    const g = this.g;
    const op = rd.u8();
    // Decode first (no code emitted), then return an emitter that knows the next EIP.
    const aluCol = op < 0x40 && (op & 7) < 6 ? op & 7 : -1;
    if (aluCol >= 0) {
      const aop = op >> 3;
      if (op === 0x0f) return null;
      if (aop === Alu.adc || aop === Alu.sbb) {
        // ADC/SBB read CF: register forms through execute.ts alu after a flush
        if (aluCol !== 1 && aluCol !== 3) return null;
        const m = this.modrm();
        if (m.ea !== null) return null;
        return this.ok(Tr.next, () => {
          const dst = aluCol === 1 ? m.rm : m.reg;
          const src = aluCol === 1 ? m.reg : m.rm;
          g.flush();
          g.setReg(dst, `h.alu(c, ${aop}, ${g.reg(dst)}, ${g.reg(src)}, 32)`);
        });
      }
      switch (aluCol) {
        case 0:
        case 1: {
          const bits = aluCol === 0 ? 8 : 32;
          const m = this.modrm();
          return this.ok(Tr.next, (next) => {
            const b = bits === 8 ? g.reg8(m.reg) : g.reg(m.reg);
            this.aluRm(i, next, aop, bits, m, b);
          });
        }
        case 2:
        case 3: {
          const bits = aluCol === 2 ? 8 : 32;
          const m = this.modrm();
          return this.ok(Tr.next, () => {
            const t = g.temp(`v${i}`);
            if (m.ea !== null) {
              g.mayFault(i);
              g.emit(`${t} = c.rd${bits}(${m.ea.seg}, ${m.ea.off});`);
            } else g.emit(`${t} = ${bits === 8 ? g.reg8(m.rm) : g.reg(m.rm)};`);
            this.aluReg(i, aop, bits, m.reg, t);
          });
        }
        case 4: {
          const imm = rd.u8();
          return this.ok(Tr.next, () => this.aluReg(i, aop, 8, 0, String(imm)));
        }
        default: {
          const imm = rd.s32();
          return this.ok(Tr.next, () => this.aluReg(i, aop, 32, 0, hex(imm)));
        }
      }
    }
    if (op >= 0x40 && op <= 0x4f) {
      const r = op & 7;
      const dec = op >= 0x48;
      return this.ok(Tr.next, () => {
        const a = g.temp(`v${i}`);
        g.emit(`${a} = ${g.reg(r)};`);
        g.setReg(r, `(${a} ${dec ? '-' : '+'} 1) | 0`);
        g.produceIncDec(i, dec, a, `r${r}`);
      });
    }
    if (op >= 0x50 && op <= 0x57) {
      return this.ok(Tr.next, (next) => this.push(i, next, g.reg(op & 7)));
    }
    if (op >= 0x58 && op <= 0x5f) {
      return this.ok(Tr.next, () => {
        const v = g.temp(`v${i}`);
        g.mayFault(i);
        g.emit(`${v} = c.rd32(${SS}, ${g.reg(ESP)} >>> 0);`);
        g.setReg(ESP, `(r${ESP} + 4) | 0`);
        g.setReg(op & 7, v);
      });
    }
    if (op >= 0x70 && op <= 0x7f) {
      const d = rd.s8();
      return this.ok(Tr.next, (next) => this.jcc(i, op & 0xf, (next + d) >>> 0));
    }
    switch (op) {
      case 0x68:
      case 0x6a: {
        const imm = op === 0x68 ? rd.s32() : rd.s8();
        return this.ok(Tr.next, (next) => this.push(i, next, hex(imm)));
      }
      case 0x69:
      case 0x6b: {
        const m = this.modrm();
        const imm = op === 0x69 ? rd.s32() : rd.s8();
        return this.ok(Tr.next, () => {
          const a = this.readRm32(i, m);
          g.flush();
          g.setReg(m.reg, `h.imulTrunc(c, ${a}, ${hex(imm)}, 32)`);
        });
      }
      case 0x80:
      case 0x81:
      case 0x83: {
        const m = this.modrm();
        const imm = op === 0x80 ? rd.u8() : op === 0x81 ? rd.s32() : rd.s8();
        const aop = m.reg;
        if (aop === Alu.adc || aop === Alu.sbb) {
          if (m.ea !== null || op === 0x80) return null;
          return this.ok(Tr.next, () => {
            g.flush();
            g.setReg(m.rm, `h.alu(c, ${aop}, ${g.reg(m.rm)}, ${hex(imm)}, 32)`);
          });
        }
        return this.ok(Tr.next, (next) => this.aluRm(i, next, aop, op === 0x80 ? 8 : 32, m, hex(imm)));
      }
      case 0x84:
      case 0x85: {
        const bits = op === 0x84 ? 8 : 32;
        const m = this.modrm();
        return this.ok(Tr.next, () => {
          const a = bits === 8 ? this.readRm8(i, m) : this.readRm32(i, m);
          const b = bits === 8 ? g.reg8(m.reg) : g.reg(m.reg);
          g.produce(i, LazyOp.logic, bits, a, b, `fa${i} & fb${i}`);
        });
      }
      case 0x88:
      case 0x89: {
        const m = this.modrm();
        return this.ok(Tr.next, (next) => {
          if (op === 0x88) this.writeRm8(i, next, m, g.reg8(m.reg));
          else this.writeRm32(i, next, m, g.reg(m.reg));
        });
      }
      case 0x8a:
      case 0x8b: {
        const m = this.modrm();
        return this.ok(Tr.next, () => {
          if (op === 0x8a) {
            const v = this.readRm8(i, m);
            g.setReg8(m.reg, v);
          } else {
            const v = this.readRm32(i, m);
            g.setReg(m.reg, v);
          }
        });
      }
      case 0x8d: {
        const m = this.modrm();
        if (m.ea === null) return null;
        return this.ok(Tr.next, () => g.setReg(m.reg, `${m.ea!.off} | 0`));
      }
      case 0x90:
        return this.ok(Tr.next, () => {});
      case 0x98:
        return this.ok(Tr.next, () => g.setReg(0, `(${g.reg(0)} << 16) >> 16`));
      case 0x99:
        return this.ok(Tr.next, () => g.setReg(2, `${g.reg(0)} >> 31`));
      case 0xa8: {
        const imm = rd.u8();
        return this.ok(Tr.next, () => g.produce(i, LazyOp.logic, 8, g.reg8(0), String(imm), `fa${i} & fb${i}`));
      }
      case 0xa9: {
        const imm = rd.s32();
        return this.ok(Tr.next, () => g.produce(i, LazyOp.logic, 32, g.reg(0), hex(imm), `fa${i} & fb${i}`));
      }
      case 0xb0:
      case 0xb1:
      case 0xb2:
      case 0xb3:
      case 0xb4:
      case 0xb5:
      case 0xb6:
      case 0xb7: {
        const imm = rd.u8();
        return this.ok(Tr.next, () => g.setReg8(op & 7, String(imm)));
      }
      case 0xb8:
      case 0xb9:
      case 0xba:
      case 0xbb:
      case 0xbc:
      case 0xbd:
      case 0xbe:
      case 0xbf: {
        const imm = rd.s32();
        return this.ok(Tr.next, () => g.setReg(op & 7, hex(imm)));
      }
      case 0xc1:
      case 0xd1:
      case 0xd3: {
        const m = this.modrm();
        if (m.ea !== null) return null;
        const count = op === 0xc1 ? rd.u8() : op === 0xd1 ? 1 : -1;
        return this.ok(Tr.next, () => this.shiftReg(i, m.reg, m.rm, count));
      }
      case 0xc3:
        return this.ok(Tr.end, () => {
          const t = g.temp(`v${i}`);
          g.mayFault(i);
          g.emit(`${t} = c.rd32(${SS}, ${g.reg(ESP)} >>> 0) >>> 0;`);
          g.emit(`if (${t} > c.csLimit) c.gp(0);`);
          g.setReg(ESP, `(r${ESP} + 4) | 0`);
          g.emit(g.exitCode(String(i + 1), t));
        });
      case 0xc6:
      case 0xc7: {
        const m = this.modrm();
        if (m.reg !== 0) return null;
        const imm = op === 0xc6 ? rd.u8() : rd.s32();
        return this.ok(Tr.next, (next) => {
          if (op === 0xc6) this.writeRm8(i, next, m, String(imm));
          else this.writeRm32(i, next, m, hex(imm));
        });
      }
      case 0xe8: {
        const d = rd.s32();
        return this.ok(Tr.end, (next) => {
          const t = (next + d) >>> 0;
          g.mayFault(i);
          g.emit(`if (${hex(t)} > c.csLimit) c.gp(0);`);
          const sp = g.temp(`v${i}`);
          g.emit(`${sp} = (${g.reg(ESP)} - 4) | 0;`);
          g.emit(`h.st32(c, ${SS}, ${sp} >>> 0, ${hex(next | 0)});`);
          g.setReg(ESP, sp);
          g.emit(g.exitCode(String(i + 1), hex(t)));
        });
      }
      case 0xe9:
      case 0xeb: {
        const d = op === 0xe9 ? rd.s32() : rd.s8();
        return this.ok(Tr.end, (next) => this.jmp(i, (next + d) >>> 0));
      }
      case 0xf6:
      case 0xf7: {
        const bits = op === 0xf6 ? 8 : 32;
        const m = this.modrm();
        if (m.reg <= 1) {
          const imm = bits === 8 ? rd.u8() : rd.s32();
          return this.ok(Tr.next, () => {
            const a = bits === 8 ? this.readRm8(i, m) : this.readRm32(i, m);
            g.produce(i, LazyOp.logic, bits, a, hex(imm), `fa${i} & fb${i}`);
          });
        }
        if (bits === 8 || m.ea !== null || (m.reg !== 2 && m.reg !== 3)) return null;
        return this.ok(Tr.next, () => {
          const a = g.temp(`v${i}`);
          g.emit(`${a} = ${g.reg(m.rm)};`);
          if (m.reg === 2) g.setReg(m.rm, `~${a}`);
          else {
            g.setReg(m.rm, `-${a} | 0`);
            g.produce(i, LazyOp.sub, 32, '0', a, `r${m.rm}`);
          }
        });
      }
      case 0xff: {
        const m = this.modrm();
        switch (m.reg) {
          case 0:
          case 1:
            return this.ok(Tr.next, (next) => {
              const dec = m.reg === 1;
              if (m.ea === null) {
                const a = g.temp(`v${i}`);
                g.emit(`${a} = ${g.reg(m.rm)};`);
                g.setReg(m.rm, `(${a} ${dec ? '-' : '+'} 1) | 0`);
                g.produceIncDec(i, dec, a, `r${m.rm}`);
                return;
              }
              const a = this.readRm32(i, m);
              const res = g.temp(`w${i}`);
              g.emit(`${res} = (${a} ${dec ? '-' : '+'} 1) | 0;`);
              const hh = g.temp(`h${i}`);
              g.emit(`${hh} = h.st32(c, ${m.ea.seg}, ${m.ea.off}, ${res});`);
              g.produceIncDec(i, dec, a, res);
              g.smcCheck(i, hh, 4, next);
            });
          case 2:
            return this.ok(Tr.end, (next) => {
              const t = g.temp(`u${i}`);
              g.emit(`${t} = ${this.readRm32(i, m)} >>> 0;`);
              if (m.ea === null) g.mayFault(i);
              g.emit(`if (${t} > c.csLimit) c.gp(0);`);
              const sp = g.temp(`s${i}`);
              g.emit(`${sp} = (${g.reg(ESP)} - 4) | 0;`);
              g.emit(`h.st32(c, ${SS}, ${sp} >>> 0, ${hex(next | 0)});`);
              g.setReg(ESP, sp);
              g.emit(g.exitCode(String(i + 1), t));
            });
          case 4:
            return this.ok(Tr.end, () => {
              const t = g.temp(`u${i}`);
              g.emit(`${t} = ${this.readRm32(i, m)} >>> 0;`);
              if (m.ea === null) g.mayFault(i);
              g.emit(`if (${t} > c.csLimit) c.gp(0);`);
              g.emit(g.exitCode(String(i + 1), t));
            });
          case 6:
            return this.ok(Tr.next, (next) => {
              const v = this.readRm32(i, m);
              this.push(i, next, v);
            });
          default:
            return null;
        }
      }
      case 0x0f:
        return this.insn0f(i);
    }
    return null;
  }

  insn0f(i: number): Decoded | null {
    const rd = this.rd;
    const g = this.g;
    const op = rd.u8();
    if (op >= 0x80 && op <= 0x8f) {
      const d = rd.s32();
      return this.ok(Tr.next, (next) => this.jcc(i, op & 0xf, (next + d) >>> 0));
    }
    if (op >= 0x40 && op <= 0x4f) {
      // CMOVcc: the source is read (and may fault) whether or not the condition holds
      const m = this.modrm();
      return this.ok(Tr.next, () => {
        const v = this.readRm32(i, m);
        const cond = g.condExpr(op & 0xf);
        g.setReg(m.reg, `${cond} ? ${v} : r${m.reg}`);
      });
    }
    if (op >= 0x90 && op <= 0x9f) {
      const m = this.modrm();
      return this.ok(Tr.next, (next) => {
        const cond = g.condExpr(op & 0xf);
        const v = g.temp(`v${i}`);
        g.emit(`${v} = ${cond} ? 1 : 0;`);
        this.writeRm8(i, next, m, v);
      });
    }
    switch (op) {
      case 0xaf: {
        const m = this.modrm();
        return this.ok(Tr.next, () => {
          const b = this.readRm32(i, m);
          g.flush();
          g.setReg(m.reg, `h.imulTrunc(c, ${g.reg(m.reg)}, ${b}, 32)`);
        });
      }
      case 0xb6:
      case 0xbe: {
        const m = this.modrm();
        return this.ok(Tr.next, () => {
          const v = this.readRm8(i, m);
          g.setReg(m.reg, op === 0xb6 ? v : `(${v} << 24) >> 24`);
        });
      }
      case 0xb7:
      case 0xbf: {
        const m = this.modrm();
        return this.ok(Tr.next, () => {
          let v: string;
          if (m.ea === null) v = `(${g.reg(m.rm)} & 0xffff)`;
          else {
            v = g.temp(`v${i}`);
            g.mayFault(i);
            g.emit(`${v} = c.rd16(${m.ea.seg}, ${m.ea.off});`);
          }
          g.setReg(m.reg, op === 0xb7 ? v : `(${v} << 16) >> 16`);
        });
      }
    }
    return null;
  }

  ok(kind: Tr, emit: (next: number) => void): Decoded {
    return { kind, emit };
  }

  /** r/m operand read (32 bits): a JS expression holding the value; memory loads go to a temp. */
  readRm32(i: number, m: Modrm): string {
    const g = this.g;
    if (m.ea === null) return g.reg(m.rm);
    const v = g.temp(`v${i}`);
    g.mayFault(i);
    g.emit(`${v} = c.rd32(${m.ea.seg}, ${m.ea.off});`);
    return v;
  }
  readRm8(i: number, m: Modrm): string {
    const g = this.g;
    if (m.ea === null) return g.reg8(m.rm);
    const v = g.temp(`v${i}`);
    g.mayFault(i);
    g.emit(`${v} = c.rd8(${m.ea.seg}, ${m.ea.off});`);
    return v;
  }
  writeRm32(i: number, next: number, m: Modrm, v: string): void {
    const g = this.g;
    if (m.ea === null) {
      g.setReg(m.rm, v);
      return;
    }
    const hh = g.temp(`h${i}`);
    g.mayFault(i);
    g.emit(`${hh} = h.st32(c, ${m.ea.seg}, ${m.ea.off}, ${v});`);
    g.smcCheck(i, hh, 4, next);
  }
  writeRm8(i: number, next: number, m: Modrm, v: string): void {
    const g = this.g;
    if (m.ea === null) {
      g.setReg8(m.rm, v);
      return;
    }
    const hh = g.temp(`h${i}`);
    g.mayFault(i);
    g.emit(`${hh} = h.st8(c, ${m.ea.seg}, ${m.ea.off}, ${v});`);
    g.smcCheck(i, hh, 1, next);
  }

  push(i: number, next: number, v: string): void {
    const g = this.g;
    const val = g.temp(`p${i}`);
    g.emit(`${val} = ${v};`);
    const sp = g.temp(`s${i}`);
    g.mayFault(i);
    g.emit(`${sp} = (${g.reg(ESP)} - 4) | 0;`);
    const hh = g.temp(`h${i}`);
    g.emit(`${hh} = h.st32(c, ${SS}, ${sp} >>> 0, ${val});`);
    g.setReg(ESP, sp);
    g.smcCheck(i, hh, 4, next);
  }

  /** ALU op with a register destination (8 or 32 bits; reg 0 with bits 8 is AL). */
  aluReg(i: number, aop: number, bits: number, reg: number, b: string): void {
    const g = this.g;
    const a = bits === 8 ? g.reg8(reg) : g.reg(reg);
    const { res, kind } = aluExpr(aop, `fa${i}`, `fb${i}`);
    g.produce(i, kind, bits, a, b, res);
    if (aop !== Alu.cmp) {
      if (bits === 8) g.setReg8(reg, `fr${i}`);
      else g.setReg(reg, `fr${i}`);
    }
  }

  /** ALU op on an r/m destination: for memory, read, write the result, then the flags (aluRm). */
  aluRm(i: number, next: number, aop: number, bits: number, m: Modrm, b: string): void {
    const g = this.g;
    if (m.ea === null) {
      this.aluReg(i, aop, bits, m.rm, b);
      return;
    }
    const a = bits === 8 ? this.readRm8(i, m) : this.readRm32(i, m);
    const bv = g.temp(`b${i}`);
    g.emit(`${bv} = ${b};`);
    const { res, kind } = aluExpr(aop, a, bv);
    if (aop === Alu.cmp) {
      g.produce(i, kind, bits, a, bv, `fa${i} - fb${i} | 0`);
      return;
    }
    const w = g.temp(`w${i}`);
    g.emit(`${w} = ${res};`);
    const hh = g.temp(`h${i}`);
    g.emit(`${hh} = h.st${bits}(c, ${m.ea.seg}, ${m.ea.off}, ${w});`);
    g.produce(i, kind, bits, a, bv, w);
    g.smcCheck(i, hh, bits >> 3, next);
  }

  /** Shift group 2 on a 32-bit register; count -1 = CL. SHL/SHR/SAR by a constant stay lazy. */
  shiftReg(i: number, op: number, rm: number, count: number): void {
    const g = this.g;
    const cnt = count & 0x1f;
    if (count >= 0 && cnt === 0) return;
    if (count < 0 || op < 4) {
      // rotates and CL counts: execute.ts shift (reads or sets flags eagerly)
      g.flush();
      g.setReg(rm, `h.shift(c, ${op}, ${g.reg(rm)}, ${count < 0 ? `${g.reg(1)} & 0xff` : count}, 32) | 0`);
      return;
    }
    const a = g.temp(`v${i}`);
    g.emit(`${a} = ${g.reg(rm)};`);
    let res: string;
    let kind: number;
    if (op === 5) {
      res = `(${a} >>> ${cnt}) | 0`;
      kind = LazyOp.shr;
    } else if (op === 7) {
      res = `${a} >> ${cnt}`;
      kind = LazyOp.sar;
    } else {
      res = `${a} << ${cnt}`;
      kind = LazyOp.shl;
    }
    g.setReg(rm, res);
    g.produce(i, kind, 32, a, String(cnt), `r${rm}`);
  }

  jcc(i: number, cc: number, target: number): void {
    const g = this.g;
    const cond = g.condExpr(cc);
    if (target === g.startEip) {
      g.emit(`if (${cond}) { ${this.loopBack(i)} }`);
      return;
    }
    g.mayFault(i);
    g.emit(`if (${cond}) { if (${hex(target)} > c.csLimit) c.gp(0); ${g.exitCode(String(i + 1), hex(target))} }`);
  }

  jmp(i: number, target: number): void {
    const g = this.g;
    if (target === g.startEip) {
      g.emit(this.loopBack(i));
      g.emit(g.exitCode(String(i + 1), hex(target)));
      return;
    }
    g.mayFault(i);
    g.emit(`if (${hex(target)} > c.csLimit) c.gp(0);`);
    g.emit(g.exitCode(String(i + 1), hex(target)));
  }

  /** Branch back to the block start: loop inside the function while the budget allows. */
  loopBack(i: number): string {
    const g = this.g;
    g.loops = true;
    const fs = g.fs;
    const head = g.headProducer;
    let carry: string;
    if (fs.t === 'pending' && head !== null && fs.p.a === head.a) carry = 'lp = true;';
    else carry = `${g.flushCode()} lp = false;`;
    // the producer this loop-back would like to carry (pass 1 records it for pass 2)
    if (g.loopBack === undefined) g.loopBack = fs.t === 'pending' ? fs.p : null;
    else if (g.loopBack !== null && (fs.t !== 'pending' || fs.p.a !== g.loopBack.a)) g.loopBack = null;
    return `n += ${i + 1}; if (n + N <= end) { ${carry} continue; } ${g.exitCode('0', hex(g.startEip))}`;
  }
}

/**
 * Translate the block at EIP `eip`, whose bytes are at host index `hpa` with the code page
 * readable up to host index `hpaLimit` (inclusive). Returns null when the first instruction is
 * not translated.
 */
export function compileBlock(ram8: Uint8Array, ram32: Int32Array, eip: number, hpa: number, hpaLimit: number): Compiled | null {
  const first = translate(ram8, eip, hpa, hpaLimit, null);
  if (first === null) return null;
  if (first.gen.loopBack === undefined || first.gen.loopBack === null) return build(first, ram32, hpa);
  // pass 2: the loop head starts with the producer the loop-back carries
  const second = translate(ram8, eip, hpa, hpaLimit, first.gen.loopBack);
  return build(second!, ram32, hpa);
}

interface Translation {
  gen: Gen;
  n: number;
  len: number;
}

function translate(ram8: Uint8Array, eip: number, hpa: number, hpaLimit: number, head: Producer | null): Translation | null {
  // decode pass: find the instructions and the block length (bytes) first
  const decoded: { eip: number; next: number; kind: Tr; emit: (next: number) => void }[] = [];
  const probe = new Gen(null, eip, hpa, 0);
  const tp = new Translator(probe);
  let pos = hpa;
  for (let i = 0; i < MAX_INSNS; i++) {
    const rd = new Reader(ram8, pos, hpaLimit);
    tp.rd = rd;
    const t = tp.insn(i);
    // an instruction ending at the top of the 4 GiB offset space is left to the interpreter,
    // whose EIP after it is 2^32 (not wrapped to 0)
    if (t === null || !rd.ok || rd.pos - pos > 15 || eip + (rd.pos - hpa) > 0xffffffff) break;
    decoded.push({ eip: eip + (pos - hpa), next: eip + (rd.pos - hpa), kind: t.kind, emit: t.emit });
    pos = rd.pos;
    if (t.kind === Tr.end) break;
  }
  if (decoded.length === 0) return null;
  const len = pos - hpa;
  // emit pass: decode again with the real generator (the emitters close over their translator)
  const g = new Gen(head, eip, hpa, len);
  const tr = new Translator(g);
  pos = hpa;
  let ended = false;
  for (let i = 0; i < decoded.length; i++) {
    const d = decoded[i]!;
    g.eips.push(d.eip);
    const rd = new Reader(ram8, pos, hpaLimit);
    tr.rd = rd;
    const t = tr.insn(i)!;
    pos = rd.pos;
    t.emit(d.next >>> 0);
    if (t.kind === Tr.end) ended = true;
  }
  if (!ended) {
    // fall through (or stop before an untranslated instruction): exit to the next EIP
    const last = decoded[decoded.length - 1]!;
    g.emit(g.exitCode(String(decoded.length), hex(last.next >>> 0)));
  }
  return { gen: g, n: decoded.length, len };
}

function build(t: Translation, ram32: Int32Array, hpa: number): Compiled {
  const g = t.gen;
  const lines: string[] = [];
  // validation: the code bytes are still the ones translated
  const end = hpa + t.len;
  const checks: string[] = [];
  for (let w = hpa >> 2; w << 2 < end; w++) {
    const lo = Math.max(hpa, w << 2);
    const hi = Math.min(end, (w << 2) + 4);
    let mask = 0;
    for (let b = lo; b < hi; b++) mask |= 0xff << ((b & 3) * 8);
    const v = ram32[w]! & mask;
    checks.push(mask === -1 ? `m[${w}] !== ${hex(v)}` : `(m[${w}] & ${hex(mask)}) !== ${hex(v)}`);
  }
  lines.push('const m = c.ram32;');
  lines.push(`if (${checks.join(' || ')}) return 0;`);
  lines.push('const R = c.regs;');
  const regs = [...g.used].sort();
  if (regs.length > 0) lines.push(`let ${regs.map((r) => `r${r} = R[${r}]`).join(', ')};`);
  lines.push('let n = c.instructionCount; let k = 0; let lp = false;');
  if (g.temps.size > 0) lines.push(`let ${[...g.temps].map((x) => `${x} = 0`).join(', ')};`);
  lines.push(`const N = ${t.n};`);
  lines.push('try {');
  lines.push(g.loops ? 'for (;;) {' : '{');
  lines.push(...g.out);
  lines.push('}');
  lines.push('} catch (e) {');
  if (g.catchCases.size > 0) {
    lines.push('switch (k) {');
    for (const [i, code] of g.catchCases) if (code !== '') lines.push(`case ${i}: ${code} break;`);
    lines.push('}');
  }
  lines.push(g.writebackCode());
  lines.push('c.instructionCount = n + k + 1;');
  lines.push('c.instrStart = E[k];');
  lines.push(`c.instrEsp = ${g.used.has(ESP) ? `r${ESP}` : `R[${ESP}]`};`);
  lines.push('throw e;');
  lines.push('}');
  lines.push('return 1;');
  const body = lines.join('\n').split(WRITEBACK).join(g.writebackCode());
  const factory = new Function('h', 'E', `return function block_${g.startEip.toString(16)}(c, end) {\n${body}\n};`) as (
    h: typeof HELPERS,
    e: readonly number[],
  ) => BlockFn;
  return { fn: factory(HELPERS, g.eips.slice()), n: t.n, lastEip: g.startEip + t.len - 1 };
}
