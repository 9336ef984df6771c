/**
 * 32-bit paging (SDM Vol. 3A 4.3, 4.7): #PF error codes and CR2 for not-present pages, writes to
 * read-only pages with CR0.WP, user accesses to supervisor pages, accessed/dirty bits, 4 MiB pages
 * with CR4.PSE, and the TLB's INVLPG / CR3 behaviour.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import { installExceptionStubs, Record } from './testing/exception-stubs.js';
import * as S from './testing/snippets.js';
import { Pte, Vector } from './arch.js';
import { Reg } from './cpu.js';

const PD = 0x20000;
const PT = 0x21000;
const URW = Pte.P | Pte.RW | Pte.US;

function pagedMachine(body: readonly number[]): BareMachine {
  const m = new BareMachine();
  m.load(0x10000, S.PAGING);
  m.load(0x10100, body);
  m.flat32(0x10000);
  installExceptionStubs(m);
  m.w32(PD, PT | URW);
  for (let i = 0; i < 1024; i++) m.w32(PT + i * 4, (i << 12) | URW);
  return m;
}
const pte = (m: BareMachine, page: number) => m.r32(PT + page * 4);

describe('page faults', () => {
  it('not-present read: error code 0, CR2 = address, EIP at the access', () => {
    const m = pagedMachine(S.PF);
    m.w32(PT + 0x30 * 4, 0);
    m.run(1000);
    expect(m.r32(Record.vector)).toBe(Vector.PF);
    expect(m.r32(Record.errorCode)).toBe(0);
    expect(m.r32(Record.cr2)).toBe(0x30000);
    expect(m.r32(Record.eip)).toBe(0x10100);
    expect(m.cpu.cr2).toBe(0x30000);
  });

  it('write to a read-only page with CR0.WP at CPL 0: error code P|W', () => {
    const m = pagedMachine(S.PF);
    m.w32(PT + 0x30 * 4, 0x30000 | Pte.P | Pte.US);
    m.run(1000);
    expect(m.r32(Record.vector)).toBe(Vector.PF);
    expect(m.r32(Record.errorCode)).toBe(3);
    expect(m.r32(Record.cr2)).toBe(0x30004);
    expect(m.r32(Record.eip)).toBe(0x10105);
    // the read before set the accessed bit, the failed write no dirty bit
    expect(pte(m, 0x30) & (Pte.A | Pte.D)).toBe(Pte.A);
  });

  it('user read of a supervisor page: error code P|U', () => {
    const m = pagedMachine(S.PF);
    m.w32(PT + 0x31 * 4, 0x31000 | Pte.P | Pte.RW);
    m.run(1000);
    expect(m.r32(Record.vector)).toBe(Vector.PF);
    expect(m.r32(Record.errorCode)).toBe(5);
    expect(m.r32(Record.cr2)).toBe(0x31008);
    expect(m.r32(Record.eip)).toBe(0x10126);
  });

  it('user write to a read-only page: error code P|W|U', () => {
    const m = pagedMachine(S.PF);
    // make the ring-3 read a write: patch "mov 0x31008, %eax" (A1 imm32) into "mov %eax, 0x31008" (A3)
    m.mem.u8[0x10126] = 0xa3;
    m.w32(PT + 0x31 * 4, 0x31000 | Pte.P | Pte.US);
    m.run(1000);
    expect(m.r32(Record.errorCode)).toBe(7);
  });

  it('sets accessed and dirty bits on successful accesses', () => {
    const m = pagedMachine(S.PF);
    m.run(1000);
    expect(m.r32(Record.vector)).toBe(Vector.UD);
    expect(pte(m, 0x30) & (Pte.A | Pte.D)).toBe(Pte.A | Pte.D);
    expect(pte(m, 0x31) & (Pte.A | Pte.D)).toBe(Pte.A);
    expect(pte(m, 0x32) & Pte.A).toBe(0);
    expect(m.r32(PD) & Pte.A).toBe(Pte.A);
  });
});

describe('4 MiB pages and the TLB', () => {
  it('maps linear 4-8 MiB to physical 0 through a PSE page directory entry', () => {
    const m = pagedMachine(S.BIG);
    m.w32(PD + 4, 0 | Pte.PS | URW);
    m.run(1000);
    expect(m.exitCode).toBe(0);
    expect(m.r32(0x7300)).toBe(m.r32(0x10000));
    expect(m.r32(0x8000)).toBe(0xabcd);
    expect(m.r32(PD + 4) & (Pte.A | Pte.D)).toBe(Pte.A | Pte.D);
  });

  it('keeps a cached translation until INVLPG or a CR3 load', () => {
    const m = pagedMachine(S.PF);
    m.run(1000);
    const cpu = m.cpu;
    // page 0x30 is cached; remap it to 0x40000 in memory only
    m.w32(0x40000, 0x4444);
    m.w32(0x30000, 0x3333);
    m.w32(PT + 0x30 * 4, 0x40000 | URW);
    expect(cpu.rdLin32(0x30000)).toBe(0x3333);
    cpu.invalidatePage(0x30000);
    expect(cpu.rdLin32(0x30000)).toBe(0x4444);
    m.w32(PT + 0x30 * 4, 0x30000 | URW);
    expect(cpu.rdLin32(0x30000)).toBe(0x4444);
    cpu.flushTlb();
    expect(cpu.rdLin32(0x30000)).toBe(0x3333);
  });

  it('keeps global pages (CR4.PGE) across a CR3 load and drops the others', () => {
    const m = pagedMachine(S.PGE);
    m.w32(PT + 0x30 * 4, 0x30000 | URW | Pte.G);
    m.w32(0x30000, 0x1111);
    m.w32(0x31000, 0x2222);
    m.w32(0x40000, 0x4444);
    // after the first reads, remap both pages to 0x40000 behind the TLB's back
    m.cpu.run(7 + 4); // paging setup (6) and the body up to the two reads
    expect(m.cpu.regs[Reg.EBX]).toBe(0x1111);
    expect(m.cpu.regs[Reg.ECX]).toBe(0x2222);
    m.w32(PT + 0x30 * 4, 0x40000 | URW | Pte.G);
    m.w32(PT + 0x31 * 4, 0x40000 | URW);
    m.run(100);
    expect(m.cpu.regs[Reg.ESI]).toBe(0x1111); // global: still the cached translation
    expect(m.cpu.regs[Reg.EDI]).toBe(0x4444); // flushed by the CR3 load
  });
});
