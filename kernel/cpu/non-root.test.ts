/**
 * VMX non-root decision points (SDM 25.1.3, 26.1): a fake NonRootHooks records every call, maps
 * guest-physical addresses 1 MiB up (as EPT would) and exits on IN. The core must call each hook
 * before the instruction has any effect and leave EIP at an exiting instruction.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import * as S from './testing/snippets.js';
import { Reg } from './cpu.js';
import { StopReason, type AccessKind, type NonRootHooks } from './interfaces.js';
import type { Cpu } from './processor.js';
import { ExitReason } from './arch.js';

const EPT_OFFSET = 0x100000;
const IO_EXIT = 30;
const CR0_SHADOW = 0x11;

class FakeHooks implements NonRootHooks {
  calls: string[] = [];
  finals = 0;
  exitOnIn = true;
  throwOnIn = false;
  constructor(private readonly cpu: Cpu) {}
  cpuid(): boolean {
    this.calls.push('cpuid');
    return false;
  }
  hlt(): boolean {
    this.calls.push('hlt');
    return false;
  }
  invlpg(linear: number): boolean {
    this.calls.push(`invlpg ${linear}`);
    return false;
  }
  rdtsc(): boolean {
    this.calls.push('rdtsc');
    return false;
  }
  rdpmc(): boolean {
    this.calls.push('rdpmc');
    return false;
  }
  crWrite(cr: number, value: number, gpr: number, accessType: number): void {
    this.calls.push(`crWrite ${cr} ${value.toString(16)} ${gpr} ${accessType}`);
  }
  crRead(cr: number, gpr: number, _actual: number): number {
    this.calls.push(`crRead ${cr} ${gpr}`);
    return CR0_SHADOW;
  }
  movDr(dr: number, toDr: boolean, gpr: number): boolean {
    this.calls.push(`movDr ${dr} ${toDr} ${gpr}`);
    return false;
  }
  io(port: number, size: number, isIn: boolean, isString: boolean, isRep: boolean, immediate: boolean, instrLen: number): boolean {
    this.calls.push(`io ${port.toString(16)} ${size} ${isIn} ${isString} ${isRep} ${immediate} ${instrLen}`);
    if (!isIn || !this.exitOnIn) return false;
    const q = (size - 1) | (isIn ? 8 : 0) | (isString ? 16 : 0) | (isRep ? 32 : 0) | (immediate ? 64 : 0) | (port << 16);
    // Both ways a hook may exit must leave the same state.
    if (this.throwOnIn) this.cpu.vmExit(IO_EXIT, q, instrLen);
    return this.cpu.exitInstruction(IO_EXIT, q, instrLen);
  }
  rdmsr(msr: number): boolean {
    this.calls.push(`rdmsr ${msr.toString(16)}`);
    return false;
  }
  wrmsr(msr: number): boolean {
    this.calls.push(`wrmsr ${msr.toString(16)}`);
    return false;
  }
  exception(vector: number, errorCode: number, hasErrorCode: boolean): void {
    this.calls.push(`exception ${vector} ${errorCode} ${hasErrorCode}`);
  }
  tripleFault(): void {
    this.calls.push('tripleFault');
    this.cpu.vmExit(2, 0);
  }
  vmxInstruction(reason: number, instrLen: number): void {
    this.calls.push(`vmx ${reason} ${instrLen}`);
    this.cpu.vmExit(reason, 0, instrLen);
  }
  eventWindow(): void {
    this.calls.push('eventWindow');
  }
  translateGpa(gpa: number, _access: AccessKind, _linear: number, isFinal: boolean, _linearValid: boolean): number {
    if (isFinal) this.finals++;
    return gpa + EPT_OFFSET;
  }
}

function guest(): { m: BareMachine; hooks: FakeHooks } {
  const m = new BareMachine(4 << 20);
  m.flat32(0x10000);
  m.load(0x10000, S.NONROOT);
  // the guest's physical memory lives 1 MiB up in host memory
  m.mem.u8.copyWithin(EPT_OFFSET, 0, EPT_OFFSET);
  m.mem.u8.fill(0, 0, EPT_OFFSET);
  m.w32(EPT_OFFSET + 0x9000, 0x600d);
  const hooks = new FakeHooks(m.cpu);
  m.cpu.nonRoot = hooks;
  return { m, hooks };
}

describe('non-root operation', () => {
  it.each([false, true])('calls the hooks in order, translates through translateGpa and exits on IN with EIP at the IN (hook throws: %s)', (throwOnIn) => {
    const { m, hooks } = guest();
    hooks.throwOnIn = throwOnIn;
    m.cpu.eventCheck = true;
    const r = m.cpu.run(100);
    expect(r).toBe(StopReason.vmExit);
    expect(hooks.calls).toEqual(['eventWindow', 'cpuid', 'crWrite 3 5000 0 0', 'crRead 0 3', 'rdmsr 174', 'io 60 1 true false false true 2']);
    expect(m.cpu.eip).toBe(0x1001f);
    expect(m.cpu.exit.reason).toBe(IO_EXIT);
    expect(m.cpu.exit.instructionLength).toBe(2);
    expect(m.cpu.exit.qualification).toBe((0x60 << 16) | 0x48);
    expect(m.cpu.regs[Reg.EBX]).toBe(CR0_SHADOW);
    expect(m.cpu.cr3).toBe(0x5000);
    expect(m.cpu.regs[Reg.ESI]).toBe(0x600d); // read through the 1 MiB offset
    expect(hooks.finals).toBeGreaterThan(0);
  });

  it('resumes: IN without exit goes to the port, VMCALL exits with its reason, HLT calls the hook', () => {
    const { m, hooks } = guest();
    m.inputs.set(0x60, [0x5a]);
    expect(m.cpu.run(100)).toBe(StopReason.vmExit);
    hooks.exitOnIn = false;
    expect(m.cpu.run(100)).toBe(StopReason.vmExit);
    expect(m.cpu.regs[Reg.EAX]! & 0xff).toBe(0x5a);
    expect(m.cpu.exit.reason).toBe(ExitReason.VMCALL);
    expect(m.cpu.exit.instructionLength).toBe(3);
    expect(m.cpu.eip).toBe(0x10021);
    // the VMX unit would advance EIP past VMCALL on resume
    m.cpu.eip += 3;
    expect(m.cpu.run(100)).toBe(StopReason.halted);
    expect(hooks.calls.at(-1)).toBe('hlt');
  });

  it('VMCALL outside non-root operation is #UD', () => {
    const m = new BareMachine();
    m.load(0x10000, [0x0f, 0x01, 0xc1]);
    m.flat32(0x10000);
    m.cpu.idtrLimit = 0; // #UD → #GP → #DF → shutdown shows the #UD happened without hooks
    expect(m.cpu.run(10)).toBe(StopReason.shutdown);
  });

  it('reports exceptions to the exception hook before delivery', () => {
    const { m, hooks } = guest();
    m.mem.u8[EPT_OFFSET + 0x10000] = 0x0f; // UD2 at the entry
    m.mem.u8[EPT_OFFSET + 0x10001] = 0x0b;
    m.cpu.idtrLimit = 0;
    expect(m.cpu.run(10)).toBe(StopReason.vmExit);
    // Each exception raised while delivering another is first checked against the exception
    // bitmap (it could exit with IDT-vectoring information), and only then turned into #DF.
    expect(hooks.calls).toEqual(['exception 6 0 false', 'exception 13 51 true', 'exception 13 107 true', 'exception 8 0 true', 'exception 13 67 true', 'tripleFault']);
  });

  it('passes string, REP and length for REP INSB and exits before any element moves', () => {
    const { m, hooks } = guest();
    // rep insb (F3 6C) at the entry, after the I/O permission check (CPL 0: none)
    m.mem.u8[EPT_OFFSET + 0x10000] = 0xf3;
    m.mem.u8[EPT_OFFSET + 0x10001] = 0x6c;
    m.cpu.regs[Reg.ECX] = 4;
    m.cpu.regs[Reg.EDI] = 0x8000;
    m.cpu.regs[Reg.EDX] = 0x1f0;
    expect(m.cpu.run(10)).toBe(StopReason.vmExit);
    expect(hooks.calls).toEqual(['io 1f0 1 true true true false 2']);
    expect(m.cpu.eip).toBe(0x10000);
    expect(m.cpu.regs[Reg.ECX]).toBe(4);
    expect(m.cpu.exit.qualification).toBe((0x1f0 << 16) | 0x38);
  });

  it('calls movDr and rdtsc hooks before the instruction runs', () => {
    const { m, hooks } = guest();
    // mov %eax, %dr7 (0F 23 F8); rdtsc (0F 31); vmcall
    [0x0f, 0x23, 0xf8, 0x0f, 0x31, 0x0f, 0x01, 0xc1].forEach((b, i) => (m.mem.u8[EPT_OFFSET + 0x10000 + i] = b));
    m.cpu.regs[Reg.EAX] = 0x401;
    expect(m.cpu.run(10)).toBe(StopReason.vmExit);
    expect(hooks.calls).toEqual(['movDr 7 true 0', 'rdtsc', 'vmx 18 3']);
    expect(m.cpu.dr[7]).toBe(0x401);
  });
});
