import { describe, expect, it } from 'vitest';
import type { BusDevice } from './device.js';
import { BusError } from './bus-error.js';
import { MmioBus } from './mmio-bus.js';

class Recorder implements BusDevice {
  readonly log: string[] = [];
  constructor(private readonly tag: number) {}
  read(offset: number, size: number): number {
    this.log.push(`r${offset.toString(16)}/${size}`);
    return this.tag;
  }
  write(offset: number, size: number, value: number): void {
    this.log.push(`w${offset.toString(16)}/${size}=${value.toString(16)}`);
  }
}

describe('MmioBus', () => {
  it('finds the right device among many with the offset inside its window', () => {
    const bus = new MmioBus();
    const devices: Recorder[] = [];
    // Register out of order so the sorted insert is exercised.
    for (const n of [3, 0, 5, 1, 4, 2]) {
      const dev = new Recorder(n);
      devices[n] = dev;
      bus.register(`virtio${n}`, 0xd000_0000 + n * 0x1000, 0x1000, dev);
    }
    for (let n = 0; n < 6; n++) {
      expect(bus.read(0xd000_0000 + n * 0x1000 + 0x70, 4)).toBe(n);
    }
    bus.write(0xd000_2050, 4, 0x1234);
    expect(devices[2]?.log).toEqual(['r70/4', 'w50/4=1234']);
    expect(bus.read(0xd000_5ffc, 4)).toBe(5);
    expect(bus.stats.misses).toBe(0);
  });

  it('counts misses before, between, after and across windows', () => {
    const bus = new MmioBus();
    bus.register('a', 0x1000, 0x100, new Recorder(1));
    bus.register('b', 0x2000, 0x100, new Recorder(2));
    expect(bus.read(0x0fff, 1)).toBe(0xff);
    expect(bus.read(0x1100, 2)).toBe(0xffff);
    expect(bus.read(0x10fe, 4)).toBe(0xffff_ffff); // straddles the end of a
    bus.write(0xfee0_0000, 4, 1);
    expect(bus.stats).toEqual({ misses: 4, readMisses: 3, writeMisses: 1, lastMissAddress: 0xfee0_0000 });
    expect(bus.read(0x10fc, 4)).toBe(1);
  });

  it('rejects overlaps with the neighbour on either side', () => {
    const bus = new MmioBus();
    bus.register('a', 0x1000, 0x1000, new Recorder(1));
    bus.register('c', 0x4000, 0x1000, new Recorder(3));
    const codeOf = (base: number, length: number): string => {
      try {
        bus.register(`x${base}`, base, length, new Recorder(0));
        return 'none';
      } catch (e) {
        if (e instanceof BusError) return e.code;
        throw e;
      }
    };
    expect(codeOf(0x1fff, 2)).toBe('BUS_OVERLAP');
    expect(codeOf(0x3000, 0x1001)).toBe('BUS_OVERLAP');
    expect(codeOf(0x0, 0x2000)).toBe('BUS_OVERLAP');
    expect(codeOf(0x800, -1)).toBe('BUS_BAD_RANGE');
    expect(codeOf(0x2000, 0x2000)).toBe('none'); // exactly fills the gap
    expect(bus.ranges().map((r) => r.name)).toEqual(['a', 'x8192', 'c']);
  });
});
