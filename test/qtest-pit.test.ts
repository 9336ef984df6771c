/**
 * qtest of the 8254 PIT and port 0x61 in the real device-model process on the virtual clock
 * (Intel 82C54 datasheet; facts.md §5.2; the idea of QEMU tests/qtest/i8254 style checks):
 * IRQ0 rate in mode 2, the mode 0 one-shot, counter latch, read-back of status and count with
 * NULL COUNT, and channel 2's gate and output through port 0x61.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QtestClient } from './qtest/qtest-client.js';

const PORT = { CH0: 0x40, CH2: 0x42, CONTROL: 0x43, PORT61: 0x61 } as const;
const IRQ0 = 0;
/** Input clock (facts.md §5.2, QEMU PIT_FREQ). */
const PIT_HZ = 1_193_182;
/** Control words: channel << 6 | access << 4 | mode << 1 | bcd. */
const CW = {
  CH0_LOHI_MODE0: 0x30,
  CH0_LOHI_MODE2: 0x34,
  CH0_LATCH: 0x00,
  CH2_LOHI_MODE0: 0xb0,
  CH2_LOHI_MODE3: 0xb6,
  /** Read-back: 11 / COUNT# / STATUS# / CNT2 CNT1 CNT0 / 0. */
  READ_BACK_STATUS_CH0: 0xe2,
  READ_BACK_BOTH_CH0: 0xc2,
  READ_BACK_COUNT_CH0: 0xd2,
} as const;
/** Control word bit 0: count in BCD (4 decades). */
const CW_BCD = 0x01;
const STATUS = { OUT: 0x80, NULL_COUNT: 0x40 } as const;
const P61 = { GATE2: 0x01, SPEAKER: 0x02, REFRESH: 0x10, OUT2: 0x20 } as const;
/** Count for 100 Hz (facts.md §5.2: 11932 ≈ 100 Hz). */
const DIVISOR_100HZ = 11932;
const MS = 1_000_000;

/** Nanoseconds until `ticks` input clocks have elapsed (the first instant they have). */
function nsForTicks(ticks: number): number {
  return Math.ceil((ticks * 1e9) / PIT_HZ);
}
/** Whole input clocks elapsed in `ns`. */
function ticksIn(ns: number): number {
  return Math.floor((ns * PIT_HZ) / 1e9);
}

let client: QtestClient;
beforeEach(async () => {
  client = await QtestClient.start({ devices: [{ type: 'pit', port: PORT.CH0, irq: IRQ0 }] });
});
afterEach(async () => {
  await client.dispose();
});

async function writeCount(port: number, count: number): Promise<void> {
  await client.outb(port, count & 0xff);
  await client.outb(port, count >>> 8);
}

async function readCount(port: number): Promise<number> {
  const lo = await client.inb(port);
  const hi = await client.inb(port);
  return lo | (hi << 8);
}

describe('8254 channel 0 and IRQ0', () => {
  it('starts in mode 3 with count 65536: the first IRQ0 deadline is 65536 input clocks away', async () => {
    expect(client.deadline).toBe(nsForTicks(0x10000));
    await client.clockStepToDeadline();
    expect(client.irqRaises(IRQ0)).toBe(1);
    expect(client.deadline).toBe(nsForTicks(2 * 0x10000));
  });

  it('mode 2 at divisor 11932 gives one IRQ0 pulse per 10 ms period: 10 in 100 ms', async () => {
    await client.clockStep(3 * MS);
    const t0 = client.nowNs;
    await client.outb(PORT.CONTROL, CW.CH0_LOHI_MODE2);
    await writeCount(PORT.CH0, DIVISOR_100HZ);
    const period = (k: number): number => t0 + nsForTicks(k * DIVISOR_100HZ);
    expect(client.deadline).toBe(period(1));
    const from = client.irqLog.length;
    // Ten 10 ms steps: the period is 10.000009 ms, so the tenth pulse is 90 µs beyond them.
    for (let step = 1; step <= 10; step++) {
      await client.clockStep(10 * MS);
      expect(client.irqRaises(IRQ0, from)).toBe(step - 1);
    }
    await client.clockSet(period(10));
    expect(client.irqRaises(IRQ0, from)).toBe(10);
    // Each pulse is an edge (true then false), and the line rests low.
    expect(client.irqLog.slice(from).map((r) => r.level)).toEqual(Array.from({ length: 20 }, (_, i) => i % 2 === 0));
    expect(client.irq(IRQ0)).toBe(false);
    // The deadlines announced were exactly the period boundaries.
    const announced = client.deadlines.filter((d) => d.nowNs >= t0 && d.ns >= 0).map((d) => d.ns);
    expect(announced).toEqual(Array.from({ length: 11 }, (_, i) => period(i + 1)));
  });

  it('mode 0 fires once at terminal count and never again', async () => {
    await client.outb(PORT.CONTROL, CW.CH0_LOHI_MODE0);
    const t0 = client.nowNs;
    await writeCount(PORT.CH0, 1193); // ≈ 1 ms
    const from = client.irqLog.length;
    expect(client.deadline).toBe(t0 + nsForTicks(1193));
    await client.clockSet(t0 + nsForTicks(1193) - 1);
    expect(client.irqRaises(IRQ0, from)).toBe(0);
    await client.clockStep(1);
    expect(client.irqRaises(IRQ0, from)).toBe(1);
    expect(client.deadline).toBe(-1);
    await client.clockStep(200 * MS);
    expect(client.irqRaises(IRQ0, from)).toBe(1);
    await client.outb(PORT.CONTROL, CW.READ_BACK_STATUS_CH0);
    expect((await client.inb(PORT.CH0)) & STATUS.OUT).toBe(STATUS.OUT);
  });

  it('counts in BCD when asked: count 0x1000 is one thousand input clocks, read back in BCD', async () => {
    await client.outb(PORT.CONTROL, CW.CH0_LOHI_MODE2 | CW_BCD);
    const t0 = client.nowNs;
    await writeCount(PORT.CH0, 0x1000);
    expect(client.deadline).toBe(t0 + nsForTicks(1000));
    await client.clockSet(t0 + nsForTicks(1));
    await client.outb(PORT.CONTROL, CW.CH0_LATCH);
    expect(await readCount(PORT.CH0)).toBe(0x0999);
  });

  it('latches the count: later reads return the latched value until both bytes are read', async () => {
    await client.outb(PORT.CONTROL, CW.CH0_LOHI_MODE2);
    const t0 = client.nowNs;
    const count = 0x4000;
    await writeCount(PORT.CH0, count);
    await client.clockStep(3_000_123);
    await client.outb(PORT.CONTROL, CW.CH0_LATCH);
    const expected = count - (ticksIn(client.nowNs - t0) % count);
    await client.clockStep(1 * MS);
    expect(await readCount(PORT.CH0)).toBe(expected);
    // After the latch is consumed, reads are live again.
    const live = count - (ticksIn(client.nowNs - t0) % count);
    expect(await readCount(PORT.CH0)).toBe(live);
    expect(live).not.toBe(expected);
  });

  it('read-back latches status (OUT, NULL COUNT, access, mode) before the count', async () => {
    await client.outb(PORT.CONTROL, CW.CH0_LOHI_MODE2);
    const t0 = client.nowNs;
    await writeCount(PORT.CH0, 1000);
    // Until the next input clock moves the count into the counting element, NULL COUNT is set.
    await client.outb(PORT.CONTROL, CW.READ_BACK_STATUS_CH0);
    const modeAccess = (3 << 4) | (2 << 1);
    expect(await client.inb(PORT.CH0)).toBe(STATUS.OUT | STATUS.NULL_COUNT | modeAccess);
    await client.clockSet(t0 + nsForTicks(1));
    await client.outb(PORT.CONTROL, CW.READ_BACK_BOTH_CH0);
    expect(await client.inb(PORT.CH0)).toBe(STATUS.OUT | modeAccess);
    expect(await readCount(PORT.CH0)).toBe(1000 - 1);
    // A second count latch while one is unread is ignored (datasheet "Read-Back Command").
    await client.clockSet(t0 + nsForTicks(5));
    await client.outb(PORT.CONTROL, CW.READ_BACK_COUNT_CH0);
    await client.clockSet(t0 + nsForTicks(15));
    await client.outb(PORT.CONTROL, CW.READ_BACK_COUNT_CH0);
    expect(await readCount(PORT.CH0)).toBe(1000 - 5);
    expect(await readCount(PORT.CH0)).toBe(1000 - 15);
  });
});

describe('port 0x61: channel 2 gate and output', () => {
  it('counts channel 2 only while the gate is high (the TSC-calibration sequence)', async () => {
    // Reset: gate 2 low, channel 2 in mode 3 and idle, so OUT2 is high.
    const initial = await client.inb(PORT.PORT61);
    expect(initial & (P61.GATE2 | P61.OUT2)).toBe(P61.OUT2);
    await client.outb(PORT.CONTROL, CW.CH2_LOHI_MODE0);
    await writeCount(PORT.CH2, 1193);
    expect((await client.inb(PORT.PORT61)) & P61.OUT2).toBe(0);
    await client.clockStep(5 * MS);
    expect((await client.inb(PORT.PORT61)) & P61.OUT2).toBe(0); // gate low: not counting
    await client.outb(PORT.PORT61, P61.GATE2 | P61.SPEAKER);
    const t0 = client.nowNs;
    expect((await client.inb(PORT.PORT61)) & (P61.GATE2 | P61.SPEAKER)).toBe(P61.GATE2 | P61.SPEAKER);
    await client.clockSet(t0 + nsForTicks(1193) - 1);
    expect((await client.inb(PORT.PORT61)) & P61.OUT2).toBe(0);
    await client.clockStep(1);
    expect((await client.inb(PORT.PORT61)) & P61.OUT2).toBe(P61.OUT2);
    // Channel 2 is not wired to IRQ0.
    expect(client.irqRaises(IRQ0)).toBe(0);
  });

  it('shows the mode 3 square wave of channel 2 on bit 5 and toggles the refresh bit on every read', async () => {
    await client.outb(PORT.PORT61, P61.GATE2);
    await client.outb(PORT.CONTROL, CW.CH2_LOHI_MODE3);
    const t0 = client.nowNs;
    await writeCount(PORT.CH2, 1000);
    const out2At = async (ticks: number): Promise<number> => {
      await client.clockSet(t0 + nsForTicks(ticks));
      return (await client.inb(PORT.PORT61)) & P61.OUT2;
    };
    expect(await out2At(100)).toBe(P61.OUT2);
    expect(await out2At(499)).toBe(P61.OUT2);
    expect(await out2At(500)).toBe(0);
    expect(await out2At(999)).toBe(0);
    expect(await out2At(1000)).toBe(P61.OUT2);
    const a = (await client.inb(PORT.PORT61)) & P61.REFRESH;
    const b = (await client.inb(PORT.PORT61)) & P61.REFRESH;
    expect(a ^ b).toBe(P61.REFRESH);
  });
});
