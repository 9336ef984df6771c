/**
 * Throughput of the interpreter on a compute loop in flat 32-bit protected mode (ALU ops, loads,
 * a store, a conditional branch). Logs the MIPS figure; fails only if the core is grossly slow or
 * the loop computes a wrong result.
 */
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import { Reg } from './cpu.js';
import { StopReason } from './interfaces.js';

/*
 * .code32
 * # compute loop: ALU ops, memory loads and a store, 7 instructions per iteration
 *   xor %eax, %eax
 *   mov $0x20000, %esi
 *   mov $2000000, %ecx
 * 1:
 *   add (%esi), %eax
 *   xor %ecx, %eax
 *   mov %eax, 4(%esi)
 *   add $8, %esi
 *   and $0x20ff8, %esi
 *   dec %ecx
 *   jnz 1b
 *   hlt
 */
const LOOP = [
  0x31, 0xc0, 0xbe, 0x00, 0x00, 0x02, 0x00, 0xb9, 0x80, 0x84, 0x1e, 0x00, 0x03, 0x06, 0x31, 0xc8, 0x89, 0x46, 0x04, 0x83, 0xc6, 0x08,
  0x81, 0xe6, 0xf8, 0x0f, 0x02, 0x00, 0x49, 0x75, 0xed, 0xf4,
];
const ITERATIONS = 2_000_000;

/** The same loop in TypeScript, for the expected EAX. */
function reference(): number {
  const mem = new Int32Array(0x1000 / 4);
  let eax = 0;
  let esi = 0;
  for (let ecx = ITERATIONS; ecx !== 0; ecx--) {
    eax = (eax + mem[esi >> 2]!) | 0;
    eax ^= ecx;
    mem[(esi + 4) >> 2] = eax;
    esi = (esi + 8) & 0xff8;
  }
  return eax;
}

describe('interpreter speed', () => {
  it('runs the compute loop and reports MIPS', () => {
    const m = new BareMachine();
    m.load(0x10000, LOOP);
    m.flat32(0x10000);
    const t0 = performance.now();
    const r = m.cpu.run(100_000_000);
    const ms = performance.now() - t0;
    const mips = m.cpu.instructionCount / ms / 1000;
    console.log(`compute loop: ${m.cpu.instructionCount} instructions in ${ms.toFixed(0)} ms = ${mips.toFixed(1)} MIPS`);
    expect(r).toBe(StopReason.halted);
    expect(m.cpu.instructionCount).toBe(3 + ITERATIONS * 7 + 1);
    expect(m.cpu.regs[Reg.EAX]).toBe(reference());
    expect(mips).toBeGreaterThan(1);
  });
});
