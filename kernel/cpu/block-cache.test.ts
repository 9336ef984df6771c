/**
 * The block cache (block-cache.ts, block-compiler.ts) against the interpreter: random loops built
 * from the opcodes the translator handles (and some it does not), run on a machine with the cache
 * and on one without, in random budget slices; registers, EIP, EFLAGS, instruction counts, stop
 * reasons and memory must stay identical after every slice; a second mix runs them with limited,
 * expand-down and read-only data segments, CPL 3 on user/supervisor pages with CR0.WP, CS limits
 * and code across a page end. Plus directed tests: self-modifying code in the same page and
 * through another mapping, a block cut by the budget, a fault in the middle of a block, code
 * ending at the top of the 4 GiB offset space.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine, Sel } from './testing/bare-machine.js';
import { Reg, SReg } from './cpu.js';
import { Ar, Cr0, Pte } from './arch.js';
import { StopReason } from './interfaces.js';
import { HOT_THRESHOLD } from './block-cache.js';
import { xorshift32 } from './testing/xorshift.js';

const CODE = 0x10000;
const DATA = 0x20000;
const DATA_SIZE = 0x10000;
const HANDLER = 0x5000;
const HLT = 0xf4;
/** Page left not present when paging is on (faults in the middle of blocks). */
const HOLE = DATA + 0x8000;
const EDGES = [0, 1, 2, -1, 0x7fffffff, -0x80000000, DATA, DATA + 0x100] as const;

function le32(v: number): number[] {
  return [0, 8, 16, 24].map((s) => (v >>> s) & 0xff);
}

function machine(cache: boolean, paging: boolean): BareMachine {
  const m = new BareMachine(1 << 20);
  m.cpu.blockCacheEnabled = cache;
  m.flat32(CODE);
  m.load(HANDLER, [HLT]);
  for (let v = 0; v < 32; v++) m.setGate(v, HANDLER);
  if (paging) {
    const pd = 0x40000;
    const pt = 0x41000;
    const rw = Pte.P | Pte.RW;
    m.w32(pd, pt | rw);
    for (let i = 0; i < 256; i++) m.w32(pt + i * 4, (i << 12) | (((i << 12) === HOLE ? 0 : rw) >>> 0));
    m.cpu.cr3 = pd;
    m.cpu.cr0 |= Cr0.PG;
  }
  return m;
}

/** A random instruction (bytes) for a program at CODE of `size` bytes, placed at `at`. */
function randomInsn(next: () => number, at: number, size: number): number[] {
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const modrm = (regField = next() & 7): number[] => {
    const kind = next() % 8;
    if (kind < 3) return [0xc0 | (regField << 3) | (next() & 7)];
    if (kind === 3) {
      // disp32 inside the data area (or, rarely, the code: self-modifying code)
      const target = next() % 16 === 0 ? CODE + (next() % size) : DATA + (next() % DATA_SIZE);
      return [(regField << 3) | 5, ...le32(target)];
    }
    const mod = next() % 3;
    const rm = next() & 7;
    const out = [(mod << 6) | (regField << 3) | rm];
    if (rm === 4) out.push(next() & 0xff);
    if (mod === 0 && rm === 4 && (out[1]! & 7) === 5) out.push(...le32(DATA + (next() % DATA_SIZE)));
    else if (mod === 0 && rm === 5) out.push(...le32(DATA + (next() % DATA_SIZE)));
    else if (mod === 1) out.push(next() & 0xff);
    else if (mod === 2) out.push(...le32((next() % 0x200) - 0x100));
    return out;
  };
  const imm8 = (): number[] => [next() & 0xff];
  const imm32 = (): number[] => le32(next() % 4 === 0 ? pick(EDGES) : next());
  const rel8 = (len: number): number[] => {
    // mostly inside the program (backwards to the start makes loops)
    const target = next() % 3 === 0 ? CODE : CODE + (next() % size);
    const d = target - (at + len);
    return [d >= -128 && d <= 127 ? d & 0xff : next() & 0x0f];
  };
  const rel32 = (len: number): number[] => le32((next() % 3 === 0 ? CODE : CODE + (next() % size)) - (at + len));
  const kind = next() % 40;
  if (kind < 10) {
    const aop = next() & 7;
    const col = next() % 6;
    const op = (aop << 3) | col;
    if (col < 4) return [op, ...modrm()];
    return col === 4 ? [op, ...imm8()] : [op, ...imm32()];
  }
  switch (kind) {
    case 10:
      return [0x40 + (next() & 15)];
    case 11:
      return [0x50 + (next() & 15)];
    case 12:
      return pick([[0x68, ...imm32()], [0x6a, ...imm8()], [0x69, ...modrm(), ...imm32()], [0x6b, ...modrm(), ...imm8()]]);
    case 13:
    case 14: {
      const op = pick([0x80, 0x81, 0x83]);
      return [op, ...modrm(), ...(op === 0x81 ? imm32() : imm8())];
    }
    case 15:
      return [pick([0x84, 0x85, 0x88, 0x89, 0x8a, 0x8b, 0x8d]), ...modrm()];
    case 16:
      return pick([[0x90], [0x98], [0x99], [0xa8, ...imm8()], [0xa9, ...imm32()]]);
    case 17: {
      const r = next() & 15;
      return r < 8 ? [0xb0 + r, ...imm8()] : [0xb0 + r, ...imm32()];
    }
    case 18: {
      const op = pick([0xc1, 0xd1, 0xd3]);
      return op === 0xc1 ? [op, ...modrm(), next() % 40] : [op, ...modrm()];
    }
    case 19:
      return next() % 2 === 0 ? [0xc6, ...modrm(0), ...imm8()] : [0xc7, ...modrm(0), ...imm32()];
    case 20: {
      const op = pick([0xf6, 0xf7]);
      const reg = next() & 3;
      const m = modrm(reg);
      return reg <= 1 ? [op, ...m, ...(op === 0xf6 ? imm8() : imm32())] : [op, ...m];
    }
    case 21:
      return [0xff, ...modrm(pick([0, 1, 6, 0, 1, 6, 2, 4]))];
    case 22:
    case 23:
    case 24:
      return [0x70 + (next() & 15), ...rel8(2)];
    case 25:
      return [0x0f, 0x80 + (next() & 15), ...rel32(6)];
    case 26:
      return [0x0f, 0x40 + (next() & 15), ...modrm()];
    case 27:
      return [0x0f, 0x90 + (next() & 15), ...modrm()];
    case 28:
      return [0x0f, pick([0xaf, 0xb6, 0xb7, 0xbe, 0xbf]), ...modrm()];
    case 29:
      return pick([[0xeb, ...rel8(2)], [0xe9, ...rel32(5)], [0xe8, ...rel32(5)], [0xc3]]);
    case 30:
      // not translated: the block ends before them
      return pick([[0xf9], [0xf8], [0xf5], [0x66, 0x01, 0xc8], [0xd0, 0xe0], [0x11, ...modrm()], [0x87, 0xca]]);
    case 31:
      // a flag producer just before a condition reader
      return pick([[0x39, 0xd8], [0x85, 0xc9], [0x4a], [0x01, 0xf0], [0x80, 0xfb, 0x10], [0xd1, 0xe8], [0xf7, 0xd9]]);
    default:
      return [0x70 + (next() & 15), ...rel8(2)];
  }
}

function program(next: () => number, size: number): number[] {
  const out: number[] = [];
  while (out.length < size - 16) out.push(...randomInsn(next, CODE + out.length, size));
  // back to the start: the program is a loop; an instruction cut by the end falls into it
  out.push(0xe9, ...le32(CODE - (CODE + out.length + 5)));
  return out;
}

/** A data segment of the segmented random test: kind 0 read/write, 1 read-only, 2 expand-down. */
interface DataSeg {
  base: number;
  limit: number;
  kind: number;
  /** 16-bit stack (B = 0): the block cache leaves such code to the interpreter. */
  small: boolean;
}
interface SegConfig {
  cpl3: boolean;
  paging: boolean;
  wp: boolean;
  csBase: number;
  csLimit: number;
  codeLin: number;
  codeEip: number;
  size: number;
  ds: DataSeg;
  es: DataSeg;
  ss: DataSeg;
  /** PTE attributes of the 16 data pages, and of the second code page. */
  pages: number[];
  code2: number;
  /** Offsets at segment limits and page boundaries; offsets that are valid; branch targets. */
  edges: number[];
  safeDs: number[];
  safeSs: number[];
  targets: number[];
}

function segConfig(next: () => number): SegConfig {
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const cpl3 = next() % 3 === 0;
  const paging = cpl3 || next() % 2 === 0;
  const wp = next() % 2 === 0;
  const csBase = pick([0, 0, 0, 0x1000]);
  // code near the end of its page: blocks end at the page end, instructions straddle it
  const codeLin = CODE + (next() % 3 === 0 ? 0x1000 - (next() % 160) : next() % 0x200);
  const codeEip = codeLin - csBase;
  const size = 32 + (next() % 160);
  const csLimit = next() % 3 === 0 ? codeEip + size + (next() % 48) - 16 : 0xffffffff;
  const seg = (isSs: boolean): DataSeg => {
    const base = pick([0, 0, DATA, DATA - 0x800, DATA + 0x7000, DATA + DATA_SIZE - 0x100]);
    const kind = isSs ? pick([0, 0, 2]) : pick([0, 0, 1, 2]);
    const limit = kind === 2 ? pick([0x100, 0xfff, 0x7fff, 0xfff0, 0xfffeffff]) : pick([0xffffffff, 0xffffffff, 0xffff, 0x8003, 0x4fff, 0x1ff]);
    return { base, limit, kind, small: isSs && next() % 6 === 0 };
  };
  const ds = seg(false);
  const es = seg(false);
  // a CPL-0 exception on a broken stack shuts the machine down: keep that rarer
  const ss = cpl3 || next() % 3 === 0 ? seg(true) : { base: 0, limit: 0xffffffff, kind: 0, small: false };
  const pages: number[] = [];
  for (let i = 0; i < 16; i++) pages.push(pick([0, Pte.P, Pte.P | Pte.US, Pte.P | Pte.RW, 7, 7, 7, 7, 7, 7]));
  const code2 = next() % 8 === 0 ? 0 : next() % 8 === 0 ? Pte.P | Pte.RW : 7;
  const valid = (s: DataSeg): number[] => {
    const lo = s.kind === 2 ? s.limit + 1 : 0;
    const hi = s.kind === 2 ? 0xffffffff : s.limit;
    const out: number[] = [];
    for (let t = 0; t < 200 && out.length < 24; t++) {
      const lin = DATA + (next() % (DATA_SIZE - 4));
      const off = (lin - s.base) >>> 0;
      if (off >= lo && off + 3 <= hi && (!paging || pages[(lin - DATA) >> 12] === 7)) out.push(off);
    }
    return out.length > 0 ? out : [(DATA - s.base) >>> 0];
  };
  const edges: number[] = [];
  for (const s of [ds, es, ss]) {
    for (let k = -4; k <= 4; k++) {
      edges.push((s.limit + k) >>> 0, (DATA + 0x1000 - s.base + k) >>> 0, (DATA + 0x8000 - s.base + k) >>> 0);
    }
  }
  const targets = [codeEip, codeEip, (csLimit + 1) >>> 0, csLimit >>> 0, (csLimit - 3) >>> 0];
  for (let k = 0; k < 8; k++) targets.push((codeEip + (next() % size)) >>> 0);
  // with a CS base, EIPs near 4 GiB wrap to the same linear code (another EIP, same frame)
  if (csBase !== 0) for (let k = 0; k < 3; k++) targets.push((0x100000000 - csBase + codeLin + (next() % size)) >>> 0);
  return { cpl3, paging, wp, csBase, csLimit, codeLin, codeEip, size, ds, es, ss, pages, code2, edges, safeDs: valid(ds), safeSs: valid(ss), targets };
}

/** Load the configuration's segments (and so the CPL) into the CPU's segment caches. */
function segMode(m: BareMachine, cfg: SegConfig): void {
  const c = m.cpu;
  const dpl = cfg.cpl3 ? 3 : 0;
  const set = (s: number, base: number, limit: number, ar: number): void => {
    c.segSel[s] = s === SReg.CS ? (cfg.cpl3 ? Sel.userCode32 : Sel.code32) : cfg.cpl3 ? Sel.userData32 : Sel.data32;
    c.segBase[s] = base;
    c.segLimit[s] = limit | 0;
    c.segAr[s] = ar;
  };
  const data = (s: DataSeg): number => Ar.G | (s.small ? 0 : Ar.DB) | Ar.P | (dpl << Ar.DPL_SHIFT) | Ar.S | Ar.ACCESSED | [Ar.WRITABLE, 0, Ar.WRITABLE | Ar.EXPAND_DOWN][s.kind]!;
  set(SReg.CS, cfg.csBase, cfg.csLimit, Ar.G | Ar.DB | Ar.P | (dpl << Ar.DPL_SHIFT) | Ar.S | Ar.CODE | Ar.WRITABLE | Ar.ACCESSED);
  set(SReg.DS, cfg.ds.base, cfg.ds.limit, data(cfg.ds));
  set(SReg.ES, cfg.es.base, cfg.es.limit, data(cfg.es));
  set(SReg.SS, cfg.ss.base, cfg.ss.limit, data(cfg.ss));
  const flat: DataSeg = { base: 0, limit: 0xffffffff, kind: 0, small: false };
  set(SReg.FS, 0, -1, data(flat));
  set(SReg.GS, 0, -1, data(flat));
  c.sync();
}

function segMachine(cache: boolean, cfg: SegConfig): BareMachine {
  const m = new BareMachine(1 << 20);
  m.cpu.blockCacheEnabled = cache;
  m.flat32(cfg.codeEip);
  m.load(HANDLER, [HLT]);
  for (let v = 0; v < 32; v++) m.setGate(v, HANDLER);
  if (cfg.paging) {
    const pd = 0x40000;
    const pt = 0x41000;
    m.w32(pd, pt | 7);
    for (let i = 0; i < 256; i++) {
      const lin = i << 12;
      let attr = Pte.P | Pte.RW;
      if (lin >= DATA && lin < DATA + DATA_SIZE) attr = cfg.pages[(lin - DATA) >> 12]!;
      else if (lin === CODE) attr = 7;
      else if (lin === CODE + 0x1000) attr = cfg.code2;
      m.w32(pt + i * 4, lin | attr);
    }
    m.cpu.cr3 = pd;
    m.cpu.cr0 |= Cr0.PG | (cfg.wp ? Cr0.WP : 0);
    m.cpu.sync();
  }
  return m;
}

/** A random instruction of the segmented test, at EIP `at`. */
function segInsn(next: () => number, cfg: SegConfig, at: number): number[] {
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const off = (): number => (next() % 6 === 0 ? pick(cfg.edges) : pick(cfg.safeDs));
  const modrm = (regField = next() & 7): number[] => {
    const kind = next() % 8;
    if (kind < 3) return [0xc0 | (regField << 3) | (next() & 7)];
    if (kind <= 5) {
      // disp32 (rarely into the code: self-modifying code)
      const target = next() % 16 === 0 ? cfg.codeLin - cfg.ds.base + (next() % cfg.size) : off();
      return [(regField << 3) | 5, ...le32(target)];
    }
    const mod = next() % 3;
    const rm = next() & 7;
    const out = [(mod << 6) | (regField << 3) | rm];
    if (rm === 4) out.push(next() & 0xff);
    if (mod === 0 && (rm === 5 || (rm === 4 && (out[1]! & 7) === 5))) out.push(...le32(off()));
    else if (mod === 1) out.push(next() & 0xff);
    else if (mod === 2) out.push(...le32(next() % 2 ? (next() % 0x200) - 0x100 : off()));
    return out;
  };
  const imm8 = (): number[] => [next() & 0xff];
  const imm32 = (): number[] => le32(next() % 3 === 0 ? pick(cfg.edges) : next() % 3 === 0 ? pick([0, 1, -1, 0x7fffffff, 0x80000000, 0x80, 0xff]) : next());
  const target = (): number => (next() % 4 === 0 ? pick(cfg.targets) : next() % 3 === 0 ? cfg.codeEip : cfg.codeEip + (next() % cfg.size));
  const rel8 = (len: number): number[] => {
    const d = target() - (at + len);
    return [d >= -128 && d <= 127 ? d & 0xff : next() & 0x0f];
  };
  const rel32 = (len: number): number[] => le32(target() - (at + len));
  const kind = next() % 40;
  if (kind < 10) {
    const op = ((next() & 7) << 3) | next() % 6;
    return (op & 7) < 4 ? [op, ...modrm()] : (op & 7) === 4 ? [op, ...imm8()] : [op, ...imm32()];
  }
  switch (kind) {
    case 10:
      return [0x40 + (next() & 15)];
    case 11:
      return [0x50 + (next() & 15)];
    case 12:
      return pick([[0x68, ...imm32()], [0x6a, ...imm8()], [0x69, ...modrm(), ...imm32()], [0x6b, ...modrm(), ...imm8()]]);
    case 13: {
      const op = pick([0x80, 0x81, 0x83]);
      return [op, ...modrm(), ...(op === 0x81 ? imm32() : imm8())];
    }
    case 14:
      return [pick([0x84, 0x85, 0x88, 0x89, 0x8a, 0x8b, 0x8d]), ...modrm()];
    case 15:
      return pick([[0x90], [0x98], [0x99], [0xa8, ...imm8()], [0xa9, ...imm32()]]);
    case 16: {
      const r = next() & 15;
      return r < 8 ? [0xb0 + r, ...imm8()] : [0xb0 + r, ...imm32()];
    }
    case 17: {
      const op = pick([0xc1, 0xd1, 0xd3]);
      return op === 0xc1 ? [op, ...modrm(), next() % 40] : [op, ...modrm()];
    }
    case 18:
      return next() % 2 === 0 ? [0xc6, ...modrm(0), ...imm8()] : [0xc7, ...modrm(0), ...imm32()];
    case 19: {
      const op = pick([0xf6, 0xf7]);
      const reg = next() & 3;
      return reg <= 1 ? [op, ...modrm(reg), ...(op === 0xf6 ? imm8() : imm32())] : [op, ...modrm(reg)];
    }
    case 20:
      return [0xff, ...modrm(pick([0, 1, 6, 0, 1, 6, 2, 4]))];
    case 21:
      return [0x0f, 0x80 + (next() & 15), ...rel32(6)];
    case 22:
      return [0x0f, 0x40 + (next() & 15), ...modrm()];
    case 23:
      return [0x0f, 0x90 + (next() & 15), ...modrm()];
    case 24:
      return [0x0f, pick([0xaf, 0xb6, 0xb7, 0xbe, 0xbf]), ...modrm()];
    case 25:
      return pick([[0xeb, ...rel8(2)], [0xe9, ...rel32(5)], [0xe8, ...rel32(5)], [0xc3], [0x68, ...le32(target()), 0xc3]]);
    case 26:
      // flag readers the translator leaves to the interpreter (PUSHF, LAHF, ADC/SBB r/m, CMC)
      return pick([[0x9c], [0x9f], [0x11, ...modrm()], [0x13, ...modrm()], [0x1b, ...modrm()], [0x9c, 0x58 + (next() & 3)], [0xf5]]);
    case 27:
      // CALL / JMP through a register
      return [0xb8 + (next() & 3), ...le32(target()), 0xff, (next() % 2 ? 0xd0 : 0xe0) + (next() & 3)];
    case 28:
    case 29:
      // 8-bit register forms with AH/CH/DH/BH
      return pick([
        [((next() & 7) << 3) | next() % 2, 0xc0 | ((4 + (next() & 3)) << 3) | (next() & 7)],
        [((next() & 7) << 3) | 2, 0xc0 | ((next() & 7) << 3) | (4 + (next() & 3))],
        [0x80, 0xc4 | ((next() & 7) << 3) | (next() & 3), next() & 0xff],
        [0x0f, pick([0xb6, 0xbe]), 0xc4 | ((next() & 7) << 3) | (next() & 3)],
        [0x0f, 0x90 + (next() & 15), 0xc4 + (next() & 3)],
      ]);
    case 30:
      return [0xf7, 0xd0 + (next() & 15)];
    case 31:
      return pick([[0x39, 0xd8], [0x85, 0xc9], [0x4a], [0x01, 0xf0], [0x80, 0xfb, 0x10], [0xd1, 0xe8], [0xf7, 0xd9], [0x28, 0xe0], [0x38, 0xf7]]);
    default:
      return [0x70 + (next() & 15), ...rel8(2)];
  }
}

function segProgram(next: () => number, cfg: SegConfig): number[] {
  const out: number[] = [];
  while (out.length < cfg.size - 16) out.push(...segInsn(next, cfg, cfg.codeEip + out.length));
  out.push(0xe9, ...le32(-(out.length + 5)));
  return out;
}

function compare(a: BareMachine, b: BareMachine, where: string): void {
  expect(Array.from(a.cpu.regs), where).toEqual(Array.from(b.cpu.regs));
  expect(a.cpu.eip, where).toBe(b.cpu.eip);
  expect(a.cpu.getEflags(), where).toBe(b.cpu.getEflags());
  expect(a.cpu.instructionCount, where).toBe(b.cpu.instructionCount);
  expect(a.cpu.activity, where).toBe(b.cpu.activity);
  expect(a.cpu.cr2, where).toBe(b.cpu.cr2);
}

describe('block cache', () => {
  for (const paging of [false, true]) {
    it(`matches the interpreter on random loops${paging ? ' with paging and a missing page' : ''}`, () => {
      const next = xorshift32(paging ? 0xb10c : 0xcafe);
      let compiled = 0;
      let faults = 0;
      for (let prog = 0; prog < 150; prog++) {
        const a = machine(true, paging);
        const b = machine(false, paging);
        const size = 32 + (next() % 96);
        const code = program(next, size);
        const regs: number[] = [];
        for (let r = 0; r < 8; r++) {
          const kind = next() % 3;
          regs.push(kind === 0 ? next() | 0 : kind === 1 ? EDGES[next() % EDGES.length]! : DATA + (next() % DATA_SIZE));
        }
        regs[Reg.ESP] = DATA + DATA_SIZE / 2 + (next() % 256) * 4;
        const flags = next() & 0x8d5;
        for (const m of [a, b]) {
          m.load(CODE, code);
          for (let i = 0; i < DATA_SIZE; i += 4) m.w32(DATA + i, (i * 0x9e3779b1) | 0);
          m.cpu.regs.set(regs);
          m.cpu.setEflags(flags | 0x2);
          m.cpu.eip = CODE;
        }
        const where = `program ${prog}: ${code.map((x) => x.toString(16).padStart(2, '0')).join(' ')} regs ${regs.join(',')} flags ${flags}`;
        for (let slice = 0; slice < 60; slice++) {
          const budget = 1 + (next() % 64);
          const ra = a.cpu.run(budget);
          const rb = b.cpu.run(budget);
          expect(ra, `${where} slice ${slice}`).toBe(rb);
          compare(a, b, `${where} slice ${slice}`);
          if (a.cpu.activity !== 0) {
            // an exception reached the HLT handler: start the loop again
            faults++;
            for (const m of [a, b]) {
              m.cpu.activity = 0;
              m.cpu.eip = CODE;
              m.cpu.regs[Reg.ESP] = DATA + DATA_SIZE / 2;
            }
          }
        }
        expect(Buffer.compare(a.mem.u8, b.mem.u8), where).toBe(0);
        compiled += a.cpu.blockCache.compiled;
      }
      // the mix must reach translated blocks and the exception paths
      expect(compiled).toBeGreaterThan(300);
      expect(faults).toBeGreaterThan(50);
    });
  }

  it('matches the interpreter with limited/expand-down/read-only segments, CPL 3, U/S pages and WP, CS limits', () => {
    const next = xorshift32(0x5e6);
    let compiled = 0;
    let faults = 0;
    for (let prog = 0; prog < 160; prog++) {
      const cfg = segConfig(next);
      const code = segProgram(next, cfg);
      const regs: number[] = [];
      for (let r = 0; r < 8; r++) {
        const kind = next() % 4;
        const from = kind === 1 ? cfg.edges : kind === 2 ? cfg.targets : cfg.safeDs;
        regs.push(kind === 0 ? next() | 0 : from[next() % from.length]! | 0);
      }
      const espChoices = [...cfg.safeSs.slice(0, 3), (cfg.ss.limit + 13) >>> 0, (cfg.ss.limit - 8) >>> 0, (cfg.codeLin + cfg.size - cfg.ss.base - (next() % 64)) >>> 0];
      const esp = espChoices[next() % espChoices.length]! | 0;
      regs[Reg.ESP] = esp;
      const flags = next() & 0x8d5;
      const [a, b] = [segMachine(true, cfg), segMachine(false, cfg)];
      for (const m of [a, b]) {
        m.load(cfg.codeLin, code);
        for (let i = 0; i < DATA_SIZE; i += 4) m.w32(DATA + i, (i * 0x9e3779b1) | 0);
        segMode(m, cfg);
        m.cpu.regs.set(regs);
        m.cpu.setEflags(flags | 0x2);
        m.cpu.eip = cfg.codeEip;
      }
      const where = `program ${prog}: ${JSON.stringify({ ...cfg, edges: 0, targets: 0, safeDs: 0, safeSs: 0 })} code ${code.map((x) => x.toString(16).padStart(2, '0')).join(' ')} regs ${regs.join(',')} flags ${flags}`;
      for (let slice = 0; slice < 60; slice++) {
        const budget = next() % 5 === 0 ? 1 + (next() % 3) : 1 + (next() % 80);
        const ra = a.cpu.run(budget);
        const rb = b.cpu.run(budget);
        expect(ra, `${where} slice ${slice}`).toBe(rb);
        compare(a, b, `${where} slice ${slice}`);
        if (ra !== StopReason.budget) {
          // an exception reached the HLT handler (or shut the machine down): start again
          faults++;
          for (const m of [a, b]) {
            m.cpu.activity = 0;
            segMode(m, cfg);
            m.cpu.eip = cfg.codeEip;
            m.cpu.regs[Reg.ESP] = esp;
          }
        }
      }
      expect(Buffer.compare(a.mem.u8, b.mem.u8), where).toBe(0);
      compiled += a.cpu.blockCache.compiled;
    }
    expect(compiled).toBeGreaterThan(300);
    expect(faults).toBeGreaterThan(2000);
  });

  /** A loop that counts ECX down and adds to EAX, HLT after it. */
  const countLoop = (n: number): number[] => [
    0xb9, ...le32(n), // mov ecx, n
    0x31, 0xc0, // xor eax, eax
    0x83, 0xc0, 0x03, // L: add eax, 3
    0x49, // dec ecx
    0x75, 0xfa, // jnz L
    HLT,
  ];

  it('stops a looping block at exactly the budget', () => {
    for (let budget = 1; budget < 80; budget++) {
      const a = machine(true, false);
      const b = machine(false, false);
      for (const m of [a, b]) {
        m.load(CODE, countLoop(1000));
        m.cpu.eip = CODE;
        // warm the block up, then run exactly `budget` more instructions
        expect(m.cpu.run(2 + 3 * HOT_THRESHOLD * 2)).toBe(StopReason.budget);
        expect(m.cpu.run(budget)).toBe(StopReason.budget);
      }
      compare(a, b, `budget ${budget}`);
    }
    const m = machine(true, false);
    m.load(CODE, countLoop(1000));
    m.cpu.eip = CODE;
    m.cpu.run(1_000_000);
    expect(m.cpu.regs[Reg.EAX]).toBe(3000);
    expect(m.cpu.instructionCount).toBe(2 + 3000 + 1);
    expect(m.cpu.blockCache.compiled).toBeGreaterThan(0);
  });

  it('leaves the state of the faulting instruction when a page fault hits mid-block', () => {
    const a = machine(true, true);
    const b = machine(false, true);
    // L: mov ebx, [esi]; add eax, 1; add esi, 0x100; jmp L — esi walks into HOLE; the fault
    // hits the first instruction of a pass, with the flags of the previous pass still in locals
    const code = [0x8b, 0x1e, 0x83, 0xc0, 0x01, 0x81, 0xc6, ...le32(0x100), 0xeb, 0xf3];
    for (const m of [a, b]) {
      m.load(CODE, code);
      m.cpu.regs[Reg.ESI] = HOLE - 0x4000;
      m.cpu.eip = CODE;
      m.cpu.run(10_000);
    }
    compare(a, b, 'after the fault');
    expect(a.cpu.activity).toBe(1);
    expect(a.cpu.cr2).toBe(HOLE);
    expect(a.cpu.regs[Reg.EAX]).toBe(0x40);
    expect(a.cpu.blockCache.compiled).toBeGreaterThan(0);
    // the faulting MOV's EIP is on the handler's stack (error code first), and the flags of
    // the last ADD ESI (0x1ff00 + 0x100: no carry, not zero, positive) under it
    expect(a.r32((a.cpu.regs[Reg.ESP]! + 4) >>> 0)).toBe(CODE);
    expect(a.r32((a.cpu.regs[Reg.ESP]! + 12) >>> 0) & 0x8d5).toBe(0x4);
  });

  /**
   * L: inc ecx; cmp ecx, 20; jne P; mov byte [store], 0x48; P: inc eax; cmp ecx, 40; jne L; hlt —
   * on the 20th pass the store turns the INC at P, the next instruction of the same block, into DEC.
   */
  const P = CODE + 13;
  const smcLoop = (store: number): number[] => [
    0x41,
    0x83, 0xf9, 0x14,
    0x75, 0x07,
    0xc6, 0x05, ...le32(store), 0x48,
    0x40,
    0x83, 0xf9, 0x28,
    0x75, 0xed,
    HLT,
  ];

  it('runs code the block itself rewrote (same page)', () => {
    for (const cache of [true, false]) {
      const m = machine(cache, false);
      m.load(CODE, smcLoop(P));
      m.cpu.eip = CODE;
      m.cpu.run(100_000);
      expect(m.cpu.activity, `cache ${cache}`).toBe(1);
      // passes 1-19 increment, 20-40 decrement
      expect(m.cpu.regs[Reg.EAX], `cache ${cache}`).toBe(19 - 21);
      if (cache) expect(m.cpu.blockCache.compiled).toBeGreaterThan(0);
    }
  });

  it('sees a write to the code through another mapping of its frame', () => {
    for (const cache of [true, false]) {
      const m = machine(cache, true);
      // linear 0x90000 maps the code frame too
      const alias = 0x90000;
      m.w32(0x41000 + (alias >>> 12) * 4, CODE | Pte.P | Pte.RW);
      m.load(CODE, smcLoop(alias + (P - CODE)));
      m.cpu.eip = CODE;
      m.cpu.run(100_000);
      expect(m.cpu.activity, `cache ${cache}`).toBe(1);
      expect(m.cpu.regs[Reg.EAX], `cache ${cache}`).toBe(19 - 21);
      if (cache) expect(m.cpu.blockCache.compiled).toBeGreaterThan(0);
    }
  });

  for (const [name, flush] of [
    ['INVLPG', [0x0f, 0x01, 0x3d, 0x00, 0x00, 0x03, 0x00]], // invlpg [0x30000]
    ['a CR3 load', [0x0f, 0x20, 0xd9, 0x0f, 0x22, 0xd9]], // mov ecx, cr3; mov cr3, ecx
  ] as const) {
    it(`runs the new frame's code after ${name} remaps the page of a hot block`, () => {
      for (const cache of [true, false]) {
        const m = machine(cache, false);
        const pd = 0x40000;
        const pt = 0x41000;
        const page = 0x30000;
        const other = 0x50000;
        const rw = Pte.P | Pte.RW;
        m.w32(pd, pt | rw);
        for (let i = 0; i < 1024; i++) m.w32(pt + i * 4, (i << 12) | rw);
        const pteAt = pt + (page >>> 12) * 4;
        // the subroutine: L: inc eax (dec eax in the other frame); dec ecx; jnz L; ret
        m.load(page, [0x40, 0x49, 0x75, 0xfc, 0xc3]);
        m.load(other, [0x48, 0x49, 0x75, 0xfc, 0xc3]);
        const call = (at: number): number[] => [0xb9, ...le32(100), 0xe8, ...le32(page - (at + 10))];
        const code = [...call(CODE), 0xc7, 0x05, ...le32(pteAt), ...le32(other | rw), ...flush];
        code.push(...call(CODE + code.length), HLT);
        m.load(CODE, code);
        m.cpu.cr3 = pd;
        m.cpu.cr0 |= Cr0.PG;
        m.cpu.eip = CODE;
        m.cpu.run(10_000);
        expect(m.cpu.activity, `cache ${cache}`).toBe(1);
        expect(m.cpu.regs[Reg.EAX], `cache ${cache}`).toBe(0);
        if (cache) expect(m.cpu.blockCache.compiled).toBeGreaterThan(0);
      }
    });
  }

  it('leaves an instruction that ends at EIP 2^32 to the interpreter, which wraps to EIP 0', () => {
    // CS base CODE: EIP 0xfffffff8 is linear CODE - 8. Eight INC EAX end at the top of the
    // offset space and execution goes on at EIP 0, linear CODE, with a HLT (a 4 GiB segment).
    const a = machine(true, false);
    const b = machine(false, false);
    const start = 0xfffffff8;
    for (const m of [a, b]) {
      m.load(CODE - 8, new Array<number>(8).fill(0x40));
      m.load(CODE, [HLT]);
      m.cpu.segBase[SReg.CS] = CODE;
      m.cpu.sync();
    }
    for (let pass = 0; pass < 3 * HOT_THRESHOLD; pass++) {
      for (const m of [a, b]) {
        m.cpu.activity = 0;
        m.cpu.eip = start;
        expect(m.cpu.run(100), `pass ${pass}`).toBe(StopReason.halted);
        expect(m.cpu.eip, `pass ${pass}`).toBe(1);
      }
      compare(a, b, `pass ${pass}`);
      expect(a.cpu.regs[Reg.EAX]).toBe(8 * (pass + 1));
    }
    expect(Buffer.compare(a.mem.u8, b.mem.u8)).toBe(0);
  });

  it('sees code rewritten outside the CPU between runs (DMA, loader)', () => {
    const m = machine(true, false);
    m.load(CODE, countLoop(1000));
    m.cpu.eip = CODE;
    m.cpu.run(200);
    expect(m.cpu.blockCache.compiled).toBeGreaterThan(0);
    // add eax, 3 → add eax, 5 written straight into memory
    m.mem.u8[CODE + 9] = 5;
    const before = m.cpu.regs[Reg.EAX]!;
    const left = m.cpu.regs[Reg.ECX]!;
    m.cpu.run(1_000_000);
    expect(m.cpu.regs[Reg.EAX]).toBe(before + 5 * left);
  });
});
