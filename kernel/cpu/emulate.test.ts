/**
 * cpu.emulate(): KVM's instruction emulator (arch/x86/kvm/emulate.c). One instruction with
 * guest-physical accesses through EmulatorOps: RAM through gpaToHpa, MMIO through
 * mmioRead/mmioWrite, string port input through one pioIn call, and a full rollback when an op
 * throws EmulationAbort.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import * as S from './testing/snippets.js';
import { Reg } from './cpu.js';
import { EmulationAbort, MMIO, type AccessKind, type EmulatorOps } from './interfaces.js';

const MMIO_BASE = 0xd0000000;

class Ops implements EmulatorOps {
  reads: Array<[number, number]> = [];
  writes: Array<[number, number, number]> = [];
  pio: Array<[number, number, number]> = [];
  abort = false;
  gpaToHpa(gpa: number, _access: AccessKind): number {
    return gpa >= MMIO_BASE ? MMIO : gpa;
  }
  mmioRead(gpa: number, size: number): number {
    if (this.abort) throw EmulationAbort.instance;
    this.reads.push([gpa, size]);
    return 0x12345678;
  }
  mmioWrite(gpa: number, size: number, value: number): void {
    this.writes.push([gpa, size, value]);
  }
  pioIn(port: number, size: number, count: number): ArrayLike<number> {
    this.pio.push([port, size, count]);
    return Array.from({ length: count }, (_, i) => 0x100 + i);
  }
  pioOut(): void {}
}

function machine() {
  const m = new BareMachine();
  m.load(0x10000, S.EMU);
  m.flat32(0x10000);
  m.cpu.regs[Reg.EBX] = MMIO_BASE;
  return m;
}

describe('emulate()', () => {
  it('routes a load and a store to MMIO and advances EIP', () => {
    const m = machine();
    const ops = new Ops();
    expect(m.cpu.emulate(ops)).toBe(true);
    expect(m.cpu.regs[Reg.EAX]! >>> 0).toBe(0x12345678);
    expect(m.cpu.eip).toBe(0x10002);
    expect(ops.reads).toEqual([[MMIO_BASE, 4]]);
    expect(m.cpu.emulate(ops)).toBe(true);
    expect(ops.writes).toEqual([[MMIO_BASE + 4, 4, 0x12345678]]);
    expect(m.cpu.eip).toBe(0x10005);
    expect(m.cpu.tlbCount).toBe(0);
  });

  it('restores every register when an op aborts', () => {
    const m = machine();
    const ops = new Ops();
    ops.abort = true;
    m.cpu.regs[Reg.EAX] = 77;
    const flags = m.cpu.getEflags();
    expect(m.cpu.emulate(ops)).toBe(false);
    expect(m.cpu.regs[Reg.EAX]).toBe(77);
    expect(m.cpu.eip).toBe(0x10000);
    expect(m.cpu.getEflags()).toBe(flags);
  });

  it('runs REP INSW as one pioIn of ECX elements', () => {
    const m = machine();
    const ops = new Ops();
    m.cpu.eip = 0x10005;
    m.cpu.regs[Reg.ECX] = 4;
    m.cpu.regs[Reg.EDI] = 0x3000;
    m.cpu.regs[Reg.EDX] = 0x1f0;
    expect(m.cpu.emulate(ops)).toBe(true);
    expect(ops.pio).toEqual([[0x1f0, 2, 4]]);
    expect(Array.from(m.mem.u16.subarray(0x3000 / 2, 0x3000 / 2 + 4))).toEqual([0x100, 0x101, 0x102, 0x103]);
    expect(m.cpu.regs[Reg.ECX]).toBe(0);
    expect(m.cpu.regs[Reg.EDI]).toBe(0x3008);
    expect(m.cpu.eip).toBe(0x10008);
  });

  it('bounds a REP INSW to the page and leaves EIP on it for the rest', () => {
    const m = machine();
    const ops = new Ops();
    m.cpu.eip = 0x10005;
    m.cpu.regs[Reg.ECX] = 8;
    m.cpu.regs[Reg.EDI] = 0x3ffc;
    m.cpu.regs[Reg.EDX] = 0x1f0;
    expect(m.cpu.emulate(ops)).toBe(true);
    expect(ops.pio).toEqual([[0x1f0, 2, 2]]);
    expect(m.cpu.regs[Reg.ECX]).toBe(6);
    expect(m.cpu.eip).toBe(0x10005);
  });
});
