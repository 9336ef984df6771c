/**
 * The interpreter's fast path for 32-bit code (CS.D = 1): a run loop (`runFast32`) over the
 * most frequent opcodes of compiled code (SDM Vol. 2, opcode map in appendix A: the ALU block,
 * group 1/2/3 register forms, MOV, LEA, INC/DEC, PUSH/POP, Jcc, JMP, CALL, RET, 0F Jcc, IMUL,
 * MOVZX) without prefixes, executed with the operand and address size known to be 32 bits and
 * register forms inlined. Everything else, and every prefixed instruction, goes to the general
 * decoder (execute.ts `dispatch`), so the architectural result is the same on both paths;
 * fast-path.test.ts checks that differentially. Instruction bytes come through Cpu.fetch8's
 * cached code page, which reads guest RAM directly (self-modifying code needs no invalidation)
 * and is dropped with every TLB flush, INVLPG, CS load and CPL change.
 */
import { Reg } from './cpu.js';
import { ARITH_FLAGS, Eflags, LazyOp } from './flags.js';
import type { Cpu } from './processor.js';
import { alu, aluRm, dispatch, exec0f, getReg8, group3, group5, imulTrunc, modrm, modrmFrom, setReg8, shift, shiftGroup } from './execute.js';

/** ALU operation numbers of the 00-3F block and group 1 (SDM table A-6). */
const Alu = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7 } as const;
/** The status flags an INC/DEC leaves lazy (CF keeps its value). */
const INC_DEC_FLAGS = ARITH_FLAGS & ~Eflags.CF;
/** Shift group 2 operation numbers (SDM table A-6). */
const Shift = { shl: 4, shr: 5, sal: 6, sar: 7 } as const;
/** ModRM bytes from 0xC0 up have mod = 3: the r/m operand is a register. */
const MOD_REG = 0xc0;
/** Group 3 operations handled inline (SDM table A-6). */
const Group3 = { not: 2, neg: 3 } as const;
/** Jcc condition pairs (cc >> 1, SDM Vol. 1 table B-1). */
const Cond = { o: 0, b: 1, z: 2, be: 3, s: 4, p: 5, l: 6, le: 7 } as const;

/**
 * 32-bit ALU operation on two int32 operands, recording the lazy flags exactly as execute.ts
 * `alu` does for 32 bits; returns the result as int32.
 */
function alu32(c: Cpu, op: number, a: number, b: number): number {
  let r: number;
  let lz: number;
  switch (op) {
    case Alu.add:
      r = (a + b) | 0;
      lz = LazyOp.add;
      break;
    case Alu.or:
      r = a | b;
      lz = LazyOp.logic;
      break;
    case Alu.and:
      r = a & b;
      lz = LazyOp.logic;
      break;
    case Alu.xor:
      r = a ^ b;
      lz = LazyOp.logic;
      break;
    case Alu.sub:
    case Alu.cmp:
      r = (a - b) | 0;
      lz = LazyOp.sub;
      break;
    default:
      // ADC / SBB read CF: the general routine
      return alu(c, op, a, b, 32);
  }
  c.lzOp = lz;
  c.lzA = a;
  c.lzB = b;
  c.lzRes = r;
  c.lzBits = 32;
  c.lazyMask = ARITH_FLAGS;
  return r;
}

/**
 * Jcc/SETcc condition `cc`, reading the lazy record of a 32-bit SUB/CMP or logic operation
 * directly (the usual producers of a branch condition); any other state goes to Cpu.cond.
 */
function condFast(c: Cpu, cc: number): boolean {
  const neg = (cc & 1) !== 0;
  if (c.lzBits === 32) {
    const mask = c.lazyMask;
    if (mask === ARITH_FLAGS) {
      const op = c.lzOp;
      if (op === LazyOp.sub) {
        const a = c.lzA;
        const b = c.lzB;
        switch (cc >> 1) {
          case Cond.b:
            return a >>> 0 < b >>> 0 !== neg;
          case Cond.z:
            return (a | 0) === (b | 0) !== neg;
          case Cond.be:
            return a >>> 0 <= b >>> 0 !== neg;
          case Cond.s:
            return (c.lzRes | 0) < 0 !== neg;
          case Cond.l:
            return (a | 0) < (b | 0) !== neg;
          case Cond.le:
            return (a | 0) <= (b | 0) !== neg;
          default:
            return c.cond(cc);
        }
      }
      if (op === LazyOp.logic) {
        const res = c.lzRes | 0;
        switch (cc >> 1) {
          case Cond.o:
          case Cond.b:
            // OF and CF are clear after a logic operation
            return neg;
          case Cond.z:
          case Cond.be:
            return res === 0 !== neg;
          case Cond.s:
          case Cond.l:
            return res < 0 !== neg;
          case Cond.le:
            return res <= 0 !== neg;
          default:
            return c.cond(cc);
        }
      }
    } else if (mask === INC_DEC_FLAGS && cc >> 1 === Cond.z) {
      // INC/DEC then JZ/JNZ: ZF comes from the result alone
      return (c.lzRes | 0) === 0 !== neg;
    }
  }
  return c.cond(cc);
}

/** Shift group 2 on a register (ModRM byte `m` with mod 3), as execute.ts `shiftGroup` does. */
function shiftReg32(c: Cpu, m: number, count: number): void {
  const cnt = count & 0x1f;
  if (cnt === 0) return;
  const rm = m & 7;
  const op = (m >> 3) & 7;
  const a = c.regs[rm]!;
  let res: number;
  let lz: number;
  switch (op) {
    case Shift.shl:
    case Shift.sal:
      res = a << cnt;
      lz = LazyOp.shl;
      break;
    case Shift.shr:
      res = (a >>> cnt) | 0;
      lz = LazyOp.shr;
      break;
    case Shift.sar:
      res = a >> cnt;
      lz = LazyOp.sar;
      break;
    default:
      // rotates set CF/OF eagerly: the general routine
      c.regs[rm] = shift(c, op, a, count, 32);
      return;
  }
  c.regs[rm] = res;
  c.lzOp = lz;
  c.lzA = a;
  c.lzB = cnt;
  c.lzRes = res;
  c.lzBits = 32;
  c.lazyMask = ARITH_FLAGS;
}

/** Lazy flags of a 32-bit INC/DEC, as Cpu.setLazyKeepCf: CF is folded in and keeps its value. */
function incDec32(c: Cpu, op: number, a: number, res: number): void {
  if ((c.lazyMask & Eflags.CF) !== 0) c.flags = (c.flags & ~Eflags.CF) | c.getCF();
  c.lzOp = op;
  c.lzA = a;
  c.lzB = 1;
  c.lzRes = res;
  c.lzBits = 32;
  c.lazyMask = INC_DEC_FLAGS;
}

/** Near jump to a 32-bit target (SDM JMP): #GP(0) beyond the CS limit. */
function jump32(c: Cpu, target: number): void {
  const t = target >>> 0;
  if (t > c.csLimit) c.gp(0);
  c.eip = t;
}

/**
 * Run 32-bit code from CS:EIP until `end` instructions have been counted or something the run
 * loop must see happened (attention, a stop request, CS no longer 32-bit). Same per-instruction
 * state as the run loop and execute.ts `step`; opcodes not handled here go to `dispatch`. The
 * caller checked attention === 0 and fast32, and instructionCount < end.
 */
export function runFast32(c: Cpu, end: number): void {
  const r = c.regs;
  do {
    // instrStart/instrEsp first: a fault or exit unwinds to this boundary (Cpu.run)
    c.instrStart = c.eip;
    c.instrEsp = r[Reg.ESP]!;
    c.instructionCount++;
    if (c.decodeDirty) {
      c.o32 = true;
      c.a32 = true;
      c.segOvr = -1;
      c.rep = 0;
      c.lock = false;
      c.decodeDirty = false;
    }
    const op = c.fetch8();
    switch (op) {
      // ALU Ev,Gv (00-3F column 1)
      case 0x01:
      case 0x09:
      case 0x11:
      case 0x19:
      case 0x21:
      case 0x29:
      case 0x31:
      case 0x39: {
        const aop = op >> 3;
        const m = c.fetch8();
        if (m >= MOD_REG) {
          const rm = m & 7;
          const v = alu32(c, aop, r[rm]!, r[(m >> 3) & 7]!);
          if (aop !== Alu.cmp) r[rm] = v;
        } else {
          modrmFrom(c, m);
          aluRm(c, aop, r[c.regField]!, 32);
        }
        continue;
      }
      // ALU Gv,Ev (00-3F column 3)
      case 0x03:
      case 0x0b:
      case 0x13:
      case 0x1b:
      case 0x23:
      case 0x2b:
      case 0x33:
      case 0x3b: {
        const aop = op >> 3;
        const m = c.fetch8();
        let b: number;
        if (m >= MOD_REG) b = r[m & 7]!;
        else {
          modrmFrom(c, m);
          b = c.rd32(c.eaSeg, c.eaOff);
        }
        const reg = (m >> 3) & 7;
        const v = alu32(c, aop, r[reg]!, b);
        if (aop !== Alu.cmp) r[reg] = v;
        continue;
      }
      // ALU eAX,Iz (00-3F column 5)
      case 0x05:
      case 0x0d:
      case 0x15:
      case 0x1d:
      case 0x25:
      case 0x2d:
      case 0x35:
      case 0x3d: {
        const aop = op >> 3;
        const v = alu32(c, aop, r[Reg.EAX]!, c.fetch32());
        if (aop !== Alu.cmp) r[Reg.EAX] = v;
        continue;
      }
      case 0x0f: {
        const op2 = c.fetch8();
        if ((op2 & 0xf0) === 0x80) {
          // Jcc rel32
          const d = c.fetch32();
          if (condFast(c, op2 & 0xf)) jump32(c, c.eip + d);
          continue;
        }
        if (op2 === 0xaf) {
          // IMUL Gv,Ev
          const m = c.fetch8();
          let b: number;
          if (m >= MOD_REG) b = r[m & 7]!;
          else {
            modrmFrom(c, m);
            b = c.rd32(c.eaSeg, c.eaOff);
          }
          const reg = (m >> 3) & 7;
          r[reg] = imulTrunc(c, r[reg]!, b, 32);
          continue;
        }
        if (op2 === 0xb6) {
          // MOVZX Gv,Eb
          modrm(c);
          r[c.regField] = c.mod === 3 ? getReg8(c, c.rmReg) : c.rd8(c.eaSeg, c.eaOff);
          continue;
        }
        // the rest of the 0F page re-reads its opcode byte
        c.eip = c.eip - 1;
        exec0f(c);
        break;
      }
      case 0x40:
      case 0x41:
      case 0x42:
      case 0x43:
      case 0x44:
      case 0x45:
      case 0x46:
      case 0x47: {
        const reg = op & 7;
        const a = r[reg]!;
        const res = (a + 1) | 0;
        r[reg] = res;
        incDec32(c, LazyOp.inc, a, res);
        continue;
      }
      case 0x48:
      case 0x49:
      case 0x4a:
      case 0x4b:
      case 0x4c:
      case 0x4d:
      case 0x4e:
      case 0x4f: {
        const reg = op & 7;
        const a = r[reg]!;
        const res = (a - 1) | 0;
        r[reg] = res;
        incDec32(c, LazyOp.dec, a, res);
        continue;
      }
      case 0x50:
      case 0x51:
      case 0x52:
      case 0x53:
      case 0x54:
      case 0x55:
      case 0x56:
      case 0x57:
        c.push32(r[op & 7]!);
        continue;
      case 0x58:
      case 0x59:
      case 0x5a:
      case 0x5b:
      case 0x5c:
      case 0x5d:
      case 0x5e:
      case 0x5f: {
        const v = c.pop32();
        r[op & 7] = v;
        continue;
      }
      case 0x70:
      case 0x71:
      case 0x72:
      case 0x73:
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
        const d = (c.fetch8() << 24) >> 24;
        if (condFast(c, op & 0xf)) jump32(c, c.eip + d);
        continue;
      }
      case 0x74:
      case 0x75: {
        // JZ / JNZ, the most frequent branches: ZF straight from the lazy result (Cpu.getZF)
        const d = (c.fetch8() << 24) >> 24;
        const zf = (c.lazyMask & Eflags.ZF) !== 0 ? c.lzRes << (32 - c.lzBits) === 0 : (c.flags & Eflags.ZF) !== 0;
        if (zf === (op === 0x74)) jump32(c, c.eip + d);
        continue;
      }
      case 0x80: {
        // group 1 Eb,Ib
        const m = c.fetch8();
        const aop = (m >> 3) & 7;
        if (m >= MOD_REG) {
          const imm = c.fetch8();
          const rm = m & 7;
          const v = alu(c, aop, getReg8(c, rm), imm, 8);
          if (aop !== Alu.cmp) setReg8(c, rm, v);
        } else {
          modrmFrom(c, m);
          aluRm(c, aop, c.fetch8(), 8);
        }
        continue;
      }
      case 0x81:
      case 0x83: {
        const m = c.fetch8();
        const aop = (m >> 3) & 7;
        if (m >= MOD_REG) {
          const imm = op === 0x81 ? c.fetch32() : (c.fetch8() << 24) >> 24;
          const rm = m & 7;
          const v = alu32(c, aop, r[rm]!, imm);
          if (aop !== Alu.cmp) r[rm] = v;
        } else {
          modrmFrom(c, m);
          const imm = op === 0x81 ? c.fetch32() : (c.fetch8() << 24) >> 24;
          aluRm(c, aop, imm, 32);
        }
        continue;
      }
      case 0x85: {
        const m = c.fetch8();
        let a: number;
        if (m >= MOD_REG) a = r[m & 7]!;
        else {
          modrmFrom(c, m);
          a = c.rd32(c.eaSeg, c.eaOff);
        }
        alu32(c, Alu.and, a, r[(m >> 3) & 7]!);
        continue;
      }
      case 0x88:
        modrm(c);
        if (c.mod === 3) setReg8(c, c.rmReg, getReg8(c, c.regField));
        else c.wr8(c.eaSeg, c.eaOff, getReg8(c, c.regField));
        continue;
      case 0x89: {
        const m = c.fetch8();
        if (m >= MOD_REG) r[m & 7] = r[(m >> 3) & 7]!;
        else {
          modrmFrom(c, m);
          c.wr32(c.eaSeg, c.eaOff, r[(m >> 3) & 7]!);
        }
        continue;
      }
      case 0x8a:
        modrm(c);
        setReg8(c, c.regField, c.mod === 3 ? getReg8(c, c.rmReg) : c.rd8(c.eaSeg, c.eaOff));
        continue;
      case 0x8b: {
        const m = c.fetch8();
        if (m >= MOD_REG) r[(m >> 3) & 7] = r[m & 7]!;
        else {
          modrmFrom(c, m);
          r[(m >> 3) & 7] = c.rd32(c.eaSeg, c.eaOff);
        }
        continue;
      }
      case 0x8d:
        modrm(c);
        if (c.mod === 3) c.ud();
        r[c.regField] = c.eaOff;
        continue;
      case 0x90:
        continue;
      case 0xb8:
      case 0xb9:
      case 0xba:
      case 0xbb:
      case 0xbc:
      case 0xbd:
      case 0xbe:
      case 0xbf:
        r[op & 7] = c.fetch32();
        continue;
      case 0xc1: {
        const m = c.fetch8();
        if (m >= MOD_REG) shiftReg32(c, m, c.fetch8());
        else {
          modrmFrom(c, m);
          shiftGroup(c, 32, c.fetch8());
        }
        continue;
      }
      case 0xc3: {
        const t = c.peek(0, 32);
        jump32(c, t);
        c.addSp(4);
        continue;
      }
      case 0xc6:
        modrm(c);
        if (c.regField !== 0) c.ud();
        if (c.mod === 3) setReg8(c, c.rmReg, c.fetch8());
        else {
          const imm = c.fetch8();
          c.wr8(c.eaSeg, c.eaOff, imm);
        }
        continue;
      case 0xc7:
        modrm(c);
        if (c.regField !== 0) c.ud();
        if (c.mod === 3) r[c.rmReg] = c.fetch32();
        else {
          const imm = c.fetch32();
          c.wr32(c.eaSeg, c.eaOff, imm);
        }
        continue;
      case 0xd1: {
        const m = c.fetch8();
        if (m >= MOD_REG) shiftReg32(c, m, 1);
        else {
          modrmFrom(c, m);
          shiftGroup(c, 32, 1);
        }
        continue;
      }
      case 0xe8: {
        const d = c.fetch32();
        const ret = c.eip;
        const t = (ret + d) >>> 0;
        if (t > c.csLimit) c.gp(0);
        c.push32(ret);
        c.eip = t;
        continue;
      }
      case 0xe9: {
        const d = c.fetch32();
        jump32(c, c.eip + d);
        continue;
      }
      case 0xeb: {
        const d = (c.fetch8() << 24) >> 24;
        jump32(c, c.eip + d);
        continue;
      }
      case 0xf7: {
        const m = c.fetch8();
        const o = (m >> 3) & 7;
        if (m >= MOD_REG && (o === Group3.not || o === Group3.neg)) {
          const rm = m & 7;
          const a = r[rm]!;
          if (o === Group3.not) r[rm] = ~a;
          else {
            const res = -a | 0;
            r[rm] = res;
            c.setLazy(LazyOp.sub, 0, a, res, 32);
          }
          continue;
        }
        // the general group 3 decodes its own ModRM byte
        c.eip = c.eip - 1;
        group3(c, 32);
        break;
      }
      case 0xff:
        group5(c, 32);
        break;
      default:
        dispatch(c, op);
        break;
    }
    // a general-path instruction may have changed what this loop depends on
    if (c.attention !== 0 || c.stopReason >= 0 || !c.fast32) return;
  } while (c.instructionCount < end);
}
