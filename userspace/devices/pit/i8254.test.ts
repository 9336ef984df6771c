import { describe, expect, it } from 'vitest';
import type { Clock, IrqLine } from '../../bus/device.js';
import { FakeClock as BusFakeClock } from '../../bus/fake-clock.js';
import { I8254, PIT_MIN_IRQ_INTERVAL_NS } from './i8254.js';
import { PIT_FREQ_HZ } from './pit-time.js';
import { Port61 } from './port61.js';

/** The shared fake clock plus an absolute-time step, which these tests read more easily. */
class FakeClock extends BusFakeClock {
  advanceTo(ns: number): void {
    this.step(ns - this.now());
  }
}

/** An IRQ line that records the clock time of every level change. */
class TimedIrqLine implements IrqLine {
  level = false;
  readonly changes: { ns: number; level: boolean }[] = [];
  constructor(private readonly clock: Clock) {}
  set(level: boolean): void {
    this.level = level;
    this.changes.push({ ns: this.clock.now(), level });
  }
  /** Clock times of the rising edges. */
  rises(): number[] {
    let prev = false;
    const out: number[] = [];
    for (const c of this.changes) {
      if (c.level && !prev) out.push(c.ns);
      prev = c.level;
    }
    return out;
  }
}

/** Clock time (ns after the load) at which `k` input ticks have elapsed. */
const at = (k: number): number => Math.ceil((k * 1e9) / PIT_FREQ_HZ);
/** Control word for counter `sc`. */
const cw = (sc: number, rw: number, mode: number, bcd = 0): number => (sc << 6) | (rw << 4) | (mode << 1) | bcd;

function setup(startNs = 0) {
  const clock = new FakeClock(startNs);
  const irq = new TimedIrqLine(clock);
  const pit = new I8254(clock, irq);
  const port61 = new Port61(pit);
  return { clock, irq, pit, port61 };
}

/** Program counter `ch` with an LSB/MSB count at the current clock time. */
function program(pit: I8254, ch: number, mode: number, count: number, bcd = 0): void {
  pit.write(3, 1, cw(ch, 3, mode, bcd));
  pit.write(ch, 1, count & 0xff);
  pit.write(ch, 1, (count >> 8) & 0xff);
}

function readCount(pit: I8254, ch: number): number {
  const lo = pit.read(ch, 1);
  return lo | (pit.read(ch, 1) << 8);
}

/** Channel 2 output sampled via port 0x61 bit 5. */
const out2 = (p: Port61): boolean => (p.read(0, 1) & 0x20) !== 0;

describe('8254 power-on state', () => {
  it('counter 0 runs mode 3 with count 65536 (IRQ0 at ~18.2 Hz) until reprogrammed', () => {
    const { clock, irq, pit } = setup();
    clock.step(1_000_000_000);
    expect(irq.rises()).toEqual(Array.from({ length: 18 }, (_, i) => at((i + 1) * 65536)));
    pit.write(3, 1, cw(0, 3, 0)); // control word alone: counter 0 waits for a count
    expect(clock.armedCount()).toBe(0);
    clock.step(1_000_000_000);
    expect(irq.rises()).toHaveLength(18);
    expect(pit.output(0)).toBe(false);
  });
});

describe('8254 mode 0 (interrupt on terminal count)', () => {
  it('OUT is low until the count expires, then high; IRQ0 fires once', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 0, 100);
    irq.changes.length = 0;
    expect(pit.output(0)).toBe(false);
    clock.advanceTo(at(99));
    expect(pit.output(0)).toBe(false);
    expect(readCount(pit, 0)).toBe(1);
    expect(irq.rises()).toEqual([]);
    clock.advanceTo(at(100));
    expect(pit.output(0)).toBe(true);
    expect(irq.rises()).toEqual([at(100)]);
    clock.step(1_000_000_000);
    expect(irq.rises()).toHaveLength(1);
    expect(pit.output(0)).toBe(true);
    expect(pit.stats.irqPulses).toBe(1);
    expect(clock.armedCount()).toBe(0);
  });

  it('keeps counting down through zero after terminal count (wraps to 0xFFFF)', () => {
    const { clock, pit } = setup();
    program(pit, 0, 0, 10);
    clock.advanceTo(at(12));
    expect(readCount(pit, 0)).toBe(0xfffe);
  });

  it('writing the first byte of a new count stops counting and drives OUT low', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 0, 50);
    clock.advanceTo(at(60));
    expect(pit.output(0)).toBe(true);
    pit.write(0, 1, 20);
    expect(pit.output(0)).toBe(false);
    const t = clock.now();
    clock.step(at(200));
    expect(pit.output(0)).toBe(false);
    pit.write(0, 1, 0);
    const loadAt = clock.now();
    expect(loadAt).toBeGreaterThan(t);
    clock.advanceTo(loadAt + at(20));
    expect(pit.output(0)).toBe(true);
    expect(irq.rises().slice(-1)).toEqual([loadAt + at(20)]);
  });

  it('reprogramming mid-count restarts with the new count', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 0, 1000);
    irq.changes.length = 0;
    clock.advanceTo(at(500));
    program(pit, 0, 0, 1000);
    const t = clock.now();
    clock.advanceTo(at(1000));
    expect(irq.rises()).toEqual([]);
    clock.advanceTo(t + at(1000));
    expect(irq.rises()).toEqual([t + at(1000)]);
  });

  it('the gate pauses counting (counter 2 via port 0x61)', () => {
    const { clock, pit, port61 } = setup();
    port61.write(0, 1, 0x01);
    program(pit, 2, 0, 100);
    clock.advanceTo(at(40));
    port61.write(0, 1, 0x00);
    const paused = readCount(pit, 2);
    expect(paused).toBe(60);
    clock.step(at(500));
    expect(readCount(pit, 2)).toBe(60);
    expect(out2(port61)).toBe(false);
    port61.write(0, 1, 0x01);
    const resumed = clock.now();
    clock.advanceTo(resumed + at(59));
    expect(out2(port61)).toBe(false);
    clock.advanceTo(resumed + at(60));
    expect(out2(port61)).toBe(true);
  });
});

describe('8254 mode 1 (hardware retriggerable one-shot)', () => {
  it('waits for a gate rising edge, is low for count ticks, and retriggers', () => {
    const { clock, pit, port61 } = setup();
    program(pit, 2, 1, 50);
    expect(out2(port61)).toBe(true);
    clock.step(at(100));
    expect(out2(port61)).toBe(true);
    port61.write(0, 1, 0x01);
    const t0 = clock.now();
    expect(out2(port61)).toBe(false);
    clock.advanceTo(t0 + at(49));
    expect(out2(port61)).toBe(false);
    clock.advanceTo(t0 + at(50));
    expect(out2(port61)).toBe(true);
    // Retrigger: falling then rising gate reloads the count.
    port61.write(0, 1, 0x00);
    port61.write(0, 1, 0x01);
    const t1 = clock.now();
    expect(out2(port61)).toBe(false);
    clock.advanceTo(t1 + at(50));
    expect(out2(port61)).toBe(true);
  });
});

describe('8254 mode 2 (rate generator)', () => {
  it('OUT goes low for one tick at count 1 of each period', () => {
    const { clock, pit } = setup();
    program(pit, 0, 2, 10);
    for (let k = 0; k < 30; k++) {
      clock.advanceTo(at(k));
      expect(pit.output(0)).toBe(k % 10 !== 9);
    }
  });

  it('IRQ0 rate matches the divisor (11932 -> ~100 Hz, 1193 -> ~1000 Hz)', () => {
    for (const divisor of [11932, 1193]) {
      const { clock, irq, pit } = setup();
      program(pit, 0, 2, divisor);
      irq.changes.length = 0;
      clock.step(1_000_000_000);
      const rises = irq.rises();
      expect(rises).toHaveLength(Math.floor(PIT_FREQ_HZ / divisor));
      rises.forEach((ns, i) => expect(ns).toBe(at((i + 1) * divisor)));
    }
  });

  it('a new count written while counting takes effect at the end of the period', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 2, 1000);
    irq.changes.length = 0;
    clock.advanceTo(at(300));
    pit.write(0, 1, 500 & 0xff);
    pit.write(0, 1, 500 >> 8);
    clock.advanceTo(at(1000) + at(500) + at(500));
    const rises = irq.rises();
    expect(rises[0]).toBe(at(1000));
    // The following periods are 500 ticks long, measured from the reload.
    expect(rises).toHaveLength(3);
    expect(readCount(pit, 0)).toBeLessThanOrEqual(500);
  });

  it('gate low forces OUT high and stops; gate high reloads', () => {
    const { clock, pit, port61 } = setup();
    port61.write(0, 1, 0x01);
    program(pit, 2, 2, 20);
    clock.advanceTo(at(7));
    port61.write(0, 1, 0x00);
    clock.advanceTo(at(19));
    expect(out2(port61)).toBe(true);
    expect(readCount(pit, 2)).toBe(13);
    port61.write(0, 1, 0x01);
    expect(readCount(pit, 2)).toBe(20);
  });

  it('mode 6 aliases mode 2 and the status byte keeps the programmed bits', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 6, 100);
    irq.changes.length = 0;
    clock.advanceTo(at(300));
    expect(irq.rises()).toEqual([at(100), at(200), at(300)]);
    pit.write(3, 1, 0xe2); // read-back status of counter 0
    expect((pit.read(0, 1) >> 1) & 7).toBe(6);
  });

  it('tiny divisors are rate-limited rather than flooding the host', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 2, 2);
    irq.changes.length = 0;
    clock.step(1_000_000);
    const rises = irq.rises();
    expect(rises.length).toBeLessThanOrEqual(1_000_000 / PIT_MIN_IRQ_INTERVAL_NS + 1);
    expect(rises.length).toBeGreaterThan(1);
    for (let i = 1; i < rises.length; i++) expect(rises[i]! - rises[i - 1]!).toBeGreaterThanOrEqual(PIT_MIN_IRQ_INTERVAL_NS);
    expect(pit.stats.irqDelayed).toBeGreaterThan(0);
  });
});

describe('8254 mode 3 (square wave)', () => {
  it('even count: high for half, low for half', () => {
    const { clock, pit } = setup();
    program(pit, 0, 3, 10);
    for (let k = 0; k < 25; k++) {
      clock.advanceTo(at(k));
      expect(pit.output(0)).toBe(k % 10 < 5);
    }
  });

  it('odd count: high for (n+1)/2, low for (n-1)/2; counts down by two', () => {
    const { clock, pit } = setup();
    program(pit, 0, 3, 7);
    const seen: boolean[] = [];
    for (let k = 0; k < 7; k++) {
      clock.advanceTo(at(k));
      seen.push(pit.output(0));
    }
    expect(seen).toEqual([true, true, true, true, false, false, false]);
    program(pit, 1, 3, 100);
    const t = clock.now();
    clock.advanceTo(t + at(3));
    expect(readCount(pit, 1)).toBe(94);
  });

  it('IRQ0 at each rising edge (once per period)', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 3, 1000);
    irq.changes.length = 0;
    clock.advanceTo(at(5000));
    expect(irq.rises()).toEqual([1, 2, 3, 4, 5].map((i) => at(i * 1000)));
  });
});

describe('8254 modes 4 and 5 (strobes)', () => {
  it('mode 4: one low tick when the count expires, one IRQ0 edge after it', () => {
    const { clock, irq, pit } = setup();
    program(pit, 0, 4, 50);
    irq.changes.length = 0;
    for (let k = 0; k < 60; k++) {
      clock.advanceTo(at(k));
      expect(pit.output(0)).toBe(k !== 50);
    }
    clock.step(1_000_000_000);
    expect(irq.rises()).toEqual([at(51)]);
  });

  it('mode 5: the strobe is started by a gate rising edge', () => {
    const { clock, pit, port61 } = setup();
    program(pit, 2, 5, 30);
    clock.step(at(100));
    expect(out2(port61)).toBe(true);
    port61.write(0, 1, 0x01);
    const t0 = clock.now();
    let lows = 0;
    for (let k = 0; k < 40; k++) {
      clock.advanceTo(t0 + at(k));
      if (!out2(port61)) {
        lows++;
        expect(k).toBe(30);
      }
    }
    expect(lows).toBe(1);
  });
});

describe('8254 access modes and latches', () => {
  it('LSB-only, MSB-only and LSB-then-MSB reads and writes', () => {
    const { clock, pit } = setup();
    pit.write(3, 1, cw(1, 1, 0));
    pit.write(1, 1, 0x80); // count 0x0080
    clock.advanceTo(at(16));
    expect(pit.read(1, 1)).toBe(0x70);
    expect(pit.read(1, 1)).toBe(0x70);
    const t = clock.now();
    pit.write(3, 1, cw(1, 2, 0));
    pit.write(1, 1, 0x02); // count 0x0200
    clock.advanceTo(t + at(0x100));
    expect(pit.read(1, 1)).toBe(0x01);
    program(pit, 1, 0, 0x1234);
    expect(pit.read(1, 1)).toBe(0x34);
    expect(pit.read(1, 1)).toBe(0x12);
    expect(pit.read(1, 1)).toBe(0x34);
  });

  it('latch then read returns the count at the latch time, once', () => {
    const { clock, pit } = setup();
    program(pit, 0, 0, 1000);
    clock.advanceTo(at(100));
    pit.write(3, 1, cw(0, 0, 0)); // counter latch
    clock.advanceTo(at(300));
    pit.write(3, 1, cw(0, 0, 0)); // ignored: previous latch unread
    expect(readCount(pit, 0)).toBe(900);
    expect(readCount(pit, 0)).toBe(700);
  });

  it('count 0 means 65536', () => {
    const { clock, pit } = setup();
    program(pit, 1, 0, 0);
    clock.advanceTo(at(1));
    expect(readCount(pit, 1)).toBe(0xffff);
  });

  it('read-back latches status with OUT, NULL COUNT, RW, mode and BCD, then the count', () => {
    const { clock, pit } = setup();
    pit.write(3, 1, cw(2, 3, 4, 0));
    pit.write(3, 1, 0xe8); // read-back status of counter 2
    expect(pit.read(2, 1)).toBe(0x40 | 0x80 | (3 << 4) | (4 << 1)); // no count yet: null, OUT high
    pit.write(2, 1, 0x10);
    pit.write(2, 1, 0x00);
    pit.write(3, 1, 0xe8); // status only
    expect(pit.read(2, 1) & 0x40).toBe(0x40); // count not yet transferred to the CE
    pit.write(3, 1, cw(0, 3, 0, 1)); // counter 0: BCD mode 0, awaiting count
    clock.step(at(1));
    pit.write(3, 1, 0xc8);
    expect(pit.read(2, 1)).toBe(0x80 | (3 << 4) | (4 << 1)); // null count cleared
    expect(readCount(pit, 2)).toBe(0x10); // gate 2 is low: mode 4 holds
    pit.write(3, 1, 0xe2);
    expect(pit.read(0, 1)).toBe(0x40 | (3 << 4) | 1);
  });

  it('read-back can latch several counters at once', () => {
    const { clock, pit } = setup();
    program(pit, 0, 2, 1000);
    program(pit, 1, 2, 2000);
    clock.advanceTo(at(10));
    pit.write(3, 1, 0xd6); // latch count of counters 0 and 1
    clock.advanceTo(at(20));
    expect(readCount(pit, 0)).toBe(990);
    expect(readCount(pit, 1)).toBe(1990);
  });

  it('BCD counting', () => {
    const { clock, pit } = setup();
    program(pit, 1, 0, 0x0100, 1);
    clock.advanceTo(at(1));
    expect(readCount(pit, 1)).toBe(0x0099);
    clock.advanceTo(at(100));
    expect(readCount(pit, 1)).toBe(0x0000);
    clock.advanceTo(at(101));
    expect(readCount(pit, 1)).toBe(0x9999);
  });

  it('the control port reads 0 and wide accesses split into bytes', () => {
    const { pit } = setup();
    expect(pit.read(3, 1)).toBe(0);
    pit.write(3, 1, cw(1, 3, 0));
    pit.write(1, 1, 0x34);
    pit.write(1, 1, 0x12);
    // A 16-bit read at 0x41 is two byte reads, of 0x41 and 0x42.
    expect(pit.read(1, 2) & 0xff).toBe(0x34);
    expect(pit.read(1, 1)).toBe(0x12);
  });
});

describe('port 0x61', () => {
  it('gate 2, speaker data, refresh toggle and OUT2', () => {
    const { clock, pit, port61 } = setup();
    expect(port61.read(0, 1) & 0x03).toBe(0);
    port61.write(0, 1, 0x03);
    expect(pit.gate(2)).toBe(true);
    const a = port61.read(0, 1);
    const b = port61.read(0, 1);
    expect(a & 0x03).toBe(0x03);
    expect((a ^ b) & 0x10).toBe(0x10);
    // Classic speaker-based delay: mode 0 on counter 2, poll bit 5.
    port61.write(0, 1, 0x00);
    program(pit, 2, 0, 200);
    expect(out2(port61)).toBe(false);
    port61.write(0, 1, 0x01);
    const t = clock.now();
    clock.advanceTo(t + at(199));
    expect(out2(port61)).toBe(false);
    clock.advanceTo(t + at(200));
    expect(out2(port61)).toBe(true);
  });
});

describe('snapshot / restore', () => {
  it('restoring into a fresh PIT on the same clock continues identically', () => {
    const a = setup();
    program(a.pit, 0, 2, 5000);
    program(a.pit, 1, 3, 777);
    a.port61.write(0, 1, 0x03);
    program(a.pit, 2, 0, 300);
    a.clock.advanceTo(at(1234));
    a.pit.write(3, 1, cw(1, 0, 0)); // leave a latch pending
    const snap = a.pit.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);

    const irq = new TimedIrqLine(a.clock);
    const b = new I8254(a.clock, irq);
    b.restore(snap);
    expect(b.speakerData).toBe(true);
    for (const ch of [0, 1, 2]) expect(readCount(b, ch)).toBe(readCount(a.pit, ch));
    a.clock.advanceTo(at(20_000));
    expect(irq.rises()).toEqual([1, 2, 3, 4].map((i) => at(i * 5000)));
    expect(b.output(2)).toBe(true);
  });
});
