import { describe, expect, it } from 'vitest';
import { PIT_FREQ_HZ, nsForTicks, ticksIn } from './pit-time.js';

describe('pit-time', () => {
  it('one second holds PIT_FREQ_HZ ticks', () => {
    expect(ticksIn(1_000_000_000)).toBe(PIT_FREQ_HZ);
    expect(nsForTicks(PIT_FREQ_HZ)).toBe(1_000_000_000);
  });

  it('nsForTicks is the first instant at which ticksIn reaches the count', () => {
    for (const k of [1, 2, 3, 100, 11932, 65536, 1_193_181, 1_193_183, 123_456_789, 9_876_543_210_123]) {
      const ns = nsForTicks(k);
      expect(ticksIn(ns)).toBe(k);
      expect(ticksIn(ns - 1)).toBe(k - 1);
    }
  });

  it('stays exact for clock values far beyond 2^53 / PIT_FREQ_HZ', () => {
    const days = 40 * 86_400 * 1_000_000_000;
    expect(ticksIn(days)).toBe(40 * 86_400 * PIT_FREQ_HZ);
    expect(ticksIn(0)).toBe(0);
    expect(ticksIn(-5)).toBe(0);
  });
});
