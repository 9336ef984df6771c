/**
 * The fast path (fast-path.ts) against the general decoder: the same random instructions, built
 * around the opcodes the fast path handles, run once on a machine with the fast path and once on
 * one without; registers, EIP, EFLAGS, stop reasons and data memory must stay identical.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import { Reg } from './cpu.js';
import { Cr0, Pte } from './arch.js';
import { xorshift32 } from './testing/xorshift.js';

const CODE = 0x10000;
const DATA = 0x20000;
const DATA_SIZE = 0x10000;
const HANDLER = 0x5000;
/** HLT: every exception handler stops the run, so a fault shows in the stop reason and EIP. */
const HLT = 0xf4;
const STEPS = 100_000;
/** First bytes the fast path handles (0x0f is followed by one of SECOND). */
const FIRST = [
  0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39, 0x03, 0x0b, 0x13, 0x1b, 0x23, 0x2b, 0x33, 0x3b, 0x05, 0x0d, 0x15, 0x1d, 0x25,
  0x2d, 0x35, 0x3d, 0x0f, 0x40, 0x43, 0x45, 0x47, 0x48, 0x4b, 0x4d, 0x4f, 0x50, 0x54, 0x57, 0x58, 0x5c, 0x5f, 0x70, 0x72, 0x73,
  0x74, 0x75, 0x76, 0x77, 0x78, 0x7a, 0x7c, 0x7d, 0x7e, 0x7f, 0x81, 0x83, 0x85, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x90, 0xb8, 0xbc,
  0xc1, 0xc3, 0xc6, 0xc7, 0xd1, 0xe8, 0xe9, 0xeb, 0xf7, 0xff, 0x66, 0xf3, 0x80, 0xd3,
] as const;
const SECOND = [0x80, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x8c, 0x8d, 0x8e, 0x8f, 0xb6, 0xaf, 0xb7, 0xbe, 0xa3] as const;
/** Register values at the edges of the flag conditions. */
const EDGES = [0, 1, 2, -1, 0x7fffffff, -0x80000000, DATA] as const;
/** Flag producers run before each instruction, so conditions see every lazy state. */
const PRODUCERS = [
  [0x39, 0xd8], // cmp eax, ebx
  [0x39, 0xc0], // cmp eax, eax
  [0x83, 0xf9, 0x01], // cmp ecx, 1
  [0x85, 0xc9], // test ecx, ecx
  [0x4a], // dec edx
  [0x01, 0xf0], // add eax, esi
  [0x80, 0xfb, 0x10], // cmp bl, 0x10
  [0xd1, 0xe8], // shr eax, 1
  [0x66, 0x29, 0xc8], // sub ax, cx
  [0x11, 0xda], // adc edx, ebx
  [0xf7, 0xd9], // neg ecx
] as const;

function machine(fast: boolean): BareMachine {
  const m = new BareMachine(1 << 20);
  m.cpu.fastPathEnabled = fast;
  m.flat32(CODE);
  m.load(HANDLER, [HLT]);
  for (let v = 0; v < 32; v++) m.setGate(v, HANDLER);
  return m;
}

describe('fast path', () => {
  it('matches the general decoder on random instructions', () => {
    const next = xorshift32(0xfa57);
    const a = machine(true);
    const b = machine(false);
    const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
    let faults = 0;
    for (let i = 0; i < STEPS; i++) {
      const bytes: number[] = [...pick(PRODUCERS)];
      const first = pick(FIRST);
      bytes.push(first);
      if (first === 0x0f) bytes.push(pick(SECOND));
      for (let k = 0; k < 10; k++) bytes.push(next() & 0xff);
      const regs: number[] = [];
      for (let r = 0; r < 8; r++) {
        // mostly addresses inside the data area, so memory forms reach RAM
        const kind = next() % 4;
        regs.push(kind === 0 ? next() | 0 : kind === 1 ? pick(EDGES) : DATA + (next() % DATA_SIZE));
      }
      regs[Reg.ESP] = DATA + DATA_SIZE / 2 + (next() % 256) * 4;
      const flags = next() & 0x8d5;
      for (const m of [a, b]) {
        m.load(CODE, bytes);
        m.cpu.regs.set(regs);
        m.cpu.setEflags(flags | 0x2);
        m.cpu.eip = CODE;
      }
      const ra = [a.cpu.run(1), a.cpu.run(1)];
      const rb = [b.cpu.run(1), b.cpu.run(1)];
      if (a.cpu.eip === HANDLER) faults++;
      const where = `step ${i}: ${bytes.map((x) => x.toString(16).padStart(2, '0')).join(' ')}`;
      expect(ra, where).toEqual(rb);
      expect(Array.from(a.cpu.regs), where).toEqual(Array.from(b.cpu.regs));
      expect(a.cpu.eip, where).toBe(b.cpu.eip);
      expect(a.cpu.getEflags(), where).toBe(b.cpu.getEflags());
      if (i % 1000 === 0) {
        expect(Buffer.compare(a.mem.u8.subarray(DATA, DATA + DATA_SIZE), b.mem.u8.subarray(DATA, DATA + DATA_SIZE)), where).toBe(0);
      }
      if (a.cpu.activity !== 0 || b.cpu.activity !== 0) {
        expect(a.cpu.activity).toBe(b.cpu.activity);
        a.cpu.activity = 0;
        b.cpu.activity = 0;
      }
    }
    expect(Buffer.compare(a.mem.u8, b.mem.u8)).toBe(0);
    // the random mix must reach the exception paths too, not only the happy ones
    expect(faults).toBeGreaterThan(100);
  });

  it('sees code written in the page it is running from (self-modifying code)', () => {
    const m = machine(true);
    // mov byte [CODE+0x10], 0x40 (INC EAX over the NOP there); NOPs; the patched byte; HLT
    const patchAt = CODE + 0x10;
    const code = [0xc6, 0x05, ...[0, 8, 16, 24].map((s) => (patchAt >>> s) & 0xff), 0x40];
    while (code.length < 0x10) code.push(0x90);
    code.push(0x90, HLT);
    m.load(CODE, code);
    m.cpu.regs[Reg.EAX] = 5;
    m.cpu.eip = CODE;
    m.cpu.run(100);
    expect(m.cpu.eip).toBe(patchAt + 2);
    expect(m.cpu.regs[Reg.EAX]).toBe(6);
  });

  for (const [name, flush] of [
    ['INVLPG', [0x0f, 0x01, 0x3d, 0x00, 0x00, 0x03, 0x00]], // invlpg [0x30000]
    ['a CR3 load', [0x0f, 0x20, 0xd9, 0x0f, 0x22, 0xd9, 0x90]], // mov ecx, cr3; mov cr3, ecx; nop
  ] as const) {
    it(`fetches from the new frame after ${name} remaps the page it runs from`, () => {
      const m = machine(true);
      const pd = 0x40000;
      const pt = 0x41000;
      const page = 0x30000;
      const other = 0x50000;
      const rw = Pte.P | Pte.RW;
      m.w32(pd, pt | rw);
      for (let i = 0; i < 1024; i++) m.w32(pt + i * 4, (i << 12) | rw);
      const pteAt = pt + (page >>> 12) * 4;
      // mov dword [pteAt], other|rw; the flush; then INC EAX here, DEC EAX in the other frame
      const head = [0xc7, 0x05, ...le32(pteAt), ...le32(other | rw), ...flush];
      m.load(page, [...head, 0x40, HLT]);
      m.load(other, [...head, 0x48, HLT]);
      const cpu = m.cpu;
      cpu.cr3 = pd;
      cpu.cr0 |= Cr0.PG;
      cpu.regs[Reg.EAX] = 0;
      cpu.eip = page;
      cpu.run(10);
      expect(cpu.eip).toBe(page + head.length + 2);
      expect(cpu.regs[Reg.EAX]).toBe(-1);
    });
  }
});

function le32(v: number): number[] {
  return [0, 8, 16, 24].map((s) => (v >>> s) & 0xff);
}
