/**
 * Protected mode on the bare CPU: privilege transitions through IRET and an interrupt gate with
 * the TSS stack switch, the exceptions with their error codes and saved EIP (SDM Vol. 3A ch. 6),
 * double and triple fault, and 16-bit code segments.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine, Layout, Sel } from './testing/bare-machine.js';
import { installExceptionStubs, Record } from './testing/exception-stubs.js';
import * as S from './testing/snippets.js';
import { StopReason } from './interfaces.js';
import { SysType, Vector } from './arch.js';

const CODE = 0x10000;

function machine(code: readonly number[], at = CODE): BareMachine {
  const m = new BareMachine();
  m.load(at, code);
  m.flat32(at);
  installExceptionStubs(m);
  return m;
}

function recorded(m: BareMachine) {
  return {
    vector: m.r32(Record.vector),
    errorCode: m.r32(Record.errorCode),
    eip: m.r32(Record.eip),
    cs: m.r32(Record.cs),
    count: m.r32(Record.count),
  };
}

describe('privilege levels', () => {
  it('enters ring 3 with IRET and returns through a DPL-3 gate with the TSS stack switch', () => {
    const m = machine(S.RING3);
    m.setGate(0x80, 0x10030, SysType.intGate32, 3);
    m.run(1000);
    expect(m.exitCode).toBe(0);
    expect(m.r32(0x7100) & 0xffff).toBe(Sel.userCode32); // CS in ring 3
    expect(m.r32(0x7104)).toBe(Layout.ring0StackTop - 20); // SS:ESP from TSS.SS0:ESP0, 5 dwords pushed
    expect(m.r32(0x7108) & 0xffff).toBe(Sel.userCode32); // pushed CS
    expect(m.r32(0x710c)).toBe(0x70000); // pushed ESP
    expect(m.r32(0x7110) & 0xffff).toBe(Sel.userData32); // pushed SS
    expect(m.r32(0x7114) & 0xffff).toBe(Sel.code32); // CPL 0 again
    expect(m.r32(0x7118) & 0xffff).toBe(Sel.data32); // SS from the TSS
  });

  it('CLI in ring 3 with IOPL 0 raises #GP(0) at the CLI', () => {
    const m = machine(S.RING3CLI);
    m.run(1000);
    expect(recorded(m)).toMatchObject({ vector: Vector.GP, errorCode: 0, eip: 0x10010, cs: Sel.userCode32 });
  });

  it('INT n through a gate with DPL < CPL raises #GP(n*8+2)', () => {
    const m = machine(S.RING3INT);
    m.setGate(0x81, 0x10030, SysType.intGate32, 0);
    m.run(1000);
    expect(recorded(m)).toMatchObject({ vector: Vector.GP, errorCode: 0x81 * 8 + 2, eip: 0x10010 });
  });
});

describe('exceptions', () => {
  it('#UD for UD2 with EIP at the instruction', () => {
    const m = machine(S.UD2);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.UD, eip: 0x10001, count: 1 });
  });
  it('#DE for DIV by zero, a fault', () => {
    const m = machine(S.DE);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.DE, eip: 0x10009 });
  });
  it('#BP for INT3, a trap: EIP after the instruction', () => {
    const m = machine(S.BP);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.BP, eip: 0x10002 });
  });
  it('#OF for INTO with OF set', () => {
    const m = machine(S.INTO);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.OF, eip: 0x10009 });
  });
  it('#BR for BOUND out of range', () => {
    const m = machine(S.BOUND);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.BR, eip: 0x10019 });
  });
  it('#GP(selector) loading a selector with no descriptor (TI=1, no LDT)', () => {
    const m = machine(S.GPSEL);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.GP, errorCode: 0x1234, eip: 0x10005 });
  });
  it('#GP(0) writing through a code segment', () => {
    const m = machine(S.GPCS);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.GP, errorCode: 0, eip: 0x10000 });
  });
  it('#UD for LOCK with a register destination', () => {
    const m = machine(S.LOCKREG);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.UD, eip: 0x10000 });
  });
  it('x87 opcodes: executed without CR0.EM/TS (FNINIT), #NM with CR0.TS', () => {
    const m = machine(S.FPU);
    m.cpu.run(1);
    expect(recorded(m).count).toBe(0);
    expect(m.cpu.eip).toBe(0x10002);
    expect(m.cpu.fpu.cw).toBe(0x37f);
    const n = machine(S.FPU);
    n.cpu.cr0 |= 8; // TS
    n.run(100);
    expect(recorded(n).vector).toBe(Vector.NM);
  });
  it('IA32_BIOS_SIGN_ID (0x8B): write 0, CPUID, read back the microcode revision in EDX', () => {
    // mov ecx, 0x8b; xor eax, eax; xor edx, edx; wrmsr; mov eax, 1; cpuid; mov ecx, 0x8b; rdmsr; hlt
    const m = machine([0xb9, 0x8b, 0, 0, 0, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xb9, 0x8b, 0, 0, 0, 0x0f, 0x32, 0xf4]);
    m.run(100);
    expect(recorded(m).count).toBe(0);
    expect(m.cpu.regs[0]).toBe(0); // EAX
    expect(m.cpu.regs[2]).toBe(1); // EDX: revision 1
  });
  it('#GP then #NP (gate 13 not present) becomes #DF with error code 0', () => {
    const m = machine(S.GPSEL);
    m.w32(Layout.idt + 13 * 8 + 4, m.r32(Layout.idt + 13 * 8 + 4) & ~0x8000);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.DF, errorCode: 0, count: 1 });
  });
  it('a benign exception whose gate is missing is followed by #NP, not #DF', () => {
    const m = machine(S.UD2);
    m.w32(Layout.idt + Vector.UD * 8 + 4, m.r32(Layout.idt + Vector.UD * 8 + 4) & ~0x8000);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.NP, errorCode: Vector.UD * 8 + 2 + 1 });
  });
  it('triple fault: no usable IDT stops the machine with activity state shutdown', () => {
    const m = machine(S.UD2);
    m.cpu.idtrLimit = 0;
    const r = m.run(100);
    expect(r).toBe(StopReason.shutdown);
    expect(m.cpu.activity).toBe(2);
    expect(m.cpu.run(10)).toBe(StopReason.shutdown);
  });
});

describe('16-bit protected mode', () => {
  it('far-jumps to a 16-bit code segment and honours the 0x66/0x67 prefixes', () => {
    const m = machine(S.PM16, 0x8000);
    m.run(100);
    expect(m.serial).toBe('6');
    expect(m.exitCode).toBe(0);
    expect(m.r32(0x7200)).toBe(0x12345678);
    expect(m.mem.read16(0x7204)).toBe(0x55aa);
    expect(m.cpu.segSel[1]).toBe(Sel.code16);
  });
});

describe('deliverEvent (VM-entry injection)', () => {
  it('delivers an external interrupt with the current EIP as return address', () => {
    const m = machine(S.BP);
    m.setGate(0x30, 0x6000 + 16 * 3); // reuse the #BP stub as the handler
    m.cpu.deliverEvent(0x30, 0, 0, false, 0);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.BP, eip: 0x10000, cs: Sel.code32 });
  });

  it('delivers a software interrupt with EIP + instruction length and clears HLT', () => {
    const m = machine(S.BP);
    m.setGate(0x30, 0x6000 + 16 * 3);
    m.cpu.activity = 1;
    m.cpu.deliverEvent(0x30, 4, 0, false, 2);
    expect(m.cpu.activity).toBe(0);
    m.run(100);
    expect(recorded(m).eip).toBe(0x10002);
  });

  it('delivers a hardware exception with its error code', () => {
    const m = machine(S.BP);
    m.cpu.deliverEvent(Vector.GP, 3, 0x28, true, 0);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.GP, errorCode: 0x28, eip: 0x10000 });
  });

  it('turns a #GP while injecting #GP into #DF', () => {
    const m = machine(S.BP);
    m.cpu.idtrLimit = 13 * 8 - 1; // gate 13 beyond the limit, gate 8 inside
    m.cpu.deliverEvent(Vector.GP, 3, 0, true, 0);
    m.run(100);
    expect(recorded(m)).toMatchObject({ vector: Vector.DF, errorCode: 0 });
  });
});
