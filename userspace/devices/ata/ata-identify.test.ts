import { describe, expect, it } from 'vitest';
import { buildIdentify, defaultGeometry, getAtaString, putAtaString } from './ata-identify.js';

describe('ATA strings', () => {
  it('pack two characters per word, first in the high byte, space padded and truncated', () => {
    const w = new Uint16Array(4);
    putAtaString(w, 1, 2, 'ABC');
    expect(Array.from(w)).toEqual([0, 0x4142, 0x4320, 0]);
    putAtaString(w, 0, 1, 'WXYZ');
    expect(w[0]).toBe(0x5758);
    expect(getAtaString(w, 1, 2)).toBe('ABC');
  });
});

describe('default geometry', () => {
  it('uses 16 heads and 63 sectors, capped at 16383 cylinders', () => {
    expect(defaultGeometry(20_000)).toEqual({ cylinders: 19, heads: 16, sectorsPerTrack: 63 });
    expect(defaultGeometry(100_000_000).cylinders).toBe(16383);
  });

  it('never reports more CHS sectors than the disk has, even for tiny disks', () => {
    for (const n of [1, 7, 63, 64, 1007, 1008, 5000]) {
      const g = defaultGeometry(n);
      expect(g.cylinders).toBeGreaterThanOrEqual(1);
      expect(g.cylinders * g.heads * g.sectorsPerTrack).toBeLessThanOrEqual(n);
    }
  });
});

describe('buildIdentify', () => {
  const base = {
    sectors: 1 << 20,
    model: 'M',
    serial: 'S',
    firmware: 'F',
    defaultGeometry: defaultGeometry(1 << 20),
    currentGeometry: defaultGeometry(1 << 20),
    multipleCount: 0,
    writeCache: true,
  };

  it('reports the multiple-sector setting only when enabled', () => {
    expect(buildIdentify(base)[59]).toBe(0);
    expect(buildIdentify({ ...base, multipleCount: 8 })[59]).toBe(0x0108);
    expect(buildIdentify(base)[47]! & 0xff00).toBe(0x8000);
  });

  it('reflects the write cache state in word 85 and keeps the checksum valid', () => {
    for (const writeCache of [true, false]) {
      const w = buildIdentify({ ...base, writeCache });
      expect((w[85]! & 0x20) !== 0).toBe(writeCache);
      let sum = 0;
      for (const word of w) sum += (word & 0xff) + (word >> 8);
      expect(sum % 256).toBe(0);
    }
  });
});
