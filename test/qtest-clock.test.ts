/**
 * The virtual clock end to end (DESIGN.md "Time", protocol/README.md §10): the same script of
 * register accesses and clock steps against two separate device-model processes gives
 * byte-identical transcripts — every irq edge, every announced deadline, every value read — so
 * no host time leaks into device timers; and nothing happens between clock messages.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceSpec } from '../protocol/messages.js';
import { QtestClient } from './qtest/qtest-client.js';

const PIT = { CH0: 0x40, CONTROL: 0x43, IRQ: 0, CH0_LOHI_MODE2: 0x34, CH0_LATCH: 0x00 } as const;
const CMOS = { INDEX: 0x70, DATA: 0x71, IRQ: 8, REG_A: 0x0a, REG_B: 0x0b, REG_C: 0x0c, SECONDS: 0x00 } as const;
/** Register A: 32.768 kHz divider, RS = 7 → 512 Hz. Register B: PIE, 24-hour. */
const CMOS_A_512HZ = 0x27;
const CMOS_B_PIE_24H = 0x42;
const MACHINE: DeviceSpec[] = [
  { type: 'pit', port: PIT.CH0, irq: PIT.IRQ },
  { type: 'cmos', irq: CMOS.IRQ },
];
/** Host-clock check: divisor 1193 ≈ 1 kHz, and how many edges to wait for. */
const HOST_TEST_DIVISOR = 1193;
const HOST_TEST_EDGES = 20;
/** Irregular steps (ns), so that timer deadlines fall inside steps, not on their edges. */
const STEPS = [1_234_567, 7_000_001, 13_333_333, 999, 25_000_000, 3_141_592, 40_000_000, 1, 18_181_818];

/** Run the script and return everything observable. */
async function transcript(): Promise<unknown> {
  const c = await QtestClient.start({ devices: MACHINE });
  try {
    const reads: number[] = [];
    await c.outb(PIT.CONTROL, PIT.CH0_LOHI_MODE2);
    await c.outb(PIT.CH0, 0x9c); // 11932 = 0x2E9C: 100 Hz
    await c.outb(PIT.CH0, 0x2e);
    await c.outb(CMOS.INDEX, CMOS.REG_A);
    await c.outb(CMOS.DATA, CMOS_A_512HZ);
    await c.outb(CMOS.INDEX, CMOS.REG_B);
    await c.outb(CMOS.DATA, CMOS_B_PIE_24H);
    for (const step of STEPS) {
      await c.clockStep(step);
      await c.outb(PIT.CONTROL, PIT.CH0_LATCH);
      reads.push((await c.inb(PIT.CH0)) | ((await c.inb(PIT.CH0)) << 8));
      await c.outb(CMOS.INDEX, CMOS.REG_C);
      reads.push(await c.inb(CMOS.DATA));
      // Real time passes here, virtual time does not: nothing may fire.
      const before = c.irqLog.length;
      await new Promise((resolve) => setTimeout(resolve, 5));
      await c.ping();
      expect(c.irqLog.length).toBe(before);
    }
    return { irqs: c.irqLog, deadlines: c.deadlines, reads };
  } finally {
    await c.dispose();
  }
}

describe('virtual clock', () => {
  it('two processes running the same script produce identical transcripts', async () => {
    const [a, b] = await Promise.all([transcript(), transcript()]);
    expect(a).toEqual(b);
    const t = a as { irqs: { line: number }[]; reads: number[] };
    // The script is not vacuous: both timers interrupted many times.
    expect(t.irqs.filter((r) => r.line === PIT.IRQ).length).toBeGreaterThan(5);
    expect(t.irqs.filter((r) => r.line === CMOS.IRQ).length).toBeGreaterThan(5);
  });

  it('with configure.clock "host" the PIT runs on real time without any clock message', async () => {
    const c = await QtestClient.start({ devices: MACHINE, clock: 'host' });
    try {
      await c.outb(PIT.CONTROL, PIT.CH0_LOHI_MODE2);
      await c.outb(PIT.CH0, HOST_TEST_DIVISOR & 0xff);
      await c.outb(PIT.CH0, HOST_TEST_DIVISOR >>> 8);
      const t0 = Date.now();
      await c.waitUntil(() => c.irqRaises(PIT.IRQ) >= HOST_TEST_EDGES, `${HOST_TEST_EDGES} IRQ0 edges on the host clock`);
      // 1 kHz: 20 edges take at least ~20 ms of real time (generous lower bound for timer slack).
      expect(Date.now() - t0).toBeGreaterThanOrEqual(HOST_TEST_EDGES / 2);
      expect(c.nowNs).toBe(0);
    } finally {
      await c.dispose();
    }
  });
});
