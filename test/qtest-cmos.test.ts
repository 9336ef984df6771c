/**
 * qtest of the MC146818A RTC / CMOS in the real device-model process on the virtual clock
 * (Motorola MC146818A datasheet; QEMU tests/qtest/rtc-test.c is the model): time registers that
 * advance with clockStep in BCD and binary, 24- and 12-hour form, UIP before each update, the
 * SET bit and a Y2K rollover, the periodic interrupt rate on IRQ8, update and alarm flags, and
 * register C clearing on read.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QtestClient } from './qtest/qtest-client.js';

const PORT = { INDEX: 0x70, DATA: 0x71 } as const;
const IRQ8 = 8;
const NMI_DISABLE = 0x80;
const REG = {
  SECONDS: 0x00,
  SECONDS_ALARM: 0x01,
  MINUTES: 0x02,
  MINUTES_ALARM: 0x03,
  HOURS: 0x04,
  HOURS_ALARM: 0x05,
  DAY_OF_WEEK: 0x06,
  DAY: 0x07,
  MONTH: 0x08,
  YEAR: 0x09,
  A: 0x0a,
  B: 0x0b,
  C: 0x0c,
  D: 0x0d,
  CENTURY: 0x32,
  RAM: 0x40,
} as const;
const A = { UIP: 0x80, DV_32KHZ: 0x20 } as const;
const B = { SET: 0x80, PIE: 0x40, AIE: 0x20, UIE: 0x10, DM_BINARY: 0x04, H24: 0x02 } as const;
const C = { IRQF: 0x80, PF: 0x40, AF: 0x20, UF: 0x10 } as const;
const D_VRT = 0x80;
const HOURS_PM = 0x80;
const ALARM_DONT_CARE = 0xc0;
/** Time base of the periodic rate: 32768 >> (RS − 1) Hz for RS ≥ 3 (datasheet table 3). */
const BASE_HZ = 32_768;
/** UIP is high for 244 µs (8 cycles of 32.768 kHz) before each update. */
const UIP_LEAD_NS = Math.round((8 * 1e9) / BASE_HZ);
const SECOND = 1_000_000_000;
/** The virtual clock's RTC starts at 2026-01-01 00:00:00 UTC, a Thursday (userspace/machine-builder.ts). */
const START = { YEAR: 0x26, CENTURY: 0x20, MONTH: 0x01, DAY: 0x01, DAY_OF_WEEK_THURSDAY: 5 } as const;

let client: QtestClient;
beforeEach(async () => {
  client = await QtestClient.start({ devices: [{ type: 'cmos', irq: IRQ8 }] });
});
afterEach(async () => {
  await client.dispose();
});

async function cmosRead(index: number): Promise<number> {
  await client.outb(PORT.INDEX, index);
  return client.inb(PORT.DATA);
}
async function cmosWrite(index: number, value: number): Promise<void> {
  await client.outb(PORT.INDEX, index);
  await client.outb(PORT.DATA, value);
}
async function time(): Promise<number[]> {
  return [await cmosRead(REG.HOURS), await cmosRead(REG.MINUTES), await cmosRead(REG.SECONDS)];
}

describe('RTC time registers', () => {
  it('start at the virtual epoch in BCD, 24-hour mode, with VRT set and the 32 kHz divider running', async () => {
    expect(await time()).toEqual([0, 0, 0]);
    expect(await cmosRead(REG.DAY_OF_WEEK)).toBe(START.DAY_OF_WEEK_THURSDAY);
    expect(await cmosRead(REG.DAY)).toBe(START.DAY);
    expect(await cmosRead(REG.MONTH)).toBe(START.MONTH);
    expect(await cmosRead(REG.YEAR)).toBe(START.YEAR);
    expect(await cmosRead(REG.CENTURY)).toBe(START.CENTURY);
    expect(await cmosRead(REG.D)).toBe(D_VRT);
    expect((await cmosRead(REG.A)) & 0x70).toBe(A.DV_32KHZ);
    expect(await cmosRead(REG.B)).toBe(B.H24);
  });

  it('advance with clockStep: seconds, minutes and hours in BCD', async () => {
    await client.clockStep(SECOND - 1);
    expect(await time()).toEqual([0, 0, 0]);
    await client.clockStep(1);
    expect(await time()).toEqual([0, 0, 1]);
    await client.clockStep(58 * SECOND);
    expect(await time()).toEqual([0, 0, 0x59]);
    await client.clockStep(SECOND);
    expect(await time()).toEqual([0, 1, 0]);
    await client.clockSet((3600 + 2 * 60 + 35) * SECOND);
    expect(await time()).toEqual([0x01, 0x02, 0x35]);
  });

  it('switch to binary and to 12-hour form as register B says', async () => {
    await client.clockSet((13 * 3600 + 45 * 60 + 27) * SECOND);
    expect(await time()).toEqual([0x13, 0x45, 0x27]);
    await cmosWrite(REG.B, B.H24 | B.DM_BINARY);
    expect(await time()).toEqual([13, 45, 27]);
    await cmosWrite(REG.B, B.DM_BINARY);
    expect(await cmosRead(REG.HOURS)).toBe(HOURS_PM | 1);
    await cmosWrite(REG.B, 0);
    expect(await cmosRead(REG.HOURS)).toBe(HOURS_PM | 0x01);
    await client.clockStep(11 * 3600 * SECOND); // 00:45 the next day: 12 AM
    expect(await cmosRead(REG.HOURS)).toBe(0x12);
    expect(await cmosRead(REG.DAY)).toBe(0x02);
  });

  it('raises UIP during the 244 µs before each update, never otherwise', async () => {
    await client.clockSet(3 * SECOND - UIP_LEAD_NS - 1);
    expect((await cmosRead(REG.A)) & A.UIP).toBe(0);
    await client.clockStep(1);
    expect((await cmosRead(REG.A)) & A.UIP).toBe(A.UIP);
    expect(await cmosRead(REG.SECONDS)).toBe(0x02);
    await client.clockSet(3 * SECOND);
    expect((await cmosRead(REG.A)) & A.UIP).toBe(0);
    expect(await cmosRead(REG.SECONDS)).toBe(0x03);
  });

  it('stops while SET is on, then runs from the time written: a Y2K rollover', async () => {
    await cmosWrite(REG.B, B.SET | B.H24);
    const frozen = await time();
    await client.clockStep(5 * SECOND);
    expect(await time()).toEqual(frozen);
    const y1999 = [
      [REG.SECONDS, 0x58],
      [REG.MINUTES, 0x59],
      [REG.HOURS, 0x23],
      [REG.DAY, 0x31],
      [REG.MONTH, 0x12],
      [REG.YEAR, 0x99],
      [REG.CENTURY, 0x19],
    ] as const;
    for (const [r, v] of y1999) await cmosWrite(r, v);
    await cmosWrite(REG.B, B.H24);
    expect(await time()).toEqual([0x23, 0x59, 0x58]);
    await client.clockStep(2 * SECOND);
    expect(await time()).toEqual([0, 0, 0]);
    expect([await cmosRead(REG.DAY), await cmosRead(REG.MONTH), await cmosRead(REG.YEAR), await cmosRead(REG.CENTURY)]).toEqual([1, 1, 0, 0x20]);
    expect(await cmosRead(REG.DAY_OF_WEEK)).toBe(7); // 2000-01-01 was a Saturday
  });

  it('keeps CMOS RAM bytes and ignores the NMI-disable bit when selecting a register', async () => {
    await cmosWrite(REG.RAM, 0xa5);
    await cmosWrite(REG.RAM + 1, 0x5a);
    expect(await cmosRead(REG.RAM)).toBe(0xa5);
    expect(await cmosRead(NMI_DISABLE | (REG.RAM + 1))).toBe(0x5a);
    expect(await client.inb(PORT.INDEX)).toBe(0xff); // the index port is write-only
  });
});

describe('RTC interrupts on IRQ8', () => {
  it('periodic interrupt at RS = 10 is 64 Hz: 64 IRQ8 edges in one second, 15.625 ms apart', async () => {
    const rs = 10;
    const hz = BASE_HZ >> (rs - 1);
    expect(hz).toBe(64);
    await cmosWrite(REG.A, A.DV_32KHZ | rs);
    await cmosWrite(REG.B, B.H24 | B.PIE);
    const from = client.irqLog.length;
    const edges: number[] = [];
    while (client.deadline >= 0 && client.deadline <= SECOND) {
      const due = client.deadline;
      await client.clockStepToDeadline();
      expect(client.irq(IRQ8)).toBe(true);
      edges.push(due);
      // UF joins PF at the second boundary; neither is enabled as a source but PF.
      expect((await cmosRead(REG.C)) & ~C.UF).toBe(C.IRQF | C.PF);
      expect(client.irq(IRQ8)).toBe(false);
    }
    expect(client.irqRaises(IRQ8, from)).toBe(hz);
    expect(edges).toEqual(Array.from({ length: hz }, (_, i) => ((i + 1) * SECOND) / hz));
  });

  it('holds IRQ8 high until register C is read; reading C clears every flag', async () => {
    await cmosWrite(REG.A, A.DV_32KHZ | 0x0f); // 2 Hz
    await cmosWrite(REG.B, B.H24 | B.PIE);
    const from = client.irqLog.length;
    await client.clockStep(SECOND / 2);
    expect(client.irq(IRQ8)).toBe(true);
    await client.clockStep(SECOND); // two more periods, the line is still up: no new edge
    expect(client.irqRaises(IRQ8, from)).toBe(1);
    expect(await cmosRead(REG.C)).toBe(C.IRQF | C.PF | C.UF);
    expect(client.irq(IRQ8)).toBe(false);
    expect(await cmosRead(REG.C)).toBe(0);
  });

  it('sets PF for a polling guest without interrupting when PIE is off', async () => {
    await client.clockStep(2_000_000); // 1024 Hz default rate: two periods
    expect(await cmosRead(REG.C)).toBe(C.PF);
    expect(await cmosRead(REG.C)).toBe(0);
    expect(client.irqLog).toEqual([]);
  });

  it('update-ended and alarm interrupts at the second boundary', async () => {
    await cmosWrite(REG.SECONDS_ALARM, 0x03);
    await cmosWrite(REG.MINUTES_ALARM, ALARM_DONT_CARE);
    await cmosWrite(REG.HOURS_ALARM, ALARM_DONT_CARE);
    await cmosWrite(REG.B, B.H24 | B.UIE);
    expect(client.deadline).toBe(SECOND);
    await client.clockStepToDeadline();
    expect(client.irq(IRQ8)).toBe(true);
    expect(await cmosRead(REG.C)).toBe(C.IRQF | C.UF | C.PF);
    await cmosWrite(REG.B, B.H24 | B.AIE);
    await client.clockSet(3 * SECOND - 1);
    expect(client.irq(IRQ8)).toBe(false);
    await client.clockStep(1);
    expect(client.irq(IRQ8)).toBe(true);
    expect((await cmosRead(REG.C)) & (C.IRQF | C.AF)).toBe(C.IRQF | C.AF);
  });
});
