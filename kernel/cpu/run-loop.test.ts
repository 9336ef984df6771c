/**
 * The run loop's contract (cpu.ts, interfaces.ts): the budget counts every REP iteration and a
 * REP stops mid-way and resumes; HLT stops with activity 1 and EIP after it; the STI shadow
 * covers exactly one instruction and then asks for an event check.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import * as S from './testing/snippets.js';
import { Reg } from './cpu.js';
import { StopReason } from './interfaces.js';

const REP_AT = 0x10010; // the REP MOVSB in REPMOVS
const STI_AT = REP_AT + 2;

function machine(): BareMachine {
  const m = new BareMachine();
  m.load(0x10000, S.REPMOVS);
  for (let i = 0; i < 1000; i++) m.mem.u8[0x20000 + i] = (i * 7) & 0xff;
  m.flat32(0x10000);
  return m;
}

describe('run loop', () => {
  it('stops a REP MOVSB mid-way when the budget runs out and resumes it', () => {
    const m = machine();
    expect(m.cpu.run(4 + 100)).toBe(StopReason.budget);
    expect(m.cpu.eip).toBe(REP_AT);
    expect(m.cpu.regs[Reg.ECX]).toBe(900);
    expect(m.cpu.regs[Reg.EDI]).toBe(0x30000 + 100);
    expect(m.cpu.instructionCount).toBe(104);
    expect(m.cpu.run(900)).toBe(StopReason.budget);
    expect(m.cpu.regs[Reg.ECX]).toBe(0);
    expect(m.cpu.eip).toBe(STI_AT);
    expect(Array.from(m.mem.u8.subarray(0x30000, 0x30000 + 1000))).toEqual(Array.from(m.mem.u8.subarray(0x20000, 0x20000 + 1000)));
  });

  it('keeps the STI shadow for one instruction, then requests an event check', () => {
    const m = machine();
    m.cpu.run(1004); // through the REP
    expect(m.cpu.eip).toBe(STI_AT);
    m.cpu.run(1); // STI
    expect(m.cpu.interruptsEnabled()).toBe(false);
    expect(m.cpu.interruptibility).toBe(1);
    m.cpu.eventCheck = false;
    m.cpu.run(1); // the NOP in the shadow
    expect(m.cpu.interruptsEnabled()).toBe(true);
    expect(m.cpu.eventCheck).toBe(true);
  });

  it('returns halted at HLT with EIP after it and activity 1, until an event arrives', () => {
    const m = machine();
    expect(m.cpu.run(10_000)).toBe(StopReason.halted);
    expect(m.cpu.eip).toBe(STI_AT + 4);
    expect(m.cpu.activity).toBe(1);
    expect(m.cpu.run(10)).toBe(StopReason.halted);
  });
});

describe('REP MOVS bulk path', () => {
  function copyRun(sliced: boolean, esi: number, edi: number, ecx: number) {
    const m = machine();
    for (let i = 0; i < 0x4000; i++) m.mem.u8[0x40000 + i] = (i * 13 + 5) & 0xff;
    const c = m.cpu;
    c.eip = REP_AT;
    c.regs[Reg.ESI] = esi;
    c.regs[Reg.EDI] = edi;
    c.regs[Reg.ECX] = ecx;
    let stops = 0;
    // budgets that end exactly with the REP, so nothing after it runs
    while (c.instructionCount < ecx && stops < 100_000) {
      c.run(sliced ? Math.min(1 + (stops % 7), ecx - c.instructionCount) : ecx);
      stops++;
    }
    expect(c.eip).toBe(STI_AT);
    return { mem: Array.from(m.mem.u8.subarray(0x40000, 0x48000)), count: c.instructionCount, regs: Array.from(c.regs), stops };
  }

  it('gives the same memory, registers and instruction count as element-by-element execution', () => {
    for (const [esi, edi, n] of [
      [0x40ffd, 0x44ff0, 5000],
      [0x40000, 0x40003, 3000], // overlapping forward copy: must repeat the pattern
      [0x40010, 0x40000, 4096],
    ] as const) {
      const bulk = copyRun(false, esi, edi, n);
      const slow = copyRun(true, esi, edi, n);
      expect(bulk.stops).toBe(1);
      expect(bulk.count).toBe(n);
      expect(slow.count).toBe(n);
      expect(bulk.regs).toEqual(slow.regs);
      expect(bulk.mem).toEqual(slow.mem);
    }
  });
});
