/**
 * Integer instructions against results recorded from a real x86 CPU (testing/gen-golden.py):
 * each case runs the instruction's machine code once in flat 32-bit protected mode and compares
 * registers and the defined status flags.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import { Reg } from './cpu.js';
import { ARITH_FLAGS } from './flags.js';

interface GoldenOp {
  name: string;
  asm: string;
  bytes: number[];
  cases: number[][];
}
const golden = JSON.parse(readFileSync(new URL('./testing/golden-alu.json', import.meta.url), 'utf8')) as { ops: GoldenOp[] };
const CODE = 0x10000;
const REGS = [Reg.EAX, Reg.EBX, Reg.ECX, Reg.EDX] as const;

describe('integer instructions match a real CPU', () => {
  const m = new BareMachine();
  m.flat32(CODE);
  for (const op of golden.ops) {
    it(`${op.name}: ${op.asm}`, () => {
      const failures: string[] = [];
      m.load(CODE, op.bytes);
      m.load(CODE + op.bytes.length, [0xf4]);
      for (const c of op.cases) {
        const cpu = m.cpu;
        REGS.forEach((r, i) => (cpu.regs[r] = c[i]!));
        cpu.setEflags(c[4]!);
        cpu.eip = CODE;
        cpu.run(1);
        const got = REGS.map((r) => cpu.regs[r]! >>> 0);
        const want = c.slice(5, 9);
        const defined = ARITH_FLAGS & ~c[10]!;
        const gotF = cpu.getEflags() & defined;
        const wantF = c[9]! & defined;
        if (got.join() !== want.join() || gotF !== wantF || cpu.eip !== CODE + op.bytes.length) {
          const hex = (v: number[]) => v.map((x) => (x >>> 0).toString(16)).join(' ');
          failures.push(`in ${hex(c.slice(0, 5))}: got ${hex(got)} f=${gotF.toString(16)} want ${hex(want)} f=${wantF.toString(16)}`);
        }
      }
      expect(failures.slice(0, 5)).toEqual([]);
    });
  }
});
