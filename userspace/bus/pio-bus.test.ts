import { describe, expect, it } from 'vitest';
import type { BusDevice } from './device.js';
import { BusError } from './bus-error.js';
import { PioBus } from './pio-bus.js';

/** Records accesses and answers reads with a value derived from the offset. */
class Recorder implements BusDevice {
  readonly log: string[] = [];
  read(offset: number, size: number): number {
    this.log.push(`r${offset}/${size}`);
    return 0x10 + offset;
  }
  write(offset: number, size: number, value: number): void {
    this.log.push(`w${offset}/${size}=${value.toString(16)}`);
  }
}

describe('PioBus', () => {
  it('dispatches with the offset inside the range', () => {
    const bus = new PioBus();
    const com1 = new Recorder();
    bus.register('com1', 0x3f8, 8, com1);
    expect(bus.read(0x3fd, 1)).toBe(0x15);
    bus.write(0x3f8, 1, 0x41);
    bus.write(0x3fe, 2, 0xbeef);
    expect(com1.log).toEqual(['r5/1', 'w0/1=41', 'w6/2=beef']);
    expect(bus.stats.misses).toBe(0);
  });

  it('reads all ones of the access size on a miss and counts it', () => {
    const bus = new PioBus();
    bus.register('com1', 0x3f8, 8, new Recorder());
    expect(bus.read(0x2f8, 1)).toBe(0xff);
    expect(bus.read(0x2f8, 2)).toBe(0xffff);
    expect(bus.read(0x2f8, 4)).toBe(0xffff_ffff);
    bus.write(0x80, 1, 0);
    expect(bus.stats).toEqual({ misses: 4, readMisses: 3, writeMisses: 1, lastMissAddress: 0x80 });
  });

  it('treats an access straddling a range end, or the top of the port space, as a miss', () => {
    const bus = new PioBus();
    const dev = new Recorder();
    bus.register('dev', 0x100, 4, dev);
    bus.register('next', 0x104, 4, new Recorder());
    expect(bus.read(0x103, 2)).toBe(0xffff); // half in dev, half in next
    expect(bus.read(0x0ff, 4)).toBe(0xffff_ffff); // starts before dev
    expect(bus.read(0x100, 4)).toBe(0x10); // exactly the range: a hit
    bus.register('top', 0xfffe, 2, new Recorder());
    expect(bus.read(0xffff, 2)).toBe(0xffff);
    expect(bus.stats.misses).toBe(3);
    expect(bus.stats.lastMissAddress).toBe(0xffff);
    expect(dev.log).toEqual(['r0/4']);
  });

  it('rejects overlapping, out-of-space and duplicate registrations with typed errors', () => {
    const bus = new PioBus();
    bus.register('pit', 0x40, 4, new Recorder());
    const codeOf = (f: () => void): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof BusError) return e.code;
        throw e;
      }
      return 'none';
    };
    expect(codeOf(() => bus.register('x', 0x43, 1, new Recorder()))).toBe('BUS_OVERLAP');
    expect(codeOf(() => bus.register('x', 0x3c, 5, new Recorder()))).toBe('BUS_OVERLAP');
    expect(codeOf(() => bus.register('x', 0xffff, 2, new Recorder()))).toBe('BUS_BAD_RANGE');
    expect(codeOf(() => bus.register('x', 0x10, 0, new Recorder()))).toBe('BUS_BAD_RANGE');
    expect(codeOf(() => bus.register('pit', 0x50, 1, new Recorder()))).toBe('BUS_DUPLICATE_NAME');
    // A failed registration leaves nothing behind.
    expect(bus.read(0x3c, 1)).toBe(0xff);
    expect(codeOf(() => bus.register('ok', 0x3c, 4, new Recorder()))).toBe('none');
  });

  it('lists ranges in port order', () => {
    const bus = new PioBus();
    bus.register('rtc', 0x70, 2, new Recorder());
    bus.register('pit', 0x40, 4, new Recorder());
    expect(bus.ranges()).toEqual([
      { name: 'pit', base: 0x40, length: 4 },
      { name: 'rtc', base: 0x70, length: 2 },
    ]);
  });

  it('asserts on an access size no device supports', () => {
    const bus = new PioBus();
    expect(() => bus.read(0x3f8, 3)).toThrow(/size 3/);
  });
});
