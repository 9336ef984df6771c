/**
 * The multiboot test guests of guests/images on the bare Cpu: each transcript on COM1 and the
 * exit status must equal the recording in guests/expected (made on QEMU TCG, -cpu pentium3).
 * Status follows the tskvm CLI contract: debug-exit value v → (v << 1) | 1, halted → 0,
 * triple fault → 3. The bare machine provides COM1 output, the debug-exit port and a minimal
 * PIC/PIT for the interrupt tests.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BareMachine } from './testing/bare-machine.js';
import { StopReason } from './interfaces.js';

const root = new URL('../../guests/', import.meta.url);
/** Guests that need only the CPU (dev-* guests need the device models of userspace/). */
const images = existsSync(new URL('images/', root))
  ? readdirSync(new URL('images/', root)).filter(
      (f) => f.endsWith('.elf') && !f.startsWith('dev-') && existsSync(new URL(`expected/${f.slice(0, -4)}.txt`, root)),
    )
  : [];

/** DESIGN.md exit status for a triple fault. */
const TRIPLE_FAULT_STATUS = 3;

describe('test guests on the bare CPU', () => {
  it('realmode-add (raw real-mode binary at 0x1000, AL = BL = 2)', () => {
    const m = new BareMachine();
    m.load(0x1000, readFileSync(new URL('images/realmode-add.bin', root)));
    m.realMode(0, 0x1000);
    m.cpu.regs[0] = 2;
    m.cpu.regs[3] = 2;
    expect(m.run(100)).toBe(StopReason.halted);
    expect(m.serial).toBe(readFileSync(new URL('expected/realmode-add.txt', root), 'utf8'));
  });

  it('finds the guest images', () => {
    expect(images.length).toBeGreaterThan(0);
  });
  for (const image of images) {
    const name = image.slice(0, -4);
    it(name, () => {
      const m = new BareMachine(32 << 20);
      m.bootMultiboot(new Uint8Array(readFileSync(new URL(`images/${image}`, root))));
      const r = m.run(200_000_000);
      const status = m.exitCode !== null ? ((m.exitCode << 1) | 1) >>> 0 : r === StopReason.shutdown ? 3 : r === StopReason.halted ? 0 : -1;
      const expected = readFileSync(new URL(`expected/${name}.txt`, root), 'utf8');
      const expectedStatus = Number(readFileSync(new URL(`expected/${name}.status`, root), 'utf8').trim());
      expect(m.serial).toBe(expected);
      // guests/README.md: triple-fault.status keeps QEMU's -no-reboot status 0; tskvm's contract is 3
      expect(status).toBe(name === 'triple-fault' ? TRIPLE_FAULT_STATUS : expectedStatus);
    });
  }
});
