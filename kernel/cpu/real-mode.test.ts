/**
 * Real mode on the bare CPU (SDM Vol. 3A ch. 20): IVT dispatch of INT n and of #DE (a fault, so
 * the handler steps over the DIV), REP MOVSB, LODSB/LOOP, near CALL/RET and a far JMP.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import * as S from './testing/snippets.js';
import { SReg } from './cpu.js';

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
});
