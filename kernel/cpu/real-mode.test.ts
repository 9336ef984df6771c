/**
 * Real mode on the bare CPU (SDM Vol. 3A ch. 20): IVT dispatch of INT n and of #DE (a fault, so
 * the handler steps over the DIV), REP MOVSB, LODSB/LOOP, near CALL/RET and a far JMP; IP at
 * the top of the 64 KiB segment.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import * as S from './testing/snippets.js';
import { Reg, SReg } from './cpu.js';
import { StopReason } from './interfaces.js';

describe('real mode', () => {
  it('runs the IVT, string and control-transfer program', () => {
    const m = new BareMachine();
    m.load(0x7c00, S.REAL);
    m.realMode(0, 0x7c00);
    m.run(1000);
    expect(m.serial).toBe('BDEXYZF');
    expect(m.exitCode).toBe(0);
    expect(m.cpu.segSel[SReg.CS]).toBe(0x07c0);
    expect(m.cpu.segBase[SReg.CS]).toBe(0x7c00);
    expect(String.fromCharCode(...m.mem.u8.subarray(0x600, 0x603))).toBe('XYZ');
  });

  it('reset() gives the power-on state (SDM table 9-1)', () => {
    const m = new BareMachine();
    m.cpu.reset();
    expect(m.cpu.eip).toBe(0xfff0);
    expect(m.cpu.segBase[SReg.CS]! >>> 0).toBe(0xffff0000);
    expect(m.cpu.getEflags()).toBe(2);
    expect(m.cpu.cpl).toBe(0);
    expect(m.cpu.cr0 >>> 0).toBe(0x60000010);
    expect(m.cpu.regs[2]).toBe(0x683); // EDX: the processor signature
  });

  it('IP wraps from 0xffff to 0 between instructions', () => {
    // INC AX at 1000:FFFF, then HLT at 1000:0000
    const m = new BareMachine();
    m.load(0x1ffff, [0x40]);
    m.load(0x10000, [0xf4]);
    m.realMode(0x1000, 0xffff);
    expect(m.cpu.run(10)).toBe(StopReason.halted);
    expect(m.cpu.regs[Reg.EAX]! & 0xffff).toBe(1);
    expect(m.cpu.eip).toBe(1);
  });

  it('an instruction that runs past offset 0xffff raises #GP (vector 13 through the IVT)', () => {
    // MOV AX, imm16 at 1000:FFFE has its last byte at 0x10000; the #GP handler at 0:0500 halts
    const m = new BareMachine();
    m.load(0x1fffe, [0xb8, 0x34, 0x12]);
    m.load(0x500, [0xf4]);
    m.w32(13 * 4, 0x0000_0500);
    m.realMode(0x1000, 0xfffe);
    expect(m.cpu.run(10)).toBe(StopReason.halted);
    expect(m.cpu.eip).toBe(0x501);
    expect(m.cpu.regs[Reg.EAX]! & 0xffff).not.toBe(0x1234);
    // the pushed return IP is the faulting instruction's
    expect(m.mem.u8[0x7000 - 6]! | (m.mem.u8[0x7000 - 5]! << 8)).toBe(0xfffe);
  });
});
