import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../bus/fake-clock.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { PioBus } from '../../bus/pio-bus.js';
import { CmosRtc, fromBcd, toBcd } from './cmos-rtc.js';
import { CMOS_INDEX_PORT, CMOS_DATA_PORT, RTC_REG, RTC_REG_A, RTC_REG_B, RTC_REG_C, RTC_UIP_LEAD_NS } from './cmos-registers.js';

const SECOND = 1_000_000_000;
/** 2024-02-29 23:59:58 UTC, a Thursday: two seconds before a month, day and weekday change. */
const LEAP_DAY_EVENING = Date.UTC(2024, 1, 29, 23, 59, 58) / 1000;

function setup(epoch = LEAP_DAY_EVENING, ramSizeBytes = 128 * 1024 * 1024) {
  const clock = new FakeClock(5 * SECOND); // not starting at 0, to catch origin mistakes
  const irq = new FakeIrqLine();
  const rtc = new CmosRtc({ clock, irq, baseEpochSeconds: epoch, ramSizeBytes });
  const bus = new PioBus();
  bus.register('rtc', CMOS_INDEX_PORT, 2, rtc);
  const read = (reg: number): number => {
    bus.write(CMOS_INDEX_PORT, 1, reg);
    return bus.read(CMOS_DATA_PORT, 1);
  };
  const write = (reg: number, value: number): void => {
    bus.write(CMOS_INDEX_PORT, 1, reg);
    bus.write(CMOS_DATA_PORT, 1, value);
  };
  const time = (): number[] =>
    [RTC_REG.CENTURY, RTC_REG.YEAR, RTC_REG.MONTH, RTC_REG.DAY_OF_MONTH, RTC_REG.DAY_OF_WEEK, RTC_REG.HOURS, RTC_REG.MINUTES, RTC_REG.SECONDS].map(
      read,
    );
  return { clock, irq, rtc, bus, read, write, time };
}

/** Step until `untilNs`, acknowledging each interrupt by reading register C as a driver does. */
function serviceInterrupts(t: ReturnType<typeof setup>, untilNs: number): number {
  let serviced = 0;
  for (let next = t.clock.nextDeadline(); next !== undefined && next <= untilNs; next = t.clock.nextDeadline()) {
    t.clock.stepToNext();
    if (t.irq.level) {
      t.read(RTC_REG.C);
      serviced++;
    }
  }
  return serviced;
}

describe('CmosRtc time registers', () => {
  it('shows the base epoch in BCD, 24-hour mode by default', () => {
    const t = setup();
    expect(t.time()).toEqual([0x20, 0x24, 0x02, 0x29, 0x05, 0x23, 0x59, 0x58]);
  });

  it('runs with the clock across a leap-day, month and weekday rollover', () => {
    const t = setup();
    t.clock.step(SECOND - 1);
    expect(t.read(RTC_REG.SECONDS)).toBe(0x58);
    t.clock.step(1);
    expect(t.read(RTC_REG.SECONDS)).toBe(0x59);
    t.clock.step(SECOND);
    expect(t.time()).toEqual([0x20, 0x24, 0x03, 0x01, 0x06, 0x00, 0x00, 0x00]);
  });

  it('switches to binary with register B DM', () => {
    const t = setup();
    t.write(RTC_REG.B, RTC_REG_B.DM | RTC_REG_B.H24);
    expect(t.time()).toEqual([20, 24, 2, 29, 5, 23, 59, 58]);
  });

  it.each([
    [Date.UTC(2024, 0, 1, 0, 30) / 1000, 0x12, 12], // 00:30 = 12 AM
    [Date.UTC(2024, 0, 1, 9, 30) / 1000, 0x09, 9],
    [Date.UTC(2024, 0, 1, 12, 30) / 1000, 0x92, 0x8c], // noon = 12 PM
    [Date.UTC(2024, 0, 1, 23, 30) / 1000, 0x91, 0x8b],
  ])('12-hour mode at %i: hours BCD 0x%s, binary 0x%s', (epoch, bcd, binary) => {
    const t = setup(epoch);
    t.write(RTC_REG.B, 0);
    expect(t.read(RTC_REG.HOURS)).toBe(bcd);
    t.write(RTC_REG.B, RTC_REG_B.DM);
    expect(t.read(RTC_REG.HOURS)).toBe(binary);
  });

  it('sets the time while SET holds the clock and runs from it when SET clears', () => {
    const t = setup();
    t.write(RTC_REG.B, RTC_REG_B.SET | RTC_REG_B.H24);
    t.write(RTC_REG.CENTURY, 0x19);
    t.write(RTC_REG.YEAR, 0x99);
    t.write(RTC_REG.MONTH, 0x12);
    t.write(RTC_REG.DAY_OF_MONTH, 0x31);
    t.write(RTC_REG.HOURS, 0x23);
    t.write(RTC_REG.MINUTES, 0x59);
    t.write(RTC_REG.SECONDS, 0x59);
    t.clock.step(10 * SECOND); // frozen while SET
    expect(t.read(RTC_REG.SECONDS)).toBe(0x59);
    expect(t.read(RTC_REG.A) & RTC_REG_A.UIP).toBe(0);
    t.write(RTC_REG.B, RTC_REG_B.H24);
    expect(t.rtc.currentSeconds()).toBe(Date.UTC(1999, 11, 31, 23, 59, 59) / 1000);
    t.clock.step(SECOND);
    expect(t.time()).toEqual([0x20, 0x00, 0x01, 0x01, 0x07, 0x00, 0x00, 0x00]); // Saturday 2000-01-01
  });

  it('takes a single time-register write at once while running', () => {
    const t = setup();
    t.write(RTC_REG.MINUTES, 0x15);
    expect(t.time()).toEqual([0x20, 0x24, 0x02, 0x29, 0x05, 0x23, 0x15, 0x58]);
  });

  it('stops the clock while the divider is held in reset', () => {
    const t = setup();
    t.write(RTC_REG.A, 0x70 | 0x06);
    t.clock.step(5 * SECOND);
    expect(t.read(RTC_REG.SECONDS)).toBe(0x58);
    t.write(RTC_REG.A, RTC_REG_A.DV_32KHZ | 0x06);
    t.clock.step(SECOND);
    expect(t.read(RTC_REG.SECONDS)).toBe(0x59);
  });

  it('converts BCD both ways', () => {
    expect(toBcd(59)).toBe(0x59);
    expect(fromBcd(0x47)).toBe(47);
    for (let v = 0; v < 100; v++) expect(fromBcd(toBcd(v))).toBe(v);
  });
});

describe('CmosRtc control registers', () => {
  it('reads UIP only in the 244 µs before each update', () => {
    const t = setup();
    const uip = (): number => t.read(RTC_REG.A) & RTC_REG_A.UIP;
    expect(uip()).toBe(0);
    t.clock.step(SECOND - RTC_UIP_LEAD_NS - 1);
    expect(uip()).toBe(0);
    t.clock.step(1);
    expect(uip()).toBe(RTC_REG_A.UIP);
    expect(t.read(RTC_REG.SECONDS)).toBe(0x58); // not updated yet
    t.clock.step(RTC_UIP_LEAD_NS - 1);
    expect(uip()).toBe(RTC_REG_A.UIP);
    t.clock.step(1);
    expect(uip()).toBe(0);
    expect(t.read(RTC_REG.SECONDS)).toBe(0x59);
  });

  it('keeps UIP read-only and reports register D VRT', () => {
    const t = setup();
    t.write(RTC_REG.A, 0xa6);
    expect(t.read(RTC_REG.A)).toBe(0x26);
    t.write(RTC_REG.D, 0);
    expect(t.read(RTC_REG.D)).toBe(0x80);
  });

  it.each([
    [6, 1024],
    [15, 2],
    [3, 8192],
    [1, 256],
    [2, 128],
  ])('RS=%i gives %i periodic interrupts a second', (rs, hz) => {
    const t = setup();
    t.write(RTC_REG.A, RTC_REG_A.DV_32KHZ | rs);
    t.write(RTC_REG.B, RTC_REG_B.H24 | RTC_REG_B.PIE);
    const start = t.clock.now();
    expect(serviceInterrupts(t, start + SECOND)).toBe(hz);
    expect(t.rtc.stats.periodicInterrupts).toBe(hz);
    expect(t.irq.risingEdges()).toBe(hz);
  });

  it('holds IRQ8 until register C is read, which clears every flag', () => {
    const t = setup();
    t.write(RTC_REG.B, RTC_REG_B.H24 | RTC_REG_B.PIE);
    t.clock.stepToNext();
    expect(t.irq.level).toBe(true);
    t.clock.step(SECOND / 100); // more ticks: still one level, no new edge
    expect(t.irq.risingEdges()).toBe(1);
    expect(t.read(RTC_REG.C)).toBe(RTC_REG_C.IRQF | RTC_REG_C.PF);
    expect(t.irq.level).toBe(false);
    expect(t.read(RTC_REG.C)).toBe(0);
  });

  it('sets PF for a polling guest without raising IRQ8', () => {
    const t = setup();
    t.clock.step(SECOND / 2); // RS = 6 by default, PIE off; no second boundary yet
    expect(t.read(RTC_REG.C)).toBe(RTC_REG_C.PF);
    expect(t.irq.history).toEqual([]);
    expect(t.clock.armedCount()).toBe(0);
  });

  it('raises the update-ended interrupt once a second', () => {
    const t = setup();
    t.write(RTC_REG.A, RTC_REG_A.DV_32KHZ); // RS = 0: no PF noise
    t.write(RTC_REG.B, RTC_REG_B.H24 | RTC_REG_B.UIE);
    const start = t.clock.now();
    expect(serviceInterrupts(t, start + 10 * SECOND)).toBe(10);
    expect(t.rtc.stats.updateInterrupts).toBe(10);
  });

  it('clears UIE when SET is turned on and stops update interrupts', () => {
    const t = setup();
    t.write(RTC_REG.B, RTC_REG_B.H24 | RTC_REG_B.UIE);
    t.write(RTC_REG.B, RTC_REG_B.H24 | RTC_REG_B.UIE | RTC_REG_B.SET);
    expect(t.read(RTC_REG.B) & RTC_REG_B.UIE).toBe(0);
    t.clock.step(3 * SECOND);
    expect(t.irq.history).toEqual([]);
  });

  it('raises the alarm interrupt when the time matches, with don\'t-care bytes', () => {
    const t = setup();
    t.write(RTC_REG.A, RTC_REG_A.DV_32KHZ);
    t.write(RTC_REG.SECONDS_ALARM, 0x05);
    t.write(RTC_REG.MINUTES_ALARM, 0xff);
    t.write(RTC_REG.HOURS_ALARM, 0xc0);
    t.write(RTC_REG.B, RTC_REG_B.H24 | RTC_REG_B.AIE);
    t.clock.step(6 * SECOND); // 23:59:58 → 00:00:04
    expect(t.irq.level).toBe(false);
    t.clock.step(SECOND); // 00:00:05
    expect(t.irq.level).toBe(true);
    expect(t.read(RTC_REG.C) & (RTC_REG_C.AF | RTC_REG_C.IRQF)).toBe(RTC_REG_C.AF | RTC_REG_C.IRQF);
    t.clock.step(59 * SECOND);
    expect(t.irq.level).toBe(false);
    t.clock.step(SECOND); // 00:01:05
    expect(t.irq.level).toBe(true);
  });
});

describe('CmosRtc ports and CMOS RAM', () => {
  it('keeps the index in 7 bits, records NMI disable and reads 0xFF from port 0x70', () => {
    const t = setup();
    t.bus.write(CMOS_INDEX_PORT, 1, 0x80 | 0x40);
    expect(t.rtc.nmiDisabled).toBe(true);
    t.bus.write(CMOS_DATA_PORT, 1, 0xa5);
    t.bus.write(CMOS_INDEX_PORT, 1, 0x40);
    expect(t.rtc.nmiDisabled).toBe(false);
    expect(t.bus.read(CMOS_DATA_PORT, 1)).toBe(0xa5);
    expect(t.bus.read(CMOS_INDEX_PORT, 1)).toBe(0xff);
  });

  it.each([
    [128 * 1024 * 1024, 0xffff, 0x0700],
    [8 * 1024 * 1024, 0x1c00, 0],
    [32 * 1024 * 1024, 0x7c00, 0x0100],
  ])('reports %i bytes of RAM in the BIOS memory-size bytes', (ram, extKib, above16m) => {
    const t = setup(LEAP_DAY_EVENING, ram);
    const word = (lo: number): number => t.read(lo) | (t.read(lo + 1) << 8);
    expect(word(0x15)).toBe(640);
    expect(word(0x17)).toBe(extKib);
    expect(word(0x30)).toBe(extKib);
    expect(word(0x34)).toBe(above16m);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += t.read(i);
    expect((t.read(0x2e) << 8) | t.read(0x2f)).toBe(sum);
  });
});
