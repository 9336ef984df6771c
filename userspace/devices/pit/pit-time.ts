/**
 * Conversions between device-clock nanoseconds and 8254 input-clock ticks. The PIT counts are
 * derived from clock time (QEMU `pit_get_count` style), never by ticking, so these must be exact:
 * both split their argument so that no intermediate product leaves the 2^53 safe-integer range.
 */

/** 8254 input clock in Hz, as QEMU's PIT_FREQ (facts §5.2; KVM's in-kernel PIT uses 1193181). */
export const PIT_FREQ_HZ = 1_193_182;

const NS_PER_S = 1_000_000_000;

/** Whole input-clock ticks that have elapsed in `deltaNs` nanoseconds (floor). */
export function ticksIn(deltaNs: number): number {
  if (deltaNs <= 0) return 0;
  const whole = Math.floor(deltaNs / NS_PER_S);
  const rest = deltaNs - whole * NS_PER_S;
  return whole * PIT_FREQ_HZ + Math.floor((rest * PIT_FREQ_HZ) / NS_PER_S);
}

/** The smallest nanosecond offset at which `ticks` whole ticks have elapsed (ceil). */
export function nsForTicks(ticks: number): number {
  if (ticks <= 0) return 0;
  const whole = Math.floor(ticks / PIT_FREQ_HZ);
  const rest = ticks - whole * PIT_FREQ_HZ;
  return whole * NS_PER_S + Math.ceil((rest * NS_PER_S) / PIT_FREQ_HZ);
}
