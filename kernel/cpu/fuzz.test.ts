/**
 * Fuzz: random bytes (fixed seed) executed as code in a bare machine, first from real mode, then
 * from flat 32-bit protected mode, whose IVT/IDT sends every vector to a handler that reloads flat segments and a stack and jumps back into the random code. Over
 * 10 million instructions the core must never throw a host exception and run() must keep
 * returning; shutdowns, HLT and debug exits just start a new random program.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import { StopReason } from './interfaces.js';
import { xorshift32 } from './testing/xorshift.js';

/*
 * .code32
 * # fuzz catch-all handler at 0x5000: fresh flat segments and stack, resume at the entry in 0x5100
 *   mov $0x10, %eax
 *   mov %eax, %ds
 *   mov %eax, %es
 *   mov %eax, %ss
 *   mov %eax, %fs
 *   mov %eax, %gs
 *   mov $0x90000, %esp
 *   jmp *0x5100
 */
const HANDLER = [
  0xb8, 0x10, 0x00, 0x00, 0x00, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0x8e, 0xe0, 0x8e, 0xe8, 0xbc, 0x00, 0x00, 0x09, 0x00, 0xff, 0x25,
  0x00, 0x51, 0x00, 0x00,
];
/*
 * .code16
 * # real-mode fuzz catch-all at 0x5200: flat real-mode segments, a fresh stack, far jump through the pointer at 0:0x5100 (IVT entries are 0:0x5200)
 *   xor %ax, %ax
 *   mov %ax, %ss
 *   mov $0x7000, %sp
 *   mov %ax, %ds
 *   mov %ax, %es
 *   ljmp *%cs:0x5100
 */
const REAL_HANDLER = [
  0x31, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x70, 0x8e, 0xd8, 0x8e, 0xc0, 0x2e, 0xff, 0x2e, 0x00, 0x51
];
const REAL_HANDLER_AT = 0x5200;
const HANDLER_AT = 0x5000;
const RESUME_SLOT = 0x5100;
const CODE = 0x10000;
const CODE_SIZE = 0x10000;
const TOTAL = 10_000_000;
/** Share of the instructions started from real mode (the rest from flat 32-bit protected mode). */
const REAL_MODE_SHARE = 0.25;

describe('fuzz', () => {
  it('runs 10 million random instructions without a host exception', () => {
    const next = xorshift32(0x5eed);
    const m = new BareMachine(4 << 20);
    let programs = 0;
    let executed = 0;
    const stops = new Map<number, number>();
    const start = () => {
      programs++;
      for (let i = 0; i < CODE_SIZE; i++) m.mem.u8[CODE + i] = next() & 0xff;
      const entry = CODE + (next() % CODE_SIZE);
      if (executed < TOTAL * REAL_MODE_SHARE) {
        // real mode: code segment 0x1000, IVT entries 0:REAL_HANDLER_AT
        m.realMode(CODE >> 4, entry - CODE);
        m.load(REAL_HANDLER_AT, REAL_HANDLER);
        for (let v = 0; v < 256; v++) m.w32(v * 4, REAL_HANDLER_AT);
        m.w32(RESUME_SLOT, ((CODE >> 4) << 16) | (next() & 0xffff));
      } else {
        m.flat32(entry);
        m.load(HANDLER_AT, HANDLER);
        m.w32(RESUME_SLOT, CODE + (next() % CODE_SIZE));
        for (let v = 0; v < 256; v++) m.setGate(v, HANDLER_AT);
      }
      m.exitCode = null;
    };
    start();
    while (executed < TOTAL) {
      const before = m.cpu.instructionCount;
      const r = m.cpu.run(20_000);
      executed += m.cpu.instructionCount - before;
      stops.set(r, (stops.get(r) ?? 0) + 1);
      // a fresh program on every stop and now and then anyway, so tight loops do not eat the budget
      if (r !== StopReason.budget || m.exitCode !== null || next() % 4 === 0) start();
      else if (m.cpu.pe) m.w32(RESUME_SLOT, CODE + (next() % CODE_SIZE));
    }
    expect(executed).toBeGreaterThanOrEqual(TOTAL);
    expect(programs).toBeGreaterThan(100);
    // shutdowns (triple faults) and halts must both have happened and been survived
    expect(stops.get(StopReason.budget)).toBeGreaterThan(0);
  });
});
